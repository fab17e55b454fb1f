import { IAMClient } from '@aws-sdk/client-iam';
import { newSourceStats, type SourceStats } from '../src/run/collector.js';
import { silentLogger } from '../src/run/logger.js';
import { awsAccessKeysCollector } from '../src/sources/aws/accessKeysCollector.js';
import { countApiCalls } from '../src/sources/aws/apiCallCounter.js';
import { startAwsProxy } from '../test/emulators/awsProxy.js';
import type { MotoServer } from '../test/emulators/moto.js';
import { realisticAccount } from '../test/support/seedAccount.js';
import { oldLambdaInventory } from './baseline/oldLambdaInventory.js';

export interface AwsBenchOptions {
  readonly users: number;
  readonly latencyMs: number;
  /** Throttling mode: IAM answers Throttling above this many requests per second. */
  readonly throttleRps: number;
  readonly concurrency: number;
}

export interface AwsBenchRun {
  readonly keys: number;
  readonly apiCalls: number;
  readonly throttled: number;
  readonly wallMs: number;
  readonly failed: string | null;
}

export interface AwsBenchResult {
  readonly users: number;
  readonly keys: number;
  readonly latencyMs: number;
  readonly baseline: AwsBenchRun;
  readonly ours: AwsBenchRun;
  readonly oursThrottled: AwsBenchRun & { readonly throttleRps: number };
  readonly callRatio: number;
  readonly wallTimeRatio: number;
}

const credentials = () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' });

/** Times one pass over an inventory, counting keys; a failure is reported, not thrown. */
async function timeInventory(stats: SourceStats, records: AsyncIterable<unknown>): Promise<AwsBenchRun> {
  const started = performance.now();
  let keys = 0;
  let failed: string | null = null;
  try {
    for await (const record of records) if (record !== undefined) keys += 1;
  } catch (error) {
    failed = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  }
  return {
    keys,
    apiCalls: stats.apiCalls,
    throttled: stats.throttled,
    wallMs: performance.now() - started,
    failed,
  };
}

async function runOurs(endpoint: string, concurrency: number): Promise<AwsBenchRun> {
  const previous = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = endpoint;
  const stats: SourceStats = newSourceStats();
  const collector = awsAccessKeysCollector({
    credentialsFor: () => credentials,
    region: 'us-east-1',
    accessKeyIdMode: 'masked',
    concurrency,
    reportWait: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
  });
  try {
    return await timeInventory(
      stats,
      collector.read({ runId: 'bench', startTime: new Date(), stats, log: silentLogger }),
    );
  } finally {
    if (previous === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = previous;
  }
}

async function runBaseline(endpoint: string): Promise<AwsBenchRun> {
  const stats: SourceStats = newSourceStats();
  const iam = new IAMClient({ region: 'us-east-1', endpoint, credentials });
  countApiCalls(iam, stats);
  try {
    return await timeInventory(stats, oldLambdaInventory(iam));
  } finally {
    iam.destroy();
  }
}

/**
 * One account in moto behind a latency-injecting proxy (a real IAM round trip is ~40 ms): the old
 * Lambda's sequential per-key route against ours, then ours again against a proxy that throttles.
 */
export async function benchAwsInventory(moto: MotoServer, options: AwsBenchOptions): Promise<AwsBenchResult> {
  await moto.reset();
  const spec = realisticAccount({ users: options.users, seed: 5, withKeys: 0.8 });
  const seeded = await moto.seedIam(spec);
  const keys = seeded.users.reduce((sum, user) => sum + user.keys.length, 0);

  const slow = await startAwsProxy(moto.endpoint, { latencyMs: options.latencyMs });
  const throttling = await startAwsProxy(moto.endpoint, {
    latencyMs: options.latencyMs,
    maxRequestsPerSecond: options.throttleRps,
  });
  try {
    // Ours first: moto slows down as it serves thousands of requests, which must not count against us.
    const ours = await runOurs(slow.endpoint, options.concurrency);
    const baseline = await runBaseline(slow.endpoint);
    const oursThrottled = {
      ...(await runOurs(throttling.endpoint, options.concurrency)),
      throttleRps: options.throttleRps,
    };
    return {
      users: options.users,
      keys,
      latencyMs: options.latencyMs,
      baseline,
      ours,
      oursThrottled,
      callRatio: baseline.apiCalls / ours.apiCalls,
      wallTimeRatio: baseline.wallMs / ours.wallMs,
    };
  } finally {
    await slow.stop();
    await throttling.stop();
  }
}
