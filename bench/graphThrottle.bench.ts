import { scopesOf } from '../src/run/windowedCollector.js';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
} from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/core-auth';
import { newSourceStats, type SourceStats } from '../src/run/collector.js';
import { silentLogger } from '../src/lib/logger.js';
import { entraSignInsCollector } from '../src/sources/entra/auditLogCollectors.js';
import { signInEventTypes } from '../src/sources/entra/rows.js';
import { startGraphEmulator } from '../test/emulators/graph.js';
import type { ManagedIdentityEmulator } from '../test/emulators/managedIdentity.js';

export interface GraphBenchOptions {
  readonly signIns: number;
  /** The emulator's clock runs this much faster: Graph's 10 s window lasts 10 s / timeScale. */
  readonly timeScale: number;
}

export interface GraphBenchRun {
  readonly records: number;
  readonly requests: number;
  readonly throttled: number;
  readonly wallMs: number;
  readonly recordsPerSecond: number;
  /** Share of the ceiling: 1,000 records per request × 5 requests per (10 s / timeScale). */
  readonly fractionOfCeiling: number;
}

export interface GraphBenchResult {
  readonly signIns: number;
  readonly timeScale: number;
  readonly ceilingRecordsPerSecond: number;
  readonly ours: GraphBenchRun;
  readonly baseline: GraphBenchRun;
}

/**
 * A day of sign-ins read in one window against Graph's 5-requests-per-10-s throttle: our paced
 * collector against a plain sequential pager that relies on 429 + Retry-After.
 */
export async function benchGraphThrottle(
  identity: ManagedIdentityEmulator,
  credential: TokenCredential,
  options: GraphBenchOptions,
): Promise<GraphBenchResult> {
  const to = new Date();
  const from = new Date(to.getTime() - 24 * 3_600_000);
  const ceiling = (1000 * 5 * options.timeScale) / 10;
  const run = async (read: (endpoint: string) => Promise<number>): Promise<GraphBenchRun> => {
    // A fresh emulator per run: each starts with an empty throttle window and the same data.
    const graph = await startGraphEmulator({
      identity,
      tenantId: identity.tenantId,
      seed: 17,
      timeScale: options.timeScale,
      signIns: { count: options.signIns, from, to },
    });
    try {
      const started = performance.now();
      const records = await read(graph.endpoint);
      const wallMs = performance.now() - started;
      const recordsPerSecond = records / (wallMs / 1000);
      return {
        records,
        requests: graph.requests.length,
        throttled: graph.throttledCount,
        wallMs,
        recordsPerSecond,
        fractionOfCeiling: recordsPerSecond / ceiling,
      };
    } finally {
      await graph.stop();
    }
  };

  const ours = await run(async (endpoint) => {
    const stats: SourceStats = newSourceStats();
    const collector = entraSignInsCollector({
      endpoint,
      audience: 'https://graph.microsoft.com',
      credential,
      eventTypes: signInEventTypes,
      // The defaults (5 per 10.2 s), on the emulator's faster clock.
      pacing: { limit: 5, intervalMs: Math.ceil(10_200 / options.timeScale) },
    });
    const context = { runId: 'bench', startTime: new Date(), stats, log: silentLogger };
    const [home] = await scopesOf(collector, context);
    if (home === undefined) throw new Error('the sign-in collector has no scope');
    const source = await home.open();
    let records = 0;
    for await (const row of source.read({ start: from, end: to })) if (row.Id !== null) records += 1;
    return records;
  });

  const baseline = await run((endpoint) => unpacedSequentialPager(endpoint, credential, from, to));
  return {
    signIns: options.signIns,
    timeScale: options.timeScale,
    ceilingRecordsPerSecond: ceiling,
    ours,
    baseline,
  };
}

/** Baseline: one request after another as fast as they come back; 429s are left to the SDK's retry. */
async function unpacedSequentialPager(
  endpoint: string,
  credential: TokenCredential,
  from: Date,
  to: Date,
): Promise<number> {
  const pipeline = createPipelineFromOptions({ retryOptions: { maxRetries: 20 } });
  pipeline.addPolicy(
    bearerTokenAuthenticationPolicy({ credential, scopes: 'https://graph.microsoft.com/.default' }),
    {
      phase: 'Sign',
    },
  );
  const httpClient = createDefaultHttpClient();
  const filter = `createdDateTime ge ${from.toISOString()} and createdDateTime le ${to.toISOString()}`;
  const types = `(signInEventTypes/any(t: ${signInEventTypes.map((type) => `t eq '${type}'`).join(' or ')}))`;
  let url: string | undefined =
    `${endpoint}/beta/auditLogs/signIns?$filter=${encodeURIComponent(`${types} and ${filter}`)}&$top=1000`;
  let records = 0;
  while (url) {
    const response = await pipeline.sendRequest(
      httpClient,
      createPipelineRequest({ url, headers: createHttpHeaders({ accept: 'application/json' }) }),
    );
    if (response.status !== 200) throw new Error(`baseline pager: HTTP ${response.status}`);
    const page = JSON.parse(response.bodyAsText ?? '{}') as { value?: unknown[]; '@odata.nextLink'?: string };
    records += page.value?.length ?? 0;
    url = page['@odata.nextLink'];
  }
  return records;
}
