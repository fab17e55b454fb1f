import type { TokenCredential } from '@azure/core-auth';
import { azureCredentialFor } from '../config/azureCredential.js';
import { SettingsReader } from '../config/parse.js';
import {
  dcrImmutableIdPattern,
  defaultIngestionAudience,
  defaultSchedules,
  loadSettings,
  type Host,
  type Settings,
} from '../config/settings.js';
import { logsIngestionSink, type LogsIngestionSinkOptions } from '../sinks/logsIngestionSink.js';
import { ndjsonSink } from '../sinks/ndjsonSink.js';
import type { RecordSink } from '../sinks/sink.js';
import { awsAccessKeysCollector, awsAccessKeysCollectorName } from '../sources/aws/accessKeysCollector.js';
import { webIdentityFederation } from '../sources/aws/federation.js';
import { iamRegionForArn } from '../sources/aws/partition.js';
import {
  entraAuditsCollector,
  entraAuditsCollectorName,
  entraSignInsCollector,
  entraSignInsCollectorName,
  type GraphSourceOptions,
} from '../sources/entra/auditLogCollectors.js';
import type { AccountProgress } from '../sources/aws/organization.js';
import type { CheckpointStore } from '../state/checkpointStore.js';
import { fileCheckpointStore } from '../state/fileCheckpointStore.js';
import { readOnlyCheckpointStore } from '../state/readOnlyCheckpointStore.js';
import { createTableCheckpointStore } from '../state/tableCheckpointStore.js';
import type { TableName, TableRows } from '../tables/generated.js';
import type { Collector } from './collector.js';
import type { Logger } from '../lib/logger.js';
import { accountProgressIn } from './accountProgress.js';
import { newRunId, runCollector, type RunResult, type TimeWindow } from './runCollector.js';
import { runWindowedCollector } from './runWindowedCollector.js';

export const collectorNames = [
  awsAccessKeysCollectorName,
  entraSignInsCollectorName,
  entraAuditsCollectorName,
] as const;
export type CollectorName = (typeof collectorNames)[number];

const collectorTables: { readonly [Name in CollectorName]: TableName } = {
  'aws-access-keys': 'AWSIAMAccessKeys_CL',
  'entra-signins': 'EntraSignIns_CL',
  'entra-audits': 'EntraAuditLogs_CL',
};

const collectorSchedules: { readonly [Name in CollectorName]: { setting: string; default: string } } = {
  'aws-access-keys': { setting: 'AWS_ACCESS_KEYS_SCHEDULE', default: defaultSchedules.awsAccessKeys },
  'entra-signins': { setting: 'ENTRA_SIGNINS_SCHEDULE', default: defaultSchedules.entraSignIns },
  'entra-audits': { setting: 'ENTRA_AUDITS_SCHEDULE', default: defaultSchedules.entraAudits },
};

/** Where the CLI keeps checkpoints when no storage account is configured. */
export const localCheckpointFile = '.local/state/checkpoints.json';

export interface ConfiguredRunOptions {
  readonly host: Host;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** Dry run: write NDJSON files here instead of ingesting. */
  readonly dryRunDirectory?: string;
  /** Windowed collectors: read exactly this window and leave the checkpoint alone (CLI backfill). */
  readonly window?: TimeWindow;
  readonly onAccepted?: (rows: readonly TableRows[TableName][]) => void;
  /** Test seams: shorter SDK backoff, faster report polling. */
  readonly tuning?: {
    readonly ingestionRetry?: LogsIngestionSinkOptions['retryOptions'];
    readonly reportPollSeconds?: number;
    readonly graphRetry?: GraphSourceOptions['retryOptions'];
  };
}

/**
 * What a timer or the CLI runs: settings → credential → collector and sink → run. A run that cannot
 * even load its settings still writes a Failed run row when the sink's own settings allow it.
 */
export async function runConfiguredCollector(
  name: CollectorName,
  options: ConfiguredRunOptions,
): Promise<RunResult> {
  const runId = newRunId();
  let loaded: { settings: Settings; credential: TokenCredential };
  try {
    loaded = await loadSettings({
      env: options.env,
      host: options.host,
      dryRun: options.dryRunDirectory !== undefined,
      needs: { aws: name === 'aws-access-keys', entra: name !== 'aws-access-keys' },
      schedule: collectorSchedules[name],
      credentialFor: (clientId) => azureCredentialFor(options.host, clientId),
    });
  } catch (error) {
    const sink = sinkFromEnvironmentAlone(options);
    if (sink === undefined) throw error;
    // The run row is the operator's alert path: record the failure there, then fail.
    return runCollector({ collector: failingCollector(name, error), sink, log: options.log, runId });
  }
  const { settings, credential } = loaded;
  const sink = createSink(settings, credential, options);
  const common = {
    sink,
    log: options.log,
    runId,
    onAccepted: options.onAccepted,
    budgetMs: settings.runBudgetMs,
  };
  if (name === 'aws-access-keys') {
    return runCollector({ ...common, collector: createAwsCollector(name, settings, credential, options) });
  }
  const graph: GraphSourceOptions = {
    endpoint: settings.entra.graphEndpoint,
    audience: settings.entra.graphAudience,
    credential,
    pacing: settings.entra.pacing,
    retryOptions: options.tuning?.graphRetry,
  };
  const windowed = {
    ...common,
    checkpoints: createCheckpointStore(settings, options),
    policy: settings.entra.window,
    explicitWindow: options.window,
  };
  return name === 'entra-signins'
    ? runWindowedCollector({
        ...windowed,
        collector: entraSignInsCollector({ ...graph, eventTypes: settings.entra.signInEventTypes }),
      })
    : runWindowedCollector({ ...windowed, collector: entraAuditsCollector(graph) });
}

/** Checkpoints and organization progress; a dry run reads them and writes none. */
function createCheckpointStore(settings: Settings, options: ConfiguredRunOptions): CheckpointStore {
  const store = createWritableCheckpointStore(settings, options);
  return options.dryRunDirectory === undefined ? store : readOnlyCheckpointStore(store, options.log);
}

function createWritableCheckpointStore(settings: Settings, options: ConfiguredRunOptions): CheckpointStore {
  const storage = settings.checkpointStorage;
  if (storage === undefined) return fileCheckpointStore(localCheckpointFile);
  const clientId = storage.kind === 'identity' ? (storage.clientId ?? settings.azureClientId) : undefined;
  return createTableCheckpointStore(storage, { credential: azureCredentialFor(options.host, clientId) });
}

/**
 * Organization progress lives with the checkpoints: the app's storage account, or the CLI's file. A
 * function host without storage settings (only ever a test) goes in account ID order.
 */
function accountProgressFor(settings: Settings, options: ConfiguredRunOptions): AccountProgress | undefined {
  if (settings.checkpointStorage === undefined && options.host !== 'cli') return undefined;
  return accountProgressIn(createCheckpointStore(settings, options), awsAccessKeysCollectorName);
}

function createAwsCollector(
  name: CollectorName,
  settings: Settings,
  credential: TokenCredential,
  options: ConfiguredRunOptions,
): Collector<'AWSIAMAccessKeys_CL'> {
  const auth = settings.aws.auth;
  const pollSeconds = options.tuning?.reportPollSeconds;
  return awsAccessKeysCollector({
    region: iamRegionForArn(auth.kind === 'federation' ? auth.roleArn : undefined),
    partition: auth.kind === 'federation' ? auth.roleArn.split(':')[1] : undefined,
    accessKeyIdMode: settings.accessKeyIdMode,
    concurrency: settings.aws.concurrency,
    credentialReportMaxAgeMs: settings.aws.credentialReportMaxAgeMinutes * 60_000,
    organization: settings.aws.organization && {
      ...settings.aws.organization,
      progress: accountProgressFor(settings, options),
    },
    reportWait: pollSeconds ? { minDelaySeconds: pollSeconds, maxDelaySeconds: pollSeconds * 4 } : undefined,
    credentialsFor: (context) =>
      auth.kind === 'federation'
        ? webIdentityFederation({
            tokenCredential: credential,
            audience: auth.audience,
            roleArn: auth.roleArn,
            roleSessionName: `cim-${name}-${context.runId}`,
            region: iamRegionForArn(auth.roleArn),
            stats: context.stats,
          })
        : undefined,
  });
}

function createSink(
  settings: Settings,
  credential: TokenCredential,
  options: ConfiguredRunOptions,
): RecordSink {
  if (options.dryRunDirectory !== undefined || settings.logsIngestion === undefined) {
    return ndjsonSink(options.dryRunDirectory ?? '.local/out');
  }
  return logsIngestionSink({
    ...settings.logsIngestion,
    credential,
    retryOptions: options.tuning?.ingestionRetry,
    // Cut fields are not logged row by row: the run counts them per table and field in its Warnings.
  });
}

/** The sink's settings alone, read leniently: only to report a settings failure in a run row. */
function sinkFromEnvironmentAlone(options: ConfiguredRunOptions): RecordSink | undefined {
  if (options.dryRunDirectory !== undefined) return ndjsonSink(options.dryRunDirectory);
  const read = new SettingsReader(options.env);
  const endpoint = read.httpsUrl('LOGS_INGESTION_ENDPOINT', read.raw('LOGS_INGESTION_ENDPOINT'), '');
  const dcrImmutableId = read.matching(
    'LOGS_INGESTION_DCR_ID',
    read.raw('LOGS_INGESTION_DCR_ID'),
    dcrImmutableIdPattern,
    '',
  );
  const audience = read.httpsUrl(
    'LOGS_INGESTION_AUDIENCE',
    read.raw('LOGS_INGESTION_AUDIENCE') ?? defaultIngestionAudience,
    '',
  );
  const clientId = read.raw('AZURE_CLIENT_ID');
  if (!endpoint || !dcrImmutableId || (options.host === 'function' && !clientId)) return undefined;
  return logsIngestionSink({
    endpoint,
    dcrImmutableId,
    audience,
    credential: azureCredentialFor(options.host, clientId),
    retryOptions: options.tuning?.ingestionRetry,
  });
}

function failingCollector(name: CollectorName, error: unknown): Collector {
  // A source that fails before its first row: the run records the failure like any other.
  return {
    name,
    table: collectorTables[name],
    read: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(error instanceof Error ? error : new Error(String(error))),
      }),
    }),
  };
}
