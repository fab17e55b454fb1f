import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { silentLogger } from '../../src/run/logger.js';
import type { TimeWindow } from '../../src/run/runCollector.js';
import { runWindowedCollector } from '../../src/run/runWindowedCollector.js';
import type { WindowPolicy, WindowedCollector } from '../../src/run/windowedCollector.js';
import type { RecordSink } from '../../src/sinks/sink.js';
import type { Checkpoint, CheckpointStore } from '../../src/state/checkpointStore.js';
import type { CollectorRunsRow, EntraAuditLogsRow } from '../../src/tables/generated.js';
import { memorySink as keepingSink } from '../support/memorySink.js';

const minute = 60_000;
const runTime = new Date('2026-11-23T12:00:00Z');
const policy: WindowPolicy = {
  overlapMs: 10 * minute,
  lagMs: 15 * minute,
  initialLookbackMs: 6 * 60 * minute,
  sliceMs: 60 * minute,
  budgetMs: 20 * minute,
  retentionMs: 30 * 24 * 60 * minute,
};

/** One event per minute; reads record which windows were asked for. */
function everyMinuteCollector(reads: TimeWindow[]): WindowedCollector<'EntraAuditLogs_CL'> {
  return {
    name: 'test-audits',
    table: 'EntraAuditLogs_CL',
    open: () =>
      Promise.resolve({
        scope: 'tenant-1',
        async *read(window: TimeWindow) {
          reads.push(window);
          await Promise.resolve();
          for (
            let t = Math.ceil(window.start.getTime() / minute) * minute;
            t <= window.end.getTime();
            t += minute
          ) {
            yield { TimeGenerated: new Date(t).toISOString(), Id: `e${t}` } as EntraAuditLogsRow;
          }
        },
      }),
  };
}

function memoryCheckpoints(initial?: Date, failSetTimes = 0) {
  let stored: Checkpoint | undefined = initial
    ? { collector: 'test-audits', scope: 'tenant-1', position: initial, runId: 'old', updatedAt: initial }
    : undefined;
  let failures = failSetTimes;
  const store: CheckpointStore = {
    description: 'memory',
    get: () => Promise.resolve(stored),
    list: () => Promise.resolve(stored ? [stored] : []),
    set: (checkpoint) => {
      if (failures > 0) {
        failures -= 1;
        return Promise.reject(new Error('crashed between upload and checkpoint'));
      }
      stored = checkpoint;
      return Promise.resolve();
    },
  };
  return { store, position: () => stored?.position };
}

function memorySink(failAfterBatches = Infinity) {
  let batches = 0;
  const memory = keepingSink({
    reject: (table) =>
      table !== 'CollectorRuns_CL' && ++batches > failAfterBatches
        ? new Error('ingestion 503 beyond retries')
        : undefined,
  });
  return { ...memory, ids: () => new Set(memory.rowsOf('EntraAuditLogs_CL').map((r) => r.Id)) };
}

function run(options: {
  checkpoints: CheckpointStore;
  sink: RecordSink;
  reads?: TimeWindow[];
  now?: () => Date;
  explicitWindow?: TimeWindow;
  policy?: WindowPolicy;
}) {
  return runWindowedCollector({
    collector: everyMinuteCollector(options.reads ?? []),
    checkpoints: options.checkpoints,
    sink: options.sink,
    log: silentLogger,
    policy: options.policy ?? policy,
    batchSize: 25,
    now: options.now ?? (() => runTime),
    explicitWindow: options.explicitWindow,
  });
}

describe('windowed runs and checkpoints', () => {
  it('first run reads the initial lookback up to now − lag, in slices, and checkpoints the end', async () => {
    const checkpoints = memoryCheckpoints();
    const { sink, rows } = memorySink();
    const reads: TimeWindow[] = [];
    const result = await run({ checkpoints: checkpoints.store, sink, reads });
    assert.equal(result.status, 'Succeeded');
    assert.equal(reads.length, 6, '6 h in 1 h slices');
    assert.equal(reads[0]?.start.toISOString(), '2026-11-23T06:00:00.000Z');
    assert.equal(checkpoints.position()?.toISOString(), '2026-11-23T11:45:00.000Z');
    const [runRow] = rows.get('CollectorRuns_CL') as CollectorRunsRow[];
    assert.equal(runRow?.WindowStart, '2026-11-23T06:00:00.000Z');
    assert.equal(runRow?.WindowEnd, '2026-11-23T11:45:00.000Z');
  });

  it('a first run that fails still fixes where collection starts: the next run begins there', async () => {
    const checkpoints = memoryCheckpoints();
    await assert.rejects(run({ checkpoints: checkpoints.store, sink: memorySink(0).sink }), /ingestion 503/);
    const reads: TimeWindow[] = [];
    const later = new Date(runTime.getTime() + 5 * 3_600_000);
    await run({ checkpoints: checkpoints.store, sink: memorySink().sink, reads, now: () => later });
    assert.equal(
      reads[0]?.start.toISOString(),
      '2026-11-23T05:50:00.000Z',
      'first start − overlap, not later − lookback',
    );
  });

  it('a later run starts at checkpoint − overlap', async () => {
    const checkpoints = memoryCheckpoints(new Date('2026-11-23T11:00:00Z'));
    const reads: TimeWindow[] = [];
    await run({ checkpoints: checkpoints.store, sink: memorySink().sink, reads });
    assert.equal(reads[0]?.start.toISOString(), '2026-11-23T10:50:00.000Z');
    assert.equal(checkpoints.position()?.toISOString(), '2026-11-23T11:45:00.000Z');
  });

  it('a sink failure mid-window keeps the checkpoint at the last fully accepted slice; the next run fills the gap', async () => {
    const start = new Date('2026-11-23T06:00:00Z');
    const checkpoints = memoryCheckpoints(start);
    const failing = memorySink(3); // 25-row batches: fails inside the second slice
    await assert.rejects(
      run({ checkpoints: checkpoints.store, sink: failing.sink }),
      /ingestion 503 beyond retries/,
    );
    assert.equal(
      checkpoints.position()?.toISOString(),
      '2026-11-23T06:50:00.000Z',
      'only the first slice committed',
    );
    const runRow = (failing.rows.get('CollectorRuns_CL') as CollectorRunsRow[])[0];
    assert.equal(runRow?.Status, 'Failed');
    assert.equal(runRow?.WindowEnd, '2026-11-23T06:50:00.000Z');

    const clean = memorySink();
    await run({ checkpoints: checkpoints.store, sink: clean.sink });
    const union = new Set([...failing.ids(), ...clean.ids()]);
    for (let t = start.getTime(); t <= Date.parse('2026-11-23T11:45:00Z'); t += minute) {
      assert.ok(union.has(`e${t}`), `event at ${new Date(t).toISOString()} lost`);
    }
  });

  it('a crash between upload and checkpoint leaves the checkpoint; the records come again next run', async () => {
    const checkpoints = memoryCheckpoints(new Date('2026-11-23T10:00:00Z'), 1);
    const first = memorySink();
    await assert.rejects(
      run({ checkpoints: checkpoints.store, sink: first.sink }),
      /crashed between upload and checkpoint/,
    );
    assert.equal(checkpoints.position()?.toISOString(), '2026-11-23T10:00:00.000Z');
    const second = memorySink();
    await run({ checkpoints: checkpoints.store, sink: second.sink });
    for (const id of first.ids())
      assert.ok(second.ids().has(id), 'uploaded-but-uncommitted records are read again');
  });

  it('stops starting slices when the time budget is used up: PartiallySucceeded, resumable', async () => {
    const checkpoints = memoryCheckpoints();
    let clock = runTime.getTime();
    const now = () => new Date((clock += 7 * minute)); // every look at the clock costs 7 minutes
    const { sink } = memorySink();
    const result = await run({ checkpoints: checkpoints.store, sink, now });
    assert.equal(result.status, 'PartiallySucceeded');
    assert.match(result.warnings.join('\n'), /time budget of 20 min used up/);
    const position = checkpoints.position();
    assert.ok(
      position && position < new Date('2026-11-23T11:45:00Z') && position > new Date('2026-11-23T06:00:00Z'),
    );
  });

  it('an explicit window (backfill) leaves the checkpoint alone', async () => {
    const checkpoints = memoryCheckpoints(new Date('2026-11-23T11:00:00Z'));
    const reads: TimeWindow[] = [];
    const window = { start: new Date('2026-11-20T00:00:00Z'), end: new Date('2026-11-20T02:30:00Z') };
    await run({ checkpoints: checkpoints.store, sink: memorySink().sink, reads, explicitWindow: window });
    assert.equal(reads.length, 3);
    assert.equal(checkpoints.position()?.toISOString(), '2026-11-23T11:00:00.000Z');
  });

  it('warns when the checkpoint is near or past the retention', async () => {
    const near = await run({
      checkpoints: memoryCheckpoints(new Date('2026-10-28T00:00:00Z')).store,
      sink: memorySink().sink,
    });
    assert.match(near.warnings.join('\n'), /near the source's 30.0-day retention/);
    const past = await run({
      checkpoints: memoryCheckpoints(new Date('2026-10-01T00:00:00Z')).store,
      sink: memorySink().sink,
      policy: { ...policy, budgetMs: 0 },
    });
    assert.match(past.warnings.join('\n'), /older than the source's 30.0-day retention: .* lost/);
  });
});
