import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import {
  droppedKeysName,
  fitJson,
  fitToIngestionLimits,
  maxFieldBytes,
  maxRecordBytes,
} from '../../src/sinks/ingestionLimits.js';

const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
const lonePairHalf = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Every string anywhere in a JSON value. */
function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}

/** A fitted dynamic column: valid JSON within the budget, of the same kind, with no half characters. */
function assertValidColumn(value: unknown, kind: 'array' | 'object', budget = maxFieldBytes): void {
  assert.notEqual(typeof value, 'string', 'still a dynamic value, not its JSON text');
  assert.equal(Array.isArray(value) ? 'array' : typeof value, kind === 'array' ? 'array' : 'object');
  const text = JSON.stringify(value);
  assert.deepEqual(JSON.parse(text), value, 'round-trips through JSON');
  assert.ok(Buffer.byteLength(text) <= budget, `${Buffer.byteLength(text)} bytes > ${budget}`);
  for (const text of stringsIn(value)) assert.doesNotMatch(text, lonePairHalf);
}

function auditTargets(count: number) {
  return Array.from({ length: count }, (_, i) => ({
    id: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}`,
    displayName: `Target ${i}`,
    type: 'User',
    userPrincipalName: `user${i}@contoso.example`,
    modifiedProperties: [
      { displayName: 'Group.DisplayName', oldValue: null, newValue: `"Finance team ${i}"` },
    ],
  }));
}

describe('fitting rows to the Logs Ingestion limits', () => {
  it('leaves ordinary rows untouched (same object)', () => {
    const row = { Id: 'a', Status: { errorCode: 0 }, Count: 3 };
    const fitted = fitToIngestionLimits(row);
    assert.equal(fitted.row, row);
    assert.deepEqual(fitted.truncations, []);
  });

  it('leaves a row that only the quick estimate thought too big untouched (same object)', () => {
    const row = { Id: 'a', Text: 'a'.repeat(20_000), Items: Array.from({ length: 3_000 }, (_, i) => i) };
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

  it('keeps a dynamic Status an object with its small members when one member is 100 KB', () => {
    const status = {
      errorCode: 50126,
      failureReason: 'Invalid username or password.',
      additionalDetails: 'd'.repeat(100_000),
    };
    const { row, truncations } = fitToIngestionLimits({ Id: 's', Status: status });
    assertValidColumn(row.Status, 'object');
    assert.equal(row.Status.errorCode, 50126);
    assert.equal(row.Status.failureReason, 'Invalid username or password.');
    assert.ok(row.Status.additionalDetails.startsWith('ddd'));
    assert.match(
      row.Status.additionalDetails,
      /…\[truncated by crosscloud-identity-monitor: 100002 bytes\]$/,
    );
    assert.ok(bytes(row.Status) > maxFieldBytes - 2_000, 'cut no more than needed');
    assert.deepEqual(truncations, [{ field: 'Status', originalBytes: bytes(status) }]);
    assert.equal(status.additionalDetails.length, 100_000, 'the source row is not modified');
  });

  it('shortens a 500-target audit list, keeping whole targets in order and saying how many were dropped', () => {
    const targets = auditTargets(500);
    const { row, truncations } = fitToIngestionLimits({ Id: 'a', TargetResources: targets });
    assertValidColumn(row.TargetResources, 'array');
    const kept = row.TargetResources as unknown[];
    const last = kept.at(-1) as string;
    const whole = kept.slice(0, -1);
    assert.ok(whole.length > 100, `${whole.length} targets kept`);
    assert.deepEqual(whole, targets.slice(0, whole.length), 'kept targets are unchanged');
    assert.equal(last, `…[${500 - whole.length} more items truncated by crosscloud-identity-monitor]`);
    assert.ok(bytes(kept) > maxFieldBytes - 1_000, 'keeps as many targets as fit');
    assert.equal(truncations[0]?.field, 'TargetResources');
  });

  it('cuts the longest strings inside a dynamic value first, leaving short ones and the list alone', () => {
    const targets = auditTargets(20);
    targets[3]!.modifiedProperties[0]!.newValue = `"${'m'.repeat(80_000)}"`;
    targets[7]!.modifiedProperties[0]!.newValue = `"${'n'.repeat(30_000)}"`;
    const { row } = fitToIngestionLimits({ TargetResources: targets });
    assertValidColumn(row.TargetResources, 'array');
    const fitted = row.TargetResources;
    assert.equal(fitted.length, 20, 'no target dropped');
    for (const [i, target] of fitted.entries()) {
      assert.equal(target.id, targets[i]!.id);
      assert.equal(target.displayName, `Target ${i}`);
      if (i !== 3 && i !== 7) assert.deepEqual(target, targets[i]);
    }
    const big = fitted[3]!.modifiedProperties[0]!.newValue;
    const smaller = fitted[7]!.modifiedProperties[0]!.newValue;
    assert.match(big, /^"mmm.*truncated by crosscloud-identity-monitor: \d+ bytes\]$/);
    // Both cut to one common length: the longest lost the most.
    assert.ok(Math.abs(big.length - smaller.length) < 100, `${big.length} vs ${smaller.length}`);
  });

  it('drops the largest members of an object with too many, keeping the small ones and naming what went', () => {
    const details: Record<string, string> = { errorCode: '50126' };
    for (let i = 0; i < 5_000; i += 1) details[`property${i}`] = `value ${i} ${'v'.repeat(i % 50)}`;
    const { row } = fitToIngestionLimits({ AdditionalDetails: details });
    assertValidColumn(row.AdditionalDetails, 'object');
    const fitted = row.AdditionalDetails;
    assert.equal(fitted.errorCode, '50126');
    assert.match(
      fitted[droppedKeysName] ?? '',
      /^\d+ largest members dropped by crosscloud-identity-monitor: /,
    );
    for (const [key, value] of Object.entries(fitted))
      if (key !== droppedKeysName) assert.equal(value, details[key]);
  });

  it('keeps multi-byte and escaped text whole when cutting inside a dynamic value', () => {
    const value = {
      code: 7,
      emoji: '😀'.repeat(30_000),
      accents: 'é'.repeat(40_000),
      control: '\u0007'.repeat(15_000),
      list: Array.from({ length: 5_000 }, (_, i) => `日本語 ${i} 😀`),
    };
    const { row } = fitToIngestionLimits({ Details: value });
    assertValidColumn(row.Details, 'object');
    const fitted = row.Details;
    assert.equal(fitted.code, 7);
    assert.ok(fitted.emoji.startsWith('😀😀'));
    assert.deepEqual(fitted.list.slice(0, 3), ['日本語 0 😀', '日本語 1 😀', '日本語 2 😀']);
  });

  it('cuts what JSON.stringify would write: toJSON values, no undefined members, __proto__ a plain member', () => {
    const value = JSON.parse('{"__proto__": {"polluted": true}, "code": 1}') as Record<string, unknown>;
    Object.assign(value, {
      when: new Date(0),
      gone: undefined,
      list: [undefined, 2],
      big: 'z'.repeat(70_000),
    });
    const { row } = fitToIngestionLimits({ Details: value });
    assertValidColumn(row.Details, 'object');
    const fitted = row.Details;
    assert.deepEqual(Object.keys(fitted), ['__proto__', 'code', 'when', 'list', 'big']);
    assert.deepEqual(Object.getOwnPropertyDescriptor(fitted, '__proto__')?.value, { polluted: true });
    assert.equal(Object.getPrototypeOf(fitted), Object.prototype);
    assert.equal(fitted.when, '1970-01-01T00:00:00.000Z');
    assert.deepEqual(fitted.list, [null, 2]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });

  it('fits any budget down to the smallest one the record loop uses, staying valid JSON of the same kind', () => {
    const nested = {
      a: [{ b: [{ c: 'x'.repeat(5_000), d: Array.from({ length: 300 }, (_, i) => ({ i })) }] }],
    };
    const values: unknown[] = [auditTargets(500), nested, { errorCode: 1, big: 'y'.repeat(70_000) }];
    for (const value of values) {
      for (const budget of [60_000, 8_000, 1_500, 512]) {
        const fitted = fitJson(value, budget, bytes(value));
        assertValidColumn(fitted, Array.isArray(value) ? 'array' : 'object', budget);
      }
    }
    const deep = fitJson({ errorCode: 1, big: 'y'.repeat(70_000) }, 512, 70_030) as Record<string, unknown>;
    assert.equal(deep.errorCode, 1, 'the small member survives even a tiny budget');
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

  it('brings a record of many large dynamic columns under 1 MB, each still valid JSON', () => {
    const row: Record<string, unknown> = { Id: 'keep-me' };
    for (let i = 0; i < 20; i += 1) row[`Targets${i}`] = auditTargets(300 + i);
    const fitted = fitToIngestionLimits(row);
    assert.ok(bytes(fitted.row) <= maxRecordBytes + 2_000, `${bytes(fitted.row)} bytes`);
    for (let i = 0; i < 20; i += 1) assertValidColumn(fitted.row[`Targets${i}`], 'array');
    assert.equal(fitted.truncations.length, 20);
  });
});
