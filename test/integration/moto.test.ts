// Proves the moto emulator + proxy behave like AWS for everything the inventory relies on,
// using the real AWS SDK v3 clients (no mocks of the SDK).
import assert from 'node:assert/strict';
import { afterAll, beforeAll, beforeEach, describe, it } from 'vitest';
import {
  CreateRoleCommand,
  GenerateCredentialReportCommand,
  GetAccessKeyLastUsedCommand,
  GetCredentialReportCommand,
  GetLoginProfileCommand,
  IAMClient,
  ListAccessKeysCommand,
  ListAccountAliasesCommand,
  ListMFADevicesCommand,
  ListUsersCommand,
  paginateListUsers,
} from '@aws-sdk/client-iam';
import { AssumeRoleWithWebIdentityCommand, GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startAwsProxy, type AwsProxy } from '../emulators/awsProxy.js';
import { startMoto, type MotoServer, type SeedUser } from '../emulators/moto.js';

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const region = 'us-east-1';

let moto: MotoServer;
let proxy: AwsProxy;
let iam: IAMClient;

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startAwsProxy(moto.endpoint);
  iam = new IAMClient({ endpoint: proxy.endpoint, region, credentials });
});

afterAll(async () => {
  iam?.destroy();
  await proxy?.stop();
  await moto?.stop();
});

beforeEach(async () => {
  await moto.reset();
  proxy.clearFaults();
  proxy.clearRequests();
});

const USERS: SeedUser[] = [
  {
    name: 'alice',
    createDate: '2016-02-03T04:05:06Z',
    passwordEnabled: true,
    mfaActive: true,
    keys: [
      {
        createDate: '2017-01-01T10:00:00Z',
        status: 'Active',
        lastUsed: { date: '2024-05-06T07:08:09Z', region: 'us-west-2', service: 's3' },
      },
      {
        createDate: '2019-06-30T23:59:59Z',
        status: 'Inactive',
        lastUsed: { date: '2020-01-02T03:04:05Z', region: 'eu-west-1', service: 'iam' },
      },
    ],
  },
  {
    name: 'bob',
    createDate: '2018-07-08T09:10:11Z',
    passwordEnabled: false,
    mfaActive: true,
    keys: [{ createDate: '2018-07-08T09:30:00Z', status: 'Active', lastUsed: null }],
  },
  {
    name: 'carol',
    path: '/contractors/',
    createDate: '2015-12-31T00:00:00Z',
    passwordEnabled: true,
    mfaActive: false,
    keys: [{ createDate: '2016-01-15T12:00:00Z', status: 'Active', lastUsed: null }],
  },
];

/** The credential report never quotes fields, so a split is enough here. */
function parseCsv(text: string): Record<string, string>[] {
  const [header, ...lines] = text.trim().split('\n');
  const columns = (header ?? '').split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    return Object.fromEntries(columns.map((c, i) => [c, cells[i] ?? '']));
  });
}

/** AWS writes report dates as 2016-02-03T04:05:06+00:00. */
const csvDate = (iso: string): string => new Date(iso).toISOString().replace('.000Z', '+00:00');

async function credentialReport(): Promise<Record<string, string>[]> {
  for (let i = 0; i < 10; i++) {
    const { State } = await iam.send(new GenerateCredentialReportCommand({}));
    if (State === 'COMPLETE') break;
  }
  const report = await iam.send(new GetCredentialReportCommand({}));
  assert.equal(report.ReportFormat, 'text/csv');
  assert.ok(report.Content instanceof Uint8Array);
  return parseCsv(Buffer.from(report.Content).toString('utf8'));
}

describe('moto IAM seeding', () => {
  it('ListAccessKeys, GetAccessKeyLastUsed, MFA, login profile and credential report agree', async () => {
    const seeded = await moto.seedIam({ accountAlias: 'acme-prod', users: USERS });
    assert.equal(seeded.accountId, '123456789012');
    assert.deepEqual(
      seeded.users.map((u) => u.arn),
      [
        'arn:aws:iam::123456789012:user/alice',
        'arn:aws:iam::123456789012:user/bob',
        'arn:aws:iam::123456789012:user/contractors/carol',
      ],
    );
    const aliases = await iam.send(new ListAccountAliasesCommand({}));
    assert.deepEqual(aliases.AccountAliases, ['acme-prod']);

    const report = await credentialReport();
    assert.deepEqual(
      report.map((r) => r['user']),
      ['alice', 'bob', 'carol'],
    );

    for (const [i, spec] of USERS.entries()) {
      const row = report[i];
      const result = seeded.users[i];
      assert.ok(row && result);
      assert.equal(row['arn'], result.arn);
      assert.equal(row['user_creation_time'], csvDate(spec.createDate ?? ''));
      assert.equal(row['password_enabled'], String(Boolean(spec.passwordEnabled)));
      assert.equal(row['mfa_active'], String(Boolean(spec.mfaActive)));

      const mfa = await iam.send(new ListMFADevicesCommand({ UserName: spec.name }));
      assert.equal(mfa.MFADevices?.length ?? 0, spec.mfaActive ? 1 : 0);

      if (spec.passwordEnabled) {
        const profile = await iam.send(new GetLoginProfileCommand({ UserName: spec.name }));
        assert.equal(profile.LoginProfile?.UserName, spec.name);
      } else {
        // Modeled errors surface as the SDK class name; the wire code stays in `Code`.
        await assert.rejects(iam.send(new GetLoginProfileCommand({ UserName: spec.name })), {
          name: 'NoSuchEntityException',
          Code: 'NoSuchEntity',
        });
      }

      const listed = await iam.send(new ListAccessKeysCommand({ UserName: spec.name }));
      const keys = listed.AccessKeyMetadata ?? [];
      assert.equal(keys.length, spec.keys?.length ?? 0);
      for (const [k, keySpec] of (spec.keys ?? []).entries()) {
        const key = keys[k];
        const n = k + 1;
        assert.ok(key?.AccessKeyId);
        assert.equal(key.AccessKeyId, result.keys[k]?.accessKeyId);
        assert.equal(key.Status, keySpec.status);
        assert.equal(key.CreateDate?.toISOString(), new Date(keySpec.createDate ?? '').toISOString());
        assert.equal(row[`access_key_${n}_active`], String(keySpec.status === 'Active'));
        assert.equal(row[`access_key_${n}_last_rotated`], csvDate(keySpec.createDate ?? ''));

        const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId }));
        assert.equal(used.UserName, spec.name);
        if (keySpec.lastUsed) {
          assert.equal(
            used.AccessKeyLastUsed?.LastUsedDate?.toISOString(),
            new Date(keySpec.lastUsed.date).toISOString(),
          );
          assert.equal(used.AccessKeyLastUsed?.Region, keySpec.lastUsed.region);
          assert.equal(used.AccessKeyLastUsed?.ServiceName, keySpec.lastUsed.service);
          assert.equal(row[`access_key_${n}_last_used_date`], csvDate(keySpec.lastUsed.date));
          assert.equal(row[`access_key_${n}_last_used_region`], keySpec.lastUsed.region);
          assert.equal(row[`access_key_${n}_last_used_service`], keySpec.lastUsed.service);
        } else {
          // AWS omits LastUsedDate and reports "N/A" for never-used keys.
          assert.equal(used.AccessKeyLastUsed?.LastUsedDate, undefined);
          assert.equal(used.AccessKeyLastUsed?.Region, 'N/A');
          assert.equal(row[`access_key_${n}_last_used_date`], 'N/A');
          assert.equal(row[`access_key_${n}_last_used_region`], 'N/A');
        }
      }
      if ((spec.keys?.length ?? 0) < 2) {
        assert.equal(row['access_key_2_active'], 'false');
        assert.equal(row['access_key_2_last_rotated'], 'N/A');
      }
    }
  });

  it('GenerateCredentialReport goes STARTED then COMPLETE; GetCredentialReport needs it first', async () => {
    await assert.rejects(iam.send(new GetCredentialReportCommand({})), {
      name: 'CredentialReportNotPresentException',
      Code: 'ReportNotPresent',
    });
    assert.equal((await iam.send(new GenerateCredentialReportCommand({}))).State, 'STARTED');
    assert.equal((await iam.send(new GenerateCredentialReportCommand({}))).State, 'COMPLETE');
    const report = await iam.send(new GetCredentialReportCommand({}));
    const age = Date.now() - (report.GeneratedTime?.getTime() ?? 0);
    assert.ok(
      age >= -1000 && age < 60_000,
      `GeneratedTime is recent (${report.GeneratedTime?.toISOString()})`,
    );
  });

  it('seeds 1,200 users and ListUsers paginates in pages of 1000', async () => {
    const users: SeedUser[] = Array.from({ length: 1200 }, (_, i) => ({
      name: `user-${String(i).padStart(4, '0')}`,
      createDate: '2014-01-01T00:00:00Z',
      keys: [{ createDate: '2015-01-01T00:00:00Z' }],
    }));
    const seeded = await moto.seedIam({ users });
    assert.equal(seeded.users.length, 1200);

    const pages: number[] = [];
    const names = new Set<string>();
    for await (const page of paginateListUsers({ client: iam, pageSize: 1000 }, {})) {
      pages.push(page.Users?.length ?? 0);
      for (const u of page.Users ?? []) names.add(u.UserName ?? '');
    }
    assert.deepEqual(pages, [1000, 200]);
    assert.equal(names.size, 1200);

    const calls = proxy.requests.filter((r) => r.action === 'ListUsers');
    assert.equal(calls.length, 2);
    assert.equal(calls[0]?.params['MaxItems'], '1000');
    assert.equal(calls[1]?.params['Marker'], '1000');
  });
});

describe('aws proxy', () => {
  it('records actions and injects AccessDenied that the SDK surfaces by name', async () => {
    await moto.seedIam({ users: [{ name: 'dave' }] });
    proxy.failAction('ListUsers', { status: 403, code: 'AccessDenied', message: 'not authorized', times: 1 });
    await assert.rejects(iam.send(new ListUsersCommand({})), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.name, 'AccessDenied');
      assert.equal(err.message, 'not authorized');
      assert.equal((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode, 403);
      return true;
    });
    const ok = await iam.send(new ListUsersCommand({})); // times: 1 -> fault is gone
    assert.deepEqual(
      ok.Users?.map((u) => u.UserName),
      ['dave'],
    );
    await iam.send(new ListAccessKeysCommand({ UserName: 'dave' }));
    assert.deepEqual(proxy.countByAction(), { ListUsers: 2, ListAccessKeys: 1 });
    assert.deepEqual(
      proxy.requests.map((r) => [r.status, r.injected]),
      [
        [403, true],
        [200, false],
        [200, false],
      ],
    );
    assert.equal(proxy.requests[2]?.params['UserName'], 'dave');
  });

  it('throttle() is retried by the SDK; maxRequestsPerSecond and latencyMs work', async () => {
    proxy.throttle('ListUsers', 1);
    await iam.send(new ListUsersCommand({}));
    assert.equal(proxy.countByAction()['ListUsers'], 2, 'one Throttling, one retry');

    const slow = await startAwsProxy(moto.endpoint, { latencyMs: 150, maxRequestsPerSecond: 3 });
    const client = new IAMClient({ endpoint: slow.endpoint, region, credentials, maxAttempts: 1 });
    try {
      const started = performance.now();
      const results = await Promise.allSettled(
        Array.from({ length: 8 }, () => client.send(new ListUsersCommand({}))),
      );
      const throttled = results.filter(
        (r) => r.status === 'rejected' && r.reason instanceof Error && r.reason.name === 'Throttling',
      );
      assert.equal(throttled.length, 5);
      assert.ok(performance.now() - started >= 150, 'latency applied');
    } finally {
      client.destroy();
      await slow.stop();
    }
  });
});

describe('STS through the proxy', () => {
  it('AssumeRoleWithWebIdentity works for a role created with CreateRole', async () => {
    const role = await iam.send(
      new CreateRoleCommand({
        RoleName: 'identity-monitor',
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { Federated: 'sts.windows.net' },
              Action: 'sts:AssumeRoleWithWebIdentity',
            },
          ],
        }),
      }),
    );
    const roleArn = role.Role?.Arn ?? '';
    assert.equal(roleArn, 'arn:aws:iam::123456789012:role/identity-monitor');

    const sts = new STSClient({ endpoint: proxy.endpoint, region, credentials });
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtYW5hZ2VkLWlkZW50aXR5In0.c2ln';
    const assumed = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: roleArn,
        RoleSessionName: 'inventory',
        WebIdentityToken: token,
      }),
    );
    sts.destroy();
    assert.match(assumed.Credentials?.AccessKeyId ?? '', /^ASIA/);
    assert.equal(
      assumed.AssumedRoleUser?.Arn,
      'arn:aws:sts::123456789012:assumed-role/identity-monitor/inventory',
    );

    const call = proxy.requests.find((r) => r.action === 'AssumeRoleWithWebIdentity');
    assert.equal(call?.params['WebIdentityToken'], token);
    assert.equal(call?.params['RoleArn'], roleArn);
    assert.equal(call?.status, 200);
  });

  it("assumed credentials for a seeded role in another account see that account's IAM", async () => {
    const seeded = await moto.seedIam({
      accountId: '210987654321',
      roles: [{ name: 'inventory-reader' }],
      users: [{ name: 'erin', keys: [{ createDate: '2020-02-02T02:02:02Z' }] }],
    });
    const roleArn = seeded.roles[0]?.arn ?? '';
    assert.equal(roleArn, 'arn:aws:iam::210987654321:role/inventory-reader');

    const sts = new STSClient({ endpoint: proxy.endpoint, region, credentials });
    const assumed = await sts.send(
      new AssumeRoleWithWebIdentityCommand({
        RoleArn: roleArn,
        RoleSessionName: 's1',
        WebIdentityToken: 'jwt',
      }),
    );
    const c = assumed.Credentials;
    assert.ok(c?.AccessKeyId && c.SecretAccessKey && c.SessionToken);
    const temp = {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    };

    const who = await new STSClient({ endpoint: proxy.endpoint, region, credentials: temp }).send(
      new GetCallerIdentityCommand({}),
    );
    assert.equal(who.Account, '210987654321');
    sts.destroy();

    const memberIam = new IAMClient({ endpoint: proxy.endpoint, region, credentials: temp });
    const users = await memberIam.send(new ListUsersCommand({}));
    memberIam.destroy();
    assert.deepEqual(
      users.Users?.map((u) => u.Arn),
      ['arn:aws:iam::210987654321:user/erin'],
    );
    // The default account (dummy "testing" credentials) is untouched.
    assert.deepEqual((await iam.send(new ListUsersCommand({}))).Users, []);
  });
});
