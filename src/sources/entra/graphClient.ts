import type { TokenCredential } from '@azure/core-auth';
import {
  bearerTokenAuthenticationPolicy,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelinePolicy,
  type PipelineResponse,
  createDefaultHttpClient,
} from '@azure/core-rest-pipeline';
import pThrottle from 'p-throttle';
import type { SourceStats } from '../../run/collector.js';
import { appVersion } from '../../run/version.js';
import { GraphRequestError } from './graphErrors.js';

export interface GraphPacing {
  /** Requests allowed per interval: Graph allows 5 per 10 s per app per tenant for audit logs. */
  readonly limit: number;
  readonly intervalMs: number;
}

export interface GraphClientOptions {
  /** `https://graph.microsoft.com` (or a national cloud's). */
  readonly endpoint: string;
  /** Token audience, `https://graph.microsoft.com` in the public cloud. */
  readonly audience: string;
  readonly credential: TokenCredential;
  readonly pacing: GraphPacing;
  readonly stats: SourceStats;
  readonly retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
}

export interface GraphClient {
  readonly endpoint: string;
  /** The OAuth scope the client's tokens are for. */
  readonly scope: string;
  /** Every page of a collection, following `@odata.nextLink` until the last. */
  pages<T>(pathAndQuery: string): AsyncGenerator<T[]>;
}

interface CollectionPage<T> {
  value?: T[];
  '@odata.nextLink'?: string;
}

/**
 * A Graph client on the Azure SDK's HTTP pipeline: bearer tokens, retries of 429 (honouring
 * Retry-After, fractional seconds included) and of 5xx and dropped connections with backoff — all
 * the pipeline's. Ours are two policies inside the retry loop, so that every attempt, retries too,
 * is paced to the tenant's limit and counted.
 */
export function createGraphClient(options: GraphClientOptions): GraphClient {
  const endpoint = options.endpoint.replace(/\/+$/, '');
  const origin = new URL(endpoint).origin;
  const scope = `${options.audience.replace(/\/+$/, '')}/.default`;
  const pipeline: Pipeline = createPipelineFromOptions({
    retryOptions: { maxRetries: 8, ...options.retryOptions },
    userAgentOptions: { userAgentPrefix: `crosscloud-identity-monitor/${appVersion}` },
  });
  pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential: options.credential, scopes: scope }), {
    phase: 'Sign',
  });
  pipeline.addPolicy(pacingPolicy(endpoint, options.pacing), { afterPhase: 'Retry' });
  pipeline.addPolicy(countingPolicy(options.stats), { afterPhase: 'Retry' });
  const httpClient: HttpClient = createDefaultHttpClient();

  async function getJson<T>(url: string): Promise<T> {
    const request = createPipelineRequest({
      url,
      method: 'GET',
      headers: createHttpHeaders({ accept: 'application/json' }),
    });
    const response: PipelineResponse = await pipeline.sendRequest(httpClient, request);
    if (response.status !== 200) throw GraphRequestError.fromResponse(url, response);
    return JSON.parse(response.bodyAsText ?? '{}') as T;
  }

  return {
    endpoint,
    scope,
    async *pages<T>(pathAndQuery: string): AsyncGenerator<T[]> {
      let url: string | undefined = `${endpoint}${pathAndQuery}`;
      while (url) {
        // The bearer token goes wherever the link points: follow links to our Graph host only.
        if (new URL(url).origin !== origin)
          throw new Error(`Graph returned a nextLink to another host: ${new URL(url).origin}`);
        const page: CollectionPage<T> = await getJson<CollectionPage<T>>(url);
        yield page.value ?? [];
        url = page['@odata.nextLink'];
      }
    },
  };
}

// One pacer per Graph host and limit in this process: sign-in and audit runs on the same instance
// share the tenant's allowance.
const pacers = new Map<string, (send: () => Promise<PipelineResponse>) => Promise<PipelineResponse>>();

function pacingPolicy(endpoint: string, pacing: GraphPacing): PipelinePolicy {
  const key = `${endpoint}|${pacing.limit}|${pacing.intervalMs}`;
  let paced = pacers.get(key);
  if (!paced) {
    // strict: no `limit + 1` requests in any interval, not just in fixed windows.
    const throttle = pThrottle({ limit: pacing.limit, interval: pacing.intervalMs, strict: true });
    paced = throttle((send: () => Promise<PipelineResponse>) => send());
    pacers.set(key, paced);
  }
  const pace = paced;
  return { name: 'graphPacing', sendRequest: (request, next) => pace(() => next(request)) };
}

function countingPolicy(stats: SourceStats): PipelinePolicy {
  return {
    name: 'graphCallCounter',
    async sendRequest(request, next) {
      stats.apiCalls += 1;
      const response = await next(request);
      if (response.status === 429) stats.throttled += 1;
      return response;
    },
  };
}
