// National clouds: the Logs Ingestion token audience follows LOGS_INGESTION_AUDIENCE (Graph's and AWS's
// partitions are configurable already). The emulator here plays a US Government endpoint.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runConfiguredCollector } from '../../src/app/configuredRun.js';
import { silentLogger } from '../../src/lib/logger.js';
import { startGraphEmulator, type GraphEmulator } from '../emulators/graph.js';
import { startLogsIngestionEmulator, type LogsIngestionEmulator } from '../emulators/logsIngestion.js';
import { dcrImmutableId, startLocalCloud, tenantId, type LocalCloud } from '../support/localCloud.js';
import { pacingWindowForTests } from '../support/pacing.js';

const usGovernment = 'https://monitor.azure.us';
const sourceEnd = new Date(Math.floor(Date.now() / 1000) * 1000);
const sourceStart = new Date(sourceEnd.getTime() - 3_600_000);
let cloud: LocalCloud;
let graph: GraphEmulator;
let usIngestion: LogsIngestionEmulator;

beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false });
  usIngestion = await startLogsIngestionEmulator({
    identity: cloud.identity,
    dcrImmutableId,
    audience: usGovernment,
  });
  graph = await startGraphEmulator({
    identity: cloud.identity,
    tenantId,
    seed: 21,
    timeScale: 100,
    audits: { count: 50, from: sourceStart, to: sourceEnd },
  });
  Object.assign(process.env, cloud.env);
});

afterAll(async () => {
  await graph?.stop();
  await usIngestion?.stop();
  await cloud?.stop();
});

function runAudits(extra: Record<string, string>) {
  // A backfill window from a terminal: no checkpoint storage involved.
  return runConfiguredCollector('entra-audits', {
    host: 'cli',
    log: silentLogger,
    env: {
      ...process.env,
      LOGS_INGESTION_ENDPOINT: usIngestion.endpoint,
      GRAPH_ENDPOINT: graph.endpoint,
      GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(100)),
      ENTRA_LAG_MINUTES: '0',
      ENTRA_INITIAL_LOOKBACK_HOURS: '2',
      ...extra,
    },
    window: { start: sourceStart, end: sourceEnd },
    tuning: { ingestionRetry: { maxRetries: 0 } },
  });
}

describe('Logs Ingestion in a national cloud', () => {
  it('asks for tokens of the audience LOGS_INGESTION_AUDIENCE names', async () => {
    const result = await runAudits({ LOGS_INGESTION_AUDIENCE: usGovernment });
    assert.equal(result.status, 'Succeeded');
    assert.equal(usIngestion.accepted('EntraAuditLogs_CL').length, 50);
  });

  it("without it, the public cloud's audience is refused there, and the run fails", async () => {
    await assert.rejects(runAudits({}), /audience/);
  });
});
