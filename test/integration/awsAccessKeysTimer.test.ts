import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import functions, { type Timer } from '@azure/functions';
import { ManagedIdentityCredential } from '@azure/identity';
import { collectorTimer } from '../../src/functions/timers.js';
import { maskAccessKeyId } from '../../src/lib/redact.js';
import { webIdentityFederation } from '../../src/sources/aws/federation.js';
import type { AWSIAMAccessKeysRow, CollectorRunsRow } from '../../src/tables/generated.js';
import { expectedKeys, realisticAccount, type ExpectedKey } from '../support/seedAccount.js';
import {
  collectorRoleArn,
  federationAudience,
  identityClientId,
  startLocalCloud,
  withEnv,
  type LocalCloud,
} from '../support/localCloud.js';

// @azure/functions is CommonJS and its class exports are not detected as named ESM exports.
const { InvocationContext } = functions;
const awsAccessKeysTimer = collectorTimer('aws-access-keys');
const userCount = 1_100;
let cloud: LocalCloud;
let expected: ExpectedKey[];
const seededSecrets: string[] = [];
const logLines: string[] = [];
const thrownMessages: string[] = [];

const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

/** Runs the timer handler the way the Functions host would, capturing everything it logs. */
async function invokeTimer(): Promise<void> {
  const context = new InvocationContext({
    functionName: 'awsAccessKeys',
    logHandler: (level, ...args) => logLines.push(`${level}: ${args.map(String).join(' ')}`),
  });
  try {
    await awsAccessKeysTimer(timer, context);
  } catch (error) {
    thrownMessages.push(error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error));
    throw error;
  }
}

function runRows(): CollectorRunsRow[] {
  return cloud.ingestion.accepted('CollectorRuns_CL') as unknown as CollectorRunsRow[];
}

function lastRunRow(): CollectorRunsRow {
  const row = runRows().at(-1);
  assert.ok(row, 'a run row was written');
  return row;
}

/** Invokes, expects rejection matching `message`, and returns how many run rows it wrote. */
async function expectFailure(message: RegExp): Promise<number> {
  const before = runRows().length;
  await assert.rejects(invokeTimer(), message);
  return runRows().length - before;
}

beforeAll(async () => {
  // Tokens under 300 s are never served from MSAL's cache: every getToken reaches the endpoint.
  cloud = await startLocalCloud({ tokenLifetimeSeconds: 240 });
  Object.assign(process.env, cloud.env);
  const spec = realisticAccount({ users: userCount, seed: 11, accountAlias: 'acme-prod' });
  const seeded = await cloud.moto.seedIam(spec);
  expected = expectedKeys(spec, seeded);
  for (const user of seeded.users)
    for (const key of user.keys) seededSecrets.push(key.accessKeyId, key.secretAccessKey);
});

afterAll(async () => {
  await cloud?.stop();
});

describe('awsAccessKeys timer, end to end against moto and the Azure emulators', () => {
  it('writes every seeded key exactly once, then a Succeeded run row with the API calls it made', async () => {
    cloud.aws.clearRequests();
    await invokeTimer();
    const rows = cloud.ingestion.accepted('AWSIAMAccessKeys_CL') as unknown as AWSIAMAccessKeysRow[];
    assert.equal(rows.length, expected.length);
    const byId = new Map(rows.map((row) => [`${row.UserName}/${row.AccessKeyId}`, row]));
    assert.equal(byId.size, rows.length, 'each key once');
    for (const key of expected) {
      const row = byId.get(`${key.userName}/${maskAccessKeyId(key.accessKeyId)}`);
      assert.ok(row, `${key.userName} key …${key.accessKeyId.slice(-4)} missing`);
      assert.deepEqual(
        [row.Status, row.CreateDate, row.LastUsedDate, row.LastUsedService, row.MfaActive, row.DataSource],
        [
          key.status,
          key.createDate,
          key.lastUsedDate,
          key.lastUsedService,
          key.mfaActive,
          'credential-report',
        ],
      );
      assert.equal(
        row.KeyAgeDays,
        Math.floor((Date.parse(row.TimeGenerated) - Date.parse(key.createDate)) / 86_400_000),
      );
    }

    const run = lastRunRow();
    assert.equal(run.Status, 'Succeeded');
    assert.equal(run.Collector, 'aws-access-keys');
    assert.equal(run.RecordsUploaded, expected.length);
    assert.equal(run.ApiCalls, cloud.aws.requests.length, 'every AWS call counted, STS included');
    const usersWithKeys = new Set(expected.map((k) => k.userName)).size;
    // Per user with keys: ListAccessKeys, and ListUserTags (owner tags, AWS_OWNER_TAG_KEYS); never per user.
    const tagCalls = cloud.aws.requests.filter((request) => request.action === 'ListUserTags').length;
    assert.ok(tagCalls <= usersWithKeys, `${tagCalls} ListUserTags for ${usersWithKeys} users with keys`);
    assert.ok((run.ApiCalls ?? Infinity) <= 2 * usersWithKeys + Math.ceil(userCount / 1000) + 8);
    assert.ok(rows.every((row) => row.SnapshotId === run.RunId));

    const [assume] = cloud.aws.requests.filter((r) => r.action === 'AssumeRoleWithWebIdentity');
    assert.ok(assume, 'credentials came from STS AssumeRoleWithWebIdentity');
    const token = cloud.identity.lookup(assume.params.WebIdentityToken ?? '');
    assert.ok(token, 'the STS call carried a token issued by the managed identity');
    assert.equal(token.claims.aud, federationAudience);
    assert.equal(token.claims.sub, cloud.identity.principalId);
    assert.equal(assume.params.RoleArn, collectorRoleArn, 'role ARN read from Key Vault');
    assert.equal(assume.params.RoleSessionName, `cim-aws-access-keys-${run.RunId}`);
  });

  it('asks the managed identity for a new token on every credential refresh', async () => {
    cloud.aws.clearRequests();
    const provider = webIdentityFederation({
      tokenCredential: new ManagedIdentityCredential({ clientId: identityClientId }),
      audience: federationAudience,
      roleArn: collectorRoleArn,
      roleSessionName: 'refresh-test',
      region: 'us-east-1',
    });
    const first = await provider();
    const second = await provider();
    assert.notEqual(first.accessKeyId, second.accessKeyId);
    const tokens = cloud.aws.requests
      .filter((r) => r.action === 'AssumeRoleWithWebIdentity')
      .map((r) => r.params.WebIdentityToken);
    assert.equal(tokens.length, 2);
    assert.notEqual(tokens[0], tokens[1], 'the refresh used a new Entra token');
    for (const token of tokens)
      assert.equal(cloud.identity.lookup(token ?? '')?.claims.aud, federationAudience);
  });

  describe('bad input fails clearly, with a Failed run row wherever one can still be written', () => {
    it('missing ingestion settings: rejected naming the setting; no sink, so no run row', async () => {
      const written = await withEnv({ LOGS_INGESTION_DCR_ID: undefined }, () =>
        expectFailure(/Setting LOGS_INGESTION_DCR_ID is missing: expected the DCR immutable ID/),
      );
      assert.equal(written, 0);
    });

    it('missing AWS_FEDERATION_AUDIENCE: rejected naming it, and the run row says Failed', async () => {
      const written = await withEnv({ AWS_FEDERATION_AUDIENCE: undefined }, () =>
        expectFailure(/Setting AWS_FEDERATION_AUDIENCE is missing/),
      );
      assert.equal(written, 1);
      assert.equal(lastRunRow().Status, 'Failed');
      assert.match(lastRunRow().Error ?? '', /AWS_FEDERATION_AUDIENCE is missing/);
    });

    it('malformed role ARN in Key Vault: rejected naming aws-role-arn and the expected shape', async () => {
      cloud.keyVault.setSecret('aws-role-arn', 'arn:aws:iam::12345:role/oops');
      try {
        await expectFailure(
          /Setting aws-role-arn is malformed .*arn:aws:iam::<12-digit account>:role\/<name>/,
        );
        assert.equal(lastRunRow().Status, 'Failed');
      } finally {
        cloud.keyVault.setSecret('aws-role-arn', collectorRoleArn);
      }
    });

    it('a secret missing from Key Vault names the secret and how to set it', async () => {
      const { startKeyVaultEmulator } = await import('../emulators/keyVault.js');
      const emptyVault = await startKeyVaultEmulator({ secrets: {}, identity: cloud.identity });
      try {
        await withEnv({ KEY_VAULT_URI: emptyVault.vaultUrl }, () =>
          expectFailure(/Setting aws-role-arn is not in Key Vault .*az keyvault secret set/),
        );
      } finally {
        await emptyVault.stop();
      }
    });

    it('STS AccessDenied: rejected with the trust-policy hint, run row Failed', async () => {
      cloud.aws.failAction('AssumeRoleWithWebIdentity', {
        status: 403,
        code: 'AccessDenied',
        message: 'Not authorized to perform sts:AssumeRoleWithWebIdentity',
      });
      try {
        await expectFailure(/AssumeRoleWithWebIdentity .* failed: AccessDenied.*aud = api:\/\/crosscloud/);
        assert.equal(lastRunRow().Status, 'Failed');
        assert.match(lastRunRow().Error ?? '', /AccessDenied/);
      } finally {
        cloud.aws.clearFaults();
      }
    });

    it('ingestion 403: rejected naming the missing role; the run row cannot be written either', async () => {
      cloud.ingestion.failAlways(403);
      try {
        const written = await expectFailure(/not accepted: .*HTTP 403.*Monitoring Metrics Publisher/);
        assert.equal(written, 0);
      } finally {
        cloud.ingestion.clearFaults();
      }
      assert.ok(
        logLines.some((line) => /could not write its CollectorRuns_CL row/.test(line)),
        'the lost run row is logged',
      );
    });

    it('ingestion 413: rejected with the records not accepted, run row Failed', async () => {
      cloud.ingestion.failNext({ status: 413, stream: 'Custom-AWSIAMAccessKeys', times: 1 });
      try {
        await expectFailure(/\d+ of \d+ AWSIAMAccessKeys_CL records were not accepted: .*HTTP 413.*1 MB/);
        assert.equal(lastRunRow().Status, 'Failed');
      } finally {
        cloud.ingestion.clearFaults();
      }
    });

    it('persistent ingestion 503: fails after the SDK retries with the number of records not accepted', async () => {
      cloud.ingestion.failAlways(503, { stream: 'Custom-AWSIAMAccessKeys' });
      try {
        await expectFailure(
          new RegExp(
            `${expected.length} of ${expected.length} AWSIAMAccessKeys_CL records were not accepted`,
          ),
        );
        const run = lastRunRow();
        assert.equal(run.Status, 'Failed');
        assert.equal(run.RecordsUploaded, 0);
        assert.equal(run.RecordsRead, expected.length);
      } finally {
        cloud.ingestion.clearFaults();
      }
    });
  });

  it('no token, secret or full access key ID appears in any log line, error or run row', () => {
    const haystack = [
      ...logLines,
      ...thrownMessages,
      ...runRows().map((row) => JSON.stringify(row)),
      ...(cloud.ingestion.accepted('AWSIAMAccessKeys_CL') as unknown[]).map((row) => JSON.stringify(row)),
    ].join('\n');
    assert.ok(logLines.length > 10, 'logs were captured');
    for (const issued of cloud.identity.issued)
      assert.ok(!haystack.includes(issued.token), 'an Entra token leaked');
    for (const secret of seededSecrets)
      assert.ok(!haystack.includes(secret), 'a seeded key ID or secret leaked');
    assert.doesNotMatch(haystack, /\b(AKIA|ASIA)[A-Z0-9]{16}\b/, 'a full AWS key ID leaked');
    assert.doesNotMatch(haystack, /eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, 'a JWT leaked');
  });
});
