import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'vitest';
import { ndjsonSink } from '../../src/sinks/ndjsonSink.js';
import type { CollectorRunsRow, EntraAuditLogsRow } from '../../src/tables/generated.js';

let directory: string;
beforeEach(async () => {
  directory = await mkdtemp(join(tmpdir(), 'cim-ndjson-'));
});
afterEach(() => rm(directory, { recursive: true, force: true }));

/** A batch of well over 1 MB: Node writes that in 512 KiB pieces, which is where appends interleave. */
function batch(number: number, rows = 400, padding = 3_000): EntraAuditLogsRow[] {
  return Array.from(
    { length: rows },
    (_, index) =>
      ({
        TimeGenerated: '2026-01-01T00:00:00.000Z',
        Id: `b${number}-r${index}`,
        // Multi-byte characters too: a cut in the middle of one would not parse either.
        OperationName: `${'é'.repeat(padding / 4)}${'x'.repeat(padding / 2)}`,
      }) as unknown as EntraAuditLogsRow,
  );
}

async function linesOf(table: string): Promise<string[]> {
  const text = await readFile(join(directory, `${table}.ndjson`), 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a whole line');
  return text.slice(0, -1).split('\n');
}

describe('ndjsonSink', () => {
  it('keeps every line whole when many >1 MB batches go to the same file at once', async () => {
    const sink = ndjsonSink(directory);
    const batches = Array.from({ length: 16 }, (_, number) => batch(number));
    assert.ok(Buffer.byteLength(batches[0]!.map((row) => JSON.stringify(row)).join('\n')) > 1_048_576);
    // All at once, plus another table in between: far more than the pump's 4 in flight.
    await Promise.all([
      ...batches.map((rows) => sink.send('EntraAuditLogs_CL', rows)),
      sink.send('EntraSignIns_CL', []),
    ]);

    const lines = await linesOf('EntraAuditLogs_CL');
    const broken = lines.filter((line) => {
      try {
        JSON.parse(line);
        return false;
      } catch {
        return true;
      }
    });
    assert.equal(broken.length, 0, `${broken.length} of ${lines.length} lines do not parse`);
    const ids = lines.map((line) => (JSON.parse(line) as { Id: string }).Id);
    assert.equal(ids.length, 16 * 400);
    assert.equal(new Set(ids).size, ids.length, 'every row exactly once');
    // Rows of a batch stay together and in order, and batches land in the order they were sent.
    assert.deepEqual(
      ids,
      batches.flatMap((rows) => rows.map((row) => row.Id)),
    );
  });

  it('resolves a send only once its rows are in the file, while later sends still queue', async () => {
    const sink = ndjsonSink(directory);
    const first = sink.send('EntraAuditLogs_CL', batch(1, 10, 40));
    const second = sink.send('EntraAuditLogs_CL', batch(2, 10, 40));
    await first;
    const afterFirst = await linesOf('EntraAuditLogs_CL');
    assert.ok(afterFirst.length >= 10);
    assert.equal((JSON.parse(afterFirst[9]!) as { Id: string }).Id, 'b1-r9');
    await second;
    assert.equal((await linesOf('EntraAuditLogs_CL')).length, 20);
  });

  it('serializes two sinks on the same directory too, and appends to what is there', async () => {
    const one = ndjsonSink(directory);
    const two = ndjsonSink(join(directory, '.'));
    await one.send('EntraAuditLogs_CL', batch(0, 5, 40));
    await Promise.all([
      one.send('EntraAuditLogs_CL', batch(1)),
      two.send('EntraAuditLogs_CL', batch(2)),
      one.send('EntraAuditLogs_CL', batch(3)),
    ]);
    const ids = (await linesOf('EntraAuditLogs_CL')).map((line) => (JSON.parse(line) as { Id: string }).Id);
    assert.equal(ids.length, 5 + 3 * 400);
    assert.deepEqual(ids.slice(0, 5), ['b0-r0', 'b0-r1', 'b0-r2', 'b0-r3', 'b0-r4']);
    assert.deepEqual(
      ids.slice(5),
      [1, 2, 3].flatMap((number) => batch(number).map((row) => row.Id)),
    );
  });

  it('rejects a batch it could not write and goes on with the next', async () => {
    const sink = ndjsonSink(directory);
    // A directory where the file should be: the append fails.
    await mkdir(join(directory, 'EntraSignIns_CL.ndjson'));
    const failed = sink.send('EntraSignIns_CL', batch(0, 3, 40) as never[]);
    const next = sink.send('EntraAuditLogs_CL', batch(1, 3, 40));
    await assert.rejects(failed, /EISDIR|illegal operation/i);
    await next;
    assert.equal((await linesOf('EntraAuditLogs_CL')).length, 3);
  });
});

describe('ndjsonSink and the run deadline', () => {
  it('writes nothing for a batch whose signal has fired, and rejects it', async () => {
    const sink = ndjsonSink(directory);
    const controller = new AbortController();
    controller.abort(new Error('deadline'));
    await assert.rejects(
      sink.send('CollectorRuns_CL', [{ RunId: 'r' } as CollectorRunsRow], { signal: controller.signal }),
      /deadline/,
    );
    await assert.rejects(readFile(join(directory, 'CollectorRuns_CL.ndjson'), 'utf8'), { code: 'ENOENT' });
  });
});
