import { mkdir, open } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TableName, TableRows } from '../tables/generated.js';
import type { RecordSink, SendOptions } from './sink.js';
import { serializedPerFile } from '../lib/serializedPerFile.js';

// One writer per file for the whole process. Node writes a large buffer in 512 KiB pieces, so two
// appends in flight at once (the pump keeps up to 4) interleave mid-line; two sinks on the same
// directory would too. Appends to a file are therefore chained, in the order `send` was called.

/**
 * Appends `text` and flushes it to disk before resolving: a checkpoint may move once `send` resolves,
 * so the rows must survive a crash. A failed write is cut back to where it started, so the file never
 * keeps half a line for the next append to continue.
 */
async function appendDurably(file: string, text: string): Promise<void> {
  const handle = await open(file, 'a');
  try {
    const { size } = await handle.stat();
    try {
      await handle.writeFile(text, 'utf8');
      await handle.datasync();
    } catch (error) {
      await handle.truncate(size).catch(() => undefined);
      throw error;
    }
  } finally {
    await handle.close();
  }
}

/**
 * Dry runs and local runs: one `<Table>.ndjson` file per table under `directory`, appended, one row
 * per line. Batches land whole and in the order they were sent; `send` resolves once its rows are on
 * disk.
 */
export function ndjsonSink(directory: string): RecordSink {
  const absolute = resolve(directory);
  return {
    description: `NDJSON files in ${directory}`,
    send<Table extends TableName>(
      table: Table,
      rows: readonly TableRows[Table][],
      options?: SendOptions,
    ): Promise<void> {
      if (rows.length === 0) return Promise.resolve();
      // Queued synchronously, so the order of the calls is the order in the file.
      const file = join(absolute, `${table}.ndjson`);
      return serializedPerFile(file, async () => {
        // Like the Logs Ingestion sink: a batch whose deadline passed while it waited is not written.
        options?.signal?.throwIfAborted();
        await mkdir(absolute, { recursive: true });
        await appendDurably(file, rows.map((row) => `${JSON.stringify(row)}\n`).join(''));
      });
    },
  };
}
