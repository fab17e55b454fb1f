import type { TokenCredential } from '@azure/core-auth';
import { SettingsReader } from './parse.js';
import { SettingsError } from './settingsError.js';
import { readVaultSecrets, type VaultSecretName } from './keyVault.js';
import { signInEventTypes, type SignInEventType } from '../sources/entra/rows.js';
import { readCheckpointStorageSettings, type CheckpointStorageSettings } from './checkpointSettings.js';
import type { WindowPolicy } from '../run/windowedCollector.js';
import type { OrganizationMode } from '../sources/aws/accessKeysCollector.js';
import type { AccessKeyIdMode } from '../sources/aws/accessKeyRow.js';
import { parseAccountFilter } from '../sources/aws/organization.js';

/** Who is running: the deployed Function App (managed identity, real ingestion) or a terminal. */
export type Host = 'function' | 'cli';

export type AwsAuth =
  /** Managed identity token → STS AssumeRoleWithWebIdentity: the only mode of the deployed app. */
  | { readonly kind: 'federation'; readonly audience: string; readonly roleArn: string }
  /** The AWS SDK's default credential chain (profiles, SSO, env): local runs only. */
  | { readonly kind: 'default-chain' };

export interface Settings {
  readonly host: Host;
  readonly azureClientId: string | undefined;
  readonly keyVaultUri: string | undefined;
  /** Undefined only for dry runs, which write files instead. */
  readonly logsIngestion:
    | {
        readonly endpoint: string;
        readonly dcrImmutableId: string;
        /** Token audience: https://monitor.azure.com, or a national cloud's (.azure.us, .azure.cn). */
        readonly audience: string;
      }
    | undefined;
  readonly aws: {
    readonly auth: AwsAuth;
    /** Organization mode (`aws-member-role-name` set): every active account through a member role. */
    readonly organization: OrganizationMode | undefined;
    /** Concurrent per-user IAM calls: enough to hide latency, few enough not to be throttled. */
    readonly concurrency: number;
    /**
     * A credential report older than this is not trusted to show who has no key: those users are
     * asked with ListAccessKeys too (IAM regenerates the report at most every 4 h).
     */
    readonly credentialReportMaxAgeMinutes: number;
  };
  readonly accessKeyIdMode: AccessKeyIdMode;
  /** RUN_TIME_BUDGET_MINUTES: every run, whatever its collector, ends with its run row within this. */
  readonly runBudgetMs: number;
  readonly entra: {
    readonly graphEndpoint: string;
    /** Token audience for Graph; like LogsIngestionClient's `audience`, it differs by cloud, not by host. */
    readonly graphAudience: string;
    readonly signInEventTypes: readonly SignInEventType[];
    /** Requests per interval to Graph's audit logs (Graph allows 5 per 10 s per tenant). */
    readonly pacing: { readonly limit: number; readonly intervalMs: number };
    readonly window: WindowPolicy;
  };
  /** Where windowed collectors keep checkpoints; undefined = a local file (CLI only). */
  readonly checkpointStorage: CheckpointStorageSettings | undefined;
  /**
   * The running collector's timer schedule, when asked for: the host resolves `%…_SCHEDULE%` itself,
   * so only that one is checked, and a bad schedule of one collector never fails another's runs.
   */
  readonly schedule: string | undefined;
}

export interface LoadSettingsOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: Host;
  /** Dry runs need no ingestion settings. */
  readonly dryRun?: boolean;
  /** Which collectors' settings must be present: only those are required. */
  readonly needs: { readonly aws?: boolean; readonly entra?: boolean };
  /** The app setting holding the running collector's schedule, and its default: checked alone. */
  readonly schedule?: { readonly setting: string; readonly default: string };
  /** Builds the credential that reads Key Vault, once the app settings are known to be valid. */
  readonly credentialFor: (azureClientId: string | undefined) => TokenCredential;
}

/** Azure Monitor's token audience in the public cloud (the SDK's KnownMonitorAudience.AzurePublicCloud). */
export const defaultIngestionAudience = 'https://monitor.azure.com';

export const defaultSchedules = {
  awsAccessKeys: '0 0 6 * * *',
  entraSignIns: '0 */15 * * * *',
  entraAudits: '0 5-59/15 * * * *',
} as const;

const expected = {
  clientId: 'the client ID (a GUID) of the user-assigned managed identity',
  vault: 'the vault URI, e.g. https://kv-example.vault.azure.net',
  endpoint:
    "the DCR's logs ingestion endpoint, e.g. https://dcr-example.westeurope-1.ingest.monitor.azure.com",
  dcr: 'the DCR immutable ID: "dcr-" followed by 32 hex digits',
  audience: 'the Application ID URI of the Entra app AWS trusts, e.g. api://crosscloud-identity-monitor-aws',
  roleArn: 'the ARN of the IAM role to assume, arn:aws:iam::<12-digit account>:role/<name>',
} as const;

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The DCR immutable ID's shape: also used to decide whether a failed run can still write its row. */
export const dcrImmutableIdPattern = /^dcr-[0-9a-f]{32}$/i;
const audienceUri = /^(api|https):\/\/\S+$/;
const roleArn = /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * Builds the one validated Settings object of an invocation: app settings first (all problems at once),
 * then Key Vault secrets through the managed identity. An environment variable named like a secret
 * (`aws-role-arn`, or `AWS_ROLE_ARN`) overrides the vault, for local runs.
 */
export async function loadSettings(options: LoadSettingsOptions): Promise<{
  settings: Settings;
  credential: TokenCredential;
}> {
  const { env, host } = options;
  const read = new SettingsReader(env);
  const isFunction = host === 'function';

  const clientIdRaw = isFunction
    ? read.required('AZURE_CLIENT_ID', expected.clientId)
    : read.raw('AZURE_CLIENT_ID');
  const azureClientId = read.matching('AZURE_CLIENT_ID', clientIdRaw, guid, expected.clientId);
  const keyVaultUri = read.httpsUrl('KEY_VAULT_URI', read.raw('KEY_VAULT_URI'), expected.vault);

  let logsIngestion: Settings['logsIngestion'];
  if (!options.dryRun) {
    const endpoint = read.httpsUrl(
      'LOGS_INGESTION_ENDPOINT',
      read.required('LOGS_INGESTION_ENDPOINT', expected.endpoint),
      expected.endpoint,
    );
    const dcr = read.matching(
      'LOGS_INGESTION_DCR_ID',
      read.required('LOGS_INGESTION_DCR_ID', expected.dcr),
      dcrImmutableIdPattern,
      expected.dcr,
    );
    const audience = read.httpsUrl(
      'LOGS_INGESTION_AUDIENCE',
      read.raw('LOGS_INGESTION_AUDIENCE') ?? defaultIngestionAudience,
      'the Azure Monitor token audience, e.g. https://monitor.azure.com (default), https://monitor.azure.us, https://monitor.azure.cn',
    );
    if (endpoint && dcr && audience) logsIngestion = { endpoint, dcrImmutableId: dcr, audience };
  }

  // Locally the AWS default chain is fine; the deployed app only ever federates.
  const needsAws = options.needs.aws === true;
  const audienceRaw =
    isFunction && needsAws
      ? read.required('AWS_FEDERATION_AUDIENCE', expected.audience)
      : read.raw('AWS_FEDERATION_AUDIENCE');
  const audience = read.matching('AWS_FEDERATION_AUDIENCE', audienceRaw, audienceUri, expected.audience);
  const federate = needsAws && (isFunction || audienceRaw !== undefined);

  const accessKeyIdMode = read.oneOf<AccessKeyIdMode>('ACCESS_KEY_ID_MODE', ['masked', 'full'], 'masked');
  const concurrency = read.integer('AWS_CONCURRENCY', { min: 1, max: 64 }, 8);
  const credentialReportMaxAgeMinutes = read.integer(
    'CREDENTIAL_REPORT_MAX_AGE_MINUTES',
    { min: 0, max: 240 },
    15,
  );
  const accountConcurrency = read.integer('AWS_ACCOUNT_CONCURRENCY', { min: 1, max: 32 }, 4);
  const schedule = options.schedule && read.schedule(options.schedule.setting, options.schedule.default);
  // One budget for every collector: the host stops a run at 30 min (host.json functionTimeout).
  const runBudgetMs = read.integer('RUN_TIME_BUDGET_MINUTES', { min: 1, max: 600 }, 20) * minuteMs;
  const entra = readEntraSettings(read, runBudgetMs);
  const storageNamed =
    read.raw('AzureWebJobsStorage') !== undefined ||
    Object.keys(env).some((name) => name.startsWith('AzureWebJobsStorage__') && read.raw(name) !== undefined);
  // The deployed app keeps checkpoints in its own storage account; a terminal may use a local file.
  // The AWS collector keeps some too (organization progress), where storage is configured.
  const checkpointStorage =
    (options.needs.entra && (isFunction || storageNamed)) || (options.needs.aws && storageNamed)
      ? readCheckpointStorageSettings(read, env)
      : undefined;

  // The vault is needed only for secrets the environment does not override. Organization mode is
  // switched on by an optional secret, looked for whenever the AWS collector runs.
  const optional: VaultSecretName[] = needsAws ? ['aws-member-role-name', 'aws-accounts'] : [];
  const wanted: VaultSecretName[] = [...(federate ? (['aws-role-arn'] as const) : []), ...optional];
  const fromEnv = new Map(wanted.flatMap((name) => envOverride(read, name)));
  const fromVault = wanted.filter((name) => !fromEnv.has(name));
  const requiredFromVault = fromVault.filter((name) => !optional.includes(name));
  if (requiredFromVault.length > 0 && keyVaultUri === undefined && read.raw('KEY_VAULT_URI') === undefined) {
    read.problems.push({
      setting: 'KEY_VAULT_URI',
      problem: `is missing (needed to read ${requiredFromVault.join(', ')})`,
      expected: `${expected.vault}, or the secret set as an environment variable for local runs`,
    });
  }
  if (read.problems.length > 0) throw new SettingsError(read.problems);

  const credential = options.credentialFor(azureClientId);
  const secrets = new Map(fromEnv);
  if (fromVault.length > 0 && keyVaultUri !== undefined) {
    for (const [name, value] of await readVaultSecrets(keyVaultUri, credential, fromVault, optional))
      secrets.set(name, value);
  }

  let auth: AwsAuth = { kind: 'default-chain' };
  if (federate) {
    const arn = new SettingsReader(Object.fromEntries(secrets));
    const value = arn.matching(
      'aws-role-arn',
      arn.required('aws-role-arn', expected.roleArn),
      roleArn,
      expected.roleArn,
    );
    if (arn.problems.length > 0) throw new SettingsError(arn.problems);
    if (value !== undefined && audience !== undefined)
      auth = { kind: 'federation', audience, roleArn: value };
  }

  const organization = needsAws
    ? readOrganizationMode(secrets, { accountConcurrency, budgetMs: runBudgetMs })
    : undefined;

  return {
    credential,
    settings: {
      host,
      azureClientId,
      keyVaultUri,
      logsIngestion,
      aws: { auth, organization, concurrency, credentialReportMaxAgeMinutes },
      accessKeyIdMode,
      runBudgetMs,
      entra,
      checkpointStorage,
      schedule,
    },
  };
}

function readOrganizationMode(
  secrets: ReadonlyMap<VaultSecretName, string>,
  limits: Pick<OrganizationMode, 'accountConcurrency' | 'budgetMs'>,
): OrganizationMode | undefined {
  const read = new SettingsReader(Object.fromEntries(secrets));
  const roleExpected =
    'the name of the role to assume in each member account, e.g. crosscloud-identity-monitor-member';
  const memberRoleName = read.matching(
    'aws-member-role-name',
    read.raw('aws-member-role-name'),
    /^[\w+=,.@-]{1,64}$/,
    roleExpected,
  );
  const filterText = read.raw('aws-accounts');
  const accounts = parseAccountFilter(filterText);
  if (typeof accounts === 'string') {
    read.problems.push({
      setting: 'aws-accounts',
      problem: `is malformed: ${accounts}`,
      expected:
        'account IDs to include, and !<account ID> to exclude, separated by commas (e.g. "!111122223333")',
    });
  } else if (filterText !== undefined && read.raw('aws-member-role-name') === undefined) {
    read.problems.push({
      setting: 'aws-accounts',
      problem: 'is set but aws-member-role-name is not',
      expected: 'aws-member-role-name too: the account list applies to organization mode only',
    });
  }
  if (read.problems.length > 0) throw new SettingsError(read.problems);
  if (memberRoleName === undefined || typeof accounts === 'string') return undefined;
  return { memberRoleName, accounts, ...limits };
}

const minuteMs = 60_000;

function readEntraSettings(read: SettingsReader, budgetMs: number): Settings['entra'] {
  const endpointExpected =
    'the Microsoft Graph endpoint, e.g. https://graph.microsoft.com (national clouds differ)';
  const graphEndpoint =
    read.httpsUrl(
      'GRAPH_ENDPOINT',
      read.raw('GRAPH_ENDPOINT') ?? 'https://graph.microsoft.com',
      endpointExpected,
    ) ?? 'https://graph.microsoft.com';
  const audienceExpected = 'the Microsoft Graph token audience, e.g. https://graph.microsoft.com (default)';
  const graphAudience =
    read.httpsUrl(
      'GRAPH_AUDIENCE',
      read.raw('GRAPH_AUDIENCE') ?? 'https://graph.microsoft.com',
      audienceExpected,
    ) ?? 'https://graph.microsoft.com';
  const typesRaw = read.raw('ENTRA_SIGNIN_EVENT_TYPES') ?? 'interactiveUser';
  const types = typesRaw
    .split(',')
    .map((type) => type.trim())
    .filter(Boolean);
  const unknown = types.filter((type) => !(signInEventTypes as readonly string[]).includes(type));
  if (unknown.length > 0 || types.length === 0) {
    read.problems.push({
      setting: 'ENTRA_SIGNIN_EVENT_TYPES',
      problem: `is "${typesRaw}"`,
      expected: `a comma-separated list of ${signInEventTypes.join(', ')} (default interactiveUser)`,
    });
  }
  const valid = types.filter((type): type is SignInEventType =>
    (signInEventTypes as readonly string[]).includes(type),
  );
  return {
    graphEndpoint,
    graphAudience,
    signInEventTypes: valid.length > 0 ? [...new Set(valid)] : ['interactiveUser'],
    pacing: {
      limit: read.integer('GRAPH_REQUESTS_PER_WINDOW', { min: 1, max: 1000 }, 5),
      // Graph's window is 10 s; 2% more absorbs network jitter between our clock and its counter.
      intervalMs: read.integer('GRAPH_PACING_WINDOW_MS', { min: 1, max: 600_000 }, 10_200),
    },
    window: {
      overlapMs: read.integer('ENTRA_OVERLAP_MINUTES', { min: 0, max: 1440 }, 10) * minuteMs,
      lagMs: read.integer('ENTRA_LAG_MINUTES', { min: 0, max: 1440 }, 15) * minuteMs,
      initialLookbackMs:
        read.integer('ENTRA_INITIAL_LOOKBACK_HOURS', { min: 1, max: 720 }, 24) * 60 * minuteMs,
      sliceMs: read.integer('ENTRA_SLICE_MINUTES', { min: 1, max: 1440 }, 60) * minuteMs,
      retentionMs: read.integer('ENTRA_RETENTION_DAYS', { min: 1, max: 730 }, 30) * 24 * 60 * minuteMs,
      budgetMs,
    },
  };
}

function envOverride(read: SettingsReader, name: VaultSecretName): [VaultSecretName, string][] {
  const value = read.raw(name) ?? read.raw(name.toUpperCase().replace(/-/g, '_'));
  return value === undefined ? [] : [[name, value]];
}
