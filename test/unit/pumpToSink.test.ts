import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { pumpToSink } from '../../src/run/pumpToSink.js';
import type { RecordSink } from '../../src/sinks/sink.js';
import type { EntraAuditLogsRow } from '../../src/tables/generated.js';

async function* rows(count: number, pulled: { count: number }) {
  for (let i = 0; i < count; i += 1) {
    pulled.count += 1;
    await Promise.resolve();
    yield { TimeGenerated: '2026-01-01T00:00:00Z', Id: `r${i}` } as EntraAuditLogsRow;
  }
}

describe('pumpToSink', () => {
  it('keeps at most maxInFlight uploads pending and stops pulling the source while they are', async () => {
    let inFlight = 0;
    let peak = 0;
    let maxPulledAhead = 0;
    const pulled = { count: 0 };
    const progress = { recordsRead: 0, recordsUploaded: 0 };
    const sink: RecordSink = {
      description: 'slow',
      async send(_table, batch) {
        inFlight += 1;
        peak = Math.max(peak, inFlight);
        maxPulledAhead = Math.max(maxPulledAhead, pulled.count - progress.recordsUploaded);
        await new Promise((resolve) => setTimeout(resolve, 2));
        inFlight -= 1;
        assert.ok(batch.length <= 10);
      },
    };
    await pumpToSink(rows(500, pulled), sink, 'EntraAuditLogs_CL', progress, {
      batchSize: 10,
      maxInFlight: 3,
    });
    assert.equal(progress.recordsUploaded, 500);
    assert.equal(peak, 3);
    assert.ok(maxPulledAhead <= 10 * 4, `pulled ${maxPulledAhead} rows ahead of the sink`);
  });

  it('rejects with the sink failure after the other uploads settle, counting only accepted rows', async () => {
    let calls = 0;
    const sink: RecordSink = {
      description: 'fails on the third batch',
      send: () => (++calls === 3 ? Promise.reject(new Error('503')) : Promise.resolve()),
    };
    const progress = { recordsRead: 0, recordsUploaded: 0 };
    await assert.rejects(
      pumpToSink(rows(100, { count: 0 }), sink, 'EntraAuditLogs_CL', progress, {
        batchSize: 10,
        maxInFlight: 2,
      }),
      /503/,
    );
    assert.equal(progress.recordsUploaded % 10, 0);
    assert.ok(progress.recordsUploaded <= 30 && progress.recordsUploaded >= 20);
  });
});
