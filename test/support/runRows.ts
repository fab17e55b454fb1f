import assert from 'node:assert/strict';
import type { CollectorRunsRow } from '../../src/tables/generated.js';
import type { LogsIngestionEmulator } from '../emulators/logsIngestion.js';

/** The last CollectorRuns_CL row the ingestion emulator accepted for `collector`. */
export function lastRunRow(
  ingestion: Pick<LogsIngestionEmulator, 'accepted'>,
  collector: string,
): CollectorRunsRow {
  const row = (ingestion.accepted('CollectorRuns_CL') as unknown as CollectorRunsRow[])
    .filter((r) => r.Collector === collector)
    .at(-1);
  assert.ok(row, `a ${collector} run row`);
  return row;
}

/**
 * `{ CHECKPOINT_TABLE }` naming a new table on each call: a test run with it starts from no checkpoint.
 */
export function freshCheckpointTables(prefix: string): () => Record<string, string> {
  let counter = 0;
  return () => {
    counter += 1;
    return { CHECKPOINT_TABLE: `${prefix}${counter}` };
  };
}
