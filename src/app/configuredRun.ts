import type { TokenCredential } from '@azure/core-auth';
import { azureCredentialFor } from '../config/azureCredential.js';
import { SettingsReader } from '../config/parse.js';
import {
  dcrImmutableIdPattern,
  defaultIngestionAudience,
  loadSettings,
  type Settings,
} from '../config/settings.js';
import type { Host } from '../config/collectorSettings.js';
import type { Logger } from '../lib/logger.js';
import type { Collector } from '../run/collector.js';
import type {
  AnyCollectorDeclaration,
  CollectorFactoryContext,
  CollectorTuning,
  OpaqueSettings,
} from '../run/collectorDeclaration.js';
import { newRunId, runCollector, type RunResult, type TimeWindow } from '../run/runCollector.js';
import { runWindowedCollector } from '../run/runWindowedCollector.js';
import { logsIngestionSink, type LogsIngestionSinkOptions } from '../sinks/logsIngestionSink.js';
import { ndjsonSink } from '../sinks/ndjsonSink.js';
import type { RecordSink } from '../sinks/sink.js';
import type { CheckpointStore } from '../state/checkpointStore.js';
import { fileCheckpointStore } from '../state/fileCheckpointStore.js';
import { readOnlyCheckpointStore } from '../state/readOnlyCheckpointStore.js';
import { createTableCheckpointStore } from '../state/tableCheckpointStore.js';
import type { TableName, TableRows } from '../tables/generated.js';
import { declaredCollectors } from './collectors.generated.js';

/** The names of every declared collector, in declaration order. */
export const collectorNames: readonly string[] = declaredCollectors.map((collector) => collector.name);

/** The declaration of `name`, or undefined when no collector has that name. */
export function collectorNamed(name: string): AnyCollectorDeclaration | undefined {
  return declaredCollectors.find((collector) => collector.name === name);
}

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
  /** Test seams: shorter SDK backoff (the sink's, the source's), faster polling. */
  readonly tuning?: CollectorTuning & { readonly ingestionRetry?: LogsIngestionSinkOptions['retryOptions'] };
}

/**
 * What a timer or the CLI runs: settings → credential → collector and sink → run. A run that cannot
 * even load its settings still writes a Failed run row when the sink's own settings allow it.
 */
export async function runConfiguredCollector(
  name: string,
  options: ConfiguredRunOptions,
): Promise<RunResult> {
  const declaration = collectorNamed(name);
  if (declaration === undefined) {
    throw new Error(`No collector is named "${name}" (collectors: ${collectorNames.join(', ')})`);
  }
  const runId = newRunId();
  let loaded: { settings: Settings; collectorSettings: OpaqueSettings; credential: TokenCredential };
  try {
    loaded = await loadSettings({
      env: options.env,
      host: options.host,
      dryRun: options.dryRunDirectory !== undefined,
      collector: {
        readSettings: declaration.readSettings,
        schedule: { setting: declaration.timer.scheduleSetting, default: declaration.timer.defaultSchedule },
        needsState: declaration.kind === 'windowed',
      },
      log: options.log,
      credentialFor: (clientId) => azureCredentialFor(options.host, clientId),
    });
  } catch (error) {
    const sink = sinkFromEnvironmentAlone(options);
    if (sink === undefined) throw error;
    // The run row is the operator's alert path: record the failure there, then fail.
    return runCollector({ collector: failingCollector(declaration, error), sink, log: options.log, runId });
  }
  const { settings, collectorSettings, credential } = loaded;
  const state = createStateStore(settings, options);
  const context: CollectorFactoryContext = {
    host: options.host,
    credential,
    state,
    tuning: options.tuning ?? {},
  };
  const common = {
    sink: createSink(settings, credential, options),
    log: options.log,
    runId,
    onAccepted: options.onAccepted,
    budgetMs: settings.runBudgetMs,
  };
  if (declaration.kind === 'snapshot') {
    return runCollector({ ...common, collector: declaration.create(collectorSettings, context) });
  }
  if (state === undefined)
    throw new Error(`${declaration.name} keeps checkpoints, but no store is configured`);
  return runWindowedCollector({
    ...common,
    collector: declaration.create(collectorSettings, context),
    checkpoints: state,
    policy: declaration.windowPolicy(collectorSettings),
    explicitWindow: options.window,
  });
}

/**
 * Where runs keep state (checkpoints, organization progress): the app's storage account, or the CLI's
 * local file. A function host without storage settings (only ever a test of a snapshot collector) has
 * none. A dry run reads state and writes none.
 */
function createStateStore(settings: Settings, options: ConfiguredRunOptions): CheckpointStore | undefined {
  const store = createWritableStateStore(settings, options);
  if (store === undefined) return undefined;
  return options.dryRunDirectory === undefined ? store : readOnlyCheckpointStore(store, options.log);
}

function createWritableStateStore(
  settings: Settings,
  options: { readonly host: Host },
): CheckpointStore | undefined {
  const storage = settings.checkpointStorage;
  if (storage === undefined)
    return options.host === 'cli' ? fileCheckpointStore(localCheckpointFile) : undefined;
  const clientId = storage.kind === 'identity' ? (storage.clientId ?? settings.azureClientId) : undefined;
  return createTableCheckpointStore(storage, { credential: azureCredentialFor(options.host, clientId) });
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
    read.withDefault('LOGS_INGESTION_AUDIENCE', defaultIngestionAudience),
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

function failingCollector(declaration: AnyCollectorDeclaration, error: unknown): Collector {
  // A source that fails before its first row: the run records the failure like any other.
  return {
    name: declaration.name,
    table: declaration.table,
    read: () => ({
      [Symbol.asyncIterator]: () => ({
        next: () => Promise.reject(error instanceof Error ? error : new Error(String(error))),
      }),
    }),
  };
}
