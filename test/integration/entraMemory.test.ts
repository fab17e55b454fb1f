import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runConfiguredCollector } from '../../src/app/configuredRun.js';
import { silentLogger } from '../../src/lib/logger.js';
import { startGraphEmulator, type GraphEmulator } from '../emulators/graph.js';
import { startLocalCloud, tenantId, type LocalCloud } from '../support/localCloud.js';
import { pacingWindowForTests } from '../support/pacing.js';

// A memory check, not a timing one: a 200,000-sign-in window must stream through, not pile up.
const signInCount = Number(process.env.MEMORY_TEST_SIGNINS ?? 200_000);
const timeScale = 1000;
const sourceEnd = new Date(Math.floor(Date.now() / 1000) * 1000);
const sourceStart = new Date(sourceEnd.getTime() - 24 * 3_600_000);
let cloud: LocalCloud;
let graph: GraphEmulator;

beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false, retainFields: ['Id'] });
  graph = await startGraphEmulator({
    identity: cloud.identity,
    tenantId,
    seed: 9,
    timeScale,
    signIns: { count: signInCount, from: sourceStart, to: sourceEnd },
  });
  Object.assign(process.env, cloud.env, {
    GRAPH_ENDPOINT: graph.endpoint,
    GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(timeScale)),
    ENTRA_SIGNIN_EVENT_TYPES: 'interactiveUser,nonInteractiveUser,servicePrincipal,managedIdentity',
    ENTRA_SLICE_MINUTES: '240',
  });
});

afterAll(async () => {
  await graph?.stop();
  await cloud?.stop();
});

describe('memory over a large window', () => {
  it(`streams ${signInCount.toLocaleString('en-US')} sign-ins with bounded peak RSS`, async () => {
    global.gc?.();
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 10);
    let result;
    try {
      result = await runConfiguredCollector('entra-signins', {
        host: 'cli',
        env: process.env,
        log: silentLogger,
        window: { start: sourceStart, end: sourceEnd },
      });
    } finally {
      clearInterval(sampler);
    }
    const ids = new Set(cloud.ingestion.accepted('EntraSignIns_CL').map((row) => String(row.Id)));
    // Slice bounds are inclusive on both ends (Graph's ge/le): an event on a boundary may come twice.
    assert.ok(result.recordsUploaded >= signInCount && result.recordsUploaded < signInCount * 1.001);
    assert.equal(ids.size, signInCount, 'every sign-in arrived');
    assert.equal(graph.throttledCount, 0);
    const mb = (bytes: number) => Math.round(bytes / 1_048_576);
    // Emulators share the process: Graph pages are generated, gzip bodies inflated and checked here too.
    console.log(
      `memory: ${signInCount} sign-ins in ${result.durationMs} ms; RSS baseline ${mb(baseline)} MB, peak ${mb(peak)} MB (+${mb(peak - baseline)} MB)`,
    );
    assert.ok(peak - baseline < 300 * 1_048_576, `peak RSS grew by ${mb(peak - baseline)} MB`);
  });
});
