import { IAMClient } from '@aws-sdk/client-iam';
import { fork } from 'node:child_process';
import { newSourceStats, type SourceStats } from '../src/run/collector.js';
import { silentLogger } from '../src/lib/logger.js';
import { awsAccessKeysCollector } from '../src/sources/aws/accessKeysCollector.js';
import { countApiCalls } from '../src/sources/aws/apiCallCounter.js';
import { startAwsProxy } from '../test/emulators/awsProxy.js';
import type { MotoServer } from '../test/emulators/moto.js';
import { realisticAccount } from '../test/support/seedAccount.js';
import { defaultOwnerTagKeys } from '../src/sources/aws/userTags.js';
import { oldLambdaInventory } from './baseline/oldLambdaInventory.js';
import { siblingEntry } from './support.js';

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

/** A run given a credential report older than CREDENTIAL_REPORT_MAX_AGE_MINUTES (another tool's). */
export type AwsStaleReportRun = AwsBenchRun & {
  readonly reportAgeMinutes: number;
  /** Users the report shows without keys: each costs a ListAccessKeys call when the report is stale. */
  readonly usersWithoutKeys: number;
};

export interface AwsBenchResult {
  readonly users: number;
  readonly keys: number;
  readonly latencyMs: number;
  readonly baseline: AwsBenchRun;
  readonly ours: AwsBenchRun;
  readonly oursStaleReport: AwsStaleReportRun;
  readonly oursThrottled: AwsBenchRun & { readonly throttleRps: number };
  readonly ownerTags: OwnerTagsCost;
  readonly callRatio: number;
  readonly wallTimeRatio: number;
}

/**
 * What owner tags (AWS_OWNER_TAG_KEYS, on by default) cost: the inventory without them (`ours`) and with
 * them, one after the other on the same account and proxy, each generating its own credential report.
 */
export interface OwnerTagsCost {
  readonly tagKeys: readonly string[];
  readonly run: AwsBenchRun;
  /** Users with keys: one ListUserTags each. */
  readonly usersWithKeys: number;
  /** With tags over without: API calls, wall time. */
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

async function runOurs(
  endpoint: string,
  concurrency: number,
  ownerTagKeys: readonly string[] = [],
): Promise<AwsBenchRun> {
  const previous = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = endpoint;
  const stats: SourceStats = newSourceStats();
  const collector = awsAccessKeysCollector({
    credentialsFor: () => credentials,
    region: 'us-east-1',
    accessKeyIdMode: 'masked',
    concurrency,
    reportWait: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
    ownerTagKeys,
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

/** The account both sides inventory: one spec, so the baseline's own moto holds the same users and keys. */
export function benchAccount(users: number) {
  const account = realisticAccount({ users, seed: 5, withKeys: 0.8 });
  // Three users in four name their owner (the tags cost a call per user with keys whatever they hold).
  return {
    ...account,
    users: account.users.map((user, i) =>
      i % 4 === 3 ? user : { ...user, tags: [{ key: 'owner', value: `${user.name}@example.com` }] },
    ),
  };
}

/** The old Lambda's pass over the account, one call at a time. Runs in its own process (awsBaselineWorker). */
export async function runOldLambdaBaseline(endpoint: string): Promise<AwsBenchRun> {
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
 * Starts the baseline in a child process with its own moto and latency proxy. Its sequential calls
 * (~7 minutes at 5,000 users and 40 ms) mostly wait, so they overlap the other benchmarks instead of
 * adding to the suite's time; its own moto keeps its requests from queueing behind ours.
 */
export function startOldLambdaBaseline(options: { users: number; latencyMs: number }): {
  readonly result: Promise<AwsBaselineRun>;
  readonly stop: () => void;
} {
  const { entry, execArgv } = siblingEntry(import.meta.url, 'awsBaselineWorker');
  const child = fork(entry, [JSON.stringify(options)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const result = new Promise<AwsBaselineRun>((resolve, reject) => {
    let report: AwsBaselineRun | undefined;
    child.once('message', (message) => {
      report = message as AwsBaselineRun;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (report !== undefined) resolve(report);
      else reject(new Error(`the baseline process exited with ${code ?? 'a signal'} before reporting`));
    });
  });
  // Awaited only after the other benchmarks: a failure meanwhile must not be an unhandled rejection.
  result.catch(() => undefined);
  return { result, stop: () => child.kill() };
}

export interface AwsBaselineRun extends AwsBenchRun {
  /** Keys seeded into the baseline's own moto (must equal ours). */
  readonly seededKeys: number;
}

export interface OursInventory {
  readonly users: number;
  readonly keys: number;
  readonly latencyMs: number;
  readonly ours: AwsBenchRun;
  readonly oursStaleReport: AwsStaleReportRun;
  readonly oursThrottled: AwsBenchRun & { readonly throttleRps: number };
  readonly ownerTags: OwnerTagsCost;
}

/** Beyond the default CREDENTIAL_REPORT_MAX_AGE_MINUTES (15), within IAM's 4 h reuse. */
const staleReportAgeMinutes = 120;

/**
 * Ours against one account in moto behind a latency-injecting proxy (a real IAM round trip is
 * ~40 ms): with the report it generates itself, then with one another tool left 2 h before (users it
 * shows without keys are asked too), then against a proxy that throttles. Right after the first run, the
 * same with owner tags read (AWS_OWNER_TAG_KEYS), so that the two differ in the tags alone.
 */
export async function benchAwsInventory(moto: MotoServer, options: AwsBenchOptions): Promise<OursInventory> {
  await moto.reset();
  const seeded = await moto.seedIam(benchAccount(options.users));
  const keys = seeded.users.reduce((sum, user) => sum + user.keys.length, 0);
  const usersWithoutKeys = seeded.users.filter((user) => user.keys.length === 0).length;
  const usersWithKeys = seeded.users.length - usersWithoutKeys;

  const slow = await startAwsProxy(moto.endpoint, { latencyMs: options.latencyMs });
  const throttling = await startAwsProxy(moto.endpoint, {
    latencyMs: options.latencyMs,
    maxRequestsPerSecond: options.throttleRps,
  });
  try {
    const ours = await runOurs(slow.endpoint, options.concurrency);
    // With tags, it generates its report too (IAM keeps one 4 h; moto forgets it on request).
    await moto.forgetCredentialReports();
    const withTags = await runOurs(slow.endpoint, options.concurrency, defaultOwnerTagKeys);
    await moto.seedCredentialReport({
      generatedAt: new Date(Date.now() - staleReportAgeMinutes * 60_000).toISOString(),
    });
    const stale = await runOurs(slow.endpoint, options.concurrency);
    // Back to a report of this moment, so the throttled run measures throttling alone.
    await moto.seedCredentialReport({});
    const oursThrottled = await runOurs(throttling.endpoint, options.concurrency);
    return {
      users: options.users,
      keys,
      latencyMs: options.latencyMs,
      ours,
      oursStaleReport: { ...stale, reportAgeMinutes: staleReportAgeMinutes, usersWithoutKeys },
      oursThrottled: { ...oursThrottled, throttleRps: options.throttleRps },
      ownerTags: {
        tagKeys: defaultOwnerTagKeys,
        run: withTags,
        usersWithKeys,
        callRatio: withTags.apiCalls / ours.apiCalls,
        wallTimeRatio: withTags.wallMs / ours.wallMs,
      },
    };
  } finally {
    await slow.stop();
    await throttling.stop();
  }
}

/** Ours beside the old Lambda's run of the same account. */
export function compareWithBaseline(ours: OursInventory, baselineRun: AwsBaselineRun): AwsBenchResult {
  const { seededKeys, ...baseline } = baselineRun;
  if (seededKeys !== ours.keys)
    throw new Error(`the baseline's account has ${seededKeys} keys, ours ${ours.keys}`);
  return {
    ...ours,
    baseline,
    callRatio: baseline.apiCalls / ours.ours.apiCalls,
    wallTimeRatio: baseline.wallMs / ours.ours.wallMs,
  };
}
