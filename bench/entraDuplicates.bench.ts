// Duplicates and losses of Entra collection in steady state: a simulated day of 15-minute runs with the
// default lag and overlap, events arriving late as Graph's do, today's behaviour (every re-read row sent
// again) beside the checkpoint remembering the Ids accepted in the overlap.
//
// In process, on a simulated clock: the runs are the real runWindowedCollector with the real checkpoint
// file store, the real sign-in mapping and the real Entra `identify`; only Graph is simulated, answering
// what the collector asks the way the API does — `createdDateTime ge start and le end` (both inclusive),
// only the events that have arrived by the run's time, pages of 1,000 newest first. The HTTPS emulator
// would add nothing to the windowing under test, and its clock is the machine's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/lib/logger.js';
import { runWindowedCollector } from '../src/run/runWindowedCollector.js';
import type { WindowPolicy, WindowedCollector } from '../src/run/windowedCollector.js';
import type { RecordSink } from '../src/sinks/sink.js';
import { signInIdentity } from '../src/sources/entra/auditLogCollectors.js';
import { toSignInRow } from '../src/sources/entra/rows.js';
import { AcceptedIds } from '../src/state/acceptedIds.js';
import { fileCheckpointStore } from '../src/state/fileCheckpointStore.js';
import { randomFrom } from '../test/support/seedAccount.js';

export interface DuplicatesBenchOptions {
  /** Length of the measured span: its events, and the runs scheduled in it. */
  readonly hours: number;
  readonly eventsPerDay: number;
  readonly seed: number;
}

export interface DuplicatesBenchRun {
  /** Runs scheduled in the measured span. */
  readonly runs: number;
  /** Graph requests (pages) of those runs. */
  readonly graphRequests: number;
  /** Rows of the measured span's events the sink accepted: what ingestion bills. */
  readonly recordsSent: number;
  /** Of those, how many were an event sent before. */
  readonly duplicates: number;
  /** duplicates / recordsSent. */
  readonly duplicateFraction: number;
  /** Events Graph had, no more than the default lag + overlap (25 min) late, never delivered: must be 0. */
  readonly lostWithinGuarantee: number;
  /** Events later than that never delivered (may be lost by definition). */
  readonly lostBeyondGuarantee: number;
  /** Largest remembered-Ids state written with a checkpoint, bytes and Ids. */
  readonly stateBytesMax: number;
  readonly stateIdsMax: number;
  readonly wallMs: number;
}

export interface DuplicatesBenchResult {
  readonly hours: number;
  readonly eventsPerDay: number;
  /** Events whose event time is in the measured span. */
  readonly events: number;
  readonly policy: {
    readonly scheduleMinutes: number;
    readonly lagMinutes: number;
    readonly overlapMinutes: number;
  };
  readonly delays: {
    readonly under5MinFraction: number;
    readonly beyondGuaranteeFraction: number;
    readonly medianMinutes: number;
    readonly p99Minutes: number;
    readonly maxMinutes: number;
  };
  /** Every re-read row sent again (the collector without `identify`). */
  readonly today: DuplicatesBenchRun;
  /** The Ids accepted in the overlap remembered with the checkpoint and skipped when re-read. */
  readonly remembered: DuplicatesBenchRun;
  /** The same with a 2-hour overlap: what remembering makes affordable (not the default). */
  readonly rememberedLongOverlap: DuplicatesBenchRun & { readonly overlapMinutes: number };
}

const minute = 60_000;
const hour = 60 * minute;
/** The app's defaults: ENTRA_SIGNINS_SCHEDULE every 15 min, ENTRA_LAG_MINUTES 15, ENTRA_OVERLAP_MINUTES 10. */
const scheduleMs = 15 * minute;
const policy: WindowPolicy = {
  overlapMs: 10 * minute,
  lagMs: 15 * minute,
  initialLookbackMs: 24 * hour,
  sliceMs: 60 * minute,
  budgetMs: 20 * minute,
  retentionMs: 30 * 24 * hour,
};
const guaranteeMs = policy.lagMs + policy.overlapMs;
/** Before the measured span: runs that bring the state to steady state. After it: runs that give its
 *  last events every chance a real deployment would (the tail of delays is 2 h). */
const warmUpMs = 3 * hour;
const coolDownMs = 3 * hour;
const pageSize = 1000;

interface SimulatedEvent {
  readonly id: string;
  readonly timeMs: number;
  readonly delayMs: number;
}

export async function benchEntraDuplicates(options: DuplicatesBenchOptions): Promise<DuplicatesBenchResult> {
  const t0 = Date.UTC(2026, 10, 23); // a quarter-hour boundary, like the timer's
  const spanMs = options.hours * hour;
  const events = simulatedEvents(t0 - warmUpMs - hour, t0 + spanMs + coolDownMs, options);
  const measured = (e: { timeMs: number }) => e.timeMs >= t0 && e.timeMs < t0 + spanMs;

  const run = async (remember: boolean, overlapMs = policy.overlapMs): Promise<DuplicatesBenchRun> => {
    const started = performance.now();
    const dir = await mkdtemp(join(tmpdir(), 'entra-duplicates-'));
    try {
      const checkpoints = fileCheckpointStore(join(dir, 'checkpoints.json'));
      const delivered = new Map<string, number>();
      const sink: RecordSink = {
        description: 'counting',
        send(_table, rows) {
          for (const row of rows as readonly { Id: string | null }[]) {
            const id = row.Id ?? '';
            delivered.set(id, (delivered.get(id) ?? 0) + 1);
          }
          return Promise.resolve();
        },
      };
      let clock = 0;
      let requests = 0;
      const collector = simulatedGraphCollector(
        events,
        () => clock,
        remember,
        () => (requests += 1),
      );
      // Steady state before the span: a checkpoint from earlier runs (which remembered no Ids yet).
      const first = t0 - warmUpMs;
      await checkpoints.set({
        collector: collector.name,
        scope: 'tenant',
        position: new Date(first - scheduleMs - policy.lagMs),
        runId: 'earlier',
        updatedAt: new Date(first - scheduleMs),
      });
      let runs = 0;
      let graphRequests = 0;
      let stateBytesMax = 0;
      let stateIdsMax = 0;
      for (clock = first; clock < t0 + spanMs + coolDownMs; clock += scheduleMs) {
        const inSpan = clock >= t0 && clock < t0 + spanMs;
        const before = requests;
        const runAt = new Date(clock);
        await runWindowedCollector({
          collector,
          checkpoints,
          sink,
          log: silentLogger,
          policy: { ...policy, overlapMs },
          now: () => runAt,
        });
        const state = (await checkpoints.get(collector.name, 'tenant'))?.acceptedIds;
        if (inSpan) {
          runs += 1;
          graphRequests += requests - before;
          stateBytesMax = Math.max(stateBytesMax, state?.length ?? 0);
          stateIdsMax = Math.max(stateIdsMax, state ? AcceptedIds.decode(state).size : 0);
        }
      }

      let recordsSent = 0;
      let duplicates = 0;
      let lostWithinGuarantee = 0;
      let lostBeyondGuarantee = 0;
      for (const event of events) {
        if (!measured(event)) continue;
        const times = delivered.get(event.id) ?? 0;
        recordsSent += times;
        duplicates += Math.max(0, times - 1);
        if (times === 0) {
          if (event.delayMs <= guaranteeMs) lostWithinGuarantee += 1;
          else lostBeyondGuarantee += 1;
        }
      }
      return {
        runs,
        graphRequests,
        recordsSent,
        duplicates,
        duplicateFraction: recordsSent === 0 ? 0 : duplicates / recordsSent,
        lostWithinGuarantee,
        lostBeyondGuarantee,
        stateBytesMax,
        stateIdsMax,
        wallMs: performance.now() - started,
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  const today = await run(false);
  const remembered = await run(true);
  const longOverlapMs = 2 * hour;
  const rememberedLongOverlap = {
    ...(await run(true, longOverlapMs)),
    overlapMinutes: longOverlapMs / minute,
  };
  const delays = events
    .filter(measured)
    .map((e) => e.delayMs)
    .sort((a, b) => a - b);
  const at = (q: number) =>
    (delays[Math.min(delays.length - 1, Math.floor(q * delays.length))] ?? 0) / minute;
  return {
    hours: options.hours,
    eventsPerDay: options.eventsPerDay,
    events: delays.length,
    policy: {
      scheduleMinutes: scheduleMs / minute,
      lagMinutes: policy.lagMs / minute,
      overlapMinutes: policy.overlapMs / minute,
    },
    delays: {
      under5MinFraction: delays.filter((d) => d < 5 * minute).length / delays.length,
      beyondGuaranteeFraction: delays.filter((d) => d > guaranteeMs).length / delays.length,
      medianMinutes: at(0.5),
      p99Minutes: at(0.99),
      maxMinutes: (delays.at(-1) ?? 0) / minute,
    },
    today,
    remembered,
    rememberedLongOverlap,
  };
}

/**
 * Sign-ins at random times (a Poisson process at the day's rate), each late by a draw from a mixture:
 * 90 % log-normal around 1.5 min (Graph's usual few minutes), 8 % uniform 5–25 min (slow pipelines),
 * 2 % log-uniform 25 min–2 h (MFA details and backlogs: the tail that lag + overlap does not cover).
 */
function simulatedEvents(fromMs: number, toMs: number, options: DuplicatesBenchOptions): SimulatedEvent[] {
  const random = randomFrom(options.seed);
  const meanGapMs = (24 * hour) / options.eventsPerDay;
  const events: SimulatedEvent[] = [];
  for (let t = fromMs, i = 0; ; i++) {
    t += Math.floor(-Math.log(1 - random()) * meanGapMs);
    if (t >= toMs) break;
    const pick = random();
    let delayMs: number;
    if (pick < 0.9) {
      const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
      delayMs = 1.5 * minute * Math.exp(0.6 * normal);
    } else if (pick < 0.98) delayMs = 5 * minute + random() * 20 * minute;
    else delayMs = guaranteeMs * Math.exp(random() * Math.log((2 * hour) / guaranteeMs));
    events.push({ id: uuidLike(i, random), timeMs: t, delayMs: Math.round(delayMs) });
  }
  return events;
}

/**
 * Graph's /auditLogs/signIns as the collector queries it: the window's events (both bounds inclusive)
 * that have arrived by now, newest first, in pages of 1,000 — one request each, one for an empty answer.
 */
function simulatedGraphCollector(
  events: readonly SimulatedEvent[],
  now: () => number,
  remember: boolean,
  request: () => void,
): WindowedCollector<'EntraSignIns_CL'> {
  return {
    name: 'entra-signins',
    table: 'EntraSignIns_CL',
    ...(remember ? { identify: signInIdentity } : {}),
    open: (context) =>
      Promise.resolve({
        scope: 'tenant',
        async *read(window) {
          const mapping = {
            tenantId: 'tenant',
            collectedAt: context.startTime,
            defaultEventType: 'interactiveUser' as const,
          };
          const matching: SimulatedEvent[] = [];
          for (let i = lowerBound(events, window.start.getTime()); i < events.length; i++) {
            const event = events[i];
            if (event === undefined || event.timeMs > window.end.getTime()) break;
            if (event.timeMs + event.delayMs <= now()) matching.push(event);
          }
          matching.reverse();
          for (let page = 0; page === 0 || page * pageSize < matching.length; page++) {
            request();
            context.stats.apiCalls += 1;
            await Promise.resolve();
            for (const event of matching.slice(page * pageSize, (page + 1) * pageSize)) {
              yield toSignInRow(
                { id: event.id, createdDateTime: new Date(event.timeMs).toISOString() },
                mapping,
              );
            }
          }
        },
      }),
  };
}

/** First index whose event time is at or after `timeMs` (events are in time order). */
function lowerBound(events: readonly SimulatedEvent[], timeMs: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((events[mid]?.timeMs ?? Infinity) < timeMs) low = mid + 1;
    else high = mid;
  }
  return low;
}

function uuidLike(i: number, random: () => number): string {
  const hex = (n: number) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${i.toString(16).padStart(8, '0')}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
}
