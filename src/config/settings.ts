import type { TokenCredential } from '@azure/core-auth';
import { SettingsReader } from './parse.js';
import { SettingsError } from './settingsError.js';
import { readVaultSecrets } from './keyVault.js';
import { readCheckpointStorageSettings, type CheckpointStorageSettings } from './checkpointSettings.js';
import type { CollectorSettingsReader, Host } from './collectorSettings.js';
import type { Logger } from '../lib/logger.js';

export type { Host } from './collectorSettings.js';

/** The settings every run reads, whatever its collector; each collector reads its own besides. */
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
  /** RUN_TIME_BUDGET_MINUTES: every run, whatever its collector, ends with its run row within this. */
  readonly runBudgetMs: number;
  /** Where checkpoints (and other run state) are kept; undefined = a local file (CLI only). */
  readonly checkpointStorage: CheckpointStorageSettings | undefined;
  /**
   * The running collector's timer schedule, when asked for: the host resolves `%…_SCHEDULE%` itself,
   * so only that one is checked, and a bad schedule of one collector never fails another's runs.
   */
  readonly schedule: string | undefined;
}

export interface LoadSettingsOptions<CollectorSettings> {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: Host;
  /** Dry runs need no ingestion settings. */
  readonly dryRun?: boolean;
  /** The running collector: only its settings are read, so another's bad setting cannot fail it. */
  readonly collector: {
    readonly readSettings: CollectorSettingsReader<CollectorSettings>;
    /** The app setting holding its schedule, and its default: checked alone. */
    readonly schedule?: { readonly setting: string; readonly default: string };
    /** It keeps checkpoints (a windowed collector): the deployed app must have its storage settings. */
    readonly needsState: boolean;
  };
  /** Where notices go (a setting that is set but ignored). */
  readonly log?: Pick<Logger, 'warn'>;
  /** Builds the credential that reads Key Vault, once the app settings are known to be valid. */
  readonly credentialFor: (azureClientId: string | undefined) => TokenCredential;
}

/** Azure Monitor's token audience in the public cloud (the SDK's KnownMonitorAudience.AzurePublicCloud). */
export const defaultIngestionAudience = 'https://monitor.azure.com';

const expected = {
  clientId: 'the client ID (a GUID) of the user-assigned managed identity',
  vault: 'the vault URI, e.g. https://kv-example.vault.azure.net',
  endpoint:
    "the DCR's logs ingestion endpoint, e.g. https://dcr-example.westeurope-1.ingest.monitor.azure.com",
  dcr: 'the DCR immutable ID: "dcr-" followed by 32 hex digits',
} as const;

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The DCR immutable ID's shape: also used to decide whether a failed run can still write its row. */
export const dcrImmutableIdPattern = /^dcr-[0-9a-f]{32}$/i;

/**
 * Builds the one validated Settings object of an invocation: app settings first (all problems at once),
 * then Key Vault secrets through the managed identity. An environment variable named like a secret
 * (`aws-role-arn`, or `AWS_ROLE_ARN`) overrides the vault, for local runs.
 */
export async function loadSettings<CollectorSettings>(
  options: LoadSettingsOptions<CollectorSettings>,
): Promise<{ settings: Settings; collectorSettings: CollectorSettings; credential: TokenCredential }> {
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
      read.withDefault('LOGS_INGESTION_AUDIENCE', defaultIngestionAudience),
      'the Azure Monitor token audience, e.g. https://monitor.azure.com (default), https://monitor.azure.us, https://monitor.azure.cn',
    );
    if (endpoint && dcr && audience) logsIngestion = { endpoint, dcrImmutableId: dcr, audience };
  }

  const schedule = options.collector.schedule
    ? read.schedule(options.collector.schedule.setting, options.collector.schedule.default)
    : undefined;
  // One budget for every collector: the host stops a run at 30 min (host.json functionTimeout).
  const runBudgetMs = read.integer('RUN_TIME_BUDGET_MINUTES', { min: 1, max: 600 }, 20) * minuteMs;
  const pending = options.collector.readSettings(read, { host, runBudgetMs });
  const storageNamed =
    read.raw('AzureWebJobsStorage') !== undefined ||
    Object.keys(env).some((name) => name.startsWith('AzureWebJobsStorage__') && read.raw(name) !== undefined);
  // The deployed app keeps checkpoints in its own storage account; a terminal may use a local file.
  // A collector that keeps state only sometimes (organization progress) uses storage where configured.
  const checkpointStorage =
    (options.collector.needsState && isFunction) || storageNamed
      ? readCheckpointStorageSettings(read, env)
      : undefined;

  // The vault is needed only for secrets the environment does not override.
  const { required, optional } = pending.secrets;
  const wanted = [...required, ...optional];
  const fromEnv = new Map(wanted.flatMap((name) => envOverride(env, name)));
  const fromVault = wanted.filter((name) => !fromEnv.has(name));
  const requiredFromVault = fromVault.filter((name) => required.includes(name));
  if (requiredFromVault.length > 0 && keyVaultUri === undefined && read.raw('KEY_VAULT_URI') === undefined) {
    read.problems.push({
      setting: 'KEY_VAULT_URI',
      problem: `is missing (needed to read ${requiredFromVault.join(', ')})`,
      expected: `${expected.vault}, or the secret set as an environment variable for local runs`,
    });
  }
  if (read.problems.length > 0) throw new SettingsError(read.problems);
  for (const notice of read.notices) options.log?.warn(notice);

  const credential = options.credentialFor(azureClientId);
  const secrets = new Map(fromEnv);
  if (fromVault.length > 0 && keyVaultUri !== undefined) {
    const optionalFromVault = fromVault.filter((name) => !required.includes(name));
    for (const [name, value] of await readVaultSecrets(keyVaultUri, credential, fromVault, optionalFromVault))
      secrets.set(name, value);
  }
  const secretReader = new SettingsReader(Object.fromEntries(secrets));
  const collectorSettings = pending.complete(secretReader);
  if (secretReader.problems.length > 0) throw new SettingsError(secretReader.problems);

  return {
    credential,
    collectorSettings,
    settings: { host, azureClientId, keyVaultUri, logsIngestion, runBudgetMs, checkpointStorage, schedule },
  };
}

const minuteMs = 60_000;

/** A secret set in the environment (`aws-role-arn`, or `AWS_ROLE_ARN`) overrides the vault: local runs. */
function envOverride(env: Readonly<Record<string, string | undefined>>, name: string): [string, string][] {
  const value = env[name]?.trim() || env[name.toUpperCase().replace(/-/g, '_')]?.trim();
  return value ? [[name, value]] : [];
}
