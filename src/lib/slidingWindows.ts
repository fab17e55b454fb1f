// Pacing against several sliding-window limits at once (Graph: 5 requests per 10 s per tenant, and a cap per
// app over all tenants). A request goes only when every window it counts against has room; from that
// instant it counts in all of them, and once its answer comes, from then (see Slot).
//
// Why not two p-throttle pacers, one inside the other: the outer one records its tick when it lets the
// request through to the inner one, not when the request leaves. Whenever the inner one held it back (and
// p-throttle's strict mode, once it has seen `limit` calls, spaces every burst `interval / limit` apart
// even with the window far from full), the outer window started earlier than the request did, and the
// request `limit` turns later left inside the server's window of this one: 429s.
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A request's place in a window: from when it left until its answer came, then from when the answer came.
 * The server counts a request when it arrives, which is after it left (by a connection's set-up, a busy
 * event loop, the network) and before its answer came back: counted from the answer, a window's next
 * request can never arrive inside the server's window of this one, however late this one arrived.
 */
export interface Slot {
  /** performance.now() the window counts it from. */
  readonly at: number;
  /** Its answer came (or it failed) at `now`: count it from then (never earlier than it left). */
  settle(now: number): void;
}

/**
 * One limit: at most `limit` requests in any `intervalMs`, each counted from when its answer came (from
 * when it left while it is under way).
 */
export class SlidingWindow {
  /** The requests that may still decide the next one, in the order they left. */
  private slots: { at: number; settled: boolean }[] = [];
  private lastLeft = Number.NEGATIVE_INFINITY;

  constructor(
    readonly limit: number,
    readonly intervalMs: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer: ${limit}`);
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive: ${intervalMs}`);
  }

  /**
   * The earliest moment a request may leave, given the requests counted (now, or later): the first `limit`
   * go at once; then not before the `limit`-th latest count is `intervalMs` old, and no sooner than
   * `intervalMs / limit` after the last departure. That spreads each later window's requests evenly
   * instead of in bursts of `limit` (as p-throttle's strict mode does), so a reader timing its own
   * progress sees a steady rate, and the server never sees `limit` at once again.
   */
  roomAt(now: number): number {
    this.forget(now);
    if (this.slots.length < this.limit) return now;
    const latestFirst = this.slots.map((slot) => slot.at).sort((a, b) => b - a);
    const limiting = latestFirst[this.limit - 1] ?? now;
    return Math.max(now, limiting + this.intervalMs, this.lastLeft + this.intervalMs / this.limit);
  }

  record(now: number): Slot {
    const slot = { at: now, settled: false };
    this.slots.push(slot);
    this.lastLeft = Math.max(this.lastLeft, now);
    return {
      get at() {
        return slot.at;
      },
      settle(answeredAt: number) {
        if (slot.settled) return;
        slot.settled = true;
        slot.at = Math.max(slot.at, answeredAt);
      },
    };
  }

  /**
   * Answered requests older than the interval decide nothing any more. One under way is kept whatever its
   * age: its count moves to when its answer comes.
   */
  private forget(now: number): void {
    if (this.slots.length <= this.limit) return;
    this.slots = this.slots.filter((slot) => !slot.settled || slot.at > now - this.intervalMs);
  }
}

/** The signal shape takeTurn needs: the platform's AbortSignal or the Azure SDK's AbortSignalLike. */
export interface TurnSignal {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

/** Its reason when that is an Error, else an AbortError (as the run's abortError does). */
const abortReason = (signal: TurnSignal): Error =>
  signal.reason instanceof Error
    ? signal.reason
    : new DOMException(
        typeof signal.reason === 'string' ? signal.reason : 'The operation was aborted',
        'AbortError',
      );

/** Sleeps `ms`; an abort ends the sleep (and its timer) at once, rejecting with the signal's reason. */
async function pause(ms: number, signal: TurnSignal | undefined): Promise<void> {
  if (signal === undefined) return sleep(ms);
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await sleep(ms, undefined, { signal: stop.signal });
  } catch (error) {
    throw signal.aborted ? abortReason(signal) : error;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Waits until every window has room, then takes a slot in each at the same instant, and returns the turn:
 * settle it when the request's answer comes (or it fails), so that each window counts the request from
 * then. Rejects with `signal`'s reason when it aborts while waiting (nothing recorded then). Waiters woken
 * together take their slots in the order their waits began; one arriving when every window has room goes
 * at once.
 */
export async function takeTurn(
  windows: readonly SlidingWindow[],
  signal?: TurnSignal,
): Promise<{ settle(): void }> {
  for (;;) {
    if (signal?.aborted) throw abortReason(signal);
    const now = performance.now();
    const at = Math.max(now, ...windows.map((window) => window.roomAt(now)));
    if (at <= now) {
      const slots = windows.map((window) => window.record(now));
      return {
        settle: () => {
          const answeredAt = performance.now();
          for (const slot of slots) slot.settle(answeredAt);
        },
      };
    }
    // A timer can fire a little early by performance.now(): the loop checks again.
    await pause(Math.ceil(at - now), signal);
  }
}
