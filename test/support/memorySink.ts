import type { RecordSink } from '../../src/sinks/sink.js';
import type { TableName, TableRows } from '../../src/tables/generated.js';

export interface MemorySinkOptions {
  /** Return an error to reject this batch (nothing of it is kept); `stored` = rows of the table kept so far. */
  readonly reject?: (table: TableName, batch: readonly unknown[], stored: number) => Error | undefined;
}

/** A sink that keeps what it accepts, per table, in arrival order. */
export function memorySink(options: MemorySinkOptions = {}) {
  const rows = new Map<TableName, unknown[]>();
  const sink: RecordSink = {
    description: 'memory',
    send(table, batch) {
      const stored = rows.get(table) ?? [];
      const error = options.reject?.(table, batch, stored.length);
      if (error) return Promise.reject(error);
      rows.set(table, [...stored, ...batch]);
      return Promise.resolve();
    },
  };
  const rowsOf = <Table extends TableName>(table: Table): TableRows[Table][] =>
    (rows.get(table) ?? []) as TableRows[Table][];
  return { sink, rows, rowsOf };
}
