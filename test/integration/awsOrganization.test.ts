import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import functions, { type Timer } from '@azure/functions';
import { collectorTimer } from '../../src/functions/timers.js';

const awsAccessKeysTimer = collectorTimer('aws-access-keys');
import { silentLogger } from '../../src/lib/logger.js';
import { runCollector } from '../../src/run/runCollector.js';
import {
  awsAccessKeysCollector,
  inventoryMemberAccount,
  memoizeCredentials,
  type OrganizationMode,
} from '../../src/sources/aws/accessKeysCollector.js';
import { newSourceStats } from '../../src/run/collector.js';
import type { AccountTiming } from '../../src/sources/aws/accountTiming.js';
import type { AccountProgress } from '../../src/sources/aws/organization.js';
import { accountProgressIn } from '../../src/sources/aws/accountProgress.js';
import { fileCheckpointStore } from '../../src/state/fileCheckpointStore.js';
import { maskAccessKeyId } from '../../src/lib/redact.js';
import type { AWSIAMAccessKeysRow, CollectorRunsRow } from '../../src/tables/generated.js';
import { startLocalCloud, withEnv, type LocalCloud } from '../support/localCloud.js';
import { memorySink } from '../support/memorySink.js';
import { expectedKeys, realisticAccount, type ExpectedKey } from '../support/seedAccount.js';

const { InvocationContext } = functions;
const memberRole = 'crosscloud-identity-monitor-member';
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};
let cloud: LocalCloud;
const expected = new Map<string, ExpectedKey[]>(); // account ID → keys
const names = new Map<string, string>();
let suspended = '';
let withoutRole = '';

beforeAll(async () => {
  cloud = await startLocalCloud();
  Object.assign(process.env, cloud.env);
  const organizations = new OrganizationsClient({
    region: 'us-east-1',
    endpoint: cloud.aws.endpoint,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const accounts: string[] = ['123456789012']; // the management account: the hub role lives here
  names.set('123456789012', 'master'); // moto's name for the management account
  for (let i = 1; i <= 5; i += 1) {
    const name = `workload-${i}`;
    const created = await organizations.send(
      new CreateAccountCommand({ AccountName: name, Email: `aws+${name}@example.com` }),
    );
    const id = created.CreateAccountStatus?.AccountId ?? '';
    accounts.push(id);
    names.set(id, name);
  }
  suspended = accounts[4] ?? '';
  withoutRole = accounts[5] ?? '';
  await organizations.send(new CloseAccountCommand({ AccountId: suspended }));

  for (const [index, accountId] of accounts.entries()) {
    const spec = realisticAccount({ users: 40 + index * 7, seed: 100 + index, accountId });
    const seeded = await cloud.moto.seedIam({
      ...spec,
      roles: accountId === withoutRole ? [] : [{ name: memberRole }],
    });
    expected.set(accountId, expectedKeys(spec, seeded));
  }
  organizations.destroy();
});

let stateDir = '';
beforeAll(async () => {
  stateDir = await mkdtemp(path.join(tmpdir(), 'organization-progress-'));
});
afterAll(async () => {
  await cloud?.stop();
  await rm(stateDir, { recursive: true, force: true });
});

/** The collector in organization mode, every account, as the hub with the test's member role. */
function organizationCollector(organization: Omit<OrganizationMode, 'memberRoleName' | 'accounts'>) {
  return awsAccessKeysCollector({
    credentialsFor: () => () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' }),
    region: 'us-east-1',
    accessKeyIdMode: 'masked',
    concurrency: 4,
    organization: { memberRoleName: memberRole, accounts: { include: [], exclude: [] }, ...organization },
  });
}

function lastRunRow(): CollectorRunsRow {
  const row = (cloud.ingestion.accepted('CollectorRuns_CL') as unknown as CollectorRunsRow[]).at(-1);
  assert.ok(row);
  return row;
}

describe('organization mode against moto Organizations', () => {
  it('inventories every reachable active account once, reports the broken one, and is PartiallySucceeded', async () => {
    cloud.keyVault.setSecret('aws-member-role-name', memberRole);
    const requestsBefore = cloud.aws.requests.length;
    await awsAccessKeysTimer(
      timer,
      new InvocationContext({ functionName: 'awsAccessKeys', logHandler: () => {} }),
    );

    const rows = cloud.ingestion.accepted('AWSIAMAccessKeys_CL') as unknown as AWSIAMAccessKeysRow[];
    const reachable = [...expected.keys()].filter((id) => id !== suspended && id !== withoutRole);
    assert.deepEqual([...new Set(rows.map((r) => r.AccountId))].sort(), reachable.sort());
    for (const accountId of reachable) {
      const accountRows = rows.filter((r) => r.AccountId === accountId);
      const keys = expected.get(accountId) ?? [];
      assert.equal(accountRows.length, keys.length, `account ${accountId}: each key exactly once`);
      const ids = new Set(accountRows.map((r) => `${r.UserName}/${r.AccessKeyId}`));
      for (const key of keys) assert.ok(ids.has(`${key.userName}/${maskAccessKeyId(key.accessKeyId)}`));
      assert.ok(
        accountRows.every((r) => r.AccountName === names.get(accountId)),
        'AccountName from Organizations',
      );
    }
    assert.ok(!rows.some((r) => r.AccountId === suspended), 'the suspended account is skipped');

    const run = lastRunRow();
    assert.equal(run.Status, 'PartiallySucceeded');
    assert.match(run.Error ?? '', new RegExp(`account ${withoutRole} \\(workload-5\\): .*AccessDenied`));
    const assumed = cloud.aws.requests.filter((r) => r.action === 'AssumeRole').map((r) => r.params.RoleArn);
    assert.ok(assumed.includes(`arn:aws:iam::${withoutRole}:role/${memberRole}`));
    assert.ok(!assumed.some((arn) => arn?.includes(suspended)), 'no role assumed in a suspended account');
    const hubSessions = cloud.aws.requests
      .slice(requestsBefore)
      .filter((r) => r.action === 'AssumeRoleWithWebIdentity');
    assert.equal(hubSessions.length, 1, 'the hub role is assumed once per run, not once per account');
  });

  it('honours the aws-accounts include/exclude list', async () => {
    const [management, first] = [...expected.keys()];
    const before = cloud.ingestion.accepted('AWSIAMAccessKeys_CL').length;
    await withEnv(
      {
        'aws-member-role-name': memberRole,
        'aws-accounts': `${management ?? ''},${first ?? ''},!${first ?? ''}`,
      },
      () =>
        awsAccessKeysTimer(
          timer,
          new InvocationContext({ functionName: 'awsAccessKeys', logHandler: () => {} }),
        ),
    );
    const rows = (cloud.ingestion.accepted('AWSIAMAccessKeys_CL') as unknown as AWSIAMAccessKeysRow[]).slice(
      before,
    );
    assert.deepEqual([...new Set(rows.map((r) => r.AccountId))], [management]);
    assert.equal(lastRunRow().Status, 'Succeeded');
  });

  it('rejects a malformed account list naming the setting', async () => {
    await withEnv({ 'aws-member-role-name': memberRole, 'aws-accounts': '12345' }, () =>
      assert.rejects(
        awsAccessKeysTimer(
          timer,
          new InvocationContext({ functionName: 'awsAccessKeys', logHandler: () => {} }),
        ),
        /Setting aws-accounts is malformed: "12345" is neither a 12-digit account ID/,
      ),
    );
  });

  // A clock that moves one "millisecond" each time the budget is checked: budgetMs = n starts n accounts.
  const steppingClock = () => {
    let t = 0;
    return () => t++;
  };
  const organizationRun = async (progress: AccountProgress, budgetMs: number) => {
    const memory = memorySink();
    const before = cloud.aws.requests.length;
    const collector = organizationCollector({
      accountConcurrency: 1,
      budgetMs,
      progress,
      clock: steppingClock(),
    });
    const failure = await runCollector({ collector, sink: memory.sink, log: silentLogger }).then(
      () => undefined,
      (error: unknown) => error,
    );
    const assumed = cloud.aws.requests
      .slice(before)
      .filter((r) => r.action === 'AssumeRole')
      .map((r) => /iam::(\d{12}):role/.exec(r.params.RoleArn ?? '')?.[1] ?? '');
    // In the order accounts were started (a failed AssumeRole is tried again by the next IAM call).
    const started = [...new Set(assumed)];
    const assumeRoleCalls = (id: string) => assumed.filter((a) => a === id).length;
    const runRow = () => memory.rowsOf('CollectorRuns_CL')[0];
    return { ...memory, runRow, started, assumeRoleCalls, failure };
  };

  it('starts no account past the time budget, names those left out, and starts with them next time', async () => {
    const active = [...expected.keys()].filter((id) => id !== suspended).sort();
    const progress = accountProgressIn(
      fileCheckpointStore(path.join(stateDir, 'budget.json')),
      'aws-access-keys',
    );

    const first = await organizationRun(progress, 2);
    assert.equal(first.failure, undefined);
    assert.deepEqual(
      first.started,
      active.slice(0, 2),
      'never inventoried: in account ID order, 2 within the budget',
    );
    const keyRows = first.rowsOf('AWSIAMAccessKeys_CL');
    const read = first.started.filter((id) => id !== withoutRole);
    assert.deepEqual(
      [...new Set(keyRows.map((row) => row.AccountId))].sort(),
      read,
      'rows of the accounts started, and only those',
    );
    for (const id of read) assert.equal(first.assumeRoleCalls(id), 1, `one AssumeRole for ${id}`);
    assert.equal(first.runRow()?.Status, 'PartiallySucceeded');
    const leftOut = active.slice(2);
    assert.match(
      first.runRow()?.Error ?? '',
      new RegExp(
        `${leftOut.length} of ${active.length} accounts not started within the time budget .*RUN_TIME_BUDGET_MINUTES.*They go first in the next run`,
      ),
    );
    for (const id of leftOut) assert.ok(first.runRow()?.Error?.includes(id), `names ${id}`);
    assert.deepEqual(
      [...(await progress.lastInventoried(active)).keys()].sort(),
      read,
      'progress: accounts read in full',
    );

    const second = await organizationRun(progress, 2);
    const neverRead = active.filter((id) => !read.includes(id));
    assert.deepEqual(second.started, neverRead.slice(0, 2), 'the accounts left out (or failed) go first');

    const readSecond = second.started.filter((id) => id !== withoutRole);
    const all = await organizationRun(progress, Number.POSITIVE_INFINITY);
    const stillNeverRead = neverRead.filter((id) => !readSecond.includes(id));
    assert.deepEqual(
      all.started,
      [...stillNeverRead, ...read, ...readSecond],
      'never read in full, then the least recently read; every account once',
    );
    assert.equal(all.runRow()?.Status, 'PartiallySucceeded', 'only the broken account fails');
  });

  it('fails, naming what was tried, when every account it could start failed', async () => {
    const active = [...expected.keys()].filter((id) => id !== suspended);
    const progress = accountProgressIn(
      fileCheckpointStore(path.join(stateDir, 'failing.json')),
      'aws-access-keys',
    );
    // Every account but the broken one was read recently, so the broken one goes first and alone.
    await progress.recordInventoried(
      active.filter((id) => id !== withoutRole),
      new Date(),
      'earlier-run',
    );
    const run = await organizationRun(progress, 1);
    assert.deepEqual(run.started, [withoutRole]);
    assert.ok(run.failure instanceof Error);
    assert.match(
      run.failure.message,
      new RegExp(`none of the 1 of ${active.length} accounts tried could be inventoried`),
    );
    assert.equal(run.runRow()?.Status, 'Failed');
  });
});

/** Every account of the organization, 3 at a time, on `workers` threads (0: the run's own). */
const readOrganization = async (workers: number) => {
  const memory = memorySink();
  const lines: string[] = [];
  const timings: AccountTiming[] = [];
  const before = cloud.aws.requests.length;
  const collector = organizationCollector({
    accountConcurrency: 3,
    budgetMs: Number.POSITIVE_INFINITY,
    onAccount: (timing) => timings.push(timing),
    workers,
  });
  const log = { info: (line: string) => lines.push(line), warn: () => {}, error: () => {} };
  const result = await runCollector({ collector, sink: memory.sink, log });
  const keys = memory
    .rowsOf('AWSIAMAccessKeys_CL')
    .map((r) => ({ ...r, SnapshotId: '', SnapshotTime: '', TimeGenerated: '' }))
    .sort((a, b) => `${a.AccountId}/${a.AccessKeyId}`.localeCompare(`${b.AccountId}/${b.AccessKeyId}`));
  const calls = cloud.aws.requests.length - before;
  return { result, keys, lines, timings, calls, runRow: memory.rowsOf('CollectorRuns_CL')[0] };
};

describe('organization mode on worker threads (AWS_ACCOUNT_WORKERS)', () => {
  it("reads the same rows as the run's own thread, counts every call, forwards log lines and timings, and names the broken account", async () => {
    const own = await readOrganization(0);
    const threads = await readOrganization(2);
    assert.ok(own.keys.length > 0);
    assert.deepEqual(threads.keys, own.keys, 'the same rows, whichever thread read them');
    assert.equal(threads.result.status, 'PartiallySucceeded');
    assert.match(
      threads.runRow?.Error ?? '',
      new RegExp(`account ${withoutRole} \\(workload-5\\): .*AccessDenied`),
      'the failing account named, its error carried across',
    );
    assert.equal(threads.result.apiCalls, threads.calls, 'every call made on a thread is counted');
    for (const id of [...expected.keys()].filter((a) => a !== suspended && a !== withoutRole)) {
      assert.ok(
        threads.lines.some((line) => line.startsWith(`inventorying access keys of AWS account ${id}`)),
        `the thread's log line for ${id} reaches the run's log`,
      );
      const timing = threads.timings.find((t) => t.accountId === id);
      assert.ok(timing && timing.outcome === 'inventoried' && timing.calls > 0 && timing.keys > 0);
      assert.equal(timing.keys, expected.get(id)?.length, `${id}: its keys counted on its thread`);
    }
  });
});

describe('one member account on its own', () => {
  it('is inventoried by inventoryMemberAccount alone: the unit of work a fan-out would run', async () => {
    const [, accountId = ''] = [...expected.keys()];
    const stats = newSourceStats();
    const before = cloud.aws.requests.length;
    const options = {
      credentialsFor: () => undefined,
      region: 'us-east-1',
      accessKeyIdMode: 'masked' as const,
      concurrency: 4,
    };
    const hub = () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' });
    const rows: AWSIAMAccessKeysRow[] = [];
    const context = { runId: 'one-account', startTime: new Date(), stats, log: silentLogger };
    for await (const row of inventoryMemberAccount(
      options,
      memberRole,
      hub,
      { id: accountId, name: names.get(accountId) },
      context,
    )) {
      rows.push(row);
    }
    const keys = expected.get(accountId) ?? [];
    assert.equal(rows.length, keys.length, 'every key of the account, once');
    assert.ok(rows.every((r) => r.AccountId === accountId && r.SnapshotId === 'one-account'));
    const requests = cloud.aws.requests.slice(before);
    assert.deepEqual(
      requests.filter((r) => r.action === 'AssumeRole').map((r) => r.params.RoleArn),
      [`arn:aws:iam::${accountId}:role/${memberRole}`],
      'one session in the member role',
    );
    assert.equal(stats.apiCalls, requests.length, 'every call counted, AssumeRole included');
  });

  it("says where each account's time went", async () => {
    const { timings } = await readOrganization(0);
    const active = [...expected.keys()].filter((id) => id !== suspended);
    assert.deepEqual(
      timings.map((t) => t.accountId).sort(),
      [...active].sort(),
      'one timing per account tried',
    );
    const failed = timings.find((t) => t.accountId === withoutRole);
    assert.equal(failed?.outcome, 'failed');
    for (const timing of timings.filter((t) => t.outcome === 'inventoried')) {
      assert.equal(timing.keys, expected.get(timing.accountId)?.length);
      const read = timing.readAt - timing.startedAt;
      assert.ok(
        Math.abs(timing.credentialsMs + timing.reportMs + timing.listingMs - read) < 1,
        "the phases add up to the account's time",
      );
      assert.ok(timing.reportPolls >= 1 && timing.calls > timing.reportPolls);
      assert.ok(timing.deliveredAt !== undefined && timing.deliveredAt >= timing.readAt);
    }
  });
});

describe('the hub credentials of a run', () => {
  it('are fetched once for every client, refreshed near expiry, and a failure is not kept', async () => {
    let now = Date.parse('2026-12-01T06:00:00Z');
    let calls = 0;
    let fail = false;
    const memoized = memoizeCredentials(
      async () => {
        calls += 1;
        await Promise.resolve();
        if (fail) throw new Error('STS is down');
        return {
          accessKeyId: `ASIA${calls}`,
          secretAccessKey: 'secret',
          expiration: new Date(now + 60 * 60_000),
        };
      },
      () => now,
    );
    const ids = await Promise.all([memoized(), memoized(), memoized()]);
    assert.deepEqual(
      ids.map((c) => c.accessKeyId),
      ['ASIA1', 'ASIA1', 'ASIA1'],
    );
    now += 50 * 60_000; // 10 min left: still good
    assert.equal((await memoized()).accessKeyId, 'ASIA1');
    now += 5 * 60_000; // 5 min left: the SDK would refresh its own copy now, so must we
    assert.equal((await memoized()).accessKeyId, 'ASIA2');
    assert.equal(calls, 2);
    now += 60 * 60_000;
    fail = true;
    await assert.rejects(memoized(), /STS is down/);
    fail = false;
    assert.equal((await memoized()).accessKeyId, 'ASIA4', 'the failure was not remembered');
  });
});
