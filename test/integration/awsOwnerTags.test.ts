// The owner tag (issue 17, src/sources/aws/userTags.ts) against moto: one ListUserTags per IAM user that holds
// keys and no other, counted in the run's API calls; the first configured key wins, compared case-insensitively;
// AccessDenied leaves OwnerTag null with one warning and the snapshot complete.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { newSourceStats, type CollectorContext } from '../../src/run/collector.js';
import { silentLogger } from '../../src/lib/logger.js';
import {
  awsAccessKeysCollector,
  type AwsAccessKeysCollectorOptions,
} from '../../src/sources/aws/accessKeysCollector.js';
import type { AWSIAMAccessKeysRow } from '../../src/tables/generated.js';
import { startAwsProxy, type AwsProxy } from '../emulators/awsProxy.js';
import { startMoto, type MotoServer, type SeedIamSpec } from '../emulators/moto.js';
import { realisticAccount } from '../support/seedAccount.js';

let moto: MotoServer;
let proxy: AwsProxy;
let spec: SeedIamSpec;
const now = new Date();

beforeAll(async () => {
  moto = await startMoto();
  proxy = await startAwsProxy(moto.endpoint);
  process.env.AWS_ENDPOINT_URL = proxy.endpoint;
  const account = realisticAccount({ users: 60, seed: 17, now, accountAlias: 'acme-tags' });
  const tags = [
    [{ key: 'owner', value: 'alice@contoso.com' }],
    [{ key: 'Email', value: ' bob@contoso.com ' }],
    [
      { key: 'owner', value: 'team-lead@contoso.com' },
      { key: 'email', value: 'carol@contoso.com' },
    ],
    [{ key: 'cost-center', value: '42' }],
  ];
  // The first users with keys get those tags; one user without keys is tagged too (never asked).
  const withKeys = account.users.filter((user) => (user.keys ?? []).length > 0);
  const withoutKeys = account.users.find((user) => (user.keys ?? []).length === 0);
  spec = {
    ...account,
    users: account.users.map((user) => {
      const i = withKeys.indexOf(user);
      if (i >= 0 && i < tags.length) return { ...user, tags: tags[i] };
      if (user === withoutKeys) return { ...user, tags: [{ key: 'owner', value: 'nobody@contoso.com' }] };
      return user;
    }),
  };
  await moto.seedIam(spec);
});

afterAll(async () => {
  delete process.env.AWS_ENDPOINT_URL;
  await proxy?.stop();
  await moto?.stop();
});

async function inventory(options: Partial<AwsAccessKeysCollectorOptions>) {
  const stats = newSourceStats();
  const context: CollectorContext = { runId: 'run-tags', startTime: now, stats, log: silentLogger };
  const collector = awsAccessKeysCollector({
    credentialsFor: () => () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' }),
    region: 'us-east-1',
    accessKeyIdMode: 'masked',
    concurrency: 8,
    reportWait: { minDelaySeconds: 0.05, maxDelaySeconds: 0.2 },
    ...options,
  });
  proxy.clearRequests();
  const rows: AWSIAMAccessKeysRow[] = [];
  for await (const row of collector.read(context)) rows.push(row);
  return { rows, stats, calls: proxy.countByAction() };
}

describe('IAM user owner tags (AWS_OWNER_TAG_KEYS)', () => {
  const usersWithKeys = () =>
    new Set(spec.users.filter((user) => (user.keys ?? []).length > 0).map((user) => user.name));

  it('asks ListUserTags once per user that holds keys, counted in ApiCalls, and fills OwnerTag', async () => {
    const without = await inventory({ ownerTagKeys: [] });
    const withTags = await inventory({ ownerTagKeys: ['email', 'owner'] });
    assert.equal(without.calls.ListUserTags ?? 0, 0);
    assert.equal(withTags.calls.ListUserTags, usersWithKeys().size, 'one call per user with keys');
    const total = (calls: Record<string, number>) => Object.values(calls).reduce((sum, n) => sum + n, 0);
    assert.equal(
      withTags.stats.apiCalls,
      total(withTags.calls),
      'every call, ListUserTags included, in ApiCalls',
    );
    const owner = new Map(withTags.rows.map((row) => [row.UserName, row.OwnerTag]));
    const [a = '', b = '', c = '', d = ''] = [...usersWithKeys()];
    assert.equal(owner.get(a), 'alice@contoso.com');
    assert.equal(owner.get(b), 'bob@contoso.com', 'Email matches email; the value is trimmed');
    assert.equal(owner.get(c), 'carol@contoso.com', 'email comes first in AWS_OWNER_TAG_KEYS');
    assert.equal(owner.get(d), '', 'a user without an owner tag');
    assert.ok(
      without.rows.every((row) => row.OwnerTag === null),
      'not read: null',
    );
    // Everything else is the same snapshot.
    const strip = (rows: AWSIAMAccessKeysRow[]) =>
      rows
        .map((row) => ({ ...row, OwnerTag: null }))
        .sort((x, y) => `${x.UserName}${x.AccessKeyId}`.localeCompare(`${y.UserName}${y.AccessKeyId}`));
    assert.deepEqual(strip(withTags.rows), strip(without.rows));
  });

  it('a role without iam:ListUserTags: OwnerTag null, one warning, every key still reported', async () => {
    proxy.failAction('ListUserTags', { status: 403, code: 'AccessDenied', message: 'not authorized' });
    try {
      const { rows, stats } = await inventory({ ownerTagKeys: ['owner'] });
      assert.ok(rows.every((row) => row.OwnerTag === null));
      assert.equal(
        rows.length,
        spec.users.reduce((n, user) => n + (user.keys ?? []).length, 0),
      );
      assert.equal(stats.warnings.filter((w) => w.includes('iam:ListUserTags was denied')).length, 1);
    } finally {
      proxy.clearFaults();
    }
  });
});
