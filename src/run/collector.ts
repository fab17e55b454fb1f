import type { TableName, TableRows } from '../tables/generated.js';
import type { Logger } from '../lib/logger.js';

/**
 * Counters a source keeps while it reads, and notes for the operator; they end up in the run row. None
 * of them changes how the run ends: that is what a read returns (ReadOutcome).
 */
export interface SourceStats {
  apiCalls: number;
  throttled: number;
  /** Notes that change nothing about the run's status (a stale credential report, a field cut). */
  readonly warnings: string[];
}

export function newSourceStats(): SourceStats {
  return { apiCalls: 0, throttled: 0, warnings: [] };
}

/** What a snapshot read ends with, besides its rows: the return value of its generator. */
export interface ReadOutcome {
  /**
   * Parts that failed while the rest went on (an AWS account of an organization): the run ends
   * PartiallySucceeded and its Error names each. Empty or absent: nothing failed.
   */
  readonly partialFailures?: readonly string[];
  /** What was read in full (e.g. account IDs), told to `afterAccepted` once the sink accepted it all. */
  readonly delivered?: readonly string[];
}

/** A read: its rows, and (for a generator) an outcome as its return value. */
export type CollectorRead<Row> = AsyncIterable<Row> | AsyncGenerator<Row, ReadOutcome | void, undefined>;

export interface CollectorContext {
  readonly runId: string;
  /** Snapshot time of the run: every row of a snapshot carries it. */
  readonly startTime: Date;
  readonly stats: SourceStats;
  readonly log: Logger;
  /**
   * Aborts when the run's time for reading is up (its deadline: RUN_TIME_BUDGET_MINUTES less the reserve
   * for delivering what was read and writing the run row) or the run is aborted from outside. A source
   * passes it to every call it makes (SDK requests, waits for pacing or backoff), so work in flight stops
   * at the deadline instead of running into the host's timeout. Absent when a source is driven outside a
   * run (tests, benchmarks): no deadline.
   */
  readonly signal?: AbortSignal;
}

/** A source of typed rows for one table; it knows nothing of where they go. */
export interface Collector<Table extends TableName = TableName> {
  /** Stable name used in run rows, session names and the CLI: `aws-access-keys`. */
  readonly name: string;
  readonly table: Table;
  read(context: CollectorContext): CollectorRead<TableRows[Table]>;
  /**
   * Called once the sink has accepted every row `read` gave (Succeeded or PartiallySucceeded), never
   * after a failed run, with what the read returned: where a source records what it has delivered. A
   * failure here fails the run.
   */
  afterAccepted?(context: CollectorContext, outcome: ReadOutcome): Promise<void>;
}

/** What a run's signal aborts with when its time is up. */
export class RunDeadlineError extends Error {
  override readonly name = 'RunDeadlineError';
}

/** A signal as raceAbort needs it: the platform's AbortSignal, or the Azure SDK's AbortSignalLike. */
export interface AbortSignalish {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** The error to throw for an aborted signal: its reason when that is an Error, else an AbortError. */
export function abortError(signal: AbortSignalish): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const message = typeof reason === 'string' ? reason : 'The operation was aborted';
  return new DOMException(message, 'AbortError');
}

/**
 * Settles like `promise`, or rejects with the signal's reason as soon as it aborts, whichever is first:
 * for waits that take no signal of their own (a shared pacer's queue, a call made by code that does not
 * pass one). What `promise` does after that is ignored, its rejection too.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignalish | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) {
    promise.catch(() => {});
    return Promise.reject(abortError(signal));
  }
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(abortError(signal));
    signal.addEventListener('abort', onAbort, { once: true });
  });
  aborted.catch(() => {});
  return Promise.race([promise, aborted]).finally(() => signal.removeEventListener('abort', onAbort));
}
