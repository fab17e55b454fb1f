import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { Collector } from '../../src/run/collector.js';
import type { Logger } from '../../src/lib/logger.js';
import { CollectorRunError, runCollector } from '../../src/run/runCollector.js';
import { fitToIngestionLimits } from '../../src/sinks/ingestionLimits.js';
import { SinkRejectedError, type RecordSink } from '../../src/sinks/sink.js';
import { truncationTally } from '../../src/sinks/truncationTally.js';
import type { EntraAuditLogsRow } from '../../src/tables/generated.js';
import { memorySink } from '../support/memorySink.js';

/** Fits rows like the Logs Ingestion sink does and reports the cuts of accepted batches; keeps the rows. */
function fittingSink(rejectBatch?: number) {
  const memory = memorySink();
  let batches = 0;
  const sink: RecordSink = {
    description: 'fitting memory sink',
    async send(table, rows, options) {
      if (table !== 'CollectorRuns_CL' && ++batches === rejectBatch)
        throw new SinkRejectedError(table, rows.length, rows.length, 'HTTP 503');
      const fitted = rows.map((row) => fitToIngestionLimits(row));
      await memory.sink.send(
        table,
        fitted.map((result) => result.row),
      );
      const cuts = fitted.flatMap((result) => result.truncations);
      if (cuts.length > 0) options?.onTruncated?.(cuts);
    },
  };
  return { ...memory, sink };
}

function audit(i: number, oversized: boolean): EntraAuditLogsRow {
  return {
    TimeGenerated: '2026-01-01T00:00:00.000Z',
    Id: `a${i}`,
    InitiatedBy: oversized
      ? { user: { id: `u${i}`, details: 'x'.repeat(70_000 + i) } }
      : { user: { id: `u${i}` } },
    TargetResources:
      oversized && i % 100 === 0 ? Array.from({ length: 5_000 }, (_, n) => ({ id: `t${n}` })) : [],
  } as unknown as EntraAuditLogsRow;
}

function collector(count: number, oversized: (i: number) => boolean): Collector<'EntraAuditLogs_CL'> {
  return {
    name: 'audits',
    table: 'EntraAuditLogs_CL',
    async *read() {
      for (let i = 0; i < count; i += 1) yield await Promise.resolve(audit(i, oversized(i)));
    },
  };
}

const warned: string[] = [];
const log: Logger = { info: () => {}, warn: (m) => warned.push(m), error: () => {} };

/** Reports a cut InitiatedBy for every row and a cut TargetResources for every tenth, without cutting. */
function reportingSink() {
  const memory = memorySink();
  const sink: RecordSink = {
    description: 'reporting memory sink',
    async send(table, rows, options) {
      await memory.sink.send(table, rows);
      if (table === 'CollectorRuns_CL') return;
      options?.onTruncated?.(
        rows.flatMap((row) => {
          const i = Number((row as EntraAuditLogsRow).Id?.slice(1));
          return [
            { field: 'InitiatedBy', originalBytes: 70_000 + i },
            ...(i % 10 === 0 ? [{ field: 'TargetResources', originalBytes: 100_000 }] : []),
          ];
        }),
      );
    },
  };
  return { ...memory, sink };
}

describe('truncations in the run row', () => {
  it('are counted per table and field in Warnings: one line for 10,000 cut rows', async () => {
    const { sink, rowsOf } = reportingSink();
    const result = await runCollector({
      collector: collector(10_000, () => false),
      sink,
      log,
      batchSize: 500,
    });
    assert.equal(result.status, 'Succeeded');
    const [runRow] = rowsOf('CollectorRuns_CL');
    assert.equal(
      runRow?.Warnings,
      'EntraAuditLogs_CL: fields cut to fit the ingestion limits (64 KB per field, 1 MB per record): ' +
        'InitiatedBy in 10000 rows (largest 79999 bytes), TargetResources in 1000 rows (largest 100000 bytes)',
    );
    assert.deepEqual(result.warnings, [runRow?.Warnings]);
    assert.equal(warned.filter((line) => line.includes('fields cut')).length, 1, 'logged once, with the run');
  });

  it('come from the rows the sink cut, which stay objects with their small members', async () => {
    const { sink, rowsOf } = fittingSink();
    const result = await runCollector({
      collector: collector(100, (i) => i % 5 === 0),
      sink,
      log,
      batchSize: 30,
    });
    assert.deepEqual(result.warnings, [
      'EntraAuditLogs_CL: fields cut to fit the ingestion limits (64 KB per field, 1 MB per record): ' +
        `InitiatedBy in 20 rows (largest ${Buffer.byteLength(JSON.stringify(audit(95, true).InitiatedBy))} bytes), ` +
        `TargetResources in 1 row (largest ${Buffer.byteLength(JSON.stringify(audit(0, true).TargetResources))} bytes)`,
    ]);
    const cut = rowsOf('EntraAuditLogs_CL')[5]!;
    const initiatedBy = cut.InitiatedBy as { user: { id: string; details: string } };
    assert.deepEqual(Object.keys(initiatedBy.user), ['id', 'details']);
    assert.equal(initiatedBy.user.id, 'u5');
    assert.match(initiatedBy.user.details, /^xxx.*truncated by crosscloud-identity-monitor: 70007 bytes\]$/);
    assert.equal(rowsOf('CollectorRuns_CL')[0]?.Warnings, result.warnings[0]);
  });

  it('says nothing when no row was cut', async () => {
    const { sink, rowsOf } = fittingSink();
    const result = await runCollector({ collector: collector(50, () => false), sink, log, batchSize: 10 });
    assert.deepEqual(result.warnings, []);
    assert.equal(rowsOf('CollectorRuns_CL')[0]?.Warnings, null);
  });

  it('are recorded for the accepted batches of a run that failed', async () => {
    const { sink, rowsOf } = fittingSink(3);
    await assert.rejects(
      runCollector({ collector: collector(50, () => true), sink, log, batchSize: 10, maxInFlight: 1 }),
      CollectorRunError,
    );
    const [runRow] = rowsOf('CollectorRuns_CL');
    assert.equal(runRow?.Status, 'Failed');
    assert.equal(runRow?.RecordsUploaded, 20);
    assert.match(runRow?.Warnings ?? '', /^EntraAuditLogs_CL: .*InitiatedBy in 20 rows/);
  });
});

describe('truncationTally', () => {
  it('makes one line per table, fields by how many rows were cut, with the largest original size', () => {
    const tally = truncationTally();
    tally.add('EntraAuditLogs_CL', [{ field: 'TargetResources', originalBytes: 100 }]);
    tally.add('EntraAuditLogs_CL', [
      { field: 'AdditionalDetails', originalBytes: 300 },
      { field: 'TargetResources', originalBytes: 200 },
    ]);
    tally.add('EntraSignIns_CL', [{ field: 'Status', originalBytes: 70_000 }]);
    assert.deepEqual(tally.warnings(), [
      'EntraAuditLogs_CL: fields cut to fit the ingestion limits (64 KB per field, 1 MB per record): TargetResources in 2 rows (largest 200 bytes), AdditionalDetails in 1 row (largest 300 bytes)',
      'EntraSignIns_CL: fields cut to fit the ingestion limits (64 KB per field, 1 MB per record): Status in 1 row (largest 70000 bytes)',
    ]);
    assert.deepEqual(truncationTally().warnings(), []);
  });
});
