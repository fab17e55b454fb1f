import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { fitToIngestionLimits, maxFieldBytes, maxRecordBytes } from '../../src/sinks/ingestionLimits.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));

describe('fitting rows to the Logs Ingestion limits', () => {
  it('leaves ordinary rows untouched (same object)', () => {
    const row = { Id: 'a', Status: { errorCode: 0 }, Count: 3 };
    const fitted = fitToIngestionLimits(row);
    assert.equal(fitted.row, row);
    assert.deepEqual(fitted.truncations, []);
  });

  it('cuts a string over 64 KB, keeping its start and saying so', () => {
    const long = `start-${'x'.repeat(100_000)}`;
    const { row, truncations } = fitToIngestionLimits({ Id: 'a', UserAgent: long });
    assert.ok(bytes(row.UserAgent) <= maxFieldBytes);
    assert.ok(row.UserAgent.startsWith('start-xxx'));
    assert.match(row.UserAgent, /truncated by crosscloud-identity-monitor: 100008 bytes\]$/);
    assert.deepEqual(truncations, [{ field: 'UserAgent', originalBytes: 100_008 }]);
    assert.equal(row.Id, 'a');
  });

  it('measures UTF-8 bytes and escapes, not characters, and never splits a surrogate pair', () => {
    const { row } = fitToIngestionLimits({ Name: '😀'.repeat(40_000), Ctrl: '\u0001'.repeat(20_000) });
    assert.ok(bytes(row.Name) <= maxFieldBytes, `${bytes(row.Name)} bytes`);
    assert.ok(bytes(row.Ctrl) <= maxFieldBytes, 'control characters count as their \\u escapes');
    assert.doesNotMatch(row.Name, /[\ud800-\udbff](?![\udc00-\udfff])/);
  });

  it('turns an oversized dynamic value into its cut JSON text', () => {
    const targets = Array.from({ length: 3000 }, (_, i) => ({
      id: `t${i}`,
      displayName: `Target ${i}`,
      type: 'User',
    }));
    const { row, truncations } = fitToIngestionLimits<{ TargetResources: unknown }>({
      TargetResources: targets,
    });
    assert.equal(typeof row.TargetResources, 'string');
    assert.ok((row.TargetResources as string).startsWith('[{"id":"t0"'));
    assert.equal(truncations[0]?.field, 'TargetResources');
  });

  it('brings a record over 1 MB under the limit, cutting the biggest fields first', () => {
    const row: Record<string, string> = { Id: 'keep-me' };
    for (let i = 0; i < 20; i += 1) row[`Field${i}`] = 'y'.repeat(59_000 + i);
    const fitted = fitToIngestionLimits(row);
    assert.ok(bytes(fitted.row) <= maxRecordBytes + 2_000, `${bytes(fitted.row)} bytes`);
    assert.equal(fitted.row.Id, 'keep-me');
    assert.ok(fitted.truncations.length >= 4);
    assert.equal(fitted.truncations[0]?.field, 'Field19', 'largest first');
  });
});
