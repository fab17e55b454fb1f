import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderForRun, type OrganizationAccount } from '../../src/sources/aws/organization.js';

const accounts: OrganizationAccount[] = Array.from({ length: 50 }, (_, i) => ({
  id: String(900000000000 - i * 7919),
  name: `account-${i}`,
}));
const hourMs = 3_600_000;
const sixAm = Date.UTC(2026, 10, 23, 6);

describe('orderForRun', () => {
  it('is a rotation of the accounts sorted by ID, the same for the same hour', () => {
    const sorted = [...accounts].sort((a, b) => a.id.localeCompare(b.id)).map((a) => a.id);
    const order = orderForRun(accounts, new Date(sixAm)).map((a) => a.id);
    const offset = sorted.indexOf(order[0] ?? '');
    assert.deepEqual(order, [...sorted.slice(offset), ...sorted.slice(0, offset)]);
    assert.deepEqual(
      orderForRun(accounts, new Date(sixAm + 59 * 60_000)).map((a) => a.id),
      order,
    );
    assert.deepEqual(orderForRun([], new Date(sixAm)), []);
  });

  it('starts daily runs at different accounts, so a budget that reaches 40% of them misses none for long', () => {
    // A daily run that starts only the first 20 of 50 accounts: every account is reached within a few days.
    const lastReached = new Map<string, number>();
    let longestGap = 0;
    for (let day = 0; day < 60; day += 1) {
      const reached = orderForRun(accounts, new Date(sixAm + day * 24 * hourMs)).slice(0, 20);
      for (const account of reached) {
        longestGap = Math.max(longestGap, day - (lastReached.get(account.id) ?? -1));
        lastReached.set(account.id, day);
      }
    }
    assert.equal(lastReached.size, accounts.length, 'every account reached');
    for (const day of lastReached.values()) longestGap = Math.max(longestGap, 60 - day);
    assert.ok(longestGap <= 5, `longest stretch without a run reaching an account: ${longestGap} days`);
  });

  it('moves hourly runs too', () => {
    const firsts = new Set(
      Array.from({ length: 24 }, (_, h) => orderForRun(accounts, new Date(sixAm + h * hourMs))[0]?.id),
    );
    assert.ok(firsts.size >= 20, `${firsts.size} different first accounts in 24 hourly runs`);
  });
});
