// A dry run reads the real checkpoints and writes none: an operator who previews with the production
// storage account must not make the deployed timer skip a window (checkpoints in Azurite here).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runConfiguredCollector } from '../../src/app/configuredRun.js';
import { silentLogger } from '../../src/lib/logger.js';
import { createTableCheckpointStore } from '../../src/state/tableCheckpointStore.js';
import { startAzurite, type AzuriteTables } from '../emulators/azurite.js';
import { startGraphEmulator, type GraphEmulator } from '../emulators/graph.js';
import { startLocalCloud, tenantId, type LocalCloud } from '../support/localCloud.js';
import { pacingWindowForTests } from '../support/pacing.js';

const timeScale = 100;
const sourceEnd = new Date(Math.floor(Date.now() / 1000) * 1000);
const sourceStart = new Date(sourceEnd.getTime() - 3 * 3_600_000);
let cloud: LocalCloud;
let azurite: AzuriteTables;
let graph: GraphEmulator;
let outDir: string;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false });
  azurite = await startAzurite();
  graph = await startGraphEmulator({
    identity: cloud.identity,
    tenantId,
    seed: 11,
    timeScale,
    audits: { count: 300, from: sourceStart, to: sourceEnd },
    signIns: { count: 10, from: sourceStart, to: sourceEnd },
  });
  outDir = await mkdtemp(join(tmpdir(), 'cim-dry-run-'));
  // MSAL fixes the managed-identity endpoint per process: it must be in process.env itself.
  Object.assign(process.env, cloud.env);
  env = {
    ...process.env,
    AzureWebJobsStorage: azurite.connectionString,
    CHECKPOINT_TABLE: 'dryruncheckpoints',
    GRAPH_ENDPOINT: graph.endpoint,
    GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(timeScale)),
    ENTRA_LAG_MINUTES: '0',
    ENTRA_INITIAL_LOOKBACK_HOURS: '4',
    ENTRA_SLICE_MINUTES: '60',
  };
});

afterAll(async () => {
  await graph?.stop();
  await azurite?.stop();
  await cloud?.stop();
  if (outDir) await rm(outDir, { recursive: true, force: true });
});

const checkpoints = () =>
  createTableCheckpointStore({
    kind: 'connection-string',
    connectionString: azurite.connectionString,
    tableName: 'dryruncheckpoints',
  });

const dryRun = () =>
  runConfiguredCollector('entra-audits', { host: 'cli', env, log: silentLogger, dryRunDirectory: outDir });

describe('a dry run against the production checkpoint store', () => {
  it('with no checkpoint yet: writes the rows to files and no checkpoint (not even the first-run pin)', async () => {
    const result = await dryRun();
    assert.equal(result.status, 'Succeeded');
    assert.equal(result.recordsUploaded, 300);
    const lines = (await readFile(join(outDir, 'EntraAuditLogs_CL.ndjson'), 'utf8')).trim().split('\n');
    assert.equal(lines.length, 300);
    assert.deepEqual(await checkpoints().list('entra-audits'), []);
  });

  it('after a real run: reads from its checkpoint and leaves it exactly as it was', async () => {
    const real = await runConfiguredCollector('entra-audits', { host: 'cli', env, log: silentLogger });
    assert.equal(real.status, 'Succeeded');
    const before = await checkpoints().get('entra-audits', tenantId);
    assert.ok(before, 'the real run wrote a checkpoint');

    const preview = await dryRun();
    assert.equal(preview.status, 'Succeeded');
    // It read what the timer would read next: from the checkpoint minus the overlap.
    assert.ok(preview.window, 'a window');
    assert.ok(preview.window.start.getTime() <= before.position.getTime());
    assert.ok(preview.window.start.getTime() > sourceStart.getTime());
    assert.deepEqual(await checkpoints().get('entra-audits', tenantId), before);
  });
});
