import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  CloseAccountCommand,
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import functions, { type Timer } from '@azure/functions';
import { awsAccessKeysTimer } from '../../src/functions/awsAccessKeys.js';
import { silentLogger } from '../../src/run/logger.js';
import { runCollector } from '../../src/run/runCollector.js';
import type { RecordSink } from '../../src/sinks/sink.js';
import { awsAccessKeysCollector } from '../../src/sources/aws/accessKeysCollector.js';
import { orderForRun } from '../../src/sources/aws/organization.js';
import { maskAccessKeyId } from '../../src/run/redact.js';
import type { AWSIAMAccessKeysRow, CollectorRunsRow, TableName } from '../../src/tables/generated.js';
import { startLocalCloud, withEnv, type LocalCloud } from '../support/localCloud.js';
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

before(async () => {
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

after(() => cloud?.stop());

function lastRunRow(): CollectorRunsRow {
  const row = (cloud.ingestion.accepted('CollectorRuns_CL') as unknown as CollectorRunsRow[]).at(-1);
  assert.ok(row);
  return row;
}

describe('organization mode against moto Organizations', () => {
  it('inventories every reachable active account once, reports the broken one, and is PartiallySucceeded', async () => {
    cloud.keyVault.setSecret('aws-member-role-name', memberRole);
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

  it('starts no account past the time budget, names those left out and is PartiallySucceeded', async () => {
    const active = [...expected.keys()].filter((id) => id !== suspended);
    const reachable = active.filter((id) => id !== withoutRole);
    // A run hour whose first account can be read (the order rotates with the hour).
    let start = Date.UTC(2026, 10, 23, 6);
    while (
      !reachable.includes(
        orderForRun(
          active.map((id) => ({ id, name: undefined })),
          new Date(start),
        )[0]?.id ?? '',
      )
    )
      start += 3_600_000;
    const first =
      orderForRun(
        active.map((id) => ({ id, name: undefined })),
        new Date(start),
      )[0]?.id ?? '';

    const accepted: { table: TableName; rows: readonly unknown[] }[] = [];
    const memory: RecordSink = {
      description: 'memory',
      send: (table, rows) => {
        accepted.push({ table, rows });
        return Promise.resolve();
      },
    };
    const collector = awsAccessKeysCollector({
      credentialsFor: () => () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' }),
      region: 'us-east-1',
      accessKeyIdMode: 'masked',
      concurrency: 4,
      organization: {
        memberRoleName: memberRole,
        accounts: { include: [], exclude: [] },
        accountConcurrency: 2,
        budgetMs: 0, // used up at once: only the first account starts
      },
    });
    const result = await runCollector({
      collector,
      sink: memory,
      log: silentLogger,
      now: () => new Date(start),
    });

    const keyRows = accepted.filter((a) => a.table === 'AWSIAMAccessKeys_CL').flatMap((a) => a.rows);
    const accountsRead = new Set(keyRows.map((row) => (row as AWSIAMAccessKeysRow).AccountId));
    assert.deepEqual([...accountsRead], [first]);
    assert.equal(keyRows.length, expected.get(first)?.length);
    assert.equal(result.status, 'PartiallySucceeded');
    const run = accepted.find((a) => a.table === 'CollectorRuns_CL')?.rows[0] as CollectorRunsRow | undefined;
    assert.equal(run?.Status, 'PartiallySucceeded');
    const left = active.filter((id) => id !== first);
    assert.match(
      run?.Error ?? '',
      new RegExp(
        `${left.length} of ${active.length} accounts not started within the time budget .*RUN_TIME_BUDGET_MINUTES`,
      ),
    );
    for (const id of left) assert.ok(run?.Error?.includes(id), `names ${id}`);
  });
});
