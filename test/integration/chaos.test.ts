// Seeded chaos: the collectors run again and again while every peer misbehaves, and whatever fails,
// the security data arrives — all of it. Every random choice comes from randomFrom(seed), so a seed
// replays the same source, the same run times and the same fault plan (CHAOS_SEEDS=7,104 runs only
// those seeds; CHAOS_VERBOSE=1 prints one line per run). Timing may still decide whether a fault that
// races two uploads in flight outlasts the SDK's retries; the assertions hold either way.
//
// Entra: per seed a Graph emulator with a few hundred events over a few hours (virtual time: each run
// sees a frozen clock at its own instant, so windows and slice bounds are exact), the real collector,
// the real Logs Ingestion sink and a real checkpoint store (Azurite table or file). Faults are armed per
// slice — slice 0 before the run, slice j+1 when slice j commits its checkpoint — so a seed's fault
// lands on the same slice every time. Then one clean run. Per seed: nothing lost, nothing invented, the
// checkpoint never ahead of unaccepted data, every failure loud, and every delivery accounted for by a
// window some run read: an event is delivered at least as often as successful runs' windows (both
// bounds inclusive) contain it, and at most that plus the windows of runs that failed.
//
// AWS: per seed a moto account of a few hundred users, runs of the configured aws-access-keys
// collector while the AWS proxy answers Throttling / 500 / 503 and ingestion fails, then a clean run.
// Every run either delivers the complete snapshot or fails loudly. (One Throttling answer costs a run
// seconds: the SDK's adaptive mode then rate-limits the client, starting from its measured send rate.)
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { azureCredentialFor } from '../../src/config/azureCredential.js';
import { loadSettings } from '../../src/config/settings.js';
import { readEntraSignInsSettings } from '../../src/sources/entra/settings.js';
import { runConfiguredCollector } from '../../src/app/configuredRun.js';
import type { Logger } from '../../src/lib/logger.js';
import { maskAccessKeyId } from '../../src/lib/redact.js';
import { CollectorRunError, type RunResult, type TimeWindow } from '../../src/run/runCollector.js';
import { runWindowedCollector } from '../../src/run/runWindowedCollector.js';
import { scopesOf, type WindowedCollector } from '../../src/run/windowedCollector.js';
import { logsIngestionSink } from '../../src/sinks/logsIngestionSink.js';
import type { RecordSink, SendOptions } from '../../src/sinks/sink.js';
import { entraAuditsCollector, entraSignInsCollector } from '../../src/sources/entra/auditLogCollectors.js';
import type { CheckpointStore } from '../../src/state/checkpointStore.js';
import { fileCheckpointStore } from '../../src/state/fileCheckpointStore.js';
import { createTableCheckpointStore } from '../../src/state/tableCheckpointStore.js';
import type {
  AWSIAMAccessKeysRow,
  CollectorRunsRow,
  TableName,
  TableRows,
} from '../../src/tables/generated.js';
import { startAzurite, type AzuriteTables } from '../emulators/azurite.js';
import {
  SIGN_IN_EVENT_TYPES,
  startGraphEmulator,
  type GraphEmulator,
  type GraphEventKind,
  type SignInEventType,
} from '../emulators/graph.js';
import { collectorRoleArn, startLocalCloud, tenantId, type LocalCloud } from '../support/localCloud.js';
import { expectedKeys, randomFrom, realisticAccount } from '../support/seedAccount.js';
import { pacingWindowForTests } from '../support/pacing.js';

const timeScale = 100; // Graph's 10 s throttle window lasts 100 ms here
const minuteMs = 60_000;
const hourMs = 3_600_000;
const dayMs = 86_400_000;
const ticksPerMs = 10_000; // Graph times have 100 ns precision
/** Small SDK retry counts: a fault repeated `attempts` times outlasts the retries and fails the run. */
const retry = { maxRetries: 2, retryDelayInMs: 5, maxRetryDelayInMs: 20 };
const attempts = retry.maxRetries + 1;
const retryAfters = [0.005, 0.01, 0.025, 0.04, 0.075] as const; // fractional Retry-After, seconds
const collectorRoleName = collectorRoleArn.slice(collectorRoleArn.lastIndexOf('/') + 1);

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);
const onlySeeds = new Set(
  (process.env['CHAOS_SEEDS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number),
);
const chosen = (seeds: number[]): number[] =>
  onlySeeds.size === 0 ? seeds : seeds.filter((seed) => onlySeeds.has(seed));
const signInSeeds = chosen(range(1, 25));
const auditSeeds = chosen(range(101, 125));
const awsSeeds = chosen(range(201, 210));
/** CHAOS_VERBOSE=1: one line per run. */
const verbose = Boolean(process.env['CHAOS_VERBOSE']);

// ---------------------------------------------------------------------------------------------------
// Figures, printed at the end for the humans reading the test output
// ---------------------------------------------------------------------------------------------------

interface Figures {
  sequences: number;
  /** Sequences in which every run succeeded (faults, if any, were retried away). */
  cleanSequences: number;
  runs: number;
  failed: number;
  /** Distinct records the sources hold / the snapshots must hold. */
  records: number;
  delivered: number;
  lost: number;
  duplicates: number;
  /** Re-deliveries of events on an inclusive window bound, read by two successful slices or runs. */
  boundaryDuplicates: number;
  /** Re-deliveries of events in ENTRA_OVERLAP_MINUTES, re-read by the next successful run. */
  overlapDuplicates: number;
  /** Re-deliveries of what a failed or crashed run had already uploaded. */
  failureDuplicates: number;
  /** Records a failed run uploaded before it failed (AWS: rows of its partial snapshot). */
  partial: number;
  /** Events older than the first window any run started reading: no run ever owed them. */
  beforeOrigin: number;
  faults: Map<string, number>;
  ms: number;
}

const newFigures = (): Figures => ({
  sequences: 0,
  cleanSequences: 0,
  runs: 0,
  failed: 0,
  records: 0,
  delivered: 0,
  lost: 0,
  duplicates: 0,
  boundaryDuplicates: 0,
  overlapDuplicates: 0,
  failureDuplicates: 0,
  partial: 0,
  beforeOrigin: 0,
  faults: new Map(),
  ms: 0,
});
const figures = {
  'entra-signins': newFigures(),
  'entra-audits': newFigures(),
  'aws-access-keys': newFigures(),
};
const count = (f: Figures, fault: string, n = 1): void => {
  if (n > 0) f.faults.set(fault, (f.faults.get(fault) ?? 0) + n);
};

function printFigures(): void {
  const lines = ['', 'chaos figures (seeded; CHAOS_SEEDS=<seed,...> replays seeds)'];
  const total = newFigures();
  for (const [name, f] of Object.entries(figures)) {
    if (f.sequences === 0) continue;
    const pad = ''.padEnd(16);
    lines.push(
      `  ${name.padEnd(16)} ${f.sequences} sequences (${f.cleanSequences} without a failed run), ` +
        `${f.runs} runs, ${f.failed} failed loudly (rejected, run row Failed); ${(f.ms / 1000).toFixed(1)} s`,
      `  ${pad} records: ${f.records} owed, ${f.delivered} delivered, ${f.lost} LOST` +
        (f.beforeOrigin > 0 ? `, ${f.beforeOrigin} older than any window a run started (not owed)` : ''),
      `  ${pad} duplicates: ${f.duplicates} = ${f.boundaryDuplicates} on inclusive window bounds + ` +
        `${f.overlapDuplicates} re-read in overlaps + ${f.failureDuplicates} after failed runs ` +
        `(which had uploaded ${f.partial} records before failing)`,
    );
    lines.push(
      `  ${''.padEnd(16)} faults: ${
        [...f.faults.entries()]
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'none'
      }`,
    );
    for (const key of [
      'sequences',
      'cleanSequences',
      'runs',
      'failed',
      'records',
      'delivered',
      'lost',
      'duplicates',
      'boundaryDuplicates',
      'overlapDuplicates',
      'failureDuplicates',
      'partial',
      'beforeOrigin',
      'ms',
    ] as const)
      total[key] += f[key];
    for (const [k, v] of f.faults) count(total, k, v);
  }
  const faultTotal = [...total.faults.values()].reduce((a, b) => a + b, 0);
  lines.push(
    `  ${'total'.padEnd(16)} ${total.sequences} sequences, ${total.runs} runs, ${total.failed} failed, ` +
      `${faultTotal} faults injected, ${total.lost} records lost, ${total.duplicates} duplicates, ` +
      `${(total.ms / 1000).toFixed(1)} s`,
  );
  console.log(lines.join('\n'));
}

// ---------------------------------------------------------------------------------------------------
// The local cloud
// ---------------------------------------------------------------------------------------------------

let cloud: LocalCloud;
let azurite: AzuriteTables;
let tempDir: string;
let logLines: string[] = [];
const log: Logger = {
  info: (m) => logLines.push(m),
  warn: (m) => logLines.push(`WARN ${m}`),
  error: (m) => logLines.push(`ERROR ${m}`),
};

beforeAll(async () => {
  cloud = await startLocalCloud();
  azurite = await startAzurite();
  tempDir = await mkdtemp(path.join(os.tmpdir(), 'cim-chaos-'));
  Object.assign(process.env, cloud.env, {
    AzureWebJobsStorage: azurite.connectionString,
    GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(timeScale)),
    ENTRA_LAG_MINUTES: '0',
    AWS_CONCURRENCY: '16',
  });
});

afterAll(async () => {
  printFigures();
  await azurite?.stop();
  await cloud?.stop();
  if (tempDir) await rm(tempDir, { recursive: true, force: true });
});

function runRow(runId: string): CollectorRunsRow | undefined {
  return (cloud.ingestion.accepted('CollectorRuns_CL') as unknown as CollectorRunsRow[]).find(
    (row) => row.RunId === runId,
  );
}

/** The failure must be loud: a rejection carrying the run, and a run row that says Failed. */
function assertLoudFailure(error: unknown, label: string): CollectorRunError {
  assert.ok(error instanceof CollectorRunError, `${label}: rejected with ${String(error)}`);
  const row = runRow(error.runId);
  assert.ok(row, `${label}: the failed run ${error.runId} wrote no run row`);
  assert.equal(row.Status, 'Failed', `${label}: run row status`);
  assert.ok(row.Error, `${label}: the Failed run row says why`);
  return error;
}

/** Rows go through the real sink; before the run row is written, faults left unconsumed are cleared. */
function faultFreeRunRows(inner: RecordSink): RecordSink {
  return {
    description: inner.description,
    send<Table extends TableName>(
      table: Table,
      rows: readonly TableRows[Table][],
      options?: SendOptions,
    ): Promise<void> {
      if (table === 'CollectorRuns_CL') cloud.ingestion.clearFaults();
      return inner.send(table, rows, options);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Entra: plans
// ---------------------------------------------------------------------------------------------------

type GraphFaultPlan =
  | { readonly kind: 'graph 429' | 'graph 503'; readonly times: number; readonly retryAfter?: number }
  | { readonly kind: 'graph 500' | 'graph dropped'; readonly times: number }
  | { readonly kind: 'graph slow'; readonly times: number; readonly ms: number };
type IngestionFaultPlan =
  | {
      readonly kind: 'ingestion 429' | 'ingestion 500' | 'ingestion 503';
      readonly times: number;
      readonly retryAfter: number;
    }
  | { readonly kind: 'ingestion dropped'; readonly times: number };
interface SlicePlan {
  readonly graph?: GraphFaultPlan;
  readonly ingestion?: IngestionFaultPlan;
}
interface EntraRunPlan {
  readonly slices: readonly SlicePlan[];
  /** The checkpoint store "crashes" on this slice's commit, before or after writing it. */
  readonly crash?: { readonly atSlice: number; readonly afterCommit: boolean };
  readonly batchSize: number;
  readonly maxInFlight: number;
}

type Random = () => number;
const intFrom = (rnd: Random, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1));
const pickFrom = <T>(rnd: Random, items: readonly T[]): T => items[Math.floor(rnd() * items.length)] as T;

/** Harsh plans repeat some faults beyond the SDK's retries and crash some runs; calm ones never do. */
function drawEntraRunPlan(rnd: Random, harsh: boolean): EntraRunPlan {
  const times = (): number => (harsh && rnd() < 0.25 ? attempts : intFrom(rnd, 1, attempts - 1));
  const slices = Array.from({ length: 64 }, (): SlicePlan => {
    const g = rnd();
    const graph: GraphFaultPlan | undefined =
      g < 0.5
        ? undefined
        : g < 0.62
          ? { kind: 'graph 429', times: times(), retryAfter: pickFrom(rnd, retryAfters) }
          : g < 0.71
            ? { kind: 'graph 500', times: times() }
            : g < 0.8
              ? {
                  kind: 'graph 503',
                  times: times(),
                  retryAfter: rnd() < 0.5 ? pickFrom(rnd, retryAfters) : undefined,
                }
              : g < 0.9
                ? { kind: 'graph dropped', times: times() }
                : { kind: 'graph slow', times: intFrom(rnd, 1, 2), ms: intFrom(rnd, 20, 150) };
    const i = rnd();
    const ingestion: IngestionFaultPlan | undefined =
      i < 0.55
        ? undefined
        : i < 0.67
          ? { kind: 'ingestion 429', times: times(), retryAfter: pickFrom(rnd, retryAfters) }
          : i < 0.78
            ? { kind: 'ingestion 500', times: times(), retryAfter: 0 }
            : i < 0.89
              ? { kind: 'ingestion 503', times: times(), retryAfter: pickFrom(rnd, retryAfters) }
              : { kind: 'ingestion dropped', times: times() };
    return { graph, ingestion };
  });
  const crash = harsh && rnd() < 0.35 ? { atSlice: intFrom(rnd, 0, 5), afterCommit: rnd() < 0.5 } : undefined;
  return {
    slices,
    crash,
    batchSize: pickFrom(rnd, [20, 50, 100, 2000]),
    maxInFlight: pickFrom(rnd, [1, 2, 2]),
  };
}

function armSlice(graph: GraphEmulator, plan: SlicePlan | undefined, stream: string): void {
  graph.clearFaults();
  cloud.ingestion.clearFaults();
  const g = plan?.graph;
  if (g?.kind === 'graph 429' || g?.kind === 'graph 503') {
    graph.failNext({
      status: g.kind === 'graph 429' ? 429 : 503,
      times: g.times,
      retryAfterSeconds: g.retryAfter,
    });
  } else if (g?.kind === 'graph 500') {
    graph.failNext({ status: 500, times: g.times });
  } else if (g?.kind === 'graph dropped') {
    graph.dropNextConnection(g.times);
  } else if (g?.kind === 'graph slow') {
    graph.delayNext(g.ms, g.times);
  }
  const i = plan?.ingestion;
  if (i?.kind === 'ingestion dropped') {
    cloud.ingestion.dropNextConnection(i.times);
  } else if (i) {
    const status = i.kind === 'ingestion 429' ? 429 : i.kind === 'ingestion 500' ? 500 : 503;
    cloud.ingestion.failNext({ status, times: i.times, retryAfterSeconds: i.retryAfter, stream });
  }
}

/**
 * The real checkpoint store, except that its commits arm the next slice's faults — and that on the
 * planned slice the process "dies" just before or just after writing the checkpoint.
 */
function chaosCheckpoints(
  inner: CheckpointStore,
  plan: EntraRunPlan,
  onCommitted: (slice: number) => void,
  onCrash: (afterCommit: boolean) => void,
): CheckpointStore {
  let slice = 0;
  return {
    description: `${inner.description} (chaos)`,
    get: (collector, scope) => inner.get(collector, scope),
    list: (collector) => inner.list(collector),
    async set(checkpoint) {
      const current = slice++;
      if (plan.crash?.atSlice === current) {
        if (plan.crash.afterCommit) await inner.set(checkpoint);
        onCrash(plan.crash.afterCommit);
        throw new Error(
          `chaos: the process died ${plan.crash.afterCommit ? 'right after' : 'just before'} committing slice ${current}`,
        );
      }
      await inner.set(checkpoint);
      onCommitted(current);
    },
  };
}

/** The real collector, recording which windows it was asked to read. */
function recording<Table extends 'EntraSignIns_CL' | 'EntraAuditLogs_CL'>(
  collector: WindowedCollector<Table>,
  reads: TimeWindow[],
): WindowedCollector<Table> {
  return {
    name: collector.name,
    table: collector.table,
    // The real collector's identity: the runner skips what the workspace already accepted.
    ...(collector.identify && { identify: collector.identify.bind(collector) }),
    async scopes(context) {
      return (await scopesOf(collector, context)).map((scope) => ({
        label: scope.label,
        async open() {
          const source = await scope.open();
          return {
            scope: source.scope,
            read(window) {
              reads.push(window);
              return source.read(window);
            },
          };
        },
      }));
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Entra: one seeded sequence
// ---------------------------------------------------------------------------------------------------

/** Event time as 100 ns ticks after `anchorMs` (Graph's precision; sign-ins are whole seconds). */
function ticksOf(iso: string, anchorMs: number): number {
  const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,7}))?Z$/.exec(iso);
  assert.ok(match?.[1], `unexpected event time ${iso}`);
  return (Date.parse(`${match[1]}Z`) - anchorMs) * ticksPerMs + Number((match[2] ?? '').padEnd(7, '0'));
}

interface RunRecord {
  readonly at: number;
  readonly succeeded: boolean;
  readonly reads: TimeWindow[];
}

async function entraSequence(kind: GraphEventKind, seed: number): Promise<void> {
  const signIns = kind === 'signIns';
  const collectorName = signIns ? 'entra-signins' : 'entra-audits';
  const table = signIns ? 'EntraSignIns_CL' : 'EntraAuditLogs_CL';
  const stream = signIns ? 'Custom-EntraSignIns' : 'Custom-EntraAuditLogs';
  const f = figures[collectorName];
  const started = Date.now();
  const rnd = randomFrom(seed);
  const int = (lo: number, hi: number): number => intFrom(rnd, lo, hi);

  // The seed's world: source, windowing, how rough the ride is, where checkpoints live.
  const allTypes = signIns && rnd() < 0.5;
  const eventTypes: readonly SignInEventType[] | undefined = signIns
    ? allTypes
      ? SIGN_IN_EVENT_TYPES
      : ['interactiveUser']
    : undefined;
  const wanted = int(200, 450);
  const sliceMinutes = pickFrom(rnd, [7, 10, 15, 20, 30]);
  const lookbackHours = int(1, 3);
  const overlapMinutes = rnd() < 0.75 ? 0 : pickFrom(rnd, [3, 10]);
  const spanHours = int(3, 6);
  const aligned = rnd() < 0.6;
  const harsh = rnd() < 0.7;
  const tableStore = rnd() < 0.5;
  const faultyRuns = int(2, 4);
  const sliceMs = sliceMinutes * minuteMs;
  const grain = signIns ? 1000 : 1; // sign-in times are whole seconds
  const anchor = Date.UTC(2025, 5, 2) + seed * dayMs;
  const sourceEnd = anchor + spanHours * hourMs;

  // Run times (virtual). The first run's initial lookback reaches back before the first event; with
  // `aligned` every run starts on the first run's slice grid, so bounds repeat across runs.
  const firstRun =
    anchor + lookbackHours * hourMs - Math.floor((rnd() * lookbackHours * hourMs) / 2 / grain) * grain;
  const origin = firstRun - lookbackHours * hourMs;
  // Later runs' slices start at the previous run's end: with every run on firstRun's grid, their bounds are too.
  const onGrid = (t: number): number => firstRun + Math.ceil((t - firstRun) / sliceMs) * sliceMs;
  const at = (t: number): number => (aligned ? onGrid(t) : Math.floor(t / grain) * grain);
  const runTimes = [firstRun];
  for (let k = 1; k < faultyRuns; k++) {
    const previous = runTimes[k - 1] ?? firstRun;
    runTimes.push(
      rnd() < 0.1 ? previous : at(previous + rnd() * ((sourceEnd - firstRun) / (faultyRuns - 1)) + grain),
    );
  }
  runTimes.push(at(Math.max(sourceEnd, runTimes.at(-1) ?? 0) + rnd() * 30 * minuteMs));
  const cleanRunAt = runTimes.at(-1) ?? 0;
  const plans = runTimes.map((_, k) =>
    k === runTimes.length - 1 ? undefined : drawEntraRunPlan(rnd, harsh),
  );

  // Events planted exactly on run times and grid points: inclusive bounds must deliver them (twice).
  const planted = [...new Set(runTimes)];
  if (aligned) {
    // Slice bounds of the first run (from its lookback start) and of the later ones (from its end).
    for (let n = int(1, 3); n > 0; n--)
      planted.push(origin + int(0, Math.floor((firstRun - origin) / sliceMs)) * sliceMs);
    for (let n = int(1, 4); n > 0; n--)
      planted.push(firstRun + int(1, Math.floor((cleanRunAt - firstRun) / sliceMs)) * sliceMs);
  }
  const lateTypes = planted.map(() => (allTypes ? pickFrom(rnd, SIGN_IN_EVENT_TYPES) : 'interactiveUser'));

  const label = `${collectorName} seed ${seed}`;
  const graph = await startGraphEmulator({
    identity: cloud.identity,
    tenantId,
    seed,
    timeScale,
    ...(signIns
      ? {
          signIns: {
            count: allTypes ? wanted : Math.round(wanted / 0.3),
            from: new Date(anchor),
            to: new Date(sourceEnd),
          },
        }
      : { audits: { count: wanted, from: new Date(anchor), to: new Date(sourceEnd) } }),
  });
  const storeDir = path.join(tempDir, `seed-${seed}`);
  try {
    graph.addLateEvents(
      kind,
      planted.map((t, i) => ({ at: new Date(t), signInEventType: lateTypes[i] })),
    );
    // Every event of the source, with its exact time.
    const timeOf = new Map<string, number>();
    for (const id of graph.ids(kind, undefined, undefined, eventTypes)) {
      const event = graph.event(kind, graph.indexOf(kind, id) ?? -1);
      timeOf.set(
        id,
        ticksOf('createdDateTime' in event ? event.createdDateTime : event.activityDateTime, anchor),
      );
    }
    const ticksAt = (date: Date): number => (date.getTime() - anchor) * ticksPerMs;

    const env = {
      ...process.env,
      GRAPH_ENDPOINT: graph.endpoint,
      ENTRA_SLICE_MINUTES: String(sliceMinutes),
      ENTRA_OVERLAP_MINUTES: String(overlapMinutes),
      ENTRA_INITIAL_LOOKBACK_HOURS: String(lookbackHours),
      ENTRA_SIGNIN_EVENT_TYPES: eventTypes?.join(',') ?? 'interactiveUser',
      CHECKPOINT_TABLE: `chaos${collectorName.replace(/\W/g, '')}${seed}`,
    };
    const {
      settings,
      collectorSettings: entra,
      credential,
    } = await loadSettings({
      env,
      host: 'function',
      collector: { readSettings: readEntraSignInsSettings, needsState: true },
      credentialFor: (clientId) => azureCredentialFor('function', clientId),
    });
    assert.ok(settings.logsIngestion && settings.checkpointStorage);
    const store = tableStore
      ? createTableCheckpointStore(settings.checkpointStorage)
      : fileCheckpointStore(path.join(storeDir, 'checkpoints.json'));
    const sink = faultFreeRunRows(
      logsIngestionSink({ ...settings.logsIngestion, credential, retryOptions: retry }),
    );
    const graphOptions = {
      endpoint: entra.graphEndpoint,
      audience: entra.graphAudience,
      credential,
      pacing: entra.pacing,
      retryOptions: retry,
    };
    const collector = signIns
      ? entraSignInsCollector({ ...graphOptions, eventTypes: entra.signInEventTypes })
      : entraAuditsCollector(graphOptions);
    assert.equal(entra.window.sliceMs, sliceMs);

    const firstRow = cloud.ingestion.accepted(table).length;
    const acceptedIds = (): string[] =>
      cloud.ingestion
        .accepted(table)
        .slice(firstRow)
        .map((row) => String(row['Id']));
    const runs: RunRecord[] = [];
    let position = -Infinity;
    let origin = Infinity;
    // Breaches of the rules are collected, so one seed reports all of them at once.
    const problems: string[] = [];
    const check = (ok: boolean, message: string): void => {
      if (!ok) problems.push(message);
    };
    const iso = (t: number): string => new Date(anchor + t / ticksPerMs).toISOString();
    const span = (times: number[]): string =>
      times.length === 0 ? 'none' : `${iso(Math.min(...times))} – ${iso(Math.max(...times))}`;
    const describeReads = (done: RunRecord[]): string =>
      done
        .map((r, i) => {
          const first = r.reads[0];
          const last = r.reads.at(-1);
          return `run ${i + 1} ${r.succeeded ? 'succeeded' : 'failed'}${first && last ? ` reading ${first.start.toISOString()} – ${last.end.toISOString()}` : ''}`;
        })
        .join('; ');

    for (const [k, runAt] of runTimes.entries()) {
      const plan = plans[k];
      const runLabel = `${label} run ${k + 1}/${runTimes.length} at ${new Date(runAt).toISOString()}${plan ? '' : ' (clean)'}`;
      const reads: TimeWindow[] = [];
      const graphRequestsBefore = graph.requests.length;
      const ingestionRequestsBefore = cloud.ingestion.requests.length;
      const rowsBefore = cloud.ingestion.accepted(table).length;
      let slow = 0;
      const arm = (slice: number): void => {
        const slicePlan = plan?.slices[slice];
        if (slicePlan?.graph?.kind === 'graph slow') slow += 1;
        armSlice(graph, slicePlan, stream);
      };
      const checkpoints = plan
        ? chaosCheckpoints(
            store,
            plan,
            (slice) => arm(slice + 1),
            (afterCommit) => count(f, afterCommit ? 'crash after checkpoint' : 'crash before checkpoint'),
          )
        : store;
      logLines = [];
      arm(0);
      let result: RunResult | undefined;
      let failure: unknown;
      try {
        result = await runWindowedCollector({
          collector: recording(collector, reads),
          checkpoints,
          policy: entra.window,
          sink,
          log,
          now: () => new Date(runAt),
          batchSize: plan?.batchSize,
          maxInFlight: plan?.maxInFlight,
        });
      } catch (error) {
        failure = error;
      } finally {
        graph.clearFaults();
        cloud.ingestion.clearFaults();
      }
      f.runs += 1;

      // Faults that actually hit (the emulators' own logs; slow ones: armed on a slice that was read).
      for (const request of graph.requests.slice(graphRequestsBefore)) {
        if (request.errorCode === 'ConnectionDropped') count(f, 'graph dropped');
        else if (request.kind === null && request.status >= 400) count(f, `graph ${request.status}`);
        else if (request.status === 429) count(f, 'graph 429 (own throttle)');
      }
      count(f, 'graph slow', Math.min(slow, reads.length));
      for (const request of cloud.ingestion.requests.slice(ingestionRequestsBefore)) {
        if (request.errorCode === 'ConnectionDropped') count(f, 'ingestion dropped');
        else if (request.stream === stream && [429, 500, 503].includes(request.status))
          count(f, `ingestion ${request.status}`);
      }

      const uploaded = cloud.ingestion.accepted(table).length - rowsBefore;
      if (failure === undefined) {
        assert.ok(result);
        check(result.status === 'Succeeded', `${runLabel}: status ${result.status}`);
        check(runRow(result.runId)?.Status === 'Succeeded', `${runLabel}: run row not Succeeded`);
        check(
          result.recordsUploaded === uploaded && result.recordsRead === uploaded,
          `${runLabel}: ${result.recordsRead} read and ${result.recordsUploaded} uploaded, but the workspace took ${uploaded}`,
        );
      } else {
        const error = assertLoudFailure(failure, runLabel);
        assert.ok(plan, `${runLabel}: the clean run failed: ${error.message}\n${logLines.join('\n')}`);
        f.failed += 1;
        f.partial += uploaded;
        check(
          runRow(error.runId)?.RecordsUploaded === uploaded,
          `${runLabel}: the Failed run row says ${runRow(error.runId)?.RecordsUploaded} uploaded, the workspace took ${uploaded}`,
        );
      }
      runs.push({ at: runAt, succeeded: failure === undefined, reads });
      if (verbose) {
        console.log(
          `${runLabel}: ${failure === undefined ? 'succeeded' : 'failed'}, ${reads.length} slice(s) read, ` +
            `${uploaded} rows uploaded${failure === undefined ? '' : `: ${(failure instanceof Error ? failure.message : '?').slice(0, 200)}`}`,
        );
      }

      // The checkpoint: monotonic, and never ahead of data the workspace has not accepted.
      const checkpoint = await store.get(collectorName, tenantId);
      const now = checkpoint ? ticksAt(checkpoint.position) : -Infinity;
      check(now >= position, `${runLabel}: the checkpoint moved backwards`);
      position = Math.max(position, now);
      const accepted = new Set(acceptedIds());
      // The window a first run started reading is the collection's origin: a failure must not move it.
      if (origin === Infinity && reads[0]) origin = ticksAt(reads[0].start);
      const behind = [...timeOf]
        .filter(([id, t]) => t >= origin && t < now && !accepted.has(id))
        .map(([, t]) => t);
      check(
        behind.length === 0,
        `${runLabel}: the checkpoint is at ${checkpoint?.position.toISOString() ?? '-'}, but ${behind.length} ` +
          `event(s) before it, ${span(behind)}, were never accepted (${describeReads(runs)})`,
      );
      if (failure === undefined) {
        const end = (runAt - anchor) * ticksPerMs;
        const missing = [...timeOf]
          .filter(([id, t]) => t >= origin && t <= end && !accepted.has(id))
          .map(([, t]) => t);
        check(
          missing.length === 0,
          `${runLabel}: succeeded, yet ${missing.length} event(s) up to its end, ${span(missing)}, were never accepted`,
        );
        if (reads.length > 0)
          check(checkpoint?.position.getTime() === runAt, `${runLabel}: checkpoint not at the run's end`);
      }
    }

    // Zero lost, nothing invented.
    const delivered = acceptedIds();
    const counts = new Map<string, number>();
    for (const id of delivered) counts.set(id, (counts.get(id) ?? 0) + 1);
    const lost = [...timeOf].filter(([id, t]) => t >= origin && !counts.has(id)).map(([, t]) => t);
    // Before any run started reading, no window was promised: events older than the origin are not owed.
    const unowed = [...timeOf.values()].filter((t) => t < origin).length;
    f.beforeOrigin += unowed;
    const invented = [...counts.keys()].filter((id) => !timeOf.has(id));
    f.sequences += 1;
    f.records += timeOf.size - unowed;
    f.delivered += delivered.length;
    f.lost += lost.length;
    check(
      lost.length === 0,
      `${label}: after the clean run ${lost.length} event(s), ${span(lost)}, were never delivered`,
    );
    check(invented.length === 0, `${label}: ${invented.length} delivered record(s) are not in the source`);

    // Every delivery accounted for by the windows runs read (both bounds inclusive).
    const within = (t: number, w: TimeWindow): boolean => ticksAt(w.start) <= t && t <= ticksAt(w.end);
    const edges = new Set(runs.flatMap((r) => r.reads.flatMap((w) => [ticksAt(w.start), ticksAt(w.end)])));
    for (const [id, t] of timeOf) {
      const c = counts.get(id) ?? 0;
      const bySuccessful = runs
        .filter((r) => r.succeeded)
        .reduce((n, r) => n + r.reads.filter((w) => within(t, w)).length, 0);
      const byFailed = runs
        .filter((r) => !r.succeeded)
        .reduce((n, r) => n + r.reads.filter((w) => within(t, w)).length, 0);
      // Once accepted, an event is not sent again by a successful run that re-reads it (overlaps, slice
      // bounds): the checkpoint remembers what was accepted. Only a failed run can cause a repeat.
      check(
        Math.min(1, bySuccessful) <= c && c <= 1 + byFailed,
        `${label}: event ${id} at ${iso(t)} delivered ${c} time(s); ` +
          `windows of successful runs holding it: ${bySuccessful}, of failed runs: ${byFailed}`,
      );
      if (overlapMinutes === 0 && bySuccessful > 1) {
        check(edges.has(t), `${label}: event ${id} re-read by successful runs but not on a window bound`);
      }
      f.duplicates += Math.max(0, c - 1);
      if (overlapMinutes === 0) f.boundaryDuplicates += Math.max(0, Math.min(c, bySuccessful) - 1);
      else f.overlapDuplicates += Math.max(0, Math.min(c, bySuccessful) - 1);
      f.failureDuplicates += Math.max(0, c - Math.max(1, bySuccessful));
    }
    if (runs.every((r) => r.succeeded)) f.cleanSequences += 1;
    assert.deepEqual(problems, [], `${label}: ${problems.length} problem(s)`);
  } catch (error) {
    if (logLines.length > 0) console.log(`${label}: last run's log:\n  ${logLines.slice(-30).join('\n  ')}`);
    throw error;
  } finally {
    f.ms += Date.now() - started;
    await graph.stop();
  }
}

// ---------------------------------------------------------------------------------------------------
// AWS: one seeded sequence
// ---------------------------------------------------------------------------------------------------

/** What `expected` holds that `actual` lacks, and the other way round, counting repeats. */
function multisetDiff(
  expected: readonly string[],
  actual: readonly string[],
): { missing: string[]; extra: string[] } {
  const left = new Map<string, number>();
  for (const key of expected) left.set(key, (left.get(key) ?? 0) + 1);
  const extra: string[] = [];
  for (const key of actual) {
    const n = left.get(key) ?? 0;
    if (n > 0) left.set(key, n - 1);
    else extra.push(key);
  }
  const missing = [...left].flatMap(([key, n]) => Array<string>(n).fill(key));
  return { missing, extra };
}

const awsActions = [
  'AssumeRoleWithWebIdentity',
  'GetCallerIdentity',
  'ListAccountAliases',
  'GenerateCredentialReport',
  'GetCredentialReport',
  'ListUsers',
  'ListAccessKeys',
] as const;

async function awsSequence(seed: number): Promise<void> {
  const f = figures['aws-access-keys'];
  const started = Date.now();
  const rnd = randomFrom(seed);
  const int = (lo: number, hi: number): number => intFrom(rnd, lo, hi);
  const label = `aws-access-keys seed ${seed}`;
  const users = int(200, 320);
  const faultyRuns = int(1, 2);
  const stream = 'Custom-AWSIAMAccessKeys';

  try {
    await cloud.moto.reset();
    const spec = {
      ...realisticAccount({ users, seed, accountAlias: `chaos-${seed}` }),
      roles: [{ name: collectorRoleName }],
    };
    const seeded = await cloud.moto.seedIam(spec);
    const expected = expectedKeys(spec, seeded)
      .map((key) => `${key.userName}/${maskAccessKeyId(key.accessKeyId)}`)
      .sort();
    f.sequences += 1;
    let allSucceeded = true;

    for (let k = 0; k <= faultyRuns; k++) {
      const clean = k === faultyRuns;
      const runLabel = `${label} run ${k + 1}/${faultyRuns + 1}${clean ? ' (clean)' : ''}`;
      if (!clean) {
        // AWS faults, all retried by the SDK (adaptive mode, 10 attempts; STS 5). Throttling engages
        // adaptive mode's client-side rate limiter, which costs seconds: one per run at most.
        if (rnd() < 0.6) cloud.aws.throttle(pickFrom(rnd, awsActions), 1);
        for (let n = int(0, 2); n > 0; n--) {
          const unavailable = rnd() < 0.5;
          cloud.aws.failAction(pickFrom(rnd, awsActions), {
            status: unavailable ? 503 : 500,
            code: unavailable ? 'ServiceUnavailable' : 'InternalFailure',
            type: 'Receiver',
            times: int(1, 2),
          });
        }
        // Ingestion: retried, or (times = attempts) beyond the SDK's retries, failing the run.
        const i = rnd();
        const times = rnd() < 0.4 ? attempts : int(1, attempts - 1);
        if (i < 0.2) cloud.ingestion.dropNextConnection(Math.min(times, attempts - 1));
        else if (i < 0.8) {
          const status = pickFrom(rnd, [429, 500, 503]);
          cloud.ingestion.failNext({ status, times, retryAfterSeconds: pickFrom(rnd, retryAfters), stream });
        }
      }
      const awsRequestsBefore = cloud.aws.requests.length;
      const runStarted = Date.now();
      const ingestionRequestsBefore = cloud.ingestion.requests.length;
      logLines = [];
      let result: RunResult | undefined;
      let failure: unknown;
      try {
        result = await runConfiguredCollector('aws-access-keys', {
          host: 'function',
          env: process.env,
          log,
          tuning: { ingestionRetry: retry, retry, pollSeconds: 0.05 },
        });
      } catch (error) {
        failure = error;
      } finally {
        cloud.aws.clearFaults();
        cloud.ingestion.clearFaults();
      }
      f.runs += 1;
      if (verbose) {
        const injected = cloud.aws.requests.slice(awsRequestsBefore).filter((r) => r.injected);
        console.log(
          `${runLabel}: ${failure === undefined ? 'succeeded' : 'failed'} in ${Date.now() - runStarted} ms; ` +
            `AWS faults: ${injected.map((r) => `${r.action} ${r.status}`).join(', ') || 'none'}`,
        );
      }
      for (const request of cloud.aws.requests.slice(awsRequestsBefore)) {
        if (request.injected)
          count(
            f,
            request.status === 400
              ? 'aws Throttling'
              : request.status === 500
                ? 'aws 500 InternalFailure'
                : 'aws 503 ServiceUnavailable',
          );
      }
      for (const request of cloud.ingestion.requests.slice(ingestionRequestsBefore)) {
        if (request.errorCode === 'ConnectionDropped') count(f, 'ingestion dropped');
        else if (request.stream === stream && [429, 500, 503].includes(request.status))
          count(f, `ingestion ${request.status}`);
      }

      const runId = result?.runId ?? (failure instanceof CollectorRunError ? failure.runId : undefined);
      const snapshot = (cloud.ingestion.accepted('AWSIAMAccessKeys_CL') as unknown as AWSIAMAccessKeysRow[])
        .filter((row) => row.SnapshotId === runId)
        .map((row) => `${row.UserName}/${row.AccessKeyId ?? ''}`)
        .sort();
      f.delivered += snapshot.length;
      // A key twice in one snapshot (beyond two keys of a user that mask alike, as the seed has them).
      f.duplicates += Math.max(
        0,
        snapshot.length - new Set(snapshot).size - (expected.length - new Set(expected).size),
      );
      if (failure === undefined) {
        assert.ok(result);
        assert.equal(result.status, 'Succeeded', runLabel);
        assert.equal(runRow(result.runId)?.Status, 'Succeeded', `${runLabel}: run row`);
        const { missing, extra } = multisetDiff(expected, snapshot);
        // Each successful run owes a complete snapshot.
        f.records += expected.length;
        f.lost += missing.length;
        assert.deepEqual(
          { missing: missing.length, extra: extra.length },
          { missing: 0, extra: 0 },
          `${runLabel}: succeeded, so its snapshot must hold exactly the seeded keys ` +
            `(missing e.g. ${missing.slice(0, 3).join(', ') || '-'}; extra e.g. ${extra.slice(0, 3).join(', ') || '-'})`,
        );
        assert.equal(result.recordsUploaded, expected.length, runLabel);
      } else {
        allSucceeded = false;
        const error = assertLoudFailure(failure, runLabel);
        assert.ok(!clean, `${runLabel}: the clean run failed: ${error.message}\n${logLines.join('\n')}`);
        f.failed += 1;
        f.partial += snapshot.length;
        assert.equal(runRow(error.runId)?.RecordsUploaded, snapshot.length, `${runLabel}: RecordsUploaded`);
      }
    }
    if (allSucceeded) f.cleanSequences += 1;
  } catch (error) {
    if (logLines.length > 0) console.log(`${label}: last run's log:\n  ${logLines.slice(-30).join('\n  ')}`);
    throw error;
  } finally {
    f.ms += Date.now() - started;
  }
}

// ---------------------------------------------------------------------------------------------------

describe('chaos: seeded faults everywhere, and the security data still arrives — all of it', () => {
  describe(`Entra sign-ins: ${signInSeeds.length} seeded sequences of faulty runs, then a clean one`, () => {
    it.each(signInSeeds)('seed %s', (seed) => entraSequence('signIns', seed));
  });

  describe(`Entra audits: ${auditSeeds.length} seeded sequences of faulty runs, then a clean one`, () => {
    it.each(auditSeeds)('seed %s', (seed) => entraSequence('directoryAudits', seed));
  });

  describe(`AWS access keys: ${awsSeeds.length} seeded accounts, faulty runs, then a clean one`, () => {
    it.each(awsSeeds)('seed %s', (seed) => awsSequence(seed));
  });

  it('nothing lost, across all sequences', () => {
    const all = Object.values(figures);
    assert.equal(
      all.reduce((n, f) => n + f.lost, 0),
      0,
      'records lost across all sequences (the seeds that lost them failed above)',
    );
    if (onlySeeds.size === 0)
      assert.ok(all.reduce((n, f) => n + f.sequences, 0) >= 50, 'at least 50 sequences');
  });
});
