import { describe, expect, it } from 'vitest';
import { SlidingWindow, takeTurn } from '../../src/lib/slidingWindows.js';

/** Every `limit + 1` consecutive departures of `times` span at least `intervalMs` (1 ms timer slack). */
function assertWithinLimit(times: readonly number[], limit: number, intervalMs: number): void {
  for (let i = limit; i < times.length; i += 1) {
    expect((times[i] ?? 0) - (times[i - limit] ?? 0)).toBeGreaterThanOrEqual(intervalMs - 1);
  }
}

describe('SlidingWindow', () => {
  it('has room until `limit` requests left within the interval, then when the oldest of them leaves it', () => {
    const window = new SlidingWindow(2, 1_000);
    expect(window.roomAt(0)).toBe(0);
    window.record(0);
    window.record(400);
    expect(window.roomAt(500)).toBe(1_000);
    expect(window.roomAt(1_200)).toBe(1_200);
    window.record(1_200);
    // The window slides: 400 and 1,200 are the last two, so 1,400 is next; and no sooner than 500 ms
    // (interval / limit) after 1,200.
    expect(window.roomAt(1_250)).toBe(1_700);
    window.record(1_700);
    expect(window.roomAt(1_800)).toBe(2_200);
    // Idle for longer than the interval: room at once.
    expect(window.roomAt(5_000)).toBe(5_000);
  });

  it("counts a request from its answer once it came: a late arrival can't start the server's window after ours", () => {
    const window = new SlidingWindow(2, 1_000);
    const first = window.record(0);
    window.record(100);
    // Under way, the first counts from when it left.
    expect(window.roomAt(200)).toBe(1_000);
    // Its answer came at 300 (it reached the server somewhere in 0–300): it counts from 300, and the
    // third goes once only one of the two is within the interval, the second (under way, from 100) at 1,100.
    first.settle(300);
    expect(window.roomAt(200)).toBe(1_100);
    window.record(1_100);
    // Then the fourth: the first's 300 is the second latest count, but the spacing rule says 1,600.
    expect(window.roomAt(1_150)).toBe(1_600);
    // Settled once: a second settle (a retry of the same request object) moves nothing.
    first.settle(5_000);
    expect(first.at).toBe(300);
  });

  it('keeps a request under way in its count however long it takes, and forgets answered ones once old', () => {
    const window = new SlidingWindow(1, 1_000);
    const slow = window.record(0);
    expect(window.roomAt(500)).toBe(1_000);
    // Answered at 4,000: the window's next request goes at 5,000, not at 1,000.
    slow.settle(4_000);
    expect(window.roomAt(2_000)).toBe(5_000);
    window.record(5_000).settle(5_050);
    expect(window.roomAt(5_100)).toBe(6_050);
  });

  it('names what is wrong with its limits', () => {
    expect(() => new SlidingWindow(0, 1_000)).toThrow(/limit must be a positive integer: 0/);
    expect(() => new SlidingWindow(5, 0)).toThrow(/intervalMs must be positive: 0/);
  });
});

describe('takeTurn', () => {
  it('counts a request in every window from when it leaves, however long another window held it', async () => {
    // Two tenants of 2 requests per 300 ms under an app cap of 2 per 300 ms: the app's window holds
    // tenant B's requests back; B's own window must count them from when they left, not from when B's
    // allowance let them through (what two nested pacers did).
    const intervalMs = 300;
    const app = new SlidingWindow(2, intervalMs);
    const tenants = { a: new SlidingWindow(2, intervalMs), b: new SlidingWindow(2, intervalMs) };
    const left: Record<'a' | 'b' | 'app', number[]> = { a: [], b: [], app: [] };
    const send = async (tenant: 'a' | 'b') => {
      await takeTurn([tenants[tenant], app]);
      const now = performance.now();
      left[tenant].push(now);
      left.app.push(now);
    };
    await Promise.all([
      ...Array.from({ length: 4 }, () => send('a')),
      ...Array.from({ length: 4 }, () => send('b')),
    ]);
    expect(left.app).toHaveLength(8);
    assertWithinLimit(left.app, 2, intervalMs);
    assertWithinLimit(left.a, 2, intervalMs);
    assertWithinLimit(left.b, 2, intervalMs);
  });

  it('a tenant waiting for its own allowance holds no slot of the app', async () => {
    const app = new SlidingWindow(3, 60_000);
    const busy = new SlidingWindow(1, 60_000);
    const idle = new SlidingWindow(1, 60_000);
    await takeTurn([busy, app]);
    const stop = new AbortController();
    const waiting = takeTurn([busy, app], stop.signal);
    // The busy tenant waits a minute for its window; the other tenant goes at once, on the app's second slot.
    await takeTurn([idle, app]);
    expect(app.roomAt(performance.now())).toBeLessThanOrEqual(performance.now());
    stop.abort(new Error('run deadline'));
    await expect(waiting).rejects.toThrow('run deadline');
  });

  it('an aborted wait rejects with the reason at once and takes no slot', async () => {
    const window = new SlidingWindow(1, 60_000);
    await takeTurn([window]);
    const stop = new AbortController();
    const started = performance.now();
    const waiting = takeTurn([window], stop.signal);
    stop.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
    // Far less than the minute it was waiting for: the timer was cleared, not run out.
    expect(performance.now() - started).toBeLessThan(30_000);
    expect(window.roomAt(performance.now())).toBeGreaterThan(performance.now() + 30_000);
    await expect(takeTurn([window], AbortSignal.abort(new Error('already over')))).rejects.toThrow(
      'already over',
    );
  });
});
