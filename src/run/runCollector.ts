import { randomUUID } from 'node:crypto';
import type { CollectorRunsRow, TableName, TableRows } from '../tables/generated.js';
import type { RecordSink } from '../sinks/sink.js';
import { truncationTally } from '../sinks/truncationTally.js';
import {
  newSourceStats,
  RunDeadlineError,
  type Collector,
  type CollectorContext,
  type ReadOutcome,
  type SourceStats,
} from './collector.js';
import type { Logger } from '../lib/logger.js';
import { pumpToSink, type RunProgress } from './pumpToSink.js';
import { describeError } from '../lib/redact.js';
import { appVersion } from '../lib/version.js';

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
  /**
   * RUN_TIME_BUDGET_MINUTES in ms: the run, its run row included, ends within it (see `budgetPhases`).
   * Default: a windowed run's policy budget, else `defaultRunBudgetMs`. Measured on the real clock
   * (`Date.now`), not `now`.
   */
  readonly budgetMs?: number;
  /** Aborts the run from outside (a host shutting down, Ctrl-C): handled like the deadline. */
  readonly signal?: AbortSignal;
}

/** RUN_TIME_BUDGET_MINUTES' default: the Flex Consumption host stops a run at 30 min. */
export const defaultRunBudgetMs = 20 * 60_000;

/** How a run spends its time budget; every phase in ms from the run's start. */
export interface BudgetPhases {
  /** Reading stops here (the deadline): sources are aborted, no slice or account starts after it. */
  readonly workMs: number;
  /** Uploads of what was read before the deadline may go on until here; then they are aborted. */
  readonly deliveryMs: number;
  /** The run row is written by here: the end of the budget. */
  readonly endMs: number;
}

/**
 * Reading gets the budget less a reserve: up to 2 min (10 %) to deliver what was read before the deadline
 * (an organization's finished accounts, a slice's last batches), then up to 1 min (5 %, at least 0.2 s)
 * to write the run row. At the default 20 min: reading until 17 min, delivery until 19, the row by 20,
 * well inside the host's 30.
 */
export function budgetPhases(budgetMs: number): BudgetPhases {
  const runRowMs = Math.min(60_000, Math.max(200, budgetMs * 0.05));
  const deliveryMs = Math.min(120_000, budgetMs * 0.1);
  const workMs = Math.max(0, budgetMs - runRowMs - deliveryMs);
  return {
    workMs,
    deliveryMs: workMs + deliveryMs,
    endMs: Math.max(budgetMs, workMs + deliveryMs + runRowMs),
  };
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
  /** Parts that failed while the rest landed: the run is PartiallySucceeded, and its Error names them. */
  readonly partialFailures?: readonly string[];
}

/** The context a run body works in: the collector context plus the live counts and the pump. */
export interface RunBodyContext<Table extends TableName> extends CollectorContext {
  /** Aborts at the deadline (or from outside): reading stops. */
  readonly signal: AbortSignal;
  readonly deadline: RunDeadline;
  readonly progress: RunProgress;
  /**
   * Streams rows into the sink; resolves when all were accepted. Uploads run under the delivery
   * deadline, so rows read before the deadline are still delivered; `onAccepted` is told each batch.
   */
  pump(
    rows: AsyncIterable<TableRows[Table]>,
    options?: { onAccepted?: (rows: readonly TableRows[Table][]) => void },
  ): Promise<unknown>;
  /** The window covered so far, reported in the run row even if the run fails later. */
  covered: TimeWindow | undefined;
}

/** When a run must stop reading, and how to say so. */
export interface RunDeadline {
  readonly budgetMs: number;
  /** `Date.now()` at which reading stops; Infinity without a deadline. */
  readonly workEndsAt: number;
  /** Whether reading was stopped by the deadline (not from outside). */
  reached(): boolean;
  /** `the time budget of 20 min (RUN_TIME_BUDGET_MINUTES; reading stops after 17 min) ran out`. */
  describe(): string;
}

/**
 * Streams a snapshot collector's rows into a sink, then writes its run row. A snapshot has no partial
 * state: one stopped by the deadline is incomplete, so the run fails (its row says Failed, naming the
 * snapshot and what to change) rather than pass an incomplete inventory off as a partial success; the
 * next run starts the snapshot over. A collector that can end early with something whole (an
 * organization's finished accounts) catches the abort itself and says what it left out.
 */
export async function runCollector<Table extends TableName>(options: RunOptions<Table>): Promise<RunResult> {
  const { collector } = options;
  return executeRun(collector.name, collector.table, options, async (context) => {
    let outcome: ReadOutcome;
    try {
      outcome = readOutcome(await context.pump(collector.read(context)));
    } catch (error) {
      if (!context.signal.aborted) throw error;
      const why = context.deadline.reached() ? context.deadline.describe() : 'the run was aborted';
      throw new Error(
        `${why} after ${context.progress.recordsUploaded} of the snapshot's rows were uploaded: ` +
          `the snapshot (SnapshotId ${context.runId}) is incomplete, and the next run starts it over. ` +
          `Raise RUN_TIME_BUDGET_MINUTES (below the host's functionTimeout) or the source's concurrency`,
        { cause: error },
      );
    }
    await collector.afterAccepted?.(context, outcome);
    const partialFailures = outcome.partialFailures ?? [];
    return { status: partialFailures.length > 0 ? 'PartiallySucceeded' : 'Succeeded', partialFailures };
  });
}

/** What a read returned, as a ReadOutcome (a plain iterable returns nothing: nothing failed). */
function readOutcome(returned: unknown): ReadOutcome {
  return typeof returned === 'object' && returned !== null ? returned : {};
}

/** `90 min`, `2.5 h`, `40 s`, `0.8 s`. */
export function formatSpan(ms: number): string {
  const round = (value: number) => String(Math.round(value * 10) / 10);
  if (ms >= 2 * 3_600_000) return `${round(ms / 3_600_000)} h`;
  if (ms >= 60_000) return `${round(ms / 60_000)} min`;
  return `${round(ms / 1000)} s`;
}

/** setTimeout's limit (about 24.8 days); a later deadline is no deadline. */
const maxTimerMs = 2 ** 31 - 1;

/** A timer for `ms` from now, if it is one setTimeout can keep. */
function timer(timers: NodeJS.Timeout[], ms: number, callback: () => void): void {
  if (!Number.isFinite(ms) || ms > maxTimerMs) return;
  timers.push(setTimeout(callback, Math.max(0, ms)));
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

  // The deadline, on the real clock. Reading stops at workMs; uploads of what was read stop at
  // deliveryMs; the run row is written by endMs. Timers keep the process alive until the run ends, so a
  // source that hangs cannot let it exit silently either.
  const budgetMs = options.budgetMs ?? defaultRunBudgetMs;
  const phases = budgetPhases(budgetMs);
  const startedAt = Date.now();
  const timers: NodeJS.Timeout[] = [];
  const work = new AbortController();
  const delivery = new AbortController();
  const deadline: RunDeadline = {
    budgetMs,
    workEndsAt: Number.isFinite(phases.workMs) ? startedAt + phases.workMs : Infinity,
    reached: () => work.signal.reason instanceof RunDeadlineError,
    describe: () =>
      `the time budget of ${formatSpan(budgetMs)} (RUN_TIME_BUDGET_MINUTES; reading stops after ${formatSpan(phases.workMs)}) ran out`,
  };
  timer(timers, phases.workMs, () => work.abort(new RunDeadlineError(deadline.describe())));
  timer(timers, phases.deliveryMs, () =>
    delivery.abort(new RunDeadlineError(`${deadline.describe()}, and the time to deliver what was read too`)),
  );
  const external = options.signal;
  const abortFromOutside = () => work.abort(external?.reason);
  if (external?.aborted) abortFromOutside();
  else external?.addEventListener('abort', abortFromOutside, { once: true });

  const context: RunBodyContext<Table> = {
    runId,
    startTime,
    stats,
    log,
    signal: work.signal,
    deadline,
    progress,
    covered: undefined,
    pump: (rows, pumpOptions) =>
      pumpToSink(rows, sink, table, progress, {
        batchSize: options.batchSize ?? 1000,
        maxInFlight: options.maxInFlight ?? 4,
        onAccepted: (batch) => {
          pumpOptions?.onAccepted?.(batch);
          options.onAccepted?.(batch);
        },
        onTruncated: (cuts) => truncations.add(table, cuts),
        signal: delivery.signal,
      }),
  };

  log.info(`${collectorName} run ${runId} started; writing to ${sink.description}`);
  let outcome: RunOutcome | undefined;
  let failure: unknown;
  try {
    // A body that does not stop when its uploads were aborted is left behind, so the run row is still
    // written in time; anything it does later can only be behind accepted data (a checkpoint).
    const abandoned = new Promise<'abandoned'>((resolve) =>
      timer(timers, (phases.deliveryMs + phases.endMs) / 2, () => resolve('abandoned')),
    );
    const running = body(context);
    const settled = await Promise.race([running, abandoned]);
    if (settled === 'abandoned') {
      running.catch(() => {});
      throw new Error(`${deadline.describe()}, and the run did not stop when its work was aborted`);
    }
    outcome = settled;
  } catch (error) {
    failure = error;
  } finally {
    external?.removeEventListener('abort', abortFromOutside);
    // Whatever the body left running (a raced wait, an abandoned body) stops with the run.
    work.abort(new DOMException('the run ended', 'AbortError'));
    for (const pending of timers) clearTimeout(pending);
  }

  stats.warnings.push(...truncations.warnings());
  const endTime = now();
  // Parts that failed while the rest landed make the run PartiallySucceeded, and say which in Error.
  const partialFailures = outcome?.partialFailures ?? [];
  const status: RunStatus =
    outcome === undefined ? 'Failed' : partialFailures.length > 0 ? 'PartiallySucceeded' : outcome.status;
  const window = outcome?.window ?? context.covered;
  const errorText =
    failure !== undefined
      ? describeError(failure)
      : partialFailures.length > 0
        ? describeError(partialFailures.join('\n'))
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
  // The run row gets what is left of the budget, but never less than a short reserve.
  const rowTimeoutMs = Math.max(startedAt + phases.endMs - Date.now(), 200);
  const rowTimeout = new AbortController();
  const rowTimer: NodeJS.Timeout[] = [];
  timer(rowTimer, rowTimeoutMs, () =>
    rowTimeout.abort(new RunDeadlineError(`the run row was not accepted within ${rowTimeoutMs} ms`)),
  );
  try {
    await sink.send('CollectorRuns_CL', [runRow], {
      signal: rowTimeout.signal,
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
  } finally {
    for (const pending of rowTimer) clearTimeout(pending);
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
  for (const partFailure of partialFailures) log.error(`${collectorName} run ${runId}: ${partFailure}`);
  log.info(
    `${collectorName} run ${runId} ${status === 'Succeeded' ? 'succeeded' : 'partially succeeded'} (${figures})`,
  );
  return result;
}
