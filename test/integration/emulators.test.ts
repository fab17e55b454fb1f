// Drives the official, unmodified Azure SDK clients against the local emulators.
//
// One managed-identity emulator serves the whole file on purpose: MSAL node keeps the managed-identity source
// (endpoint, header and the first credential's HTTP pipeline) and the token cache in process-wide statics, so
// IDENTITY_ENDPOINT/IDENTITY_HEADER must be set before the first getToken and cannot be changed afterwards.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, test } from 'vitest';
import { ManagedIdentityCredential } from '@azure/identity';
import { SecretClient } from '@azure/keyvault-secrets';
import { AggregateLogsUploadError, LogsIngestionClient } from '@azure/monitor-ingestion';
import { startKeyVaultEmulator, type KeyVaultEmulator } from '../emulators/keyVault.js';
import {
  startLogsIngestionEmulator,
  type LogRecord,
  type LogsIngestionEmulator,
} from '../emulators/logsIngestion.js';
import {
  startManagedIdentityEmulator,
  verifyBearer,
  type ManagedIdentityEmulator,
  type TokenClaims,
} from '../emulators/managedIdentity.js';

const tenantId = randomUUID();
const clientId = randomUUID();
const principalId = randomUUID();
// Fast SDK retries; the delays are what keeps the fault-injection tests quick.
const retryOptions = { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 };

let mi: ManagedIdentityEmulator;
let credential: ManagedIdentityCredential;

beforeAll(async () => {
  mi = await startManagedIdentityEmulator({ tenantId, clientId, principalId });
  Object.assign(process.env, mi.env());
  // Constructed after the env is set; being the first credential to fetch a token, its retryOptions are the ones
  // MSAL keeps for the whole process.
  credential = new ManagedIdentityCredential({ clientId, retryOptions });
});
afterAll(() => mi.stop());

function decodeClaims(token: string): TokenClaims {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'JWT-shaped: header.payload.signature');
  return JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as TokenClaims;
}

interface SdkError {
  name?: string;
  statusCode?: number;
  code?: string;
  message: string;
}

// RestError without depending on @azure/core-rest-pipeline directly.
function asSdkError(err: unknown): SdkError {
  assert.ok(err instanceof Error, `expected an Error, got ${String(err)}`);
  return err;
}

describe('managed identity emulator', () => {
  test('ManagedIdentityCredential gets a new JWT-shaped token with the expected claims', async () => {
    const before = mi.issued.length;
    const accessToken = await credential.getToken('api://aws-federation-test/.default');
    const claims = decodeClaims(accessToken.token);
    assert.equal(mi.issued.length, before + 1);
    assert.deepEqual(mi.issued.at(-1)?.claims, claims);
    assert.equal(
      claims.aud,
      'api://aws-federation-test',
      'the /.default suffix is stripped into the resource',
    );
    assert.equal(claims.iss, `https://sts.windows.net/${tenantId}/`);
    assert.equal(claims.tid, tenantId);
    assert.equal(claims.sub, principalId);
    assert.equal(claims.oid, principalId);
    assert.equal(claims.appid, clientId);
    assert.ok(claims.uti.length > 0);
    // MSAL rebuilds the expiry as request time + (expires_on - response time) on its rounded clock: +-1 s.
    assert.ok(Math.abs(accessToken.expiresOnTimestamp - claims.exp * 1000) <= 1000);
    assert.equal(accessToken.tokenType, 'Bearer');
    assert.deepEqual(verifyBearer(`Bearer ${accessToken.token}`, 'api://aws-federation-test', mi), {
      ok: true,
      claims,
    });
    assert.equal(verifyBearer(`Bearer ${accessToken.token}`, 'https://vault.azure.net', mi).ok, false);
    assert.equal(verifyBearer('Bearer forged.token.value', 'api://aws-federation-test', mi).ok, false);
  });

  test('the endpoint checks the identity header, api-version and identity like App Service', async () => {
    const call = async (query: string, header?: string): Promise<{ status: number; message: string }> => {
      const res = await fetch(`${mi.endpoint}?${query}`, {
        headers: header ? { 'X-IDENTITY-HEADER': header } : {},
      });
      const body = (await res.json()) as { message: string };
      return { status: res.status, message: body.message };
    };
    const good = `api-version=2019-08-01&resource=api%3A%2F%2Fx&client_id=${clientId}`;
    assert.equal((await call(good, mi.header)).status, 200);
    assert.equal((await call(good)).status, 400);
    assert.equal((await call(good, 'wrong')).status, 401);
    assert.deepEqual(
      await call(`api-version=2019-08-01&resource=api%3A%2F%2Fx&client_id=${randomUUID()}`, mi.header),
      {
        status: 400,
        message: 'Unable to load the proper Managed Identity.',
      },
    );
    assert.equal(
      (await call('api-version=2019-08-01&resource=api%3A%2F%2Fx', mi.header)).status,
      400,
      'no system-assigned identity',
    );
    assert.equal(
      (await call(`api-version=2017-09-01&resource=api%3A%2F%2Fx&client_id=${clientId}`, mi.header)).status,
      400,
    );
  });

  test('MSAL reuses a cached token until it is within 300 s of expiry; lifetime <= 299 s means a new token per call', async () => {
    const lifetime = mi.tokenLifetimeSeconds;
    try {
      mi.tokenLifetimeSeconds = 86_400;
      const hits = mi.requests.length;
      const first = await credential.getToken('api://cache-long/.default');
      const again = await credential.getToken('api://cache-long/.default');
      const otherInstance = await new ManagedIdentityCredential({ clientId }).getToken(
        'api://cache-long/.default',
      );
      const withClaims = await credential.getToken('api://cache-long/.default', {
        claims: '{"access_token":{}}',
      });
      assert.equal(
        mi.requests.length,
        hits + 1,
        'one endpoint call: the cache is process-wide and ignores claims',
      );
      assert.equal(again.token, first.token);
      assert.equal(otherInstance.token, first.token);
      assert.equal(withClaims.token, first.token);

      mi.tokenLifetimeSeconds = 299;
      const tokens = new Set<string>();
      for (let i = 0; i < 3; i++) tokens.add((await credential.getToken('api://cache-short/.default')).token);
      assert.equal(tokens.size, 3, 'each getToken fetched a new token');
    } finally {
      mi.tokenLifetimeSeconds = lifetime;
    }
  });

  test('a 503 is retried by the credential pipeline; repeated errors surface as CredentialUnavailableError', async () => {
    mi.failNext(503);
    const hits = mi.requests.length;
    await credential.getToken('api://retry-once/.default');
    assert.deepEqual(
      mi.requests.slice(hits).map((r) => r.status),
      [503, 200],
    );

    mi.failNext(500, retryOptions.maxRetries + 1);
    await assert.rejects(credential.getToken('api://retry-exhausted/.default'), (err: unknown) => {
      const e = asSdkError(err);
      assert.equal(e.name, 'CredentialUnavailableError');
      assert.match(e.message, /Injected failure \(HTTP 500\)/);
      return true;
    });
  });
});

describe('key vault emulator', () => {
  let kv: KeyVaultEmulator;
  let client: SecretClient;

  beforeAll(async () => {
    kv = await startKeyVaultEmulator({
      secrets: { 'aws-role-arn': 'arn:aws:iam::123456789012:role/identity-monitor' },
      identity: mi,
    });
    // Needed for any https://localhost vault: see the header of test/emulators/keyVault.ts.
    client = new SecretClient(kv.vaultUrl, credential, {
      disableChallengeResourceVerification: true,
      retryOptions,
    });
  });
  afterAll(() => kv.stop());

  test('SecretClient.getSecret goes through the 401 challenge and gets the secret', async () => {
    const secret = await client.getSecret('aws-role-arn');
    assert.equal(secret.value, 'arn:aws:iam::123456789012:role/identity-monitor');
    assert.equal(secret.name, 'aws-role-arn');
    assert.equal(secret.properties.vaultUrl, kv.vaultUrl);
    assert.equal(secret.properties.enabled, true);
    assert.ok(secret.properties.createdOn instanceof Date);
    assert.deepEqual(
      kv.requests.slice(0, 2).map((r) => [r.status, r.bearer]),
      [
        [401, false],
        [200, true],
      ],
    );
    assert.ok(mi.issued.some((t) => t.resource === 'https://vault.azure.net'));
  });

  test('a missing secret is a 404 SecretNotFound', async () => {
    await assert.rejects(client.getSecret('no-such-secret'), (err: unknown) => {
      const e = asSdkError(err);
      assert.equal(e.statusCode, 404);
      assert.equal(e.code, 'SecretNotFound');
      assert.match(e.message, /A secret with \(name\/id\) no-such-secret was not found in this key vault/);
      return true;
    });
  });

  test('setSecret adds a current version; older versions stay readable', async () => {
    const oldVersion = (await client.getSecret('aws-role-arn')).properties.version ?? '';
    const newVersion = kv.setSecret('aws-role-arn', 'arn:aws:iam::123456789012:role/rotated');
    assert.equal((await client.getSecret('aws-role-arn')).value, 'arn:aws:iam::123456789012:role/rotated');
    assert.equal(
      (await client.getSecret('AWS-ROLE-ARN', { version: newVersion })).properties.version,
      newVersion,
    );
    const old = await client.getSecret('aws-role-arn', { version: oldVersion });
    assert.equal(old.value, 'arn:aws:iam::123456789012:role/identity-monitor');
  });

  test('an injected 503 is retried by the SDK', async () => {
    kv.failNext(503, 1, 0);
    const count = kv.requests.length;
    assert.ok((await client.getSecret('aws-role-arn')).value);
    assert.deepEqual(
      kv.requests.slice(count).map((r) => r.status),
      [503, 200],
    );
  });

  test('without disableChallengeResourceVerification the SDK refuses a localhost challenge', async () => {
    const strict = new SecretClient(kv.vaultUrl, credential, { retryOptions });
    await assert.rejects(strict.getSecret('aws-role-arn'), /does not match the requested domain/);
  });

  test('a token for another audience is a 401 with a fresh challenge; no RBAC role is a 403', async () => {
    const monitorToken = await credential.getToken('https://monitor.azure.com/.default');
    const res = await fetch(`${kv.vaultUrl}/secrets/aws-role-arn/?api-version=2025-07-01`, {
      headers: { authorization: `Bearer ${monitorToken.token}` },
    });
    assert.equal(res.status, 401);
    assert.match(
      res.headers.get('www-authenticate') ?? '',
      /^Bearer authorization="https:\/\/login\.microsoftonline\.com\//,
    );
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /Invalid audience/);

    const locked = await startKeyVaultEmulator({
      secrets: { s: 'v' },
      identity: mi,
      authorizedPrincipalIds: [],
    });
    try {
      const lockedClient = new SecretClient(locked.vaultUrl, credential, {
        disableChallengeResourceVerification: true,
        retryOptions,
      });
      await assert.rejects(lockedClient.getSecret('s'), (err: unknown) => {
        const e = asSdkError(err);
        assert.equal(e.statusCode, 403);
        assert.equal(e.code, 'Forbidden');
        return true;
      });
    } finally {
      await locked.stop();
    }
  });
});

describe('logs ingestion emulator', () => {
  const STREAM = 'Custom-AWSIAMAccessKeys';
  let logs: LogsIngestionEmulator;
  let client: LogsIngestionClient;

  const accessKeyRow = (overrides: LogRecord = {}): LogRecord => ({
    TimeGenerated: '2024-05-01T00:00:00.000Z',
    SnapshotId: 'run-1',
    AccountId: '123456789012',
    AccountName: 'prod',
    UserName: 'alice',
    UserArn: 'arn:aws:iam::123456789012:user/alice',
    UserCreateDate: '2020-01-01T00:00:00Z',
    AccessKeyId: 'AKIA…WXYZ',
    Status: 'Active',
    CreateDate: '2023-05-01T00:00:00Z',
    KeyAgeDays: 366,
    LastUsedDate: null,
    LastUsedRegion: null,
    LastUsedService: null,
    DaysSinceLastUse: null,
    MfaActive: true,
    PasswordEnabled: false,
    DataSource: 'credential-report',
    ...overrides,
  });

  const uploadError = async (records: LogRecord[]): Promise<SdkError> => {
    let caught: unknown;
    await client.upload(logs.dcrImmutableId, STREAM, records).catch((err: unknown) => {
      caught = err;
    });
    assert.ok(
      caught instanceof AggregateLogsUploadError,
      `expected AggregateLogsUploadError, got ${String(caught)}`,
    );
    assert.equal(caught.errors.length, 1);
    return asSdkError(caught.errors[0]?.cause);
  };

  const statusesSince = (count: number): number[] => logs.requests.slice(count).map((r) => r.status);

  const rawPost = async (
    stream: string,
    body: string,
    headers: Record<string, string>,
    dcr = logs.dcrImmutableId,
  ): Promise<Response> =>
    fetch(`${logs.endpoint}/dataCollectionRules/${dcr}/streams/${stream}?api-version=2023-01-01`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });

  beforeAll(async () => {
    logs = await startLogsIngestionEmulator({ identity: mi });
    client = new LogsIngestionClient(logs.endpoint, credential, { retryOptions });
  });
  afterEach(() => logs.clearFaults());
  afterAll(() => logs.stop());

  test('uploads are accepted (204), gzip-compressed and stored per stream and table', async () => {
    const rows = [
      accessKeyRow(),
      accessKeyRow({ UserName: 'bob', KeyAgeDays: 0, LastUsedDate: '2024-04-30T12:00:00Z' }),
    ];
    const count = logs.requests.length;
    await client.upload(logs.dcrImmutableId, STREAM, rows);
    assert.deepEqual(logs.accepted('AWSIAMAccessKeys_CL'), rows);
    assert.deepEqual(logs.accepted(STREAM), rows);
    const [request] = logs.requests.slice(count);
    assert.equal(request?.status, 204);
    assert.equal(request?.gzip, true);
    assert.equal(request?.records, 2);
    assert.ok((request?.uncompressedBytes ?? 0) > (request?.bytes ?? 0));

    const run = {
      TimeGenerated: '2024-05-01T00:05:00Z',
      RunId: 'run-1',
      Collector: 'aws-access-keys',
      Status: 'Succeeded',
      DurationMs: 300_000,
      RecordsRead: 9_007_199_254_740_991,
      WindowStart: null,
    };
    await client.upload(logs.dcrImmutableId, 'Custom-CollectorRuns', [run]);
    assert.deepEqual(logs.accepted('CollectorRuns_CL'), [run]);
  });

  test('a schema violation surfaces as AggregateLogsUploadError naming the record, field and type', async () => {
    const stored = logs.accepted(STREAM).length;
    const err = await uploadError([accessKeyRow(), accessKeyRow({ KeyAgeDays: '12' })]);
    assert.equal(err.statusCode, 400);
    assert.equal(err.code, 'InvalidRecord');
    assert.match(err.message, /Record 1 field 'KeyAgeDays': expected int \(32-bit integer\), got string/);

    assert.match(
      (await uploadError([accessKeyRow({ Extra: 1 })])).message,
      /Record 0 field 'Extra': unknown field/,
    );
    assert.match((await uploadError([accessKeyRow({ KeyAgeDays: 2 ** 31 })])).message, /expected int/);
    assert.match(
      (await uploadError([accessKeyRow({ CreateDate: '2024-05-01' })])).message,
      /expected datetime/,
    );
    assert.match((await uploadError([accessKeyRow({ MfaActive: 'true' })])).message, /expected boolean/);
    assert.equal(logs.accepted(STREAM).length, stored, 'a rejected call stores nothing');
  });

  test('an injected 503 (Retry-After) is retried by the SDK and then succeeds', async () => {
    logs.failNext({ status: 503, retryAfterSeconds: 0 });
    const count = logs.requests.length;
    await client.upload(logs.dcrImmutableId, STREAM, [accessKeyRow({ SnapshotId: 'after-503' })]);
    assert.deepEqual(statusesSince(count), [503, 204]);
    assert.equal(logs.accepted(STREAM).at(-1)?.['SnapshotId'], 'after-503');
  });

  test('a 500 and a dropped connection are retried too', async () => {
    logs.failNext({ status: 500 });
    logs.dropNextConnection();
    const count = logs.requests.length;
    await client.upload(logs.dcrImmutableId, STREAM, [accessKeyRow({ SnapshotId: 'after-drop' })]);
    assert.deepEqual(statusesSince(count), [0, 500, 204], 'drop (logged as 0), 500, then success');
    assert.equal(logs.accepted(STREAM).at(-1)?.['SnapshotId'], 'after-drop');
  });

  test('a persistent 503 fails after the retries are used up', async () => {
    logs.failAlways(503, { retryAfterSeconds: 0 });
    const count = logs.requests.length;
    const err = await uploadError([accessKeyRow()]);
    assert.equal(err.statusCode, 503);
    assert.equal(err.code, 'ServiceUnavailable');
    assert.deepEqual(statusesSince(count), [503, 503, 503]);
  });

  test('faults can target one stream', async () => {
    logs.failNext({ status: 500, times: 5, stream: 'CollectorRuns_CL' });
    const count = logs.requests.length;
    await client.upload(logs.dcrImmutableId, STREAM, [accessKeyRow()]);
    assert.deepEqual(statusesSince(count), [204]);
  });

  test('an oversize single record is a 413, even though it compresses well', async () => {
    const err = await uploadError([accessKeyRow({ SnapshotId: 'x'.repeat(1_100_000) })]);
    assert.equal(err.statusCode, 413);
    assert.equal(err.code, 'ContentLengthLimitExceeded');
    const request = logs.requests.at(-1);
    assert.ok(
      request && request.bytes < 1_048_576 && request.gzip,
      'under the limit on the wire, over it unzipped',
    );
  });

  test('a field value over 64 KB is a 400', async () => {
    const err = await uploadError([accessKeyRow({ UserName: 'x'.repeat(65_537) })]);
    assert.equal(err.statusCode, 400);
    assert.match(err.message, /Record 0 field 'UserName': value exceeds 65536 bytes/);
  });

  test('plain JSON is accepted; bad tokens, DCR IDs and streams are rejected like the service', async () => {
    const token = (await credential.getToken('https://monitor.azure.com/.default')).token;
    const vaultToken = (await credential.getToken('https://vault.azure.net/.default')).token;
    const body = JSON.stringify([accessKeyRow({ SnapshotId: 'plain' })]);
    const auth = { authorization: `Bearer ${token}` };

    assert.equal((await rawPost(STREAM, body, auth)).status, 204);
    assert.equal(logs.requests.at(-1)?.gzip, false);
    assert.equal(logs.accepted(STREAM).at(-1)?.['SnapshotId'], 'plain');

    const missing = await rawPost(STREAM, body, {});
    assert.equal(missing.status, 401);
    const wrongAudience = await rawPost(STREAM, body, { authorization: `Bearer ${vaultToken}` });
    assert.equal(wrongAudience.status, 403);
    assert.match(((await wrongAudience.json()) as { error: { code: string } }).error.code, /^[A-Za-z]+$/);
    assert.equal((await rawPost(STREAM, body, auth, 'dcr-00000000000000000000000000000000')).status, 404);
    assert.equal((await rawPost('Custom-Nope', body, auth)).status, 400);
    assert.equal((await rawPost(STREAM, '{"not":"an array"}', auth)).status, 400);

    logs.failNext({ status: 429, retryAfterSeconds: 7 });
    const throttled = await rawPost(STREAM, body, auth);
    assert.equal(throttled.status, 429);
    assert.equal(throttled.headers.get('retry-after'), '7');
  });
});
