import assert from 'node:assert/strict';
import { CreateAccessKeyCommand, IAMClient } from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { newSourceStats, type CollectorContext, type SourceStats } from '../../src/run/collector.js';
import { silentLogger } from '../../src/lib/logger.js';
import { maskAccessKeyId } from '../../src/lib/redact.js';
import {
  awsAccessKeysCollector,
  type AwsAccessKeysCollectorOptions,
} from '../../src/sources/aws/accessKeysCollector.js';
import type { AWSIAMAccessKeysRow } from '../../src/tables/generated.js';
import { startAwsProxy, type AwsProxy } from '../emulators/awsProxy.js';
import { startMoto, type MotoServer, type SeedIamSpec } from '../emulators/moto.js';
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

const testing: AwsCredentialIdentity = { accessKeyId: 'testing', secretAccessKey: 'testing' };

async function inventory(
  route: 'auto' | 'api' = 'auto',
  more: {
    credentials?: AwsCredentialIdentity;
    startTime?: Date;
  } & Partial<AwsAccessKeysCollectorOptions> = {},
) {
  const { credentials = testing, startTime = now, ...options } = more;
  const stats: SourceStats = newSourceStats();
  const context: CollectorContext = { runId: 'run-1', startTime, stats, log: silentLogger };
  const collector = awsAccessKeysCollector({
    credentialsFor: () => () => Promise.resolve(credentials),
    region: 'us-east-1',
    accessKeyIdMode: 'masked',
    concurrency: 8,
    route,
    reportWait: { minDelaySeconds: 0.05, maxDelaySeconds: 0.2 },
    ...options,
  });
  proxy.clearRequests();
  const rows: AWSIAMAccessKeysRow[] = [];
  for await (const row of collector.read(context)) rows.push(row);
  return { rows, stats, calls: proxy.countByAction() };
}

/** The columns both routes must agree on, keyed by user and masked key. */
function comparable(rows: readonly AWSIAMAccessKeysRow[]) {
  return rows
    .map((row) => ({
      ...row,
      DataSource: undefined,
      CredentialReportTime: undefined,
      TimeGenerated: undefined,
    }))
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

/** Temporary credentials in another moto account: IAM calls signed with them are served from it. */
async function credentialsIn(accountId: string): Promise<AwsCredentialIdentity> {
  const sts = new STSClient({ region: 'us-east-1', credentials: testing });
  try {
    const { Credentials: c } = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: `arn:aws:iam::${accountId}:role/inventory`,
        RoleSessionName: 'test',
        WebIdentityToken: 'token',
      }),
    );
    assert.ok(c?.AccessKeyId && c.SecretAccessKey);
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  } finally {
    sts.destroy();
  }
}

/** A small account of its own, so what a test changes touches no other test. */
async function smallAccount(accountId: string, extra: SeedIamSpec['users'] = []) {
  const spec = realisticAccount({ users: 30, seed: Number(accountId.slice(-3)), now, accountId });
  spec.users.push(...extra);
  const seeded = await moto.seedIam(spec);
  return { expected: expectedKeys(spec, seeded), credentials: await credentialsIn(accountId) };
}

const rowKey = (row: AWSIAMAccessKeysRow) => `${row.UserName ?? ''}/${row.AccessKeyId ?? ''}`;
const expectedKey = (key: ExpectedKey) => `${key.userName}/${maskAccessKeyId(key.accessKeyId)}`;
const fullKeyId = /\b(AKIA|ASIA)[A-Z0-9]{16}\b/;
const userGone = (name: string) => ({
  status: 404,
  code: 'NoSuchEntity',
  message: `The user with name ${name} cannot be found.`,
});
const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);

describe('an account that changes while it is read, or whose credential report is unusable or old', () => {
  it('per-key route: a user deleted mid-run is left out with a warning naming it; the rest arrive', async () => {
    const { expected: keys, credentials } = await smallAccount('210000000101');
    const [doomed, rotated] = [...new Set(keys.map((key) => key.userName))];
    const rotatedKey = keys.find((key) => key.userName === rotated);
    assert.ok(doomed && rotated && rotatedKey);
    proxy.failAction('ListMFADevices', { ...userGone(doomed), when: { UserName: doomed } });
    proxy.failAction('GetAccessKeyLastUsed', {
      status: 404,
      code: 'NoSuchEntity',
      message: 'The Access Key with id ... cannot be found',
      when: { AccessKeyId: rotatedKey.accessKeyId },
    });
    try {
      const { rows, stats } = await inventory('api', { credentials });
      const left = keys.filter((key) => key.userName !== doomed && key !== rotatedKey);
      assert.deepEqual(rows.map(rowKey).sort(), left.map(expectedKey).sort());
      assert.ok(rows.every((row) => row.DataSource === 'api' && row.AccountId === '210000000101'));
      const warnings = stats.warnings.join('\n');
      assert.match(warnings, /account 210000000101: 2 user\(s\) or key\(s\) deleted while the run read them/);
      assert.match(warnings, new RegExp(`${doomed}: deleted \\(ListMFADevices: NoSuchEntity\\)`));
      assert.match(
        warnings,
        new RegExp(`${rotated}: access key ${maskAccessKeyId(rotatedKey.accessKeyId)} deleted`),
      );
      assert.doesNotMatch(warnings, fullKeyId);
    } finally {
      proxy.clearFaults();
    }
  });

  it('report route: a user created after the report and deleted mid-run is left out; the others arrive', async () => {
    const { expected: keys, credentials } = await smallAccount('210000000102');
    await moto.seedCredentialReport({ accountId: '210000000102' });
    const lateSpec = {
      accountId: '210000000102',
      users: ['late-1', 'late-2'].map((name) => ({ name, mfaActive: true, keys: [{}] })),
    };
    const late = expectedKeys(lateSpec, await moto.seedIam(lateSpec));
    proxy.failAction('GetLoginProfile', { ...userGone('late-1'), when: { UserName: 'late-1' } });
    try {
      const { rows, stats } = await inventory('auto', { credentials, startTime: new Date() });
      const arrived = [...keys, ...late].filter((key) => key.userName !== 'late-1');
      assert.deepEqual(rows.map(rowKey).sort(), arrived.map(expectedKey).sort());
      const late2 = rows.find((row) => row.UserName === 'late-2');
      assert.equal(late2?.DataSource, 'api', 'not in the report: asked directly');
      assert.equal(late2?.MfaActive, true);
      assert.match(stats.warnings.join('\n'), /late-1: deleted \(GetLoginProfile: NoSuchEntity\)/);
      assert.doesNotMatch(stats.warnings.join('\n'), fullKeyId);
    } finally {
      proxy.clearFaults();
    }
  });

  it('an unusable credential report (rows wider than the header, not CSV) falls back to per-key calls', async () => {
    const { expected: keys, credentials } = await smallAccount('210000000103');
    const header =
      'user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,' +
      'access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,' +
      'access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service';
    const broken: [string, RegExp][] = [
      [
        `${header}\nuser-00000,arn:aws:iam::210000000103:user/user-00000,2020-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n`,
        /CSV_RECORD_INCONSISTENT_COLUMNS/,
      ],
      ['{"error": "not a report"}', /not a CSV we can read/],
    ];
    for (const [content, reason] of broken) {
      await moto.seedCredentialReport({ accountId: '210000000103', content });
      const { rows, stats } = await inventory('auto', { credentials, startTime: new Date() });
      assert.deepEqual(rows.map(rowKey).sort(), keys.map(expectedKey).sort());
      assert.ok(rows.every((row) => row.DataSource === 'api' && row.CredentialReportTime === null));
      const warnings = stats.warnings.join('\n');
      assert.match(warnings, /credential report unavailable, used per-key API calls instead/);
      assert.match(warnings, reason);
    }
  });

  // A key created since the report on a user who then had none: IAM's report does not show it.
  async function accountWithOldReport(accountId: string, reportAgeMinutes: number) {
    const quiet = ['quiet-1', 'quiet-2', 'quiet-3'].map((name) => ({ name, keys: [] }));
    const { expected: keys, credentials } = await smallAccount(accountId, quiet);
    const { generatedAt } = await moto.seedCredentialReport({
      accountId,
      generatedAt: minutesAgo(reportAgeMinutes).toISOString(),
    });
    const iam = new IAMClient({ region: 'us-east-1', credentials });
    const { AccessKey: created } = await iam.send(new CreateAccessKeyCommand({ UserName: 'quiet-1' }));
    iam.destroy();
    const newcomerSpec = { accountId, users: [{ name: 'newcomer', keys: [{}] }] };
    const newcomer = expectedKeys(newcomerSpec, await moto.seedIam(newcomerSpec));
    assert.ok(created?.AccessKeyId);
    const all = [...keys, ...newcomer].map(expectedKey);
    const keyless = 30 + quiet.length - new Set(keys.map((key) => key.userName)).size;
    return {
      all,
      credentials,
      created: `quiet-1/${maskAccessKeyId(created.AccessKeyId)}`,
      generatedAt,
      keyless,
    };
  }

  it('a report older than CREDENTIAL_REPORT_MAX_AGE_MINUTES: users it shows keyless are asked too, nothing missed', async () => {
    const old = await accountWithOldReport('210000000104', 180);
    const { rows, stats, calls } = await inventory('auto', {
      credentials: old.credentials,
      startTime: new Date(),
    });
    assert.deepEqual(rows.map(rowKey).sort(), [...old.all, old.created].sort(), 'the key quiet-1 got since');
    const quiet1 = rows.find((row) => row.UserName === 'quiet-1');
    assert.equal(quiet1?.DataSource, 'api');
    assert.equal(quiet1?.CredentialReportTime, null);
    const reported = rows.filter((row) => row.DataSource === 'credential-report');
    assert.ok(reported.length > 0);
    for (const row of reported)
      assert.equal(Date.parse(row.CredentialReportTime ?? ''), Date.parse(old.generatedAt));
    assert.equal(calls.ListAccessKeys, 30 + 3 + 1, 'every user, keyless in the report or not in it');
    assert.match(
      stats.warnings.join('\n'),
      new RegExp(
        `account 210000000104: credential report generated ${old.generatedAt.slice(0, 16)}.*, 180(\\.\\d)? min before it was read, ` +
          `older than CREDENTIAL_REPORT_MAX_AGE_MINUTES = 15: ListAccessKeys asked about the ${old.keyless} user\\(s\\) it shows without keys too`,
      ),
    );
  });

  it('a report younger than the bound but older than the run: the run row says when it was generated', async () => {
    const young = await accountWithOldReport('210000000105', 10);
    const { rows, stats, calls } = await inventory('auto', {
      credentials: young.credentials,
      startTime: new Date(),
    });
    // The documented bound: quiet-1's new key is not in the report, and within 15 minutes it is trusted.
    assert.deepEqual(rows.map(rowKey).sort(), [...young.all].sort());
    assert.equal(calls.ListAccessKeys, 30 + 3 + 1 - young.keyless);
    assert.match(
      stats.warnings.join('\n'),
      new RegExp(
        `account 210000000105: credential report generated ${young.generatedAt.slice(0, 16)}.*, 10(\\.\\d)? min before it was read ` +
          '\\(by an earlier run or another tool; CREDENTIAL_REPORT_MAX_AGE_MINUTES = 15\\): a key created since then on a user who had none is not in this snapshot but in the next',
      ),
    );
    // With a tighter bound the same report is too old: the key is found.
    const strict = await inventory('auto', {
      credentials: young.credentials,
      startTime: new Date(),
      credentialReportMaxAgeMs: 5 * 60_000,
    });
    assert.deepEqual(strict.rows.map(rowKey).sort(), [...young.all, young.created].sort());
  });
});
