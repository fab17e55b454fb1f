import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import {
  leastRecentlyInventoriedFirst,
  type OrganizationAccount,
} from '../../src/sources/aws/organization.js';

const account = (id: string): OrganizationAccount => ({ id, name: `name-${id}` });
const day = (d: number) => new Date(Date.UTC(2026, 10, d, 6));

describe('leastRecentlyInventoriedFirst', () => {
  it('puts accounts never inventoried first, then the oldest, ties by account ID', () => {
    const accounts = ['555555555555', '111111111111', '333333333333', '222222222222', '444444444444'].map(
      account,
    );
    const last = new Map([
      ['111111111111', day(20)],
      ['222222222222', day(18)],
      ['444444444444', day(18)],
    ]);
    assert.deepEqual(
      leastRecentlyInventoriedFirst(accounts, last).map((a) => a.id),
      ['333333333333', '555555555555', '222222222222', '444444444444', '111111111111'],
    );
    assert.deepEqual(
      accounts.map((a) => a.id),
      ['555555555555', '111111111111', '333333333333', '222222222222', '444444444444'],
      'the input is left as it was',
    );
  });

  it('covers every account within ceil(1 / share) runs when each run reaches only a share of them', () => {
    // 100 accounts, each daily run reaching 7: every account is read at least every 15 days.
    const accounts = Array.from({ length: 100 }, (_, i) => account(String(100000000000 + i * 7919)));
    const last = new Map<string, Date>();
    const gaps: number[] = [];
    for (let d = 1; d <= 60; d += 1) {
      for (const reached of leastRecentlyInventoriedFirst(accounts, last).slice(0, 7)) {
        const previous = last.get(reached.id);
        if (previous) gaps.push(Math.round((day(d).getTime() - previous.getTime()) / 86_400_000));
        last.set(reached.id, day(d));
      }
    }
    assert.equal(last.size, 100, 'every account reached');
    assert.ok(Math.max(...gaps) <= Math.ceil(100 / 7), `longest gap ${Math.max(...gaps)} days`);
  });
});
