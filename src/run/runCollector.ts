import { randomUUID } from 'node:crypto';
import type { CollectorRunsRow, TableName, TableRows } from '../tables/generated.js';
import type { RecordSink } from '../sinks/sink.js';
import { truncationTally } from '../sinks/truncationTally.js';
import { newSourceStats, type Collector, type CollectorContext, type SourceStats } from './collector.js';
import type { Logger } from './logger.js';
import { pumpToSink, type RunProgress } from './pumpToSink.js';
import { describeError } from './redact.js';
import { appVersion } from './version.js';

export type RunStatus = 'Succeeded' | 'Failed' | 'PartiallySucceeded';

export interface TimeWindow {
  readonly start: Date;
  readonly end: Date;
}

/** What every run needs, whatever its source. */
export interface RunBaseOptions<Table extends TableName> {
  readonly sink: RecordSink;
  readonly log: Logger;
  readonly runId?: string;
  /** Rows per sink call; the SDK splits each call into ~1 MB requests. */
  readonly batchSize?: number;
  /** Sink calls in flight at once. */
  readonly maxInFlight?: number;
  /** Called with each batch the sink accepted (progress, summaries). */
  readonly onAccepted?: (rows: readonly TableRows[Table][]) => void;
  readonly stats?: SourceStats;
  readonly now?: () => Date;
}

export interface RunOptions<Table extends TableName> extends RunBaseOptions<Table> {
  readonly collector: Collector<Table>;
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
  readonly window: TimeWindow | undefined;
  readonly warnings: readonly string[];
}

/**
 * A run failed; the run row says Failed and the Functions host must record a failure too. `cause` is
 * what failed (an SDK error with its status and request ID), kept for whoever catches this. By the time
 * it is thrown the runner has logged the failure, so callers with the same log need not say it again.
 */
export class CollectorRunError extends Error {
  override readonly name = 'CollectorRunError';
  constructor(
    readonly collector: string,
    readonly runId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function newRunId(): string {
  return randomUUID();
}

/** How a run's body ended when it did not throw. */
export interface RunOutcome {
  readonly status: Exclude<RunStatus, 'Failed'>;
  readonly window?: TimeWindow;
}

/** The context a run body works in: the collector context plus the live counts and the pump. */
export interface RunBodyContext<Table extends TableName> extends CollectorContext {
  readonly progress: RunProgress;
  /** Streams rows into the sink; resolves when all were accepted. */
  pump(rows: AsyncIterable<TableRows[Table]>): Promise<void>;
  /** The window covered so far, reported in the run row even if the run fails later. */
  covered: TimeWindow | undefined;
}

/** Streams a snapshot collector's rows into a sink, then writes its run row. */
export async function runCollector<Table extends TableName>(options: RunOptions<Table>): Promise<RunResult> {
  const { collector } = options;
  return executeRun(collector.name, collector.table, options, async (context) => {
    await context.pump(collector.read(context));
    await collector.afterAccepted?.(context);
    return { status: 'Succeeded' };
  });
}

/**
 * Runs a body, then writes one CollectorRuns_CL row, whatever happened. A failed run rethrows after
 * its row is written, so the Functions host records the failure too.
 */
export async function executeRun<Table extends TableName>(
  collectorName: string,
  table: Table,
  options: RunBaseOptions<Table>,
  body: (context: RunBodyContext<Table>) => Promise<RunOutcome>,
): Promise<RunResult> {
  const { sink, log } = options;
  const now = options.now ?? (() => new Date());
  const runId = options.runId ?? newRunId();
  const startTime = now();
  const stats: SourceStats = options.stats ?? newSourceStats();
  const progress: RunProgress = { recordsRead: 0, recordsUploaded: 0 };
  // Fields the sink cut end up in the run row's Warnings, one line per table however many rows.
  const truncations = truncationTally();
  const context: RunBodyContext<Table> = {
    runId,
    startTime,
    stats,
    log,
    progress,
    covered: undefined,
    pump: (rows) =>
      pumpToSink(rows, sink, table, progress, {
        batchSize: options.batchSize ?? 1000,
        maxInFlight: options.maxInFlight ?? 4,
        onAccepted: options.onAccepted,
        onTruncated: (cuts) => truncations.add(table, cuts),
      }),
  };

  log.info(`${collectorName} run ${runId} started; writing to ${sink.description}`);
  let outcome: RunOutcome | undefined;
  let failure: unknown;
  try {
    outcome = await body(context);
  } catch (error) {
    failure = error;
  }

  stats.warnings.push(...truncations.warnings());
  const endTime = now();
  // Parts that failed while the rest landed make the run PartiallySucceeded, and say which in Error.
  const status: RunStatus =
    outcome === undefined ? 'Failed' : stats.failures.length > 0 ? 'PartiallySucceeded' : outcome.status;
  const window = outcome?.window ?? context.covered;
  const errorText =
    failure !== undefined
      ? describeError(failure)
      : stats.failures.length > 0
        ? describeError(stats.failures.join('\n'))
        : null;
  const result: RunResult = {
    runId,
    collector: collectorName,
    status,
    recordsRead: progress.recordsRead,
    recordsUploaded: progress.recordsUploaded,
    apiCalls: stats.apiCalls,
    throttled: stats.throttled,
    durationMs: endTime.getTime() - startTime.getTime(),
    window,
    warnings: [...stats.warnings],
  };
  const runRow: CollectorRunsRow = {
    TimeGenerated: endTime.toISOString(),
    RunId: runId,
    Collector: collectorName,
    Status: status,
    StartTime: startTime.toISOString(),
    EndTime: endTime.toISOString(),
    DurationMs: result.durationMs,
    RecordsRead: progress.recordsRead,
    RecordsUploaded: progress.recordsUploaded,
    ApiCalls: stats.apiCalls,
    Throttled: stats.throttled,
    WindowStart: window?.start.toISOString() ?? null,
    WindowEnd: window?.end.toISOString() ?? null,
    Error: errorText,
    Warnings: stats.warnings.length > 0 ? describeError(stats.warnings.join('\n')) : null,
    Version: appVersion,
  };

  for (const warning of stats.warnings) log.warn(`${collectorName} run ${runId}: ${warning}`);
  let runRowError: unknown;
  try {
    await sink.send('CollectorRuns_CL', [runRow], {
      // Too late for this row's own Warnings: the log has to say it.
      onTruncated: (cuts) =>
        log.warn(
          `${collectorName} run ${runId}: its CollectorRuns_CL row was cut to fit: ${cuts.map((cut) => `${cut.field} (${cut.originalBytes} bytes)`).join(', ')}`,
        ),
    });
  } catch (error) {
    runRowError = error;
    log.error(
      `${collectorName} run ${runId}: could not write its CollectorRuns_CL row: ${describeError(error)}`,
    );
  }

  const figures = `${progress.recordsRead} read, ${progress.recordsUploaded} uploaded, ${stats.apiCalls} API calls, ${stats.throttled} throttled, ${result.durationMs} ms`;
  if (failure !== undefined) {
    log.error(`${collectorName} run ${runId} failed (${figures}): ${errorText ?? ''}`);
    throw new CollectorRunError(
      collectorName,
      runId,
      `${collectorName} run ${runId} failed after ${progress.recordsUploaded} of ${progress.recordsRead} records were uploaded: ${errorText ?? ''}`,
      { cause: failure },
    );
  }
  if (runRowError !== undefined) {
    throw new CollectorRunError(
      collectorName,
      runId,
      `${collectorName} run ${runId} uploaded its ${progress.recordsUploaded} records but not its run row: ${describeError(runRowError)}`,
      { cause: runRowError },
    );
  }
  for (const partFailure of stats.failures) log.error(`${collectorName} run ${runId}: ${partFailure}`);
  log.info(
    `${collectorName} run ${runId} ${status === 'Succeeded' ? 'succeeded' : 'partially succeeded'} (${figures})`,
  );
  return result;
}
