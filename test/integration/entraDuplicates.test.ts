// The real Entra collectors, run after run, against the Graph emulator, Azurite and the ingestion
// emulator: the overlap before the checkpoint is read again (late events land there), but what the
// workspace already accepted is not sent again.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runConfiguredCollector } from '../../src/app/configuredRun.js';
import { silentLogger } from '../../src/lib/logger.js';
import { AcceptedIds } from '../../src/state/acceptedIds.js';
import { createTableCheckpointStore } from '../../src/state/tableCheckpointStore.js';
import type { TableName } from '../../src/tables/generated.js';
import { startAzurite, type AzuriteTables } from '../emulators/azurite.js';
import { startGraphEmulator, type GraphEmulator } from '../emulators/graph.js';
import { startLocalCloud, tenantId, withEnv, type LocalCloud } from '../support/localCloud.js';
import { pacingWindowForTests } from '../support/pacing.js';

const timeScale = 100;
const minute = 60_000;
const sourceEnd = new Date(Math.floor(Date.now() / 1000) * 1000);
const sourceStart = new Date(sourceEnd.getTime() - 2 * 3_600_000);
let cloud: LocalCloud;
let azurite: AzuriteTables;
let graph: GraphEmulator;

beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false, tokenLifetimeSeconds: 240 });
  azurite = await startAzurite();
  graph = await startGraphEmulator({
    identity: cloud.identity,
    tenantId,
    seed: 13,
    timeScale,
    // Dense enough that every overlap holds events: one every ~4 s and ~7 s.
    signIns: { count: 1800, from: sourceStart, to: sourceEnd },
    audits: { count: 1000, from: sourceStart, to: sourceEnd },
  });
  Object.assign(process.env, cloud.env, {
    AzureWebJobsStorage: azurite.connectionString,
    CHECKPOINT_TABLE: 'duplicates',
    GRAPH_ENDPOINT: graph.endpoint,
    GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(timeScale)),
    ENTRA_LAG_MINUTES: '0',
    ENTRA_OVERLAP_MINUTES: '10',
    ENTRA_INITIAL_LOOKBACK_HOURS: '3',
    ENTRA_SLICE_MINUTES: '30',
  });
});

afterAll(async () => {
  await graph?.stop();
  await azurite?.stop();
  await cloud?.stop();
});

function run(name: string) {
  return runConfiguredCollector(name, { host: 'function', env: process.env, log: silentLogger });
}

/** Ids the workspace accepted more than once. */
function sentTwice(table: TableName): string[] {
  const seen = new Set<string>();
  const twice: string[] = [];
  for (const row of cloud.ingestion.accepted(table)) {
    const id = String(row.Id);
    if (seen.has(id)) twice.push(id);
    seen.add(id);
  }
  return twice;
}

describe('Entra runs re-read the overlap without re-sending it', () => {
  for (const [collector, kind, table] of [
    ['entra-signins', 'signIns', 'EntraSignIns_CL'],
    ['entra-audits', 'directoryAudits', 'EntraAuditLogs_CL'],
  ] as const) {
    it(`${collector}: three runs, a late event in the overlap, every event accepted exactly once`, async () => {
      await withEnv({ CHECKPOINT_TABLE: `duplicates${kind}` }, async () => {
        const store = createTableCheckpointStore({
          kind: 'connection-string',
          connectionString: azurite.connectionString,
          tableName: `duplicates${kind}`,
        });
        await run(collector);
        const first = await store.get(collector, tenantId);
        assert.ok(first?.acceptedIds, 'the checkpoint remembers the Ids of its overlap');
        const remembered = AcceptedIds.decode(first.acceptedIds).size;
        const inOverlap = graph.count(
          kind,
          new Date(first.position.getTime() - 10 * minute),
          new Date(first.position.getTime() + 1),
          kind === 'signIns' ? ['interactiveUser'] : undefined,
        );
        assert.ok(inOverlap > 0, 'the overlap holds events');
        assert.equal(remembered, inOverlap, 'exactly the events of the overlap');

        // A late event inside the overlap, then two runs that both read it again.
        const [late] = graph.addLateEvents(kind, [{ at: new Date(first.position.getTime() - 5 * minute) }]);
        await run(collector);
        await run(collector);

        const accepted = new Set(cloud.ingestion.accepted(table).map((row) => String(row.Id)));
        assert.ok(late && accepted.has(late), 'the late event arrived');
        const expected = graph.ids(
          kind,
          sourceStart,
          new Date(sourceEnd.getTime() + 1),
          kind === 'signIns' ? ['interactiveUser'] : undefined,
        );
        assert.deepEqual(
          [...expected].filter((id) => !accepted.has(id)),
          [],
          'every event of the range arrived',
        );
        assert.deepEqual(sentTwice(table), [], 'none twice');
      });
    });
  }
});
