import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { newSourceStats, type CollectorContext, type SourceStats } from '../../src/run/collector.js';
import { silentLogger } from '../../src/run/logger.js';
import { maskAccessKeyId } from '../../src/run/redact.js';
import { awsAccessKeysCollector } from '../../src/sources/aws/accessKeysCollector.js';
import type { AWSIAMAccessKeysRow } from '../../src/tables/generated.js';
import { startAwsProxy, type AwsProxy } from '../emulators/awsProxy.js';
import { startMoto, type MotoServer } from '../emulators/moto.js';
import { expectedKeys, realisticAccount, type ExpectedKey } from '../support/seedAccount.js';

const userCount = 1_200; // more than one ListUsers page
let moto: MotoServer;
let proxy: AwsProxy;
let expected: ExpectedKey[];
const now = new Date();

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startAwsProxy(moto.endpoint);
  process.env.AWS_ENDPOINT_URL = proxy.endpoint;
  const spec = realisticAccount({ users: userCount, seed: 7, now, accountAlias: 'acme-prod' });
  expected = expectedKeys(spec, await moto.seedIam(spec));
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL;
  await proxy?.stop();
  await moto?.stop();
});

// Runs are slow against moto (~4 ms per call, ~3,000 calls for the per-key route): share them.
const runs = new Map<string, ReturnType<typeof inventory>>();
function inventoryOnce(route: 'auto' | 'api') {
  const run = runs.get(route) ?? inventory(route);
  runs.set(route, run);
  return run;
}

async function inventory(route: 'auto' | 'api' = 'auto') {
  const stats: SourceStats = newSourceStats();
  const context: CollectorContext = { runId: 'run-1', startTime: now, stats, log: silentLogger };
  const collector = awsAccessKeysCollector({
    credentialsFor: () => () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' }),
    region: 'us-east-1',
    accessKeyIdMode: 'masked',
    concurrency: 8,
    route,
    reportWait: { minDelaySeconds: 0.05, maxDelaySeconds: 0.2 },
  });
  proxy.clearRequests();
  const rows: AWSIAMAccessKeysRow[] = [];
  for await (const row of collector.read(context)) rows.push(row);
  return { rows, stats, calls: proxy.countByAction() };
}

/** The columns both routes must agree on, keyed by user and masked key. */
function comparable(rows: readonly AWSIAMAccessKeysRow[]) {
  return rows
    .map((row) => ({ ...row, DataSource: undefined, TimeGenerated: undefined }))
    .sort((a, b) => `${a.UserName}${a.AccessKeyId}`.localeCompare(`${b.UserName}${b.AccessKeyId}`));
}

describe('AWS access-key inventory against moto', () => {
  it('reports every seeded key exactly once with its status, dates, age, last use and MFA', async () => {
    const { rows } = await inventoryOnce('auto');
    assert.equal(rows.length, expected.length);
    const byKey = new Map(rows.map((row) => [`${row.UserName}/${row.AccessKeyId}`, row]));
    assert.equal(byKey.size, rows.length, 'no key reported twice');
    for (const key of expected) {
      const row = byKey.get(`${key.userName}/${maskAccessKeyId(key.accessKeyId)}`);
      assert.ok(row, `missing ${key.userName} ${key.accessKeyId.slice(-4)}`);
      assert.equal(row.CreateDate, key.createDate);
      assert.equal(row.Status, key.status);
      assert.equal(row.LastUsedDate, key.lastUsedDate);
      assert.equal(row.LastUsedRegion, key.lastUsedRegion);
      assert.equal(row.LastUsedService, key.lastUsedService);
      assert.equal(row.MfaActive, key.mfaActive);
      assert.equal(row.PasswordEnabled, key.passwordEnabled);
      assert.equal(row.UserCreateDate, key.userCreateDate);
      assert.equal(row.KeyAgeDays, Math.floor((now.getTime() - Date.parse(key.createDate)) / 86_400_000));
      assert.equal(row.AccountId, '123456789012');
      assert.equal(row.AccountName, 'acme-prod');
      assert.equal(row.DataSource, 'credential-report');
    }
  });

  it('makes at most users-with-keys + ceil(users/1000) + a small constant calls, all counted', async () => {
    const { stats, calls } = await inventoryOnce('auto');
    const usersWithKeys = new Set(expected.map((key) => key.userName)).size;
    const bound = usersWithKeys + Math.ceil(userCount / 1000) + 6;
    assert.ok(stats.apiCalls <= bound, `${stats.apiCalls} calls > ${bound}`);
    const wire = Object.values(calls).reduce((sum, n) => sum + n, 0);
    assert.equal(stats.apiCalls, wire, 'the SDK middleware counts what went over the wire');
    assert.equal(calls.ListAccessKeys, usersWithKeys, 'ListAccessKeys only for users with keys');
    assert.equal(calls.GetAccessKeyLastUsed ?? 0, 0);
    assert.equal(calls.ListUsers, 2);
  });

  it('the per-key route produces the same rows, marked DataSource = api', async () => {
    const [report, api] = [await inventoryOnce('auto'), await inventoryOnce('api')];
    assert.ok(api.rows.every((row) => row.DataSource === 'api'));
    assert.deepEqual(comparable(api.rows), comparable(report.rows));
    assert.ok(
      api.stats.apiCalls > report.stats.apiCalls * 2,
      `${api.stats.apiCalls} vs ${report.stats.apiCalls}`,
    );
  });

  it('falls back to per-key calls with a warning when the role may not read the credential report', async () => {
    proxy.failAction('GenerateCredentialReport', {
      status: 403,
      code: 'AccessDenied',
      message: 'not authorized',
    });
    try {
      const { rows, stats } = await inventory();
      assert.equal(rows.length, expected.length);
      assert.ok(rows.every((row) => row.DataSource === 'api'));
      assert.match(stats.warnings.join('\n'), /credential report unavailable.*AccessDenied/);
    } finally {
      proxy.clearFaults();
    }
  });

  it('waits out LimitExceeded and regenerates an expired report instead of failing', async () => {
    proxy.failAction('GenerateCredentialReport', { status: 409, code: 'LimitExceeded', times: 2 });
    proxy.failAction('GetCredentialReport', { status: 410, code: 'ReportExpired', times: 1 });
    try {
      const { rows, stats, calls } = await inventory();
      assert.equal(rows.length, expected.length);
      assert.ok(rows.every((row) => row.DataSource === 'credential-report'));
      assert.deepEqual(stats.warnings, []);
      assert.ok((calls.GenerateCredentialReport ?? 0) >= 4, 'two refusals, then a generation per fetch');
      assert.equal(calls.GetCredentialReport, 2, 'the expired report was fetched again');
    } finally {
      proxy.clearFaults();
    }
  });

  it('retries IAM Throttling and counts every throttled call', async () => {
    proxy.throttle('ListAccessKeys', 3);
    try {
      const { rows, stats, calls } = await inventory();
      assert.equal(rows.length, expected.length);
      assert.equal(stats.throttled, 3);
      const wire = Object.values(calls).reduce((sum, n) => sum + n, 0);
      assert.equal(stats.apiCalls, wire, 'throttled attempts are calls too');
    } finally {
      proxy.clearFaults();
    }
  });
});
