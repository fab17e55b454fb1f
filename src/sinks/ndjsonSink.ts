import { appendFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { TableName, TableRows } from '../tables/generated.js';
import type { RecordSink } from './sink.js';

/** Dry runs: one `<Table>.ndjson` file per table under `directory`, appended, one row per line. */
export function ndjsonSink(directory: string): RecordSink {
  let ready: Promise<unknown> | undefined;
  return {
    description: `NDJSON files in ${directory}`,
    async send<Table extends TableName>(table: Table, rows: readonly TableRows[Table][]): Promise<void> {
      if (rows.length === 0) return;
      ready ??= mkdir(directory, { recursive: true });
      await ready;
      await appendFile(
        join(directory, `${table}.ndjson`),
        rows.map((row) => `${JSON.stringify(row)}\n`).join(''),
      );
    },
  };
}
