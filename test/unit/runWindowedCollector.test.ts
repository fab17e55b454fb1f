import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import { silentLogger } from '../../src/lib/logger.js';
import type { TimeWindow } from '../../src/run/runCollector.js';
import { runWindowedCollector } from '../../src/run/runWindowedCollector.js';
import { AcceptedIds } from '../../src/state/acceptedIds.js';
import type { WindowPolicy, WindowReadOptions, WindowedCollector } from '../../src/run/windowedCollector.js';
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

function memoryCheckpoints(initial?: Date, failSetTimes = 0, acceptedIds?: Uint8Array) {
  let stored: Checkpoint | undefined = initial
    ? {
        collector: 'test-audits',
        scope: 'tenant-1',
        position: initial,
        runId: 'old',
        updatedAt: initial,
        ...(acceptedIds ? { acceptedIds } : {}),
      }
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
  return { store, position: () => stored?.position, stored: () => stored };
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

// ---------------------------------------------------------------------------------------------------
// Not sending the overlap twice: the checkpoint remembers the Ids accepted in it
// ---------------------------------------------------------------------------------------------------

/** An event in the source: there from `arrivalMs` on (Graph's late arrival), at its own event time. */
interface SourceEvent {
  readonly id: string;
  readonly timeMs: number;
  readonly arrivalMs: number;
}

/**
 * A source that, like Graph, answers a window (both bounds inclusive) with the events of that event
 * time that have arrived by the run's clock, and identifies its rows by Id and event time.
 */
function arrivingCollector(
  events: readonly SourceEvent[],
  clock: () => number,
): WindowedCollector<'EntraAuditLogs_CL'> {
  return {
    name: 'test-audits',
    table: 'EntraAuditLogs_CL',
    identify: (row) =>
      row.Id && row.ActivityDateTime ? { id: row.Id, timeMs: Date.parse(row.ActivityDateTime) } : undefined,
    open: () =>
      Promise.resolve({
        scope: 'tenant-1',
        async *read(window: TimeWindow) {
          await Promise.resolve();
          for (const event of events) {
            if (event.timeMs < window.start.getTime() || event.timeMs > window.end.getTime()) continue;
            if (event.arrivalMs > clock()) continue;
            const iso = new Date(event.timeMs).toISOString();
            yield { TimeGenerated: iso, ActivityDateTime: iso, Id: event.id } as EntraAuditLogsRow;
          }
        },
      }),
  };
}

/** How many times the sink accepted each Id. */
function deliveries(...sinks: { rowsOf: ReturnType<typeof keepingSink>['rowsOf'] }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const sink of sinks) {
    for (const row of sink.rowsOf('EntraAuditLogs_CL'))
      counts.set(row.Id ?? '', (counts.get(row.Id ?? '') ?? 0) + 1);
  }
  return counts;
}

const quarterHour = 15 * minute;

/** Runs the collector every 15 min from `firstRun`, `count` times, into one sink; returns the run results. */
async function everyQuarterHour(options: {
  events: readonly SourceEvent[];
  checkpoints: CheckpointStore;
  sink: RecordSink;
  firstRun: number;
  count: number;
}) {
  let at = options.firstRun;
  const collector = arrivingCollector(options.events, () => at);
  const results = [];
  for (let k = 0; k < options.count; k++, at += quarterHour) {
    const runAt = new Date(at);
    results.push(
      await runWindowedCollector({
        collector,
        checkpoints: options.checkpoints,
        sink: options.sink,
        log: silentLogger,
        policy,
        batchSize: 25,
        now: () => runAt,
      }),
    );
  }
  return results;
}

/** An event every `stepMs` in [fromMs, toMs), each `delayMs(i)` late. */
function eventsEvery(stepMs: number, fromMs: number, toMs: number, delayMs: (i: number) => number) {
  const events: SourceEvent[] = [];
  for (let t = fromMs, i = 0; t < toMs; t += stepMs, i++) {
    events.push({ id: `e${i}-${t}`, timeMs: t, arrivalMs: t + delayMs(i) });
  }
  return events;
}

describe('the overlap is re-read, not re-sent', () => {
  const t0 = runTime.getTime();

  it('in a steady state of 15-min runs, every event is sent exactly once', async () => {
    // Every 20 s, 0–4 min late; the checkpoint exists (an earlier version wrote it, without Ids).
    const events = eventsEvery(
      20_000,
      t0 - 2 * 3_600_000,
      t0 + 4 * 3_600_000,
      (i) => ((i * 7919) % 240) * 1000,
    );
    const checkpoints = memoryCheckpoints(new Date(t0 - policy.lagMs));
    const memory = keepingSink();
    const results = await everyQuarterHour({
      events,
      checkpoints: checkpoints.store,
      sink: memory.sink,
      firstRun: t0,
      count: 12,
    });
    assert.ok(results.every((r) => r.status === 'Succeeded'));

    const sent = deliveries(memory);
    const last = results.at(-1)?.window?.end.getTime() ?? 0;
    const due = events.filter((e) => e.timeMs >= t0 - policy.lagMs - policy.overlapMs && e.timeMs <= last);
    const twice = [...sent].filter(([, count]) => count > 1);
    assert.deepEqual(twice, [], 'no event sent twice');
    assert.deepEqual(
      due.filter((e) => !sent.has(e.id)).map((e) => e.id),
      [],
      'no event lost',
    );
    const sentCount = memory.rowsOf('EntraAuditLogs_CL').length;
    assert.equal(sentCount, sent.size);
    // The remembered Ids are bounded by the overlap: 10 min of one event per 20 s, not the whole history.
    const { acceptedIds } = checkpoints.stored() ?? {};
    assert.ok(acceptedIds);
    const remembered = AcceptedIds.decode(acceptedIds);
    assert.ok(remembered.size > 0 && remembered.size <= 31, `${remembered.size} Ids remembered`);
  });

  it('events up to lag + overlap (25 min) late still arrive, once', async () => {
    // One event a minute, each exactly 25 min late, among punctual ones every 10 s.
    const late = eventsEvery(minute, t0, t0 + 2 * 3_600_000, () => 25 * minute).map((e) => ({
      ...e,
      id: `late-${e.id}`,
    }));
    const onTime = eventsEvery(10_000, t0 - 3_600_000, t0 + 3 * 3_600_000, () => 0);
    const checkpoints = memoryCheckpoints(new Date(t0 - policy.lagMs));
    const memory = keepingSink();
    await everyQuarterHour({
      events: [...late, ...onTime],
      checkpoints: checkpoints.store,
      sink: memory.sink,
      firstRun: t0,
      count: 14,
    });

    const sent = deliveries(memory);
    for (const event of late) assert.equal(sent.get(event.id), 1, `${event.id} (25 min late) sent once`);
    assert.deepEqual(
      [...sent].filter(([, count]) => count > 1),
      [],
      'no event sent twice',
    );
  });

  it('the remembered Ids stay where they are when the sink fails; the next run sends what was not accepted', async () => {
    const events = eventsEvery(10_000, t0 - 3_600_000, t0 + 3_600_000, () => 0);
    const checkpoints = memoryCheckpoints(new Date(t0 - policy.lagMs));
    const first = keepingSink();
    await everyQuarterHour({
      events,
      checkpoints: checkpoints.store,
      sink: first.sink,
      firstRun: t0,
      count: 1,
    });
    const before = checkpoints.stored();
    assert.ok(before?.acceptedIds && before.acceptedIds.length > 1, 'the first run remembered the overlap');

    const failing = memorySink(2); // two batches of 25 accepted, then ingestion fails
    await assert.rejects(
      everyQuarterHour({
        events,
        checkpoints: checkpoints.store,
        sink: failing.sink,
        firstRun: t0 + quarterHour,
        count: 1,
      }),
      /ingestion 503/,
    );
    assert.equal(failing.rowsOf('EntraAuditLogs_CL').length, 50, 'part of the slice was accepted');
    assert.deepEqual(checkpoints.stored(), before, 'position and remembered Ids unchanged');

    const third = keepingSink();
    const [result] = await everyQuarterHour({
      events,
      checkpoints: checkpoints.store,
      sink: third.sink,
      firstRun: t0 + quarterHour,
      count: 1,
    });
    const end = result?.window?.end.getTime() ?? 0;
    const all = deliveries(first, failing, third);
    const due = events.filter((e) => e.timeMs >= t0 - policy.lagMs - policy.overlapMs && e.timeMs <= end);
    assert.deepEqual(
      due.filter((e) => !all.has(e.id)).map((e) => e.id),
      [],
      'nothing lost',
    );
    const again = [...deliveries(third).keys()].filter((id) => deliveries(first).has(id));
    assert.deepEqual(again, [], 'what the first run delivered is not sent again');
  });

  it('a dry run (the store wrapped read-only) skips the remembered Ids and writes nothing', async () => {
    const events = eventsEvery(10_000, t0 - 3_600_000, t0 + 3_600_000, () => 0);
    const checkpoints = memoryCheckpoints(new Date(t0 - policy.lagMs));
    const first = keepingSink();
    await everyQuarterHour({
      events,
      checkpoints: checkpoints.store,
      sink: first.sink,
      firstRun: t0,
      count: 1,
    });
    const before = checkpoints.stored();
    assert.ok(before?.acceptedIds, 'the first run remembered the overlap');

    // What the composition root does for --dry-run: reads go through, writes go nowhere.
    const readOnly: CheckpointStore = { ...checkpoints.store, set: () => Promise.resolve() };
    const dry = keepingSink();
    await everyQuarterHour({
      events,
      checkpoints: readOnly,
      sink: dry.sink,
      firstRun: t0 + quarterHour,
      count: 1,
    });
    assert.ok(dry.rowsOf('EntraAuditLogs_CL').length > 0);
    const again = [...deliveries(dry).keys()].filter((id) => deliveries(first).has(id));
    assert.deepEqual(again, [], 'the state was read');
    assert.equal(checkpoints.stored(), before, 'and not written');
  });

  it('unreadable remembered Ids are a warning: everything re-read is sent, nothing lost', async () => {
    const events = eventsEvery(10_000, t0 - 3_600_000, t0 + 3_600_000, () => 0);
    const checkpoints = memoryCheckpoints(new Date(t0 - policy.lagMs), 0, new Uint8Array([1, 0, 0]));
    const memory = keepingSink();
    const [result] = await everyQuarterHour({
      events,
      checkpoints: checkpoints.store,
      sink: memory.sink,
      firstRun: t0,
      count: 1,
    });
    assert.match(result?.warnings.join('\n') ?? '', /accepted Ids cannot be read .*sent again/);
    const sent = deliveries(memory);
    for (const e of events.filter(
      (e) => e.timeMs >= t0 - policy.lagMs - policy.overlapMs && e.timeMs <= t0 - policy.lagMs,
    ))
      assert.ok(sent.has(e.id));
    assert.ok(checkpoints.stored()?.acceptedIds, 'and the run remembers its own');
  });

  it('a backfill (explicit window) sends everything and leaves the remembered Ids alone', async () => {
    const events = eventsEvery(10_000, t0 - 3_600_000, t0 + 3_600_000, () => 0);
    const checkpoints = memoryCheckpoints(new Date(t0 - policy.lagMs));
    await everyQuarterHour({
      events,
      checkpoints: checkpoints.store,
      sink: keepingSink().sink,
      firstRun: t0,
      count: 1,
    });
    const before = checkpoints.stored();
    assert.ok(before?.acceptedIds, 'the scheduled run remembered its overlap');
    const memory = keepingSink();
    const window = { start: new Date(t0 - 30 * minute), end: new Date(t0 - 15 * minute) };
    await runWindowedCollector({
      collector: arrivingCollector(events, () => t0),
      checkpoints: checkpoints.store,
      sink: memory.sink,
      log: silentLogger,
      policy,
      now: () => runTime,
      explicitWindow: window,
    });
    assert.equal(
      memory.rowsOf('EntraAuditLogs_CL').length,
      15 * 6 + 1,
      'every event of the window, bounds included',
    );
    assert.equal(checkpoints.stored(), before);
  });
});

// ---------------------------------------------------------------------------------------------------
// The deadline: slices that cannot be read in time are split; what is left goes to the next run
// ---------------------------------------------------------------------------------------------------

/**
 * Like Graph: a window's events newest first, `pageSize` a page, each page taking `pageMs` under the
 * read's signal, and the share of the window read told between pages. A `quiet` source swallows the
 * abort and just ends, as a careless source might.
 */
function pagedCollector(
  events: readonly SourceEvent[],
  options: {
    pageSize: number;
    /** Each page's time, or a function of the page's number in the run (0 first), as a rate limiter gives. */
    pageMs: number | ((pageOfRun: number) => number);
    reads: TimeWindow[];
    quiet?: boolean;
  },
): WindowedCollector<'EntraAuditLogs_CL'> {
  const arriving = arrivingCollector(events, () => Infinity);
  const { pageMs } = options;
  return {
    name: arriving.name,
    table: arriving.table,
    identify: (row) => arriving.identify?.(row),
    open: () => {
      let pagesOfRun = 0;
      const nextPageMs = () => (typeof pageMs === 'number' ? pageMs : pageMs(pagesOfRun++));
      return Promise.resolve({
        scope: 'tenant-1',
        async *read(window: TimeWindow, read?: WindowReadOptions) {
          options.reads.push(window);
          const [start, end] = [window.start.getTime(), window.end.getTime()];
          const matching = events
            .filter((e) => e.timeMs >= start && e.timeMs <= end)
            .sort((a, b) => b.timeMs - a.timeMs);
          for (let i = 0; i < matching.length; i += options.pageSize) {
            try {
              await sleep(nextPageMs(), undefined, { signal: read?.signal });
            } catch (error) {
              if (options.quiet) return;
              throw error;
            }
            const page = matching.slice(i, i + options.pageSize);
            for (const e of page) {
              const iso = new Date(e.timeMs).toISOString();
              yield { TimeGenerated: iso, ActivityDateTime: iso, Id: e.id } as EntraAuditLogsRow;
            }
            const oldest = page.at(-1)?.timeMs ?? end;
            if (i + options.pageSize < matching.length) read?.onProgress?.((end - oldest) / (end - start));
          }
        },
      });
    },
  };
}

describe('the run deadline', () => {
  const t0 = runTime.getTime();
  // Six hours of backlog in one slice: 2,160 events, 44 pages of 40 ms. A run of 1 s reads for 0.7 s
  // (budgetPhases): the backlog takes at least three runs.
  const deadlinePolicy: WindowPolicy = { ...policy, sliceMs: 6 * 60 * minute, budgetMs: 1_000 };
  const backlog = eventsEvery(10_000, t0 - 6 * 3_600_000, t0 - policy.lagMs, () => 0);

  /** Runs until one succeeds (at most `maxRuns`), each into its own sink; each must end within its budget. */
  async function runUntilDone(
    collector: WindowedCollector<'EntraAuditLogs_CL'>,
    maxRuns = 12,
    runPolicy: WindowPolicy = deadlinePolicy,
  ) {
    const checkpoints = memoryCheckpoints();
    const runs = [];
    for (let k = 0; k < maxRuns; k += 1) {
      const memory = keepingSink();
      const started = Date.now();
      const result = await runWindowedCollector({
        collector,
        checkpoints: checkpoints.store,
        sink: memory.sink,
        log: silentLogger,
        policy: runPolicy,
        batchSize: 25,
        now: () => runTime,
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed < runPolicy.budgetMs + 1_000, `run ${k} took ${elapsed} ms`);
      runs.push({ result, memory, position: checkpoints.position() });
      if (result.status === 'Succeeded') break;
    }
    return { runs, checkpoints };
  }

  it('splits a slice that cannot be read in time, commits the parts, and the next runs work the backlog off', async () => {
    const reads: TimeWindow[] = [];
    const { runs } = await runUntilDone(pagedCollector(backlog, { pageSize: 50, pageMs: 40, reads }));

    const [first] = runs;
    assert.equal(first?.result.status, 'PartiallySucceeded', 'the first run ran out of time');
    assert.match(
      first?.result.warnings.join('\n') ?? '',
      /time budget of 1 s \(RUN_TIME_BUDGET_MINUTES.*\) ran out with .* of events left to read .*the next run resumes from the checkpoint/,
    );
    const [whole, part] = reads;
    const length = (w?: TimeWindow) => (w ? w.end.getTime() - w.start.getTime() : 0);
    assert.equal(length(whole), 6 * 3_600_000 - policy.lagMs, 'the whole backlog was tried as one slice');
    assert.ok(length(part) <= length(whole) / 2, 'then read in smaller slices');
    const runRow = first?.memory.rowsOf('CollectorRuns_CL')[0];
    assert.equal(runRow?.Status, 'PartiallySucceeded');
    assert.match(runRow?.Warnings ?? '', /left to read/);

    assert.ok(runs.length >= 3, `the backlog took ${runs.length} runs`);
    assert.equal(runs.at(-1)?.result.status, 'Succeeded', 'worked off');
    for (let k = 0; k < runs.length; k += 1) {
      const before = k === 0 ? t0 - 6 * 3_600_000 : (runs[k - 1]?.position?.getTime() ?? 0);
      assert.ok((runs[k]?.position?.getTime() ?? 0) > before, `run ${k} moved the checkpoint`);
      const ids = runs[k]?.memory.rowsOf('EntraAuditLogs_CL').map((r) => r.Id) ?? [];
      assert.equal(new Set(ids).size, ids.length, `run ${k} sent nothing twice`);
    }
    const sent = deliveries(...runs.map((r) => r.memory));
    assert.deepEqual(
      backlog.filter((e) => !sent.has(e.id)).map((e) => e.id),
      [],
      'no event lost',
    );
    // What the sink accepted of slices not committed is remembered with the checkpoint, not sent again.
    const extra = [...sent.values()].reduce((sum, n) => sum + n - 1, 0);
    assert.ok(extra <= backlog.length * 0.02, `${extra} duplicates`);
  });

  it('splits in time when the first page comes free and the rest at a paced rate: the run moves the checkpoint', async () => {
    // A 5 s run reads for 4.25 s. The slice's 12 pages: the first at once (a rate limiter's first
    // request), then 390 ms each: 4.29 s in all. At the average pace it looks to fit until its end (after
    // page 11 of 12: 4.19 s projected), so the run would end with 11/12 read and nothing of the slice
    // committed, and every run alike. At the pace since the first page, with one page in reserve, it does
    // not fit after page 2: split, and the older parts read and committed in the time left.
    const reads: TimeWindow[] = [];
    const collector = pagedCollector(backlog, {
      pageSize: 175,
      pageMs: (page) => (page < 1 ? 0 : 390),
      reads,
    });
    const { runs } = await runUntilDone(collector, 1, { ...deadlinePolicy, budgetMs: 5_000 });
    const [run] = runs;
    assert.equal(run?.result.status, 'PartiallySucceeded');
    const [whole, part] = reads;
    const length = (w?: TimeWindow) => (w ? w.end.getTime() - w.start.getTime() : 0);
    assert.ok(length(part) > 0 && length(part) < length(whole), 'the slice was split');
    assert.ok((run?.position?.getTime() ?? 0) > t0 - 6 * 3_600_000, 'the run committed part of the backlog');
  });

  it('never commits a slice whose source stopped quietly at the deadline', async () => {
    const reads: TimeWindow[] = [];
    const { runs } = await runUntilDone(
      pagedCollector(backlog, { pageSize: 50, pageMs: 40, reads, quiet: true }),
      2,
    );
    assert.equal(runs[0]?.result.status, 'PartiallySucceeded');
    const sent = new Set<string>();
    for (const [k, run] of runs.entries()) {
      for (const row of run.memory.rowsOf('EntraAuditLogs_CL')) sent.add(row.Id ?? '');
      const position = run.position?.getTime() ?? 0;
      const missing = backlog.filter((e) => e.timeMs < position && !sent.has(e.id));
      assert.deepEqual(
        missing.map((e) => e.id),
        [],
        `run ${k}: the checkpoint is not past undelivered events`,
      );
    }
    assert.ok((runs[1]?.position?.getTime() ?? 0) > (runs[0]?.position?.getTime() ?? 0), 'and it moves');
  });
});
