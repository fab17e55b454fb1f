import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  isRestError,
  RestError,
  retryPolicy,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineRequest,
  type PipelineResponse,
  type RetryStrategy,
} from '@azure/core-rest-pipeline';
import { abortError, type SourceStats } from '../../run/collector.js';
import { SlidingWindow, takeTurn } from '../../lib/slidingWindows.js';
import { appVersion } from '../../lib/version.js';
import { GraphRequestError } from './graphErrors.js';

export interface GraphPacing {
  /** Requests allowed per interval: Graph allows 5 per 10 s per app per tenant for audit logs. */
  readonly limit: number;
  readonly intervalMs: number;
}

export interface GraphRetryOptions {
  /** Retries after the first attempt. Default 8. */
  maxRetries?: number;
  /** First backoff; it doubles per retry. Default 1,000 ms. */
  retryDelayInMs?: number;
  /** No backoff longer than this (Retry-After is honoured as sent). Default 32,000 ms. */
  maxRetryDelayInMs?: number;
}

export interface GraphClientOptions {
  /** `https://graph.microsoft.com` (or a national cloud's). */
  readonly endpoint: string;
  /** Token audience, `https://graph.microsoft.com` in the public cloud. */
  readonly audience: string;
  readonly credential: TokenCredential;
  readonly pacing: GraphPacing;
  /** Whose allowance `pacing` is: one pacer per tenant (Graph counts per app and tenant). Default: `home`. */
  readonly tenantKey?: string;
  /** The allowance across all tenants (Graph's per-app cap), shared by every tenant's requests. */
  readonly appPacing?: GraphPacing;
  readonly stats: SourceStats;
  readonly retryOptions?: GraphRetryOptions;
}

export interface GraphRequestOptions {
  /**
   * Aborts the request in flight, its wait for the pacer and its retry backoff (the run's deadline, or the
   * runner splitting a window): the generator then throws the signal's reason.
   */
  readonly signal?: AbortSignal;
}

/** One page of a collection, and whether another follows it. */
export interface GraphPage<T> {
  readonly items: T[];
  readonly hasNext: boolean;
}

export interface GraphClient {
  readonly endpoint: string;
  /** The OAuth scope the client's tokens are for. */
  readonly scope: string;
  /** Every page of a collection, following `@odata.nextLink` until the last. */
  pages<T>(pathAndQuery: string, options?: GraphRequestOptions): AsyncGenerator<T[]>;
  /** The same pages, each saying whether another follows (the next is fetched only when asked for). */
  collection<T>(pathAndQuery: string, options?: GraphRequestOptions): AsyncGenerator<GraphPage<T>>;
}

interface CollectionPage<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/**
 * Eight retries, backoff from 1 s doubling up to 32 s: a request that keeps failing gives up after one to two
 * minutes of waiting, well inside a run's time budget; Graph's throttling windows are 10 s, so longer waits buy
 * nothing there.
 */
const defaultRetry: Required<GraphRetryOptions> = {
  maxRetries: 8,
  retryDelayInMs: 1_000,
  maxRetryDelayInMs: 32_000,
};

/**
 * A Graph client on the Azure SDK's HTTP pipeline: bearer tokens, and the pipeline's retry loop
 * (`retryPolicy`) driven by the strategies of Graph's throttling guidance (see graphRetryStrategies). Ours are
 * three policies inside that loop, so that every attempt, retries too, is paced to the tenant's limit, counted,
 * and has its body read and parsed: a body cut off mid-response is a failed attempt, retried like a dropped
 * connection, and never a partial page.
 */
export function createGraphClient(options: GraphClientOptions): GraphClient {
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const origin = new URL(endpoint).origin;
  const scope = `${options.audience.replace(/\/+$/, '')}/.default`;
  const retry: Required<GraphRetryOptions> = {
    maxRetries: options.retryOptions?.maxRetries ?? defaultRetry.maxRetries,
    retryDelayInMs: options.retryOptions?.retryDelayInMs ?? defaultRetry.retryDelayInMs,
    maxRetryDelayInMs: options.retryOptions?.maxRetryDelayInMs ?? defaultRetry.maxRetryDelayInMs,
  };
  const pipeline: Pipeline = createPipelineFromOptions({
    userAgentOptions: { userAgentPrefix: `crosscloud-identity-monitor/${appVersion}` },
  });
  // The default retry policy (the only policy of the Retry phase) returns a 429 without Retry-After and throws
  // on a body cut mid-response: the same loop with Graph's strategies takes its place.
  pipeline.removePolicy({ phase: 'Retry' });
  pipeline.addPolicy(retryPolicy(graphRetryStrategies(retry), { maxRetries: retry.maxRetries }), {
    phase: 'Retry',
  });
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: scope }), {
    phase: 'Sign',
  });
  const attempts = new WeakMap<PipelineRequest, number>();
  const bodies = new WeakMap<PipelineResponse, unknown>();
  // Paced after the token is in hand (Sign), not before: a request must leave as soon as its turn comes.
  // Paced before it, a tenant's first request spent its turn waiting for the token (for a customer tenant
  // two round trips: the identity's assertion, then the exchange), reached Graph late, and let a later
  // request arrive inside its window: 429s in the several-tenants bench.
  pipeline.addPolicy(pacingPolicy(endpoint, options), { afterPhase: 'Sign' });
  pipeline.addPolicy(countingPolicy(options.stats, attempts), { afterPhase: 'Retry' });
  pipeline.addPolicy(jsonBodyPolicy(bodies), { afterPhase: 'Retry' });
  const httpClient: HttpClient = createDefaultHttpClient();

  async function getJson<T>(url: string, signal: AbortSignal | undefined): Promise<T> {
    if (signal?.aborted) throw abortError(signal);
    const request = createPipelineRequest({
      url,
      method: 'GET',
      headers: createHttpHeaders({ accept: 'application/json' }),
      abortSignal: signal,
    });
    let response: PipelineResponse;
    try {
      response = await pipeline.sendRequest(httpClient, request);
    } catch (error) {
      // Aborted (the pipeline says only "The operation was aborted"): the signal's reason says why.
      if (signal?.aborted) throw abortError(signal);
      // What the retries could not get past: no answer, or never a whole one.
      if (isRestError(error) && (error.response === undefined || error.code === RestError.PARSE_ERROR)) {
        throw GraphRequestError.fromTransportError(url, error, attempts.get(request) ?? 1);
      }
      throw error;
    }
    if (response.status !== 200) {
      throw GraphRequestError.fromResponse(url, response, attempts.get(request) ?? 1);
    }
    return bodies.get(response) as T;
  }

  async function* collection<T>(
    pathAndQuery: string,
    options?: GraphRequestOptions,
  ): AsyncGenerator<GraphPage<T>> {
    let url: string | undefined = `${endpoint}${pathAndQuery}`;
    while (url) {
      // The bearer token goes wherever the link points: follow links to our Graph host only.
      if (new URL(url).origin !== origin)
        throw new Error(`Graph returned a nextLink to another host: ${new URL(url).origin}`);
      const page: CollectionPage<T> = await getJson<CollectionPage<T>>(url, options?.signal);
      url = page['@odata.nextLink'];
      yield { items: page.value ?? [], hasNext: url !== undefined };
    }
  }

  return {
    endpoint,
    scope,
    collection,
    async *pages<T>(pathAndQuery: string, options?: GraphRequestOptions): AsyncGenerator<T[]> {
      for await (const page of collection<T>(pathAndQuery, options)) yield page.items;
    },
  };
}

/**
 * What to retry, after Graph's throttling guidance, in the order the retry loop asks:
 * - 429 or 503 with Retry-After (seconds, fractional too, or an HTTP date; `retry-after-ms` too): wait that long,
 *   as the pipeline's default policy does;
 * - 429 without a usable Retry-After: exponential backoff (the default policy returns it);
 * - a response body that broke off (the connection dropped after the headers) or is not JSON: exponential backoff
 *   (the default policy throws `PARSE_ERROR`);
 * - 408 and 5xx other than 501 and 505 (503 without Retry-After among them), and connection errors before an
 *   answer (ECONNRESET, ECONNREFUSED, ETIMEDOUT, ESOCKETTIMEDOUT, ENOTFOUND, ENOENT): exponential backoff, as the
 *   default policy does.
 * Anything else is returned or thrown at once. Backoff: `retryDelayInMs · 2^retry`, at most `maxRetryDelayInMs`,
 * jittered into its upper half, as the pipeline's own exponential strategy computes it. The retry loop waits
 * abortably (the request's abortSignal) and stops after `maxRetries`.
 */
function graphRetryStrategies(options: Required<GraphRetryOptions>): RetryStrategy[] {
  const backoff = (retryCount: number): { retryAfterInMs: number } => {
    const ceiling = Math.min(options.maxRetryDelayInMs, options.retryDelayInMs * 2 ** retryCount);
    return { retryAfterInMs: ceiling / 2 + Math.floor(Math.random() * (ceiling / 2 + 1)) };
  };
  return [
    {
      name: 'graphRetryAfter',
      retry({ response }) {
        const wait = response && [429, 503].includes(response.status) ? retryAfterMs(response) : undefined;
        return wait === undefined ? { skipStrategy: true } : { retryAfterInMs: wait };
      },
    },
    {
      name: 'graphThrottledWithoutRetryAfter',
      retry: ({ retryCount, response }) =>
        response?.status === 429 ? backoff(retryCount) : { skipStrategy: true },
    },
    {
      name: 'graphIncompleteBody',
      retry: ({ retryCount, responseError }) =>
        responseError?.code === RestError.PARSE_ERROR ? backoff(retryCount) : { skipStrategy: true },
    },
    {
      name: 'graphTransientFailure',
      retry({ retryCount, response, responseError }) {
        if (response)
          return isTransientStatus(response.status) ? backoff(retryCount) : { skipStrategy: true };
        if (responseError && systemErrors.has(responseError.code ?? '')) return backoff(retryCount);
        return { skipStrategy: true };
      },
    },
  ];
}

/** The codes the pipeline's exponential strategy retries as "errors in the transport layer". */
const systemErrors = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOENT',
  'ENOTFOUND',
]);

function isTransientStatus(status: number): boolean {
  return status === 408 || (status >= 500 && status !== 501 && status !== 505);
}

/** Milliseconds a 429/503 asks us to wait, as the pipeline reads them; undefined without a usable header. */
function retryAfterMs(response: PipelineResponse): number | undefined {
  for (const [header, msPerUnit] of [
    ['retry-after-ms', 1],
    ['x-ms-retry-after-ms', 1],
    ['retry-after', 1_000],
  ] as const) {
    const value = response.headers.get(header)?.trim();
    if (!value) continue;
    const amount = Number(value);
    if (Number.isFinite(amount)) return Math.max(0, amount * msPerUnit);
  }
  const date = Date.parse(response.headers.get('retry-after') ?? '');
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

// One window per Graph host, tenant and limit in this process: sign-in and audit runs on the same instance
// share the tenant's allowance, and every tenant's requests share the app's.
const windows = new Map<string, SlidingWindow>();

function windowFor(key: string, pacing: GraphPacing): SlidingWindow {
  const id = `${key}|${pacing.limit}|${pacing.intervalMs}`;
  let window = windows.get(id);
  if (!window) {
    window = new SlidingWindow(pacing.limit, pacing.intervalMs);
    windows.set(id, window);
  }
  return window;
}

function pacingPolicy(
  endpoint: string,
  options: Pick<GraphClientOptions, 'pacing' | 'tenantKey' | 'appPacing'>,
): PipelinePolicy {
  // A request takes its tenant's slot and the app's at the same instant, when it leaves: a tenant waiting
  // for its own allowance holds no app slot, and a wait for the app's does not start the tenant's window early.
  // Each is counted from when its answer came: Graph counted it on arrival, before that, however late it arrived.
  const counted = [
    windowFor(`${endpoint}|tenant:${options.tenantKey ?? 'home'}`, options.pacing),
    ...(options.appPacing ? [windowFor(`${endpoint}|app`, options.appPacing)] : []),
  ];
  return {
    name: 'graphPacing',
    // An aborted request leaves the wait at once and is not sent.
    async sendRequest(request, next) {
      const turn = await takeTurn(counted, request.abortSignal);
      try {
        return await next(request);
      } finally {
        turn.settle();
      }
    },
  };
}

function countingPolicy(stats: SourceStats, attempts: WeakMap<PipelineRequest, number>): PipelinePolicy {
  return {
    name: 'graphCallCounter',
    async sendRequest(request, next) {
      stats.apiCalls += 1;
      attempts.set(request, (attempts.get(request) ?? 0) + 1);
      const response = await next(request);
      if (response.status === 429) stats.throttled += 1;
      return response;
    },
  };
}

/**
 * Parses a 200's JSON inside the retry loop. The HTTP client has read the whole body by then (or thrown
 * `PARSE_ERROR` when the connection broke off in it); a body that ended but is not JSON (a proxy's cut or a
 * page that is not Graph's) becomes the same retriable `PARSE_ERROR`.
 */
function jsonBodyPolicy(bodies: WeakMap<PipelineResponse, unknown>): PipelinePolicy {
  return {
    name: 'graphJsonBody',
    async sendRequest(request, next) {
      const response = await next(request);
      if (response.status !== 200) return response;
      try {
        bodies.set(response, JSON.parse(response.bodyAsText ?? ''));
      } catch (error) {
        throw new RestError(
          `The response body is not complete JSON (${response.bodyAsText?.length ?? 0} characters): ${String(error)}`,
          { code: RestError.PARSE_ERROR, statusCode: response.status, response },
        );
      }
      return response;
    },
  };
}
