import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { AcceptedIds, digestOfId, maxAcceptedIdsBytes, secondOf } from '../../src/state/acceptedIds.js';

const t0 = Date.parse('2026-11-23T12:00:00Z');

/** `count` Ids, one per `stepMs` from `fromMs`: digest → second. */
function ids(count: number, fromMs: number, stepMs = 1000, prefix = 'id'): Map<string, number> {
  const added = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    const second = secondOf(fromMs + i * stepMs);
    assert.ok(second !== undefined);
    added.set(digestOfId(`${prefix}-${i}`), second);
  }
  return added;
}

describe('AcceptedIds', () => {
  it('digests an Id to 64 bits, the same every time, different for different Ids', () => {
    const digest = digestOfId('0b5c7a0e-8f4e-4c39-9a6d-3f0b2c1d4e5f');
    assert.match(digest, /^[0-9a-f]{16}$/);
    assert.equal(digestOfId('0b5c7a0e-8f4e-4c39-9a6d-3f0b2c1d4e5f'), digest);
    assert.notEqual(digestOfId('0b5c7a0e-8f4e-4c39-9a6d-3f0b2c1d4e5e'), digest);
    assert.notEqual(digestOfId('Directory_0b5c7a0e_ABCDE_123'), digest);
  });

  it('round-trips through its encoding: 1 version byte, 8 bytes per second, 8 bytes per Id', () => {
    const added = ids(100, t0, 250); // 4 Ids a second, 25 seconds
    const { ids: set, dropped } = AcceptedIds.empty.with(added, t0);
    assert.equal(dropped, 0);
    assert.equal(set.size, 100);
    const bytes = set.encode();
    assert.equal(bytes.length, 1 + 25 * 8 + 100 * 8);
    const decoded = AcceptedIds.decode(bytes);
    assert.equal(decoded.size, 100);
    for (const digest of added.keys()) assert.ok(decoded.has(digest));
    assert.ok(!decoded.has(digestOfId('another')));
    assert.equal(decoded.untilMs, t0 + 25_000);
    assert.deepEqual(decoded.encode(), bytes);
    assert.equal(AcceptedIds.decode(AcceptedIds.empty.encode()).size, 0);
  });

  it('keeps only Ids at or after the cutoff (a second reaching it counts)', () => {
    const { ids: set } = AcceptedIds.empty.with(ids(60, t0), t0);
    const { ids: pruned } = set.with(new Map(), t0 + 30_500);
    assert.equal(pruned.size, 30, 'seconds 30 (holding 30.5 s) to 59');
    const { ids: merged } = pruned.with(ids(10, t0 + 60_000, 1000, 'new'), t0 + 50_000);
    assert.equal(merged.size, 20);
    assert.ok(
      merged.has(digestOfId('new-9')) && merged.has(digestOfId('id-59')) && !merged.has(digestOfId('id-49')),
    );
  });

  it('past the size limit forgets the oldest first, and says how many', () => {
    const added = ids(1000, t0, 100); // 10 a second for 100 s: 1 + 100 × 8 + 1000 × 8 bytes
    const limit = 1 + 50 * 8 + 500 * 8;
    const { ids: set, dropped } = AcceptedIds.empty.with(added, t0, limit);
    assert.equal(dropped, 500);
    assert.equal(set.size, 500);
    assert.ok(set.encode().length <= limit);
    assert.ok(set.has(digestOfId('id-999')) && !set.has(digestOfId('id-499')));
    assert.equal(AcceptedIds.empty.with(added, t0).dropped, 0, 'the default limit holds far more');
    assert.equal(maxAcceptedIdsBytes, 640_000);
  });

  it('refuses encodings it does not understand', () => {
    const good = AcceptedIds.empty.with(ids(3, t0), t0).ids.encode();
    assert.throws(() => AcceptedIds.decode(new Uint8Array()), /empty/);
    assert.throws(() => AcceptedIds.decode(new Uint8Array([2])), /format 2, expected 1/);
    assert.throws(() => AcceptedIds.decode(good.subarray(0, 5)), /inside a group header/);
    assert.throws(() => AcceptedIds.decode(good.subarray(0, good.length - 1)), /inside a group/);
  });

  it('holds event times the encoding can: whole seconds from 1970 to 2106', () => {
    assert.equal(secondOf(t0 + 999), t0 / 1000);
    assert.equal(secondOf(-1), undefined);
    assert.equal(secondOf(2 ** 32 * 1000), undefined);
    assert.equal(secondOf(Number.NaN), undefined);
  });
});
