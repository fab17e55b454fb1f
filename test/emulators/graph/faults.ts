// What can go wrong besides the data: Graph's throttle and the faults a test injects.
//
// Throttling: the identity-and-access reports limit, `limit` requests (default 5) per sliding 10,000 ms window
// per tenant (the token's tid), counted over admitted requests. An excess request gets 429 TooManyRequests with
// Retry-After = the time until the oldest admitted request leaves the window, in seconds with millisecond
// precision (e.g. "2.5", "0.035"). `timeScale` divides the window (and so Retry-After): 10,000 ms at timeScale
// 100 is a 100 ms window.
//
// Injected faults, each for the next `times` requests: a dropped connection (no answer), a delay, an error
// answer (failNext), and a body cut: the next page that would be served in full gets its 200 and headers, then
// part of the JSON, then the socket is destroyed (no terminating chunk), as when a connection dies mid-response.
import { performance } from 'node:perf_hooks';
import { GraphError } from './errors.js';
import type { GraphBodyCut, GraphFault } from './types.js';

/** The throttle's window at timeScale 1. */
const WINDOW_MS = 10_000;
/** Real milliseconds of clock slack when deciding whether a window slot has freed (timer vs. clock drift). */
const CLOCK_SLACK_MS = 2;
const FAULT_CODES: Record<number, string> = {
  429: 'TooManyRequests',
  500: 'UnknownError',
  502: 'BadGateway',
  503: 'ServiceNotAvailable',
  504: 'GatewayTimeout',
};

/** Seconds with millisecond precision and no trailing zeros: 2500 -> "2.5", 35 -> "0.035". */
const formatSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms)) / 1000);

/** A sliding window of admitted requests per tenant. */
export class Throttle {
  /** The window in real milliseconds. */
  readonly windowMs: number;
  private readonly admitted = new Map<string, number[]>();

  constructor(
    private readonly limit: number,
    timeScale: number,
  ) {
    if (!(timeScale > 0)) throw new Error('timeScale must be positive');
    this.windowMs = WINDOW_MS / timeScale;
  }

  /**
   * Admits the request, or answers the 429 to send (with Retry-After). `arrivedAt` (performance.now() of this
   * process): when it reached Graph's edge, if that was before this emulator got to it (tenants.ts' front).
   */
  admit(tenant: string, arrivedAt?: number): GraphError | undefined {
    const now = arrivedAt ?? performance.now();
    const window = (this.admitted.get(tenant) ?? []).filter((t) => t + this.windowMs > now + CLOCK_SLACK_MS);
    this.admitted.set(tenant, window);
    if (window.length < this.limit) {
      window.push(now);
      return undefined;
    }
    const oldest = window[0] ?? now;
    return new GraphError(
      429,
      'TooManyRequests',
      'Too many requests.',
      { 'retry-after': formatSeconds(oldest + this.windowMs - now) },
      { code: '429', status: '429', message: 'Please retry after' },
    );
  }
}

interface Fault {
  status: number;
  left: number;
  path: string | undefined;
  retryAfterSeconds: number | undefined;
}

interface BodyCut {
  left: number;
  path: string | undefined;
  afterRecords: number | undefined;
}

/** The faults armed by a test, each taken by the request it applies to. */
export class Faults {
  private faults: Fault[] = [];
  private cuts: BodyCut[] = [];
  private dropsLeft = 0;
  private readonly delays = { ms: 0, left: 0 };

  failNext({ status, times = 1, path, retryAfterSeconds }: GraphFault): void {
    this.faults.push({ status, left: times, path, retryAfterSeconds });
  }

  dropNextConnection(times = 1): void {
    this.dropsLeft += times;
  }

  cutNextBody({ times = 1, path, afterRecords }: GraphBodyCut = {}): void {
    this.cuts.push({ left: times, path, afterRecords });
  }

  delayNext(ms: number, times = 1): void {
    this.delays.ms = ms;
    this.delays.left = times;
  }

  clear(): void {
    this.faults = [];
    this.cuts = [];
    this.dropsLeft = 0;
    this.delays.left = 0;
  }

  /** true: drop this request's connection. */
  takeDrop(): boolean {
    if (this.dropsLeft <= 0) return false;
    this.dropsLeft -= 1;
    return true;
  }

  /** Milliseconds to hold this request before handling it, if any. */
  takeDelay(): number | undefined {
    if (this.delays.left <= 0) return undefined;
    this.delays.left -= 1;
    return this.delays.ms;
  }

  /** The error answer injected for a request to this path, if any. */
  takeFault(path: string): GraphError | undefined {
    const fault = this.faults.find((f) => f.left > 0 && (f.path === undefined || path.endsWith(f.path)));
    if (!fault) return undefined;
    fault.left -= 1;
    this.faults = this.faults.filter((f) => f.left > 0);
    return new GraphError(
      fault.status,
      FAULT_CODES[fault.status] ?? 'UnknownError',
      `Injected failure (HTTP ${fault.status}).`,
      fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) },
    );
  }

  /** The records to write before cutting the body of a page of `pageSize` to this path, if it is cut. */
  takeCut(path: string, pageSize: number): number | undefined {
    const cut = this.cuts.find((c) => c.left > 0 && (c.path === undefined || path.endsWith(c.path)));
    if (!cut) return undefined;
    cut.left -= 1;
    this.cuts = this.cuts.filter((c) => c.left > 0);
    return Math.min(pageSize, cut.afterRecords ?? Math.floor(pageSize / 2));
  }
}
