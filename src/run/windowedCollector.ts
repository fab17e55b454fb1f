import type { TableName, TableRows } from '../tables/generated.js';
import type { CollectorContext } from './collector.js';
import type { TimeWindow } from './runCollector.js';

/** How the runner reads one window. */
export interface WindowReadOptions {
  /**
   * Aborts the read: at the run's deadline, or when the runner gives the window up to read it in smaller
   * slices. The source passes it to every call it makes and then throws (the signal's reason).
   */
  readonly signal?: AbortSignal;
  /**
   * For a source that reads a window newest first (Graph): told, before each further page, the share of
   * the window's time span read in full so far (0–1). From it and the time taken so far the runner
   * projects whether the window will be read before the deadline, and splits it early if not. Not told on
   * the last page: the window is read then.
   */
  readonly onProgress?: (shareRead: number) => void;
}

/** An opened source: whose data it reads (the checkpoint scope) and how to read one window. */
export interface WindowedSource<Table extends TableName> {
  /** E.g. the Entra tenant ID: one checkpoint per collector and scope. */
  readonly scope: string;
  read(window: TimeWindow, options?: WindowReadOptions): AsyncIterable<TableRows[Table]>;
}

/** What tells one event from another: the source's Id for it, and its event time (ms since 1970). */
export interface EventIdentity {
  readonly id: string;
  readonly timeMs: number;
}

/**
 * One part of a collector's data with its own checkpoint (e.g. one Entra tenant), opened on its own: a
 * scope that cannot be opened or read (a customer tenant that never consented) fails alone.
 */
export interface WindowedScope<Table extends TableName> {
  /** How logs, warnings and errors name the scope, also before it is open: `tenant Contoso (…)`. */
  readonly label: string;
  open(): Promise<WindowedSource<Table>>;
}

/**
 * A source of events with their own event time, read window by window behind a checkpoint per scope:
 * either one scope (`open`), or several (`scopes`, e.g. one per Entra tenant).
 */
export type WindowedCollector<Table extends TableName = TableName> = WindowedCollectorBase<Table> &
  (
    | {
        /** Opens the one scope this collector reads. */
        open(context: CollectorContext): Promise<WindowedSource<Table>>;
        readonly scopes?: never;
      }
    | {
        /**
         * The scopes this run reads, side by side (at most `scopeConcurrency` at once), each window by
         * window behind its own checkpoint; one that fails fails alone.
         */
        scopes(context: CollectorContext): Promise<readonly WindowedScope<Table>[]>;
        /** Scopes read at once (default 1). */
        readonly scopeConcurrency?: number;
        readonly open?: never;
      }
  );

/** A collector's scopes for this run, whichever form it declares them in. */
export async function scopesOf<Table extends TableName>(
  collector: WindowedCollector<Table>,
  context: CollectorContext,
): Promise<readonly WindowedScope<Table>[]> {
  if (collector.scopes) return collector.scopes(context);
  return [{ label: collector.name, open: () => collector.open(context) }];
}

interface WindowedCollectorBase<Table extends TableName> {
  readonly name: string;
  readonly table: Table;
  /**
   * A row's Id and event time. With it, the Ids the sink accepted in the overlap before the checkpoint
   * are remembered with the checkpoint, and a later run that re-reads the overlap (for late events) skips
   * them instead of sending them again. A row without an identity (undefined) is always sent. Without
   * this function, every re-read row is sent again.
   */
  identify?(row: TableRows[Table]): EventIdentity | undefined;
}

export interface WindowPolicy {
  /** Re-read this much before the checkpoint: late events and clock skew land there. */
  readonly overlapMs: number;
  /** Stay this far behind now: events arrive in the source minutes late. */
  readonly lagMs: number;
  /** First run (no checkpoint): how far back to start. */
  readonly initialLookbackMs: number;
  /**
   * A window is read and committed in slices of at most this length. A slice that cannot be read before
   * the run's deadline is split, and the run goes on in slices of the smaller length.
   */
  readonly sliceMs: number;
  /**
   * The run's time budget (RUN_TIME_BUDGET_MINUTES): reading stops at its deadline, slices in flight are
   * aborted, and the next run resumes from the checkpoint.
   */
  readonly budgetMs: number;
  /** The source keeps events this long: a checkpoint older than that has lost data. */
  readonly retentionMs: number;
}

/** Splits [start, end] into consecutive slices of at most `sliceMs`. */
export function slicesOf(window: TimeWindow, sliceMs: number): TimeWindow[] {
  const slices: TimeWindow[] = [];
  for (let start = window.start.getTime(); start < window.end.getTime(); start += sliceMs) {
    slices.push({ start: new Date(start), end: new Date(Math.min(start + sliceMs, window.end.getTime())) });
  }
  return slices;
}
