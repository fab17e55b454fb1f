import type { TableName, TableRows } from '../tables/generated.js';
import type { Logger } from './logger.js';

/** Counters a source keeps while it reads; they end up in the run row. */
export interface SourceStats {
  apiCalls: number;
  throttled: number;
  readonly warnings: string[];
  /** Parts that failed while the rest went on (an AWS account of an organization): PartiallySucceeded. */
  readonly failures: string[];
}

export function newSourceStats(): SourceStats {
  return { apiCalls: 0, throttled: 0, warnings: [], failures: [] };
}

export interface CollectorContext {
  readonly runId: string;
  /** Snapshot time of the run: every row of a snapshot carries it. */
  readonly startTime: Date;
  readonly stats: SourceStats;
  readonly log: Logger;
}

/** A source of typed rows for one table; it knows nothing of where they go. */
export interface Collector<Table extends TableName = TableName> {
  /** Stable name used in run rows, session names and the CLI: `aws-access-keys`. */
  readonly name: string;
  readonly table: Table;
  read(context: CollectorContext): AsyncIterable<TableRows[Table]>;
  /**
   * Called once the sink has accepted every row `read` gave (Succeeded or PartiallySucceeded), never
   * after a failed run: where a source records what it has delivered. A failure here fails the run.
   */
  afterAccepted?(context: CollectorContext): Promise<void>;
}
