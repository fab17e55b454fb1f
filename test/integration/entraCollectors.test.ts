import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import functions, { type Timer } from '@azure/functions';
import { collectorTimer } from '../../src/functions/timers.js';
import { runConfiguredCollector } from '../../src/app/configuredRun.js';
import type { Logger } from '../../src/lib/logger.js';
import { createTableCheckpointStore } from '../../src/state/tableCheckpointStore.js';
import type { CollectorRunsRow, EntraSignInsRow } from '../../src/tables/generated.js';
import { startAzurite, type AzuriteTables } from '../emulators/azurite.js';
import { startGraphEmulator, type GraphEmulator } from '../emulators/graph.js';
import { startLocalCloud, tenantId, withEnv, type LocalCloud } from '../support/localCloud.js';
import { pacingWindowForTests } from '../support/pacing.js';
import { freshCheckpointTables, lastRunRow as lastRunRowOf } from '../support/runRows.js';

const { InvocationContext } = functions;
const timeScale = 100; // Graph's 10 s throttle window lasts 100 ms here
const sourceEnd = new Date(Math.floor(Date.now() / 1000) * 1000);
const sourceStart = new Date(sourceEnd.getTime() - 6 * 3_600_000);
let cloud: LocalCloud;
let azurite: AzuriteTables;
let graph: GraphEmulator;
const logLines: string[] = [];
const log: Logger = {
  info: (m) => logLines.push(m),
  warn: (m) => logLines.push(m),
  error: (m) => logLines.push(m),
};
const entraSignInsTimer = collectorTimer('entra-signins');
const entraAuditLogsTimer = collectorTimer('entra-audits');
const timer: Timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false, tokenLifetimeSeconds: 240 });
  azurite = await startAzurite();
  graph = await startGraphEmulator({
    identity: cloud.identity,
    tenantId,
    seed: 3,
    timeScale,
    signIns: { count: 4000, from: sourceStart, to: sourceEnd },
    audits: { count: 1500, from: sourceStart, to: sourceEnd },
  });
  Object.assign(process.env, cloud.env, {
    AzureWebJobsStorage: azurite.connectionString,
    GRAPH_ENDPOINT: graph.endpoint,
    GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(timeScale)),
    ENTRA_LAG_MINUTES: '0',
    ENTRA_OVERLAP_MINUTES: '10',
    ENTRA_INITIAL_LOOKBACK_HOURS: '7',
    ENTRA_SLICE_MINUTES: '30',
  });
});

afterAll(async () => {
  await graph?.stop();
  await azurite?.stop();
  await cloud?.stop();
});

/** Each test gets its own checkpoint table: its runs start from no checkpoint. */
const freshCheckpoints = freshCheckpointTables('checkpoints');

function checkpointStore() {
  return createTableCheckpointStore({
    kind: 'connection-string',
    connectionString: azurite.connectionString,
    tableName: process.env.CHECKPOINT_TABLE ?? 'checkpoints',
  });
}

function idsOf(table: 'EntraSignIns_CL' | 'EntraAuditLogs_CL'): Set<string> {
  return new Set(cloud.ingestion.accepted(table).map((row) => String(row.Id)));
}

function lastRunRow(collector: string): CollectorRunsRow {
  return lastRunRowOf(cloud.ingestion, collector);
}

/** The same run the timer does, with shorter SDK backoff so failure tests stay quick. */
function run(name: string) {
  return runConfiguredCollector(name, {
    host: 'function',
    env: process.env,
    log,
    tuning: {
      ingestionRetry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
      retry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
    },
  });
}

function assertSameSet(actual: Set<string>, expected: Set<string>, what: string): void {
  const missing = [...expected].filter((id) => !actual.has(id));
  const extra = [...actual].filter((id) => !expected.has(id));
  assert.deepEqual({ missing: missing.length, extra: extra.length }, { missing: 0, extra: 0 }, what);
}

async function waitFor(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !condition(); i += 1) await new Promise((resolve) => setTimeout(resolve, 5));
  assert.ok(condition(), `timed out waiting for ${what}`);
}

describe('Entra collectors against the Graph emulator, Azurite and the ingestion emulator', () => {
  it('entraSignIns timer: every interactive sign-in of the range arrives, paced without a single 429', async () => {
    await withEnv(freshCheckpoints(), async () => {
      const throttledBefore = graph.throttledCount;
      await entraSignInsTimer(
        timer,
        new InvocationContext({ functionName: 'entraSignIns', logHandler: () => {} }),
      );
      const expected = graph.ids('signIns', undefined, undefined, ['interactiveUser']);
      assertSameSet(idsOf('EntraSignIns_CL'), expected, 'v1.0 sign-ins');
      assert.equal(graph.throttledCount, throttledBefore, 'no 429 at default pacing');

      const runRow = lastRunRow('entra-signins');
      assert.equal(runRow.Status, 'Succeeded');
      assert.equal(runRow.Throttled, 0);
      assert.ok(runRow.WindowStart && Date.parse(runRow.WindowStart) <= sourceStart.getTime());
      const checkpoint = await checkpointStore().get('entra-signins', tenantId);
      assert.equal(
        checkpoint?.position.toISOString(),
        runRow.WindowEnd,
        'checkpoint at the end of the window',
      );
      const rows = cloud.ingestion.accepted('EntraSignIns_CL') as unknown as EntraSignInsRow[];
      assert.ok(
        rows.every((row) => row.AADTenantId === tenantId && row.SignInEventType === 'interactiveUser'),
      );
    });
  });

  it('entraAuditLogs timer works on its own and collects every directory audit', async () => {
    await withEnv(freshCheckpoints(), async () => {
      graph.nonPremiumTenant = true; // sign-ins would fail: audits must not care
      try {
        await entraAuditLogsTimer(
          timer,
          new InvocationContext({ functionName: 'entraAuditLogs', logHandler: () => {} }),
        );
      } finally {
        graph.nonPremiumTenant = false;
      }
      assertSameSet(idsOf('EntraAuditLogs_CL'), graph.ids('directoryAudits'), 'directory audits');
      assert.equal(lastRunRow('entra-audits').Status, 'Succeeded');
    });
  });

  it('with all event types configured, reads the beta endpoint and tags each row with its type', async () => {
    await withEnv(
      {
        ...freshCheckpoints(),
        ENTRA_SIGNIN_EVENT_TYPES: 'interactiveUser,nonInteractiveUser,servicePrincipal,managedIdentity',
      },
      async () => {
        const before = cloud.ingestion.accepted('EntraSignIns_CL').length;
        await run('entra-signins');
        const rows = (cloud.ingestion.accepted('EntraSignIns_CL') as unknown as EntraSignInsRow[]).slice(
          before,
        );
        assertSameSet(new Set(rows.map((r) => r.Id ?? '')), graph.ids('signIns'), 'all sign-in types');
        const types = new Set(rows.map((r) => r.SignInEventType));
        assert.deepEqual([...types].sort(), [
          'interactiveUser',
          'managedIdentity',
          'nonInteractiveUser',
          'servicePrincipal',
        ]);
        assert.ok(graph.requests.some((r) => r.path === '/beta/auditLogs/signIns'));
      },
    );
  });

  it('ingestion failing mid-window leaves the checkpoint at the last accepted slice; the next run fills the gap', async () => {
    await withEnv(freshCheckpoints(), async () => {
      const before = cloud.ingestion.accepted('EntraAuditLogs_CL').length;
      const failing = run('entra-audits');
      await waitFor(
        () => cloud.ingestion.accepted('EntraAuditLogs_CL').length > before,
        'a first accepted batch',
      );
      cloud.ingestion.failAlways(503, { stream: 'Custom-EntraAuditLogs' });
      try {
        await assert.rejects(failing, /EntraAuditLogs_CL records were not accepted/);
      } finally {
        cloud.ingestion.clearFaults();
      }
      assert.equal(lastRunRow('entra-audits').Status, 'Failed');
      const checkpoint = await checkpointStore().get('entra-audits', tenantId);
      assert.ok(checkpoint, 'the accepted slices were committed');
      assert.ok(checkpoint.position < sourceEnd, 'but not the failed ones');

      await run('entra-audits');
      const union = new Set(
        cloud.ingestion
          .accepted('EntraAuditLogs_CL')
          .slice(before)
          .map((row) => String(row.Id)),
      );
      assertSameSet(union, graph.ids('directoryAudits'), 'after the failed and the clean run');
    });
  });

  it('Graph 500s beyond retries fail the run without moving the checkpoint; a transient 500 is retried', async () => {
    await withEnv(freshCheckpoints(), async () => {
      graph.failNext({ status: 500, times: 10, path: 'signIns' });
      try {
        await assert.rejects(run('entra-signins'), /Graph \/v1.0\/auditLogs\/signIns answered HTTP 500/);
      } finally {
        graph.clearFaults();
      }
      // The first run pinned its start (so a later first success cannot skip it) but moved no further.
      const pinned = await checkpointStore().get('entra-signins', tenantId);
      assert.ok(
        pinned && pinned.position.getTime() <= sourceStart.getTime(),
        'checkpoint not past the window start',
      );
      graph.failNext({ status: 503, times: 1, path: 'signIns' });
      graph.dropNextConnection(1);
      const result = await run('entra-signins');
      assert.equal(result.status, 'Succeeded');
    });
  });

  it('a crash between upload and checkpoint loses nothing: the next run reads the window again', async () => {
    await withEnv(freshCheckpoints(), async () => {
      const before = cloud.ingestion.accepted('EntraSignIns_CL').length;
      const running = run('entra-signins');
      await waitFor(
        () => cloud.ingestion.accepted('EntraSignIns_CL').length > before,
        'a first accepted batch',
      );
      // The checkpoint table disappears under the run: its next commit fails after the upload.
      const { TableServiceClient } = await import('@azure/data-tables');
      await TableServiceClient.fromConnectionString(azurite.connectionString, {
        allowInsecureConnection: true,
      }).deleteTable(process.env.CHECKPOINT_TABLE ?? '');
      await assert.rejects(running);
      await run('entra-signins');
      const union = new Set(
        cloud.ingestion
          .accepted('EntraSignIns_CL')
          .slice(before)
          .map((row) => String(row.Id)),
      );
      assertSameSet(
        union,
        graph.ids('signIns', undefined, undefined, ['interactiveUser']),
        'after the crash',
      );
    });
  });

  it('late events inside the overlap are collected by the next run', async () => {
    await withEnv(freshCheckpoints(), async () => {
      await run('entra-signins');
      const checkpoint = await checkpointStore().get('entra-signins', tenantId);
      assert.ok(checkpoint);
      const [late] = graph.addLateEvents('signIns', [
        { at: new Date(checkpoint.position.getTime() - 5 * 60_000) },
      ]);
      assert.ok(late && !idsOf('EntraSignIns_CL').has(late));
      await run('entra-signins');
      assert.ok(idsOf('EntraSignIns_CL').has(late), 'the late sign-in arrived');
    });
  });

  it('a forced 429 is retried after its Retry-After and counted in the run row', async () => {
    await withEnv(freshCheckpoints(), async () => {
      graph.failNext({ status: 429, times: 1, retryAfterSeconds: 0.2, path: 'directoryAudits' });
      const result = await run('entra-audits');
      assert.equal(result.status, 'Succeeded');
      assert.equal(result.throttled, 1);
      assert.equal(lastRunRow('entra-audits').Throttled, 1);
      const throttledAt = graph.requests.findIndex(
        (r) => r.status === 429 && r.path.endsWith('directoryAudits'),
      );
      const retry = graph.requests.slice(throttledAt + 1).find((r) => r.path.endsWith('directoryAudits'));
      assert.ok(retry, 'retried');
      const waited = retry.at.getTime() - (graph.requests[throttledAt]?.at.getTime() ?? 0);
      assert.ok(waited >= 190, `retried after ${waited} ms, Retry-After was 200 ms`);
    });
  });

  it('a 429 without Retry-After and a body cut mid-page are retried: the run succeeds, every sign-in delivered once', async () => {
    // Six hours back, not seven: the first slice then holds sign-ins, so the cut comes in the middle of records.
    await withEnv({ ...freshCheckpoints(), ENTRA_INITIAL_LOOKBACK_HOURS: '6' }, async () => {
      const before = cloud.ingestion.accepted('EntraSignIns_CL').length;
      const n = graph.requests.length;
      // The run's first Graph request is answered 429 with no Retry-After; its retry gets a 200 whose body
      // stops half-way (the connection dies); the retry after that gets the page.
      graph.failNext({ status: 429, times: 1, path: '/v1.0/auditLogs/signIns' });
      graph.cutNextBody({ times: 1, path: '/v1.0/auditLogs/signIns' });
      const result = await run('entra-signins');
      assert.equal(result.status, 'Succeeded');

      const [throttled, cut, complete] = graph.requests.slice(n);
      assert.ok(throttled && cut && complete);
      assert.deepEqual([throttled.status, throttled.throttled], [429, true]);
      assert.deepEqual([cut.status, cut.errorCode], [200, 'BodyCut']);
      assert.ok(cut.returned > 0, 'the body was cut after some records');
      assert.equal(complete.status, 200);
      assert.equal(complete.errorCode, undefined);
      assert.equal(result.throttled, 1);
      const runRow = lastRunRow('entra-signins');
      assert.equal(runRow.Throttled, 1);
      assert.equal(runRow.ApiCalls, graph.requests.length - n, 'every attempt counted');

      const rows = (cloud.ingestion.accepted('EntraSignIns_CL') as unknown as EntraSignInsRow[]).slice(
        before,
      );
      assert.ok(runRow.WindowStart && runRow.WindowEnd);
      const windowStart = Date.parse(runRow.WindowStart);
      const expected = graph.ids(
        'signIns',
        new Date(windowStart),
        new Date(Date.parse(runRow.WindowEnd) + 1),
        ['interactiveUser'],
      );
      assertSameSet(new Set(rows.map((r) => r.Id ?? '')), expected, 'sign-ins of the window');
      // Once: a sign-in may only come twice if it lies exactly on a slice boundary (both bounds inclusive).
      const seen = new Set<string>();
      for (const row of rows) {
        const id = row.Id ?? '';
        if (seen.has(id)) {
          const onBoundary = (Date.parse(row.CreatedDateTime ?? '') - windowStart) % (30 * 60_000) === 0;
          assert.ok(onBoundary, `${id} delivered twice`);
        }
        seen.add(id);
      }
    });
  });

  it('a tenant without P1/P2 gets an error naming the licence and the fix', async () => {
    await withEnv(freshCheckpoints(), async () => {
      graph.nonPremiumTenant = true;
      try {
        await assert.rejects(
          run('entra-signins'),
          /Entra ID P1 or P2 licence.*audit collector works without it/,
        );
      } finally {
        graph.nonPremiumTenant = false;
      }
      assert.equal(lastRunRow('entra-signins').Status, 'Failed');
    });
  });

  it('a missing Graph app role gets an error naming the roles to grant', async () => {
    await withEnv(freshCheckpoints(), async () => {
      graph.denyAuditLogRead = true;
      try {
        await assert.rejects(run('entra-audits'), /AuditLog\.Read\.All and Directory\.Read\.All/);
      } finally {
        graph.denyAuditLogRead = false;
      }
    });
  });

  it('no token appears in any log line', () => {
    const text = logLines.join('\n');
    assert.ok(logLines.length > 10);
    for (const issued of cloud.identity.issued) assert.ok(!text.includes(issued.token));
  });
});
