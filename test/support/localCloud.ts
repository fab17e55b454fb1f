import { startAwsProxy, type AwsProxy } from '../emulators/awsProxy.js';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../emulators/keyVault.js';
import { startLogsIngestionEmulator, type LogsIngestionEmulator } from '../emulators/logsIngestion.js';
import { startManagedIdentityEmulator, type ManagedIdentityEmulator } from '../emulators/managedIdentity.js';
import { startMoto, type MotoServer } from '../emulators/moto.js';

export const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47';
export const identityClientId = '0c5a3b1e-7f3d-4b8e-9a51-3e2f6d8c9b10';
export const identityPrincipalId = 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d';
export const federationAudience = 'api://crosscloud-identity-monitor-aws';
export const dcrImmutableId = 'dcr-00112233445566778899aabbccddeeff';
export const collectorRoleArn = 'arn:aws:iam::123456789012:role/crosscloud-identity-monitor-collector';

/** Every peer the app talks to, on this machine: moto behind a recording proxy, and the Azure emulators. */
export interface LocalCloud {
  /** Absent when started with `aws: false`. */
  readonly moto: MotoServer;
  readonly aws: AwsProxy;
  readonly identity: ManagedIdentityEmulator;
  readonly keyVault: KeyVaultEmulator;
  readonly ingestion: LogsIngestionEmulator;
  /** App settings as the Function App would have them, pointing at the emulators. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export interface LocalCloudOptions {
  readonly tokenLifetimeSeconds?: number;
  /** Start moto and the AWS proxy (default true); Entra-only tests skip them. */
  readonly aws?: boolean;
  /** See LogsIngestionEmulatorOptions.retainFields. */
  readonly retainFields?: string[];
}

export async function startLocalCloud(options: LocalCloudOptions = {}): Promise<LocalCloud> {
  const moto = options.aws === false ? undefined : await startMoto();
  const aws = moto ? await startAwsProxy(moto.endpoint) : undefined;
  const identity = await startManagedIdentityEmulator({
    tenantId,
    clientId: identityClientId,
    principalId: identityPrincipalId,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds,
  });
  const keyVault = await startKeyVaultEmulator({ secrets: { 'aws-role-arn': collectorRoleArn }, identity });
  const ingestion = await startLogsIngestionEmulator({
    identity,
    dcrImmutableId,
    retainFields: options.retainFields,
  });
  const env = {
    ...identity.env(),
    AZURE_CLIENT_ID: identityClientId,
    KEY_VAULT_URI: keyVault.vaultUrl,
    LOGS_INGESTION_ENDPOINT: ingestion.endpoint,
    LOGS_INGESTION_DCR_ID: dcrImmutableId,
    AWS_FEDERATION_AUDIENCE: federationAudience,
    AWS_ACCESS_KEYS_SCHEDULE: '0 0 6 * * *',
    // The AWS SDK's own endpoint override: every AWS client goes to moto through the proxy.
    ...(aws ? { AWS_ENDPOINT_URL: aws.endpoint } : {}),
  };
  const absent = <T>(name: string): T =>
    new Proxy(
      {},
      {
        get: () => {
          throw new Error(`${name} was not started (aws: false)`);
        },
      },
    ) as T;
  return {
    moto: moto ?? absent<MotoServer>('moto'),
    aws: aws ?? absent<AwsProxy>('the AWS proxy'),
    identity,
    keyVault,
    ingestion,
    env,
    async stop() {
      await Promise.allSettled([ingestion.stop(), keyVault.stop(), identity.stop(), aws?.stop()]);
      await moto?.stop();
    },
  };
}

/** Sets environment variables for the duration of `fn` (undefined deletes), then restores them. */
export async function withEnv<T>(
  values: Record<string, string | undefined>,
  fn: () => Promise<T>,
): Promise<T> {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  const apply = (entries: Record<string, string | undefined>) => {
    for (const [name, value] of Object.entries(entries)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  apply(values);
  try {
    return await fn();
  } finally {
    apply(saved);
  }
}
