// Every unit of work runs under the run's deadline (DESIGN §7): runs end within their time budget, with a
// run row, instead of being killed by the host; what could not finish is split and resumed by the next run.
// Real SDK clients against the emulators: Graph (paged newest first, throttled), the Logs Ingestion API,
// Azurite for checkpoints, moto behind a proxy that adds latency to every AWS call.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { ManagedIdentityCredential } from '@azure/identity';
import type { Logger } from '../../src/lib/logger.js';
import { CollectorRunError, runCollector, type RunResult } from '../../src/run/runCollector.js';
import { runWindowedCollector } from '../../src/run/runWindowedCollector.js';
import type { WindowPolicy } from '../../src/run/windowedCollector.js';
import { logsIngestionSink } from '../../src/sinks/logsIngestionSink.js';
import { awsAccessKeysCollector } from '../../src/sources/aws/accessKeysCollector.js';
import type { AccountProgress } from '../../src/sources/aws/organization.js';
import { entraAuditsCollector } from '../../src/sources/entra/auditLogCollectors.js';
import { createTableCheckpointStore } from '../../src/state/tableCheckpointStore.js';
import type { AWSIAMAccessKeysRow, CollectorRunsRow } from '../../src/tables/generated.js';
import { startAwsProxy, type AwsProxy } from '../emulators/awsProxy.js';
import { startAzurite, type AzuriteTables } from '../emulators/azurite.js';
import { startGraphEmulator, type GraphEmulator } from '../emulators/graph.js';
import {
  dcrImmutableId,
  identityClientId,
  startLocalCloud,
  tenantId,
  withEnv,
  type LocalCloud,
} from '../support/localCloud.js';
import { memorySink } from '../support/memorySink.js';
import { expectedKeys, realisticAccount } from '../support/seedAccount.js';

const minute = 60_000;
const sourceEnd = new Date(Math.floor(Date.now() / 1000) * 1000);
const sourceStart = new Date(sourceEnd.getTime() - 6 * 60 * minute);
const auditCount = 24_000;
/** What the host allows a run beyond its budget before it kills it (Flex: 30 min against 20). */
const hostSlackMs = 1_500;

let cloud: LocalCloud;
let azurite: AzuriteTables;
let graph: GraphEmulator;
const logLines: string[] = [];
const log: Logger = {
  info: (m) => logLines.push(m),
  warn: (m) => logLines.push(m),
  error: (m) => logLines.push(m),
};

beforeAll(async () => {
  cloud = await startLocalCloud();
  Object.assign(process.env, cloud.env);
  azurite = await startAzurite();
  graph = await startGraphEmulator({
    identity: cloud.identity,
    tenantId,
    seed: 13,
    timeScale: 100,
    audits: { count: auditCount, from: sourceStart, to: sourceEnd },
  });
});

afterAll(async () => {
  await graph?.stop();
  await azurite?.stop();
  await cloud?.stop();
});

const credential = () => new ManagedIdentityCredential({ clientId: identityClientId });
const sink = () =>
  logsIngestionSink({
    endpoint: cloud.ingestion.endpoint,
    dcrImmutableId,
    credential: credential(),
    retryOptions: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });

/** Runs `run` as the host would: a run still going `hostSlackMs` after its budget is killed. */
async function underHostTimeout<T>(budgetMs: number, run: () => Promise<T>) {
  const started = Date.now();
  const running = run().then(
    (value) => ({ value, error: undefined }),
    (error: unknown) => ({ value: undefined, error }),
  );
  const outcome = await Promise.race([running, sleep(budgetMs + hostSlackMs).then(() => 'killed' as const)]);
  assert.notEqual(outcome, 'killed', `the run outlived its ${budgetMs} ms budget: the host would kill it`);
  return { ...(outcome as Awaited<typeof running>), elapsedMs: Date.now() - started };
}

function runRowOf(runId: string): CollectorRunsRow {
  const row = (cloud.ingestion.accepted('CollectorRuns_CL') as unknown as CollectorRunsRow[]).find(
    (r) => r.RunId === runId,
  );
  assert.ok(row, `the run row of ${runId}`);
  return row;
}

describe('Entra: a backlog larger than a run can read', () => {
  it('is worked off over successive runs, each ending within its budget with a run row and progress, nothing lost', async () => {
    // 24,000 audits in 6 h, read at 0.8 pages of 1,000 a second: about 30 s of reading. A run may read
    // for about 10.6 s of its 12.5 s, so the first slice, 6 h (24 pages), never fits in a run and must be
    // split. Not smaller: the run row's reserve is 5 % of the budget, and on a loaded 2-core machine (the
    // emulators share this process) a 2.5 s budget's 200 ms was too little for aborted work to stop.
    const budgetMs = 12_500;
    const policy: WindowPolicy = {
      overlapMs: 10 * minute,
      lagMs: 0,
      initialLookbackMs: 6 * 60 * minute + 5 * minute,
      sliceMs: 6 * 60 * minute,
      budgetMs,
      retentionMs: 30 * 24 * 60 * minute,
    };
    const collector = entraAuditsCollector({
      endpoint: graph.endpoint,
      audience: 'https://graph.microsoft.com',
      credential: credential(),
      pacing: { limit: 1, intervalMs: 1_250 },
      retryOptions: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    });
    const checkpoints = createTableCheckpointStore({
      kind: 'connection-string',
      connectionString: azurite.connectionString,
      tableName: 'deadlinecheckpoints',
    });
    const acceptedBefore = cloud.ingestion.accepted('EntraAuditLogs_CL').length;

    const runs: { result: RunResult; position: number; elapsedMs: number }[] = [];
    for (let k = 0; k < 15; k += 1) {
      const {
        value: result,
        error,
        elapsedMs,
      } = await underHostTimeout(budgetMs, () =>
        runWindowedCollector({ collector, checkpoints, sink: sink(), log, policy }),
      );
      assert.equal(error, undefined, `run ${k} failed`);
      assert.ok(result);
      const position = (await checkpoints.get(collector.name, tenantId))?.position.getTime() ?? 0;
      runs.push({ result, position, elapsedMs });
      const row = runRowOf(result.runId);
      assert.equal(row.Status, result.status, `run ${k}: its run row was written`);
      if (result.status === 'Succeeded') break;
      assert.equal(result.status, 'PartiallySucceeded');
      assert.match(
        row.Warnings ?? '',
        /time budget of 12\.5 s \(RUN_TIME_BUDGET_MINUTES.*ran out with .* of events left to read .*the next run resumes from the checkpoint/,
        `run ${k}: the run row says what was left`,
      );
    }

    assert.equal(runs.at(-1)?.result.status, 'Succeeded', 'the backlog was worked off');
    assert.ok(runs.length >= 3, `the backlog took ${runs.length} runs`);
    let before = sourceStart.getTime() - 5 * minute;
    for (const [k, run] of runs.entries()) {
      assert.ok(run.position > before, `run ${k} moved the checkpoint\n${logLines.slice(-60).join('\n')}`);
      before = run.position;
    }
    assert.ok(
      logLines.some((line) => /would not be read before the deadline.*reading on in slices of/.test(line)),
      'a slice was split',
    );

    const delivered = cloud.ingestion.accepted('EntraAuditLogs_CL').slice(acceptedBefore);
    const ids = new Set(delivered.map((row) => String(row.Id)));
    const expected = graph.ids('directoryAudits');
    assert.equal(expected.size, auditCount);
    assert.deepEqual(
      [...expected].filter((id) => !ids.has(id)).length,
      0,
      'every audit of the backlog was delivered',
    );
    const duplicates = delivered.length - ids.size;
    // What the sink accepted of slices left uncommitted is remembered with the checkpoint, not sent again.
    assert.ok(duplicates <= auditCount * 0.02, `${duplicates} duplicates`);
  });
});

describe('AWS: runs that cannot finish in their budget', () => {
  const memberRole = 'crosscloud-identity-monitor-member';
  let slow: AwsProxy;
  const smallAccounts: string[] = [];
  const bigAccounts: string[] = [];
  const expectedBySmallAccount = new Map<string, number>();

  beforeAll(async () => {
    // Every AWS call takes 25 ms more: a few hundred users are seconds of work.
    slow = await startAwsProxy(cloud.moto.endpoint, { latencyMs: 25 });
    await cloud.moto.seedIam(realisticAccount({ users: 400, seed: 5, withKeys: 0.9 }));
    const organizations = new OrganizationsClient({
      region: 'us-east-1',
      endpoint: cloud.aws.endpoint,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
    await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
    for (const [name, users] of [
      ['small-1', 5],
      ['small-2', 5],
      ['big-1', 400],
      ['big-2', 400],
    ] as const) {
      const created = await organizations.send(
        new CreateAccountCommand({ AccountName: name, Email: `aws+${name}@example.com` }),
      );
      const id = created.CreateAccountStatus?.AccountId ?? '';
      const spec = realisticAccount({ users, seed: users, accountId: id, withKeys: 1 });
      const seeded = await cloud.moto.seedIam({ ...spec, roles: [{ name: memberRole }] });
      (name.startsWith('small') ? smallAccounts : bigAccounts).push(id);
      if (name.startsWith('small')) expectedBySmallAccount.set(id, expectedKeys(spec, seeded).length);
    }
    organizations.destroy();
  });

  afterAll(() => slow?.stop());

  const collectorOptions = {
    credentialsFor: () => () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' }),
    region: 'us-east-1',
    accessKeyIdMode: 'masked' as const,
    concurrency: 2,
    reportWait: { minDelaySeconds: 0.05, maxDelaySeconds: 0.2 },
  };

  it('single account: the deadline aborts the inventory; the run ends Failed with a run row naming the incomplete snapshot', async () => {
    const budgetMs = 1_500;
    const memory = memorySink();
    await withEnv({ AWS_ENDPOINT_URL: slow.endpoint }, async () => {
      const { error, elapsedMs } = await underHostTimeout(budgetMs, () =>
        runCollector({
          collector: awsAccessKeysCollector(collectorOptions),
          sink: memory.sink,
          log,
          budgetMs,
        }),
      );
      assert.ok(error instanceof CollectorRunError, 'the run failed');
      assert.match(error.message, /time budget of 1\.5 s .* ran out after \d+ of the snapshot's rows/);
      assert.ok(elapsedMs < budgetMs + 1_000, `ended after ${elapsedMs} ms`);
      // A request sent just before the deadline may still reach the proxy: then nothing more comes.
      await sleep(200);
      const calls = slow.requests.length;
      await sleep(500);
      assert.equal(slow.requests.length, calls, 'no AWS call is made after the run ended');
    });
    const [runRow] = memory.rowsOf('CollectorRuns_CL');
    assert.equal(runRow?.Status, 'Failed');
    assert.match(
      runRow?.Error ?? '',
      /snapshot \(SnapshotId .*\) is incomplete, and the next run starts it over/,
    );
    assert.ok(
      memory.rowsOf('AWSIAMAccessKeys_CL').length < 350,
      'the account was not read in full within the budget',
    );
  });

  // Threads take about a second to load the SDK through tsx (half that compiled): a longer budget, still
  // far short of what a big account takes.
  it.each([
    ["on the run's thread", 0, 2_000],
    ['on 2 worker threads', 2, 3_500],
  ])(
    'organization, %s: accounts in flight at the deadline are aborted and named; finished ones are delivered and recorded',
    async (_, workers, budgetMs) => {
      const memory = memorySink();
      // The small accounts go first (never inventoried), the big ones were inventoried before.
      const recorded: string[][] = [];
      const progress: AccountProgress = {
        description: 'memory',
        lastInventoried: (ids) =>
          Promise.resolve(
            new Map(bigAccounts.filter((id) => ids.includes(id)).map((id) => [id, new Date(0)])),
          ),
        recordInventoried: (ids) => {
          recorded.push([...ids]);
          return Promise.resolve();
        },
      };
      const collector = awsAccessKeysCollector({
        ...collectorOptions,
        organization: {
          memberRoleName: memberRole,
          accounts: { include: [...smallAccounts, ...bigAccounts], exclude: [] },
          accountConcurrency: 2,
          budgetMs: Number.POSITIVE_INFINITY,
          progress,
          workers,
        },
      });
      const {
        value: result,
        error,
        elapsedMs,
      } = await withEnv({ AWS_ENDPOINT_URL: slow.endpoint }, () =>
        underHostTimeout(budgetMs, () => runCollector({ collector, sink: memory.sink, log, budgetMs })),
      );
      assert.equal(error, undefined);
      assert.equal(result?.status, 'PartiallySucceeded');
      assert.ok(elapsedMs < budgetMs + 1_000, `ended after ${elapsedMs} ms`);
      // The accounts cut off stop their calls (on a worker thread too): nothing more reaches AWS.
      await sleep(200);
      const calls = slow.requests.length;
      await sleep(500);
      assert.equal(slow.requests.length, calls, 'no AWS call is made after the run ended');

      const rows: AWSIAMAccessKeysRow[] = memory.rowsOf('AWSIAMAccessKeys_CL');
      for (const id of smallAccounts)
        assert.equal(
          rows.filter((r) => r.AccountId === id).length,
          expectedBySmallAccount.get(id),
          `every key of the finished account ${id}`,
        );
      assert.deepEqual(
        rows.filter((r) => bigAccounts.includes(r.AccountId ?? '')),
        [],
        'no row of an account cut off',
      );
      assert.deepEqual(
        recorded.map((ids) => [...ids].sort()),
        [[...smallAccounts].sort()],
        'only the finished accounts are recorded as inventoried',
      );
      const runRow = memory.rowsOf('CollectorRuns_CL')[0];
      assert.equal(runRow?.Status, 'PartiallySucceeded');
      assert.match(runRow?.Error ?? '', /2 of 4 accounts were still being inventoried when the time budget/);
      for (const id of bigAccounts) assert.ok(runRow?.Error?.includes(id), `names ${id}`);
    },
  );
});
