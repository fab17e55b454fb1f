import type { TokenCredential } from '@azure/core-auth';
import { SettingsReader } from './parse.js';
import { SettingsError } from './settingsError.js';
import { readVaultSecrets, type VaultSecretName } from './keyVault.js';

/** Who is running: the deployed Function App (managed identity, real ingestion) or a terminal. */
export type Host = 'function' | 'cli';

export type AccessKeyIdMode = 'masked' | 'full';

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
  readonly logsIngestion: { readonly endpoint: string; readonly dcrImmutableId: string } | undefined;
  readonly aws: {
    readonly auth: AwsAuth;
    /** Concurrent per-user IAM calls: enough to hide latency, few enough not to be throttled. */
    readonly concurrency: number;
  };
  readonly accessKeyIdMode: AccessKeyIdMode;
  readonly schedules: { readonly awsAccessKeys: string };
}

export interface LoadSettingsOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly host: Host;
  /** Dry runs need no ingestion settings. */
  readonly dryRun?: boolean;
  /** Builds the credential that reads Key Vault, once the app settings are known to be valid. */
  readonly credentialFor: (azureClientId: string | undefined) => TokenCredential;
}

export const defaultSchedules = { awsAccessKeys: '0 0 6 * * *' } as const;

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
const dcrImmutableId = /^dcr-[0-9a-f]{32}$/i;
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
      dcrImmutableId,
      expected.dcr,
    );
    if (endpoint && dcr) logsIngestion = { endpoint, dcrImmutableId: dcr };
  }

  // Locally the AWS default chain is fine; the deployed app only ever federates.
  const audienceRaw = isFunction
    ? read.required('AWS_FEDERATION_AUDIENCE', expected.audience)
    : read.raw('AWS_FEDERATION_AUDIENCE');
  const audience = read.matching('AWS_FEDERATION_AUDIENCE', audienceRaw, audienceUri, expected.audience);
  const federate = isFunction || audienceRaw !== undefined;

  const accessKeyIdMode = read.oneOf<AccessKeyIdMode>('ACCESS_KEY_ID_MODE', ['masked', 'full'], 'masked');
  const concurrency = read.integer('AWS_CONCURRENCY', { min: 1, max: 64 }, 8);
  const awsAccessKeys = read.schedule('AWS_ACCESS_KEYS_SCHEDULE', defaultSchedules.awsAccessKeys);

  // The vault is needed only for secrets the environment does not override.
  const wanted: VaultSecretName[] = federate ? ['aws-role-arn'] : [];
  const fromEnv = new Map(wanted.flatMap((name) => envOverride(read, name)));
  const fromVault = wanted.filter((name) => !fromEnv.has(name));
  if (fromVault.length > 0 && keyVaultUri === undefined && read.raw('KEY_VAULT_URI') === undefined) {
    read.problems.push({
      setting: 'KEY_VAULT_URI',
      problem: `is missing (needed to read ${fromVault.join(', ')})`,
      expected: `${expected.vault}, or the secret set as an environment variable for local runs`,
    });
  }
  if (read.problems.length > 0) throw new SettingsError(read.problems);

  const credential = options.credentialFor(azureClientId);
  const secrets = new Map(fromEnv);
  if (fromVault.length > 0 && keyVaultUri !== undefined) {
    for (const [name, value] of await readVaultSecrets(keyVaultUri, credential, fromVault))
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

  return {
    credential,
    settings: {
      host,
      azureClientId,
      keyVaultUri,
      logsIngestion,
      aws: { auth, concurrency },
      accessKeyIdMode,
      schedules: { awsAccessKeys },
    },
  };
}

function envOverride(read: SettingsReader, name: VaultSecretName): [VaultSecretName, string][] {
  const value = read.raw(name) ?? read.raw(name.toUpperCase().replace(/-/g, '_'));
  return value === undefined ? [] : [[name, value]];
}
