import type { StreamRows, TableName, TableRows } from '../tables/generated.js';
import type { Truncation } from './ingestionLimits.js';

export type { Truncation } from './ingestionLimits.js';

/** What the caller of one `send` wants to be told about. */
export interface SendOptions {
  /**
   * Fields the sink cut to fit its destination's limits, one entry per row and field, told once the
   * rows carrying them were accepted (a run records them in its run row's Warnings).
   */
  readonly onTruncated?: (truncations: readonly Truncation[]) => void;
  /**
   * Aborts the upload (the run's deadline): `send` then rejects soon after, and the rows count as not
   * accepted, whatever part of them the destination may have taken (at least once, never lost).
   */
  readonly signal?: AbortSignal;
}

/** Where rows go. `send` resolves only when the destination has accepted every row it was given. */
export interface RecordSink {
  readonly description: string;
  send<Table extends TableName>(
    table: Table,
    rows: readonly TableRows[Table][],
    options?: SendOptions,
  ): Promise<void>;
}

/**
 * Where records of a table's DCR stream go when the stream is not the table's shape (raw log lines):
 * the data collection rule's transform makes the rows. `send` resolves once every record is accepted.
 */
export interface StreamSink {
  readonly description: string;
  sendStream<Table extends TableName>(
    table: Table,
    records: readonly StreamRows[Table][],
    options?: SendOptions,
  ): Promise<void>;
}

/** Some rows of a batch were not accepted: the run must fail and its checkpoint must not move. */
export class SinkRejectedError extends Error {
  override readonly name = 'SinkRejectedError';
  constructor(
    readonly table: TableName,
    readonly rejected: number,
    readonly attempted: number,
    reason: string,
  ) {
    super(`${rejected} of ${attempted} ${table} records were not accepted: ${reason}`);
  }
}
