// The entra-users snapshot against the Graph emulator's /v1.0/users and the Logs Ingestion emulator: first the
// emulator itself (paging, $select, page sizes, Graph's 403s for signInActivity), driven by the app's own Graph
// client; then the collector, run as the timer and the CLI run it (runConfiguredCollector / collectorTimer).
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import functions, { type Timer } from '@azure/functions';
import { ManagedIdentityCredential } from '@azure/identity';
import { runConfiguredCollector } from '../../src/app/configuredRun.js';
import { collectorTimer } from '../../src/functions/timers.js';
import type { Logger } from '../../src/lib/logger.js';
import { newSourceStats } from '../../src/run/collector.js';
import { createGraphClient, type GraphClient } from '../../src/sources/entra/graphClient.js';
import { GraphRequestError } from '../../src/sources/entra/graphErrors.js';
import { toUserRow, userSelect } from '../../src/sources/entra/userRows.js';
import type { CollectorRunsRow, EntraUsersRow } from '../../src/tables/generated.js';
import { startGraphEmulator, type DirectoryUser, type GraphEmulator } from '../emulators/graph.js';
import { hashString } from '../emulators/graph/random.js';
import { buildWorld } from '../emulators/graph/world.js';
import { identityClientId, startLocalCloud, tenantId, type LocalCloud } from '../support/localCloud.js';
import { pacingWindowForTests } from '../support/pacing.js';

const { InvocationContext } = functions;
const timeScale = 100; // Graph's 10 s throttle window lasts 100 ms here
const USERS = 1300; // with signInActivity: pages of 500, 500, 300; without: 999, 301
let cloud: LocalCloud;
let graph: GraphEmulator;
let client: GraphClient;
const logLines: string[] = [];
const log: Logger = {
  info: (m) => logLines.push(m),
  warn: (m) => logLines.push(m),
  error: (m) => logLines.push(m),
};
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false, tokenLifetimeSeconds: 240 });
  graph = await startGraphEmulator({
    identity: cloud.identity,
    tenantId,
    seed: 15,
    timeScale,
    users: { count: USERS },
  });
  Object.assign(process.env, cloud.env, {
    GRAPH_ENDPOINT: graph.endpoint,
    GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(timeScale)),
  });
  client = createGraphClient({
    endpoint: graph.endpoint,
    audience: 'https://graph.microsoft.com',
    credential: new ManagedIdentityCredential({ clientId: identityClientId }),
    pacing: { limit: 5, intervalMs: pacingWindowForTests(timeScale) },
    stats: newSourceStats(),
    retryOptions: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
  });
});

afterAll(async () => {
  await graph?.stop();
  await cloud?.stop();
});

async function list(query: string): Promise<{ pages: Record<string, unknown>[][] }> {
  const pages: Record<string, unknown>[][] = [];
  for await (const page of client.pages<Record<string, unknown>>(query)) pages.push(page);
  return { pages };
}

async function refusal(query: string): Promise<GraphRequestError> {
  try {
    await list(query);
  } catch (error) {
    assert.ok(error instanceof GraphRequestError, String(error));
    return error;
  }
  assert.fail(`${query} was answered`);
}

async function withFlag<T>(flag: 'nonPremiumTenant' | 'denyAuditLogRead', fn: () => Promise<T>): Promise<T> {
  graph[flag] = true;
  try {
    return await fn();
  } finally {
    graph[flag] = false;
  }
}

function usersRequests(from: number) {
  return graph.requests.slice(from).filter((r) => r.path === '/v1.0/users');
}

function lastRunRow(): CollectorRunsRow {
  const row = (cloud.ingestion.accepted('CollectorRuns_CL') as unknown as CollectorRunsRow[])
    .filter((r) => r.Collector === 'entra-users')
    .at(-1);
  assert.ok(row, 'an entra-users run row');
  return row;
}

function rowsOf(snapshotId: string): EntraUsersRow[] {
  return (cloud.ingestion.accepted('EntraUsers_CL') as unknown as EntraUsersRow[]).filter(
    (row) => row.SnapshotId === snapshotId,
  );
}

function run() {
  return runConfiguredCollector('entra-users', {
    host: 'function',
    env: process.env,
    log,
    tuning: {
      ingestionRetry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
      retry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    },
  });
}

describe('Graph emulator: GET /v1.0/users', () => {
  it('seeds a realistic directory: enabled and disabled, guests, on-premises synced, never signed in', () => {
    const users: readonly DirectoryUser[] = graph.users;
    assert.equal(users.length, USERS);
    assert.equal(new Set(users.map((u) => u.id)).size, USERS, 'unique ids');
    assert.equal(new Set(users.map((u) => u.userPrincipalName.toLowerCase())).size, USERS, 'unique UPNs');
    const guests = users.filter((u) => u.userType === 'Guest');
    assert.ok(guests.length > 10 && guests.every((u) => u.userPrincipalName.includes('#EXT#')));
    assert.ok(guests.every((u) => u.onPremisesSyncEnabled === null && u.onPremisesSamAccountName === null));
    assert.ok(users.some((u) => !u.accountEnabled) && users.some((u) => u.accountEnabled));
    const synced = users.filter((u) => u.onPremisesSyncEnabled === true);
    assert.ok(synced.length > USERS / 2, `${synced.length} synced`);
    for (const u of synced) {
      assert.match(u.onPremisesSamAccountName ?? '', /^[a-z0-9]{1,20}$/);
      assert.match(u.onPremisesDomainName ?? '', /corp\.contoso\.com$/);
      assert.equal(u.onPremisesUserPrincipalName, `${u.onPremisesSamAccountName}@${u.onPremisesDomainName}`);
    }
    const sams = synced.map((u) => `${u.onPremisesDomainName}\\${u.onPremisesSamAccountName}`);
    assert.equal(new Set(sams).size, sams.length, 'sAMAccountNames are unique');
    assert.ok(
      users.some((u) => u.onPremisesSyncEnabled === false),
      'some are no longer synchronized',
    );
    assert.ok(
      users.some((u) => u.onPremisesSyncEnabled === null && u.userType === 'Member'),
      'cloud-only',
    );
    assert.ok(
      users.some((u) => u.signInActivity === undefined),
      'some never signed in',
    );
    assert.ok(
      users.some((u) => u.signInActivity?.lastSignInDateTime === null),
      'some only non-interactive',
    );
    assert.ok(
      users.some((u) => u.createdDateTime === null),
      'some created before June 2018',
    );
  });

  it('lists the world’s users first, as the sign-ins name them (same id, UPN, display name)', () => {
    const world = buildWorld(hashString('15'), tenantId);
    for (const [index, pooled] of world.users.entries()) {
      const user = graph.users[index];
      assert.deepEqual(
        [user?.id, user?.userPrincipalName, user?.displayName],
        [pooled.id, pooled.userPrincipalName, pooled.displayName],
      );
    }
  });

  it('pages by $top through @odata.nextLink, keeping $select; $select is honoured exactly', async () => {
    const { pages } = await list(
      '/v1.0/users?$select=id,userPrincipalName,onPremisesSamAccountName&$top=250',
    );
    assert.deepEqual(
      pages.map((p) => p.length),
      [250, 250, 250, 250, 250, 50],
    );
    const items = pages.flat();
    assert.deepEqual(
      items.map((u) => u.id),
      graph.users.map((u) => u.id),
      'every user once, in order',
    );
    for (const item of items)
      assert.deepEqual(Object.keys(item), ['id', 'userPrincipalName', 'onPremisesSamAccountName']);
  });

  it('without $select: Graph’s default properties only, 100 a page', async () => {
    const [first] = (await list('/v1.0/users')).pages;
    assert.equal(first?.length, 100);
    assert.deepEqual(Object.keys(first?.[0] ?? {}).sort(), [
      'businessPhones',
      'displayName',
      'givenName',
      'id',
      'jobTitle',
      'mail',
      'mobilePhone',
      'officeLocation',
      'preferredLanguage',
      'surname',
      'userPrincipalName',
    ]);
  });

  it('with signInActivity: pages of at most 500 whatever $top says; absent for users who never signed in', async () => {
    const { pages } = await list(
      `/v1.0/users?$select=${[...userSelect, 'signInActivity'].join(',')}&$top=999`,
    );
    assert.deepEqual(
      pages.map((p) => p.length),
      [500, 500, 300],
    );
    const items = pages.flat();
    for (const [index, item] of items.entries()) {
      const user = graph.users[index];
      assert.equal(item.id, user?.id);
      assert.equal('signInActivity' in item, user?.signInActivity !== undefined);
      assert.equal(item.onPremisesSyncEnabled, user?.onPremisesSyncEnabled, 'null properties are present');
    }
  });

  it('refuses what Graph refuses: $top over 999, an unknown property, $skip', async () => {
    const tooBig = await refusal('/v1.0/users?$top=1000');
    assert.equal(tooBig.status, 400);
    assert.match(tooBig.message, /Invalid page size specified: '1000'\. Must be between 1 and 999 inclusive/);
    const unknown = await refusal('/v1.0/users?$select=id,sAMAccountName');
    assert.match(
      unknown.message,
      /Could not find a property named 'sAMAccountName' on type 'microsoft\.graph\.user'/,
    );
    assert.equal((await refusal('/v1.0/users?$skip=10')).status, 400);
  });

  it('a tenant without P1/P2: signInActivity is 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant, the rest works', async () => {
    await withFlag('nonPremiumTenant', async () => {
      const error = await refusal('/v1.0/users?$select=id,signInActivity');
      assert.equal(error.status, 403);
      assert.equal(error.code, 'Authentication_RequestFromNonPremiumTenantOrB2CTenant');
      assert.match(error.message, /Neither tenant is B2C or tenant doesn't have premium license/);
      assert.equal((await list('/v1.0/users?$select=id&$top=999')).pages.flat().length, USERS);
    });
  });

  it('no AuditLog.Read.All: signInActivity is 403 Authentication_MSGraphPermissionMissing, the rest works', async () => {
    await withFlag('denyAuditLogRead', async () => {
      const error = await refusal('/v1.0/users?$select=id,signInActivity');
      assert.equal(error.status, 403);
      assert.equal(error.code, 'Authentication_MSGraphPermissionMissing');
      assert.match(error.message, /AuditLog\.Read\.All/);
      assert.equal((await list('/v1.0/users?$select=id&$top=999')).pages.flat().length, USERS);
    });
  });
});

describe('entra-users collector against the Graph and Logs Ingestion emulators', () => {
  it('takes a snapshot of every user with sign-in activity: one time and one SnapshotId per run', async () => {
    const before = graph.requests.length;
    const result = await run();
    assert.equal(result.status, 'Succeeded');
    assert.deepEqual(result.warnings, []);
    const rows = rowsOf(result.runId);
    assert.equal(rows.length, USERS);
    assert.equal(new Set(rows.map((r) => r.TimeGenerated)).size, 1, 'one snapshot time');
    const byId = new Map(graph.users.map((u) => [u.id, u]));
    const snapshot = {
      id: result.runId,
      time: new Date(rows[0]?.TimeGenerated ?? ''),
      tenantId,
      signInActivityCollected: true,
    };
    for (const row of rows) {
      const user = byId.get(row.UserId ?? '');
      assert.ok(user, `${row.UserId} is a user of the directory`);
      assert.deepEqual(row, toUserRow(user, snapshot));
      assert.equal(row.AADTenantId, tenantId);
    }
    assert.ok(
      rows.some((r) => r.LastSignInDateTime !== null) &&
        rows.some((r) => r.LastSuccessfulSignInDateTime === null),
    );

    const requests = usersRequests(before);
    assert.deepEqual(
      requests.map((r) => [r.status, r.returned]),
      [
        [200, 500],
        [200, 500],
        [200, 300],
      ],
    );
    const runRow = lastRunRow();
    assert.equal(runRow.Status, 'Succeeded');
    assert.equal(runRow.RecordsUploaded, USERS);
    assert.equal(runRow.ApiCalls, 3);
    assert.equal(runRow.Warnings, null);
    assert.equal(runRow.WindowStart, null, 'a snapshot has no window');
  });

  it('without an Entra ID P1/P2 licence: every other column is collected, and the run warns', async () => {
    await withFlag('nonPremiumTenant', async () => {
      const before = graph.requests.length;
      const result = await run();
      assert.equal(result.status, 'Succeeded');
      assert.equal(result.warnings.length, 1);
      assert.match(
        result.warnings[0] ?? '',
        /signInActivity not collected.*403 Authentication_RequestFromNonPremiumTenantOrB2CTenant.*P1 or P2 licence/,
      );
      const rows = rowsOf(result.runId);
      assert.equal(rows.length, USERS);
      assert.ok(rows.every((r) => r.SignInActivityCollected === false));
      assert.ok(
        rows.every(
          (r) =>
            r.LastSignInDateTime === null &&
            r.LastNonInteractiveSignInDateTime === null &&
            r.LastSuccessfulSignInDateTime === null,
        ),
      );
      const sams = new Set(rows.map((r) => r.OnPremisesSamAccountName).filter((s) => s !== null));
      assert.equal(sams.size, graph.users.filter((u) => u.onPremisesSamAccountName !== null).length);
      assert.deepEqual(
        usersRequests(before).map((r) => [r.status, r.returned]),
        [
          [403, 0],
          [200, 999],
          [200, 301],
        ],
      );
      const runRow = lastRunRow();
      assert.equal(runRow.Status, 'Succeeded');
      assert.match(runRow.Warnings ?? '', /signInActivity not collected/);
      assert.equal(runRow.ApiCalls, 3, 'the refused request counted too');
    });
  });

  it('without AuditLog.Read.All: the same, and the warning names the role', async () => {
    await withFlag('denyAuditLogRead', async () => {
      const result = await run();
      assert.equal(result.status, 'Succeeded');
      assert.match(
        result.warnings.join('\n'),
        /Authentication_MSGraphPermissionMissing.*AuditLog\.Read\.All/,
      );
      assert.equal(rowsOf(result.runId).length, USERS);
    });
  });

  it('runs as its timer, entraUsers; each run is a snapshot of its own, the latest told apart by SnapshotId', async () => {
    const runsBefore = (cloud.ingestion.accepted('CollectorRuns_CL') as unknown as CollectorRunsRow[]).length;
    await collectorTimer('entra-users')(
      timer,
      new InvocationContext({ functionName: 'entraUsers', logHandler: () => {} }),
    );
    const runRow = lastRunRow();
    assert.equal(runRow.Status, 'Succeeded');
    assert.ok((cloud.ingestion.accepted('CollectorRuns_CL') as unknown[]).length > runsBefore);
    const rows = rowsOf(runRow.RunId ?? '');
    assert.equal(rows.length, USERS);
    // What KQL does: the latest snapshot is the rows of the newest SnapshotId.
    const all = cloud.ingestion.accepted('EntraUsers_CL') as unknown as EntraUsersRow[];
    const latest = all.reduce((a, b) => ((a.TimeGenerated ?? '') >= (b.TimeGenerated ?? '') ? a : b));
    assert.equal(latest.SnapshotId, runRow.RunId);
    assert.ok(new Set(all.map((r) => r.SnapshotId)).size >= 4, 'earlier snapshots kept apart');
  });

  it('a page cut mid-body and a 429 are retried: the snapshot is whole, each user once', async () => {
    graph.failNext({ status: 429, times: 1, path: '/v1.0/users' });
    graph.cutNextBody({ times: 1, path: '/v1.0/users', afterRecords: 120 });
    const result = await run();
    assert.equal(result.status, 'Succeeded');
    assert.equal(result.throttled, 1);
    const ids = rowsOf(result.runId).map((r) => r.UserId);
    assert.equal(ids.length, USERS);
    assert.equal(new Set(ids).size, USERS);
  });

  it('no permission to list users at all: the run fails naming the roles to grant', async () => {
    graph.failNext({ status: 403, times: 2, path: '/v1.0/users' });
    try {
      await assert.rejects(run(), /User\.Read\.All or Directory\.Read\.All/);
    } finally {
      graph.clearFaults();
    }
    assert.equal(lastRunRow().Status, 'Failed');
  });

  it('no token appears in any log line', () => {
    const text = logLines.join('\n');
    assert.ok(logLines.length > 5);
    for (const issued of cloud.identity.issued) assert.ok(!text.includes(issued.token));
  });
});
