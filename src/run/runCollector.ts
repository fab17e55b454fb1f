import { randomUUID } from 'node:crypto';
import type { CollectorRunsRow, TableName, TableRows } from '../tables/generated.js';
import type { RecordSink } from '../sinks/sink.js';
import type { Collector, SourceStats } from './collector.js';
import type { Logger } from './logger.js';
import { describeError } from './redact.js';
import { appVersion } from './version.js';

export type RunStatus = 'Succeeded' | 'Failed' | 'PartiallySucceeded';

export interface RunOptions<Table extends TableName> {
  readonly collector: Collector<Table>;
  readonly sink: RecordSink;
  readonly log: Logger;
  readonly runId?: string;
  /** Rows per sink call; the SDK splits each call into ~1 MB requests. */
  readonly batchSize?: number;
  /** Called with each batch the sink accepted (progress, summaries). */
  readonly onAccepted?: (rows: readonly TableRows[Table][]) => void;
  readonly stats?: SourceStats;
  readonly now?: () => Date;
}

export interface RunResult {
  readonly runId: string;
  readonly collector: string;
  readonly status: RunStatus;
  readonly recordsRead: number;
  readonly recordsUploaded: number;
  readonly apiCalls: number;
  readonly throttled: number;
  readonly durationMs: number;
  readonly warnings: readonly string[];
}

/** A run failed; the run row says Failed and the Functions host must record a failure too. */
export class CollectorRunError extends Error {
  override readonly name = 'CollectorRunError';
  constructor(
    readonly collector: string,
    readonly runId: string,
    message: string,
  ) {
    super(message);
  }
}

export function newRunId(): string {
  return randomUUID();
}

/**
 * Streams a collector's rows into a sink in batches, then writes one CollectorRuns_CL row, whatever
 * happened. A failed run rethrows after its row is written, so the host records the failure.
 */
export async function runCollector<Table extends TableName>(options: RunOptions<Table>): Promise<RunResult> {
  const { collector, sink, log } = options;
  const now = options.now ?? (() => new Date());
  const runId = options.runId ?? newRunId();
  const startTime = now();
  const stats: SourceStats = options.stats ?? { apiCalls: 0, throttled: 0, warnings: [] };
  const batchSize = options.batchSize ?? 2000;
  let recordsRead = 0;
  let recordsUploaded = 0;
  let failure: unknown;

  log.info(`${collector.name} run ${runId} started; writing to ${sink.description}`);
  try {
    let batch: TableRows[Table][] = [];
    const flush = async (): Promise<void> => {
      const rows = batch;
      batch = [];
      await sink.send(collector.table, rows);
      recordsUploaded += rows.length;
      options.onAccepted?.(rows);
    };
    for await (const row of collector.read({ runId, startTime, stats, log })) {
      recordsRead += 1;
      batch.push(row);
      if (batch.length >= batchSize) await flush();
    }
    await flush();
  } catch (error) {
    failure = error;
  }

  const endTime = now();
  const status: RunStatus = failure === undefined ? 'Succeeded' : 'Failed';
  const errorText = failure === undefined ? null : describeError(failure);
  const result: RunResult = {
    runId,
    collector: collector.name,
    status,
    recordsRead,
    recordsUploaded,
    apiCalls: stats.apiCalls,
    throttled: stats.throttled,
    durationMs: endTime.getTime() - startTime.getTime(),
    warnings: [...stats.warnings],
  };
  const runRow: CollectorRunsRow = {
    TimeGenerated: endTime.toISOString(),
    RunId: runId,
    Collector: collector.name,
    Status: status,
    StartTime: startTime.toISOString(),
    EndTime: endTime.toISOString(),
    DurationMs: result.durationMs,
    RecordsRead: recordsRead,
    RecordsUploaded: recordsUploaded,
    ApiCalls: stats.apiCalls,
    Throttled: stats.throttled,
    WindowStart: null,
    WindowEnd: null,
    Error: errorText,
    Warnings: stats.warnings.length > 0 ? describeError(stats.warnings.join('\n')) : null,
    Version: appVersion,
  };

  for (const warning of stats.warnings) log.warn(`${collector.name} run ${runId}: ${warning}`);
  let runRowError: unknown;
  try {
    await sink.send('CollectorRuns_CL', [runRow]);
  } catch (error) {
    runRowError = error;
    log.error(
      `${collector.name} run ${runId}: could not write its CollectorRuns_CL row: ${describeError(error)}`,
    );
  }

  const figures = `${recordsRead} read, ${recordsUploaded} uploaded, ${stats.apiCalls} API calls, ${stats.throttled} throttled, ${result.durationMs} ms`;
  if (failure !== undefined) {
    log.error(`${collector.name} run ${runId} failed (${figures}): ${errorText ?? ''}`);
    throw new CollectorRunError(
      collector.name,
      runId,
      `${collector.name} run ${runId} failed after ${recordsUploaded} of ${recordsRead} records were uploaded: ${errorText ?? ''}`,
    );
  }
  if (runRowError !== undefined) {
    throw new CollectorRunError(
      collector.name,
      runId,
      `${collector.name} run ${runId} uploaded its ${recordsUploaded} records but not its run row: ${describeError(runRowError)}`,
    );
  }
  log.info(`${collector.name} run ${runId} succeeded (${figures})`);
  return result;
}
