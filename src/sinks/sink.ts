import type { TableName, TableRows } from '../tables/generated.js';

/** Where rows go. `send` resolves only when the destination has accepted every row it was given. */
export interface RecordSink {
  readonly description: string;
  send<Table extends TableName>(table: Table, rows: readonly TableRows[Table][]): Promise<void>;
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
