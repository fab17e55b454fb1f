// Pacing against several sliding-window limits at once (Graph: 5 requests per 10 s per tenant, and a cap per
// app over all tenants). A request goes only when every window it counts against has room, and from that
// instant it counts in all of them.
//
// Why not two p-throttle pacers, one inside the other: the outer one records its tick when it lets the
// request through to the inner one, not when the request leaves. Whenever the inner one held it back (and
// p-throttle's strict mode, once it has seen `limit` calls, spaces every burst `interval / limit` apart
// even with the window far from full), the outer window started earlier than the request did, and the
// request `limit` turns later left inside the server's window of this one: 429s.
import { setTimeout as sleep } from 'node:timers/promises';

/** One limit: at most `limit` requests in any `intervalMs`, counted from when they leave. */
export class SlidingWindow {
  /** When the last `limit` requests left (performance.now()), oldest first. */
  private readonly sent: number[] = [];

  constructor(
    readonly limit: number,
    readonly intervalMs: number,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`limit must be a positive integer: ${limit}`);
    if (!(intervalMs > 0)) throw new RangeError(`intervalMs must be positive: ${intervalMs}`);
  }

  /**
   * The earliest moment a request may leave, given what has left (now, or later): the first `limit` go at
   * once; from then on, also no sooner than `intervalMs / limit` after the one before. That spreads each
   * later window's requests evenly instead of in bursts of `limit` (as p-throttle's strict mode does), so
   * a reader timing its own progress sees a steady rate, and the server never sees `limit` at once again.
   */
  roomAt(now: number): number {
    if (this.sent.length < this.limit) return now;
    const oldest = this.sent[this.sent.length - this.limit] ?? now;
    const last = this.sent[this.sent.length - 1] ?? now;
    return Math.max(now, oldest + this.intervalMs, last + this.intervalMs / this.limit);
  }

  record(now: number): void {
    this.sent.push(now);
    // Only the last `limit` departures ever decide the next one.
    if (this.sent.length > this.limit) this.sent.splice(0, this.sent.length - this.limit);
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
 * Waits until every window has room, then takes a slot in each at the same instant. Rejects with
 * `signal`'s reason when it aborts while waiting (nothing recorded then). Waiters woken together take
 * their slots in the order their waits began; one arriving when every window has room goes at once.
 */
export async function takeTurn(windows: readonly SlidingWindow[], signal?: TurnSignal): Promise<void> {
  for (;;) {
    if (signal?.aborted) throw abortReason(signal);
    const now = performance.now();
    const at = Math.max(now, ...windows.map((window) => window.roomAt(now)));
    if (at <= now) {
      for (const window of windows) window.record(now);
      return;
    }
    // A timer can fire a little early by performance.now(): the loop checks again.
    await pause(Math.ceil(at - now), signal);
  }
}
