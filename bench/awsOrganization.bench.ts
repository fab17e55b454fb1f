import { availableParallelism } from 'node:os';
import {
  CreateAccountCommand,
  CreateOrganizationCommand,
  OrganizationsClient,
} from '@aws-sdk/client-organizations';
import { newSourceStats } from '../src/run/collector.js';
import { silentLogger } from '../src/lib/logger.js';
import { runCollector } from '../src/run/runCollector.js';
import { logsIngestionSink } from '../src/sinks/logsIngestionSink.js';
import type { RecordSink } from '../src/sinks/sink.js';
import { awsAccessKeysCollector } from '../src/sources/aws/accessKeysCollector.js';
import type { AccountTiming } from '../src/sources/aws/accountTiming.js';
import type { RecordedRequest } from '../test/emulators/awsProxy.js';
import { processCpuMs, type MotoServer } from '../test/emulators/moto.js';
import { realisticAccount } from '../test/support/seedAccount.js';
import { startAwsProxyProcess, type AwsProxyProcess } from './awsProxyProcess.js';
import { startIngestionChild } from './pipeline.bench.js';
import { machineCpuMs, staticTokenCredential } from './support.js';

export interface OrganizationBenchOptions {
  readonly accounts: number;
  readonly usersPerAccount: number;
  readonly latencyMs: number;
  /** AWS_CONCURRENCY: users of one account whose keys are read at once. */
  readonly concurrency: number;
  /** AWS_ACCOUNT_CONCURRENCY values measured, the first being 1 (the baseline). */
  readonly accountConcurrencies: readonly number[];
  /** Rounds: the configurations in order, then in reverse, …; each figure is the mean over rounds. */
  readonly rounds: number;
  /** The ingestion emulator parses records (smoke); at full size it only checks the protocol. */
  readonly ingestionParsesRecords: boolean;
  /** AWS_ACCOUNT_WORKERS at each account concurrency: threads the accounts are read on (0: the run's own). */
  readonly workers: (accountConcurrency: number) => number;
}

/**
 * Where a run's wall time went, in seconds of wall time: `accountConcurrency` places, each holding an
 * account while it is read and until its rows are passed on, or idle. The parts add up to the wall time
 * (each is the account-time summed over places, divided by the number of places).
 */
export interface WallTimeParts {
  /** Reading accounts at the pace each was read alone (the one-at-a-time run's mean account time). */
  readonly readingAtSoloPaceMs: number;
  /** Reading took longer than alone: the member session (AssumeRole), the credential report, users and keys. */
  readonly slowerCredentialsMs: number;
  readonly slowerReportMs: number;
  readonly slowerListingMs: number;
  /** Accounts read but not yet passed on: the sink's pace (or, in order, waiting behind a slower account). */
  readonly deliveringMs: number;
  /** Places idle before the first account started (the Organizations listing). */
  readonly idleStartMs: number;
  /** Places idle once no account was left to start (the last round), and after the last was passed on. */
  readonly idleTailMs: number;
  /** Places idle between accounts. */
  readonly idleGapsMs: number;
}

export interface OrganizationBenchRun {
  readonly accountConcurrency: number;
  /** Worker threads the accounts were read on (0: the run's own thread). */
  readonly workers: number;
  readonly keys: number;
  readonly apiCalls: number;
  readonly failures: number;
  /** Mean over rounds, and each round's. */
  readonly wallMs: number;
  readonly wallMsPerRound: readonly number[];
  /** One-at-a-time wall / this wall (both means), and that over `accountConcurrency`. */
  readonly speedup: number;
  readonly efficiency: number;
  readonly parts: WallTimeParts;
  /** Mean of one account, ms: the phases partition `readMs`. */
  readonly account: {
    readonly readMs: number;
    readonly credentialsMs: number;
    readonly reportMs: number;
    /** Of reportMs, between the report's calls (the waiter's delays while IAM generates it). */
    readonly reportWaitMs: number;
    readonly reportPolls: number;
    readonly listingMs: number;
  };
  /** Mean per IAM/STS call: as the SDK saw it, and as the proxy did (latency injected + emulator). */
  readonly call: {
    readonly sdkMs: number;
    readonly proxyMs: number;
    /** Calls answered by the proxy from memory (see replayReads), of all. */
    readonly replayed: number;
    readonly total: number;
  };
  /** CPU time during the run, ms (means over rounds). */
  readonly cpu: {
    /** This process: the code measured (SDK, mapping, pipeline, sink client). */
    readonly oursMs: number;
    /** Of it, in the kernel (system time: sockets, timers). */
    readonly oursKernelMs: number;
    readonly proxyMs: number;
    readonly motoMs: number;
    readonly ingestionMs: number;
    /** The whole machine, whoever used it, and what it had (cores × wall). */
    readonly machineBusyMs: number | null;
    readonly machineCapacityMs: number | null;
  };
  /** The sink (Logs Ingestion client → emulator in its own process). */
  readonly sink: { readonly batches: number; readonly sendMs: number };
}

/** The same inventory with every call going to moto, its CPU measured: what moto can serve. */
export interface OrganizationLiveRun {
  readonly accountConcurrency: number;
  readonly wallMs: number;
  readonly calls: number;
  readonly motoCpuMs: number;
  /** Mean time moto took to answer a call (the proxy's forward → answer), latency not included. */
  readonly motoAnswerMs: number;
}

export interface OrganizationBenchResult {
  readonly accounts: number;
  readonly usersPerAccount: number;
  readonly keys: number;
  readonly latencyMs: number;
  readonly concurrency: number;
  readonly rounds: number;
  readonly live: OrganizationLiveRun;
  readonly runs: readonly OrganizationBenchRun[];
  /** The one-at-a-time run and the most-at-a-time run (the first and last of `runs`). */
  readonly sequential: OrganizationBenchRun;
  readonly concurrent: OrganizationBenchRun;
  readonly wallTimeRatio: number;
}

const memberRoleName = 'crosscloud-identity-monitor-member';
const credentials = () => Promise.resolve({ accessKeyId: 'testing', secretAccessKey: 'testing' });

interface OneRun {
  readonly wallMs: number;
  readonly startedAt: number;
  readonly endedAt: number;
  readonly keys: number;
  readonly apiCalls: number;
  readonly failures: number;
  readonly timings: readonly AccountTiming[];
  readonly requests: readonly RecordedRequest[];
  readonly cpu: OrganizationBenchRun['cpu'];
  readonly sink: OrganizationBenchRun['sink'];
}

/**
 * An organization in moto, inventoried through the real pipeline (runCollector → Logs Ingestion client →
 * ingestion emulator in its own process) with 1, then more accounts at a time, each measured in the same
 * run. IAM's latency is modelled by a proxy in its own process that holds every call `latencyMs` on its
 * own timer (concurrent calls wait at the same time, as on the network) and, after a first pass that
 * goes to moto (reported as `live`: it shows what one moto process can serve), answers the read-only
 * calls from memory, as IAM would, on AWS's machines. Every run starts with no credential report, so
 * each pays its generation.
 */
export async function benchAwsOrganization(
  moto: MotoServer,
  options: OrganizationBenchOptions,
): Promise<OrganizationBenchResult> {
  if (options.accountConcurrencies[0] !== 1) throw new Error('the first configuration must be 1 at a time');
  await moto.reset();
  const keys = await seedOrganization(moto, options);
  const proxy = await startAwsProxyProcess(moto.endpoint, {
    latencyMs: options.latencyMs,
    replayReads: true,
  });
  const ingestion = await startIngestionChild(options.ingestionParsesRecords);
  const sink = logsIngestionSink({
    endpoint: ingestion.endpoint,
    dcrImmutableId: ingestion.dcrImmutableId,
    credential: staticTokenCredential(ingestion.token),
  });
  const previous = process.env.AWS_ENDPOINT_URL;
  process.env.AWS_ENDPOINT_URL = proxy.endpoint;
  const pids = { moto: moto.pid, proxy: proxy.pid, ingestion: ingestion.pid };
  try {
    const most = Math.max(...options.accountConcurrencies);
    const live = await runOnce(most, options, { moto, proxy, sink, pids });
    const liveRun: OrganizationLiveRun = {
      accountConcurrency: most,
      wallMs: live.wallMs,
      calls: live.requests.length,
      motoCpuMs: live.cpu.motoMs,
      motoAnswerMs: mean(
        live.requests
          .filter((r) => r.forwardedAt !== undefined && r.upstreamAt !== undefined)
          .map((r) => (r.upstreamAt ?? 0) - (r.forwardedAt ?? 0)),
      ),
    };
    const measured = new Map<number, OneRun[]>();
    for (let round = 0; round < options.rounds; round += 1) {
      const order =
        round % 2 === 0 ? options.accountConcurrencies : [...options.accountConcurrencies].reverse();
      for (const k of order) {
        const run = await runOnce(k, options, { moto, proxy, sink, pids });
        measured.set(k, [...(measured.get(k) ?? []), run]);
      }
    }
    const solo = measured.get(1) ?? [];
    const soloWallMs = mean(solo.map((r) => r.wallMs));
    const soloAccount = accountMeans(solo.flatMap((r) => r.timings));
    const runs = options.accountConcurrencies.map((k) =>
      summarize(k, options.workers(k), measured.get(k) ?? [], soloWallMs, soloAccount),
    );
    const sequential = runs[0] as OrganizationBenchRun;
    const concurrent = runs.at(-1) as OrganizationBenchRun;
    return {
      accounts: options.accounts,
      usersPerAccount: options.usersPerAccount,
      keys,
      latencyMs: options.latencyMs,
      concurrency: options.concurrency,
      rounds: options.rounds,
      live: liveRun,
      runs,
      sequential,
      concurrent,
      wallTimeRatio: sequential.wallMs / concurrent.wallMs,
    };
  } finally {
    if (previous === undefined) delete process.env.AWS_ENDPOINT_URL;
    else process.env.AWS_ENDPOINT_URL = previous;
    await proxy.stop();
    await ingestion.stop().catch(() => undefined);
  }
}

async function seedOrganization(moto: MotoServer, options: OrganizationBenchOptions): Promise<number> {
  const organizations = new OrganizationsClient({
    region: 'us-east-1',
    endpoint: moto.endpoint,
    credentials,
  });
  await organizations.send(new CreateOrganizationCommand({ FeatureSet: 'ALL' }));
  const accountIds = ['123456789012'];
  for (let i = 1; i < options.accounts; i += 1) {
    const created = await organizations.send(
      new CreateAccountCommand({ AccountName: `workload-${i}`, Email: `aws+workload-${i}@example.com` }),
    );
    accountIds.push(created.CreateAccountStatus?.AccountId ?? '');
  }
  organizations.destroy();
  let keys = 0;
  for (const [index, accountId] of accountIds.entries()) {
    const spec = realisticAccount({
      users: options.usersPerAccount,
      seed: 1000 + index,
      accountId,
      withKeys: 0.8,
    });
    const seeded = await moto.seedIam({ ...spec, roles: [{ name: memberRoleName }] });
    keys += seeded.users.reduce((sum, user) => sum + user.keys.length, 0);
  }
  return keys;
}

interface Harness {
  readonly moto: MotoServer;
  readonly proxy: AwsProxyProcess;
  readonly sink: RecordSink;
  readonly pids: { moto?: number; proxy?: number; ingestion?: number };
}

/** One run of the collector through runCollector, `accountConcurrency` accounts at a time. */
async function runOnce(
  accountConcurrency: number,
  options: OrganizationBenchOptions,
  { moto, proxy, sink, pids }: Harness,
): Promise<OneRun> {
  // Every run pays the report's generation, as a daily run does (IAM keeps a report 4 hours).
  await moto.forgetCredentialReports();
  await proxy.takeRequests();
  const timings: AccountTiming[] = [];
  const stats = newSourceStats();
  const collector = awsAccessKeysCollector({
    credentialsFor: () => credentials,
    region: 'us-east-1',
    accessKeyIdMode: 'masked',
    concurrency: options.concurrency,
    organization: {
      memberRoleName,
      accounts: { include: [], exclude: [] },
      accountConcurrency,
      budgetMs: Number.POSITIVE_INFINITY,
      onAccount: (timing) => timings.push(timing),
      workers: options.workers(accountConcurrency),
    },
    reportWait: { minDelaySeconds: 0.2, maxDelaySeconds: 1 },
  });
  let batches = 0;
  let sendMs = 0;
  const timedSink: RecordSink = {
    description: sink.description,
    async send(table, rows, sendOptions) {
      const started = performance.now();
      try {
        await sink.send(table, rows, sendOptions);
      } finally {
        // The run row's upload is the run's end, not the inventory's.
        if (table === 'AWSIAMAccessKeys_CL') {
          batches += 1;
          sendMs += performance.now() - started;
        }
      }
    },
  };
  const cpuBefore = await cpuNow(pids);
  const startedAt = performance.timeOrigin + performance.now();
  const result = await runCollector({ collector, sink: timedSink, log: silentLogger, stats });
  const endedAt = performance.timeOrigin + performance.now();
  const cpuAfter = await cpuNow(pids);
  const requests = await proxy.takeRequests();
  const machine =
    cpuBefore.machine && cpuAfter.machine
      ? {
          machineBusyMs: cpuAfter.machine.busy - cpuBefore.machine.busy,
          machineCapacityMs: cpuAfter.machine.total - cpuBefore.machine.total,
        }
      : { machineBusyMs: null, machineCapacityMs: null };
  return {
    wallMs: endedAt - startedAt,
    startedAt,
    endedAt,
    keys: result.recordsUploaded,
    apiCalls: result.apiCalls,
    failures: timings.filter((t) => t.outcome !== 'inventoried').length,
    timings,
    requests,
    cpu: {
      oursMs: cpuAfter.ours - cpuBefore.ours,
      oursKernelMs: cpuAfter.oursKernel - cpuBefore.oursKernel,
      proxyMs: cpuAfter.proxy - cpuBefore.proxy,
      motoMs: cpuAfter.moto - cpuBefore.moto,
      ingestionMs: cpuAfter.ingestion - cpuBefore.ingestion,
      ...machine,
    },
    sink: { batches, sendMs },
  };
}

async function cpuNow(pids: Harness['pids']) {
  const { user, system } = process.cpuUsage();
  return {
    ours: (user + system) / 1000,
    oursKernel: system / 1000,
    moto: (await processCpuMs(pids.moto)) ?? 0,
    proxy: (await processCpuMs(pids.proxy)) ?? 0,
    ingestion: (await processCpuMs(pids.ingestion)) ?? 0,
    machine: machineCpuMs(),
  };
}

const notIam = new Set(['AssumeRole', 'AssumeRoleWithWebIdentity', 'ListAccounts']);

const mean = (values: readonly number[]): number =>
  values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length;

function accountMeans(timings: readonly AccountTiming[]) {
  return {
    readMs: mean(timings.map((t) => t.readAt - t.startedAt)),
    credentialsMs: mean(timings.map((t) => t.credentialsMs)),
    reportMs: mean(timings.map((t) => t.reportMs)),
    listingMs: mean(timings.map((t) => t.listingMs)),
  };
}

/** Account-time of each kind, summed over the places and over time, for one run (ms × places). */
function placeTime(run: OneRun, places: number) {
  // Each account holds a place from its start until its rows are passed on (or it failed).
  const held = run.timings.map((t) => ({ from: t.startedAt, to: t.deliveredAt ?? t.readAt }));
  const firstStart = Math.min(...held.map((h) => h.from));
  const lastStart = Math.max(...held.map((h) => h.from));
  const reading = run.timings.reduce((sum, t) => sum + (t.readAt - t.startedAt), 0);
  const delivering = run.timings.reduce((sum, t) => sum + ((t.deliveredAt ?? t.readAt) - t.readAt), 0);
  // Idle place-time in three stretches: before the first start, between, after the last start.
  const idleBetween = (from: number, to: number): number => {
    if (to <= from) return 0;
    const busy = held.reduce((sum, h) => sum + Math.max(0, Math.min(h.to, to) - Math.max(h.from, from)), 0);
    return Math.max(0, places * (to - from) - busy);
  };
  return {
    reading,
    delivering,
    idleStart: places * Math.max(0, firstStart - run.startedAt),
    idleGaps: idleBetween(firstStart, lastStart),
    idleTail: idleBetween(lastStart, run.endedAt),
  };
}

function summarize(
  k: number,
  workers: number,
  runs: readonly OneRun[],
  soloWallMs: number,
  solo: ReturnType<typeof accountMeans>,
): OrganizationBenchRun {
  const wallMs = mean(runs.map((r) => r.wallMs));
  const timings = runs.flatMap((r) => r.timings);
  const here = accountMeans(timings);
  const accountsPerRun = mean(runs.map((r) => r.timings.length));
  const place = runs.map((r) => placeTime(r, k));
  const perWall = (ms: number) => ms / k; // place-time → wall time
  const calls = runs.flatMap((r) => r.requests);
  // The accounts' IAM calls, as the SDK timed them (the member sessions' AssumeRole and the
  // Organizations listing are not among them).
  const iamCalls = calls.filter((r) => !notIam.has(r.action) && r.answeredAt !== undefined);
  const sdkCalls = timings.reduce((sum, t) => sum + t.calls, 0);
  const cpuMean = (pick: (r: OneRun) => number | null) => {
    const values = runs.map(pick);
    return values.some((v) => v === null) ? null : mean(values as number[]);
  };
  return {
    accountConcurrency: k,
    workers,
    keys: Math.min(...runs.map((r) => r.keys)),
    apiCalls: Math.round(mean(runs.map((r) => r.apiCalls))),
    failures: Math.max(...runs.map((r) => r.failures)),
    wallMs,
    wallMsPerRound: runs.map((r) => r.wallMs),
    speedup: soloWallMs / wallMs,
    efficiency: soloWallMs / wallMs / k,
    parts: {
      readingAtSoloPaceMs: perWall(accountsPerRun * solo.readMs),
      slowerCredentialsMs: perWall(accountsPerRun * (here.credentialsMs - solo.credentialsMs)),
      slowerReportMs: perWall(accountsPerRun * (here.reportMs - solo.reportMs)),
      slowerListingMs: perWall(accountsPerRun * (here.listingMs - solo.listingMs)),
      deliveringMs: perWall(mean(place.map((p) => p.delivering))),
      idleStartMs: perWall(mean(place.map((p) => p.idleStart))),
      idleTailMs: perWall(mean(place.map((p) => p.idleTail))),
      idleGapsMs: perWall(mean(place.map((p) => p.idleGaps))),
    },
    account: {
      readMs: here.readMs,
      credentialsMs: here.credentialsMs,
      reportMs: here.reportMs,
      reportWaitMs: mean(timings.map((t) => Math.max(0, t.reportMs - t.reportCallMs))),
      reportPolls: mean(timings.map((t) => t.reportPolls)),
      listingMs: here.listingMs,
    },
    call: {
      sdkMs: sdkCalls > 0 ? timings.reduce((sum, t) => sum + t.callMs, 0) / sdkCalls : 0,
      proxyMs: mean(iamCalls.map((r) => (r.answeredAt ?? 0) - r.receivedAt)),
      replayed: Math.round(calls.filter((r) => r.replayed).length / Math.max(1, runs.length)),
      total: Math.round(calls.length / Math.max(1, runs.length)),
    },
    cpu: {
      oursMs: mean(runs.map((r) => r.cpu.oursMs)),
      oursKernelMs: mean(runs.map((r) => r.cpu.oursKernelMs)),
      proxyMs: mean(runs.map((r) => r.cpu.proxyMs)),
      motoMs: mean(runs.map((r) => r.cpu.motoMs)),
      ingestionMs: mean(runs.map((r) => r.cpu.ingestionMs)),
      machineBusyMs: cpuMean((r) => r.cpu.machineBusyMs),
      machineCapacityMs: cpuMean((r) => r.cpu.machineCapacityMs),
    },
    sink: {
      batches: Math.round(mean(runs.map((r) => r.sink.batches))),
      sendMs: mean(runs.map((r) => r.sink.sendMs)),
    },
  };
}

const sec = (ms: number) => `${(Math.abs(ms) < 50 ? 0 : ms / 1000).toFixed(1)} s`;
const msec = (ms: number) => `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
const pct = (x: number) => `${(x * 100).toFixed(0)} %`;
const count = (x: number) => Math.round(x).toLocaleString('en-US');

/** The organization section of bench/results/latest.md. */
export function renderOrganization(org: OrganizationBenchResult): string {
  const { runs, live } = org;
  const row = (label: string, cell: (run: OrganizationBenchRun) => string) =>
    `| ${label} | ${runs.map(cell).join(' | ')} |`;
  const header = `| | ${runs.map((r) => `${r.accountConcurrency} at a time`).join(' | ')} |\n|---|${runs.map(() => '---').join('|')}|`;
  const most = org.concurrent;
  const rounds = (n: number) => Math.ceil(org.accounts / Math.min(n, org.accounts));
  const quantizedBound = org.accounts / rounds(most.accountConcurrency);
  const cpuShare = (run: OrganizationBenchRun) => run.cpu.oursMs / run.wallMs;
  const machine = (run: OrganizationBenchRun) =>
    run.cpu.machineBusyMs === null || run.cpu.machineCapacityMs === null
      ? 'n/a'
      : `${sec(run.cpu.machineBusyMs)} of ${sec(run.cpu.machineCapacityMs)} (${pct(run.cpu.machineBusyMs / run.cpu.machineCapacityMs)})`;
  const parts = (run: OrganizationBenchRun) => run.parts;
  const lost = (run: OrganizationBenchRun) => {
    const p = parts(run);
    const named: [string, number][] = [
      ['slower users-and-keys listing (calls waited on this process)', p.slowerListingMs],
      ['slower credential reports', p.slowerReportMs],
      ['slower member sessions', p.slowerCredentialsMs],
      ['accounts waiting to be passed on', p.deliveringMs],
      ['idle places in the last round and at the run end', p.idleTailMs],
      ['idle places at the start (Organizations listing)', p.idleStartMs],
      ['idle places between accounts', p.idleGapsMs],
    ];
    return named.sort((a, b) => b[1] - a[1]);
  };
  const [first, second] = lost(most);
  const others = (run: OrganizationBenchRun) =>
    run.cpu.machineBusyMs === null
      ? null
      : Math.max(
          0,
          run.cpu.machineBusyMs - run.cpu.oursMs - run.cpu.proxyMs - run.cpu.motoMs - run.cpu.ingestionMs,
        );
  const rest = (run: OrganizationBenchRun) => {
    const ideal = org.sequential.wallMs / run.accountConcurrency;
    const share = (ms: number) => pct(ms / run.wallMs);
    const named = lost(run)
      .filter(([, ms]) => ms / run.wallMs >= 0.005)
      .map(([label, ms]) => `${label} ${share(ms)}`);
    const otherCpu = others(run);
    return (
      `**${run.accountConcurrency} at a time**: ${sec(run.wallMs)} against the ideal ${sec(ideal)} (one at a time ÷ ${run.accountConcurrency}), ` +
      `${run.speedup.toFixed(1)}× (${org.accounts} accounts in rounds of ${Math.min(run.accountConcurrency, org.accounts)} allow at most ${(org.accounts / rounds(run.accountConcurrency)).toFixed(1)}×). ` +
      `Of the wall, ${share(run.parts.readingAtSoloPaceMs)} was accounts read at their one-at-a-time pace; the rest: ${named.join(', ') || 'nothing measurable'}. ` +
      `This process's CPU was ${share(run.cpu.oursMs)} of the wall (${msec(run.cpu.oursMs / Math.max(1, run.apiCalls))} per call, ${pct(run.cpu.oursKernelMs / Math.max(1, run.cpu.oursMs))} of it in the kernel); ` +
      `an IAM call, as the SDK saw it, took ${(run.call.sdkMs / Math.max(1, run.call.proxyMs)).toFixed(2)}× its time at the proxy` +
      (otherCpu === null || run.cpu.machineCapacityMs === null
        ? '.'
        : `; processes outside this bench used ${share(otherCpu)} of the wall in CPU (${pct(otherCpu / run.cpu.machineCapacityMs)} of the machine).`)
    );
  };
  const liveCallRate = live.wallMs > 0 ? live.calls / (live.wallMs / 1000) : 0;
  const motoPerCall = live.calls > 0 ? live.motoCpuMs / live.calls : 0;
  return `## AWS organization

${org.accounts} accounts × ${count(org.usersPerAccount)} users (${count(org.keys)} keys) in moto Organizations, each account through its
member role (AssumeRole from the hub), ${org.concurrency} users at a time per account (AWS_CONCURRENCY), ${org.latencyMs} ms per call,
through the whole run (runCollector → Logs Ingestion client → ingestion emulator in its own process). The latency is
added by a proxy in its own process, every call on its own timer, so calls in flight wait at the same time as on
the network; after a first pass against moto (below) it answers the read-only IAM calls it has seen from memory,
as IAM answers them on AWS's machines. ${org.rounds > 1 ? `Each configuration ran ${org.rounds}× (in order, then reversed); figures are means.` : 'Each configuration ran once.'}
Every run starts without a credential report, so each pays its generation. Owner tags are not read
(AWS_OWNER_TAG_KEYS=none); with them each user with keys costs one more call. The accounts are read on
AWS_ACCOUNT_WORKERS threads (its default, \`auto\`, on this machine's ${availableParallelism()} cores: one per core, at most one per account
at a time; 0 is the run's own thread), their start-up included in the wall time; Node ${process.versions.node}.

| accounts at a time | threads | wall time | speedup | of the ideal | keys | API calls | failed accounts |
|---|---|---|---|---|---|---|---|
${runs
  .map(
    (r) =>
      `| ${r.accountConcurrency} | ${r.workers} | ${sec(r.wallMs)}${r.wallMsPerRound.length > 1 ? ` (${r.wallMsPerRound.map(sec).join(', ')})` : ''} | ${r.speedup.toFixed(1)}× | ${pct(r.efficiency)} | ${count(r.keys)} | ${count(r.apiCalls)} | ${r.failures} |`,
  )
  .join('\n')}

**${most.accountConcurrency} accounts at a time: ${most.speedup.toFixed(1)}× less wall time than one at a time, ${pct(most.efficiency)} of the
ideal ${most.accountConcurrency}×** (target: at least 80 %; ${org.accounts} accounts in rounds of ${most.accountConcurrency} allow at most ${quantizedBound.toFixed(1)}×). The most
lost at ${most.accountConcurrency} at a time: ${first?.[0] ?? '–'} (${sec(first?.[1] ?? 0)}), then ${second?.[0] ?? '–'} (${sec(second?.[1] ?? 0)}).

### Where the wall time goes

Each account holds one of the places from its start until its rows are passed on. Place-time of each kind, over
the number of places, gives seconds of wall time that add up to the run's.

${header}
${row('accounts read at their one-at-a-time pace', (r) => sec(r.parts.readingAtSoloPaceMs))}
${row('+ slower member session (AssumeRole)', (r) => sec(r.parts.slowerCredentialsMs))}
${row('+ slower credential report', (r) => sec(r.parts.slowerReportMs))}
${row('+ slower users and keys', (r) => sec(r.parts.slowerListingMs))}
${row('+ read, waiting to be passed on (sink)', (r) => sec(r.parts.deliveringMs))}
${row('+ places idle at the start (Organizations listing)', (r) => sec(r.parts.idleStartMs))}
${row('+ places idle between accounts', (r) => sec(r.parts.idleGapsMs))}
${row('+ places idle in the last round, run row', (r) => sec(r.parts.idleTailMs))}
${row('**= wall time**', (r) => `**${sec(r.wallMs)}**`)}
${row('one account: member session', (r) => msec(r.account.credentialsMs))}
${row('one account: credential report (of it waiting for generation; polls)', (r) => `${msec(r.account.reportMs)} (${msec(r.account.reportWaitMs)}; ${r.account.reportPolls.toFixed(1)})`)}
${row('one account: users and keys', (r) => msec(r.account.listingMs))}
${row('one IAM call as the SDK saw it', (r) => msec(r.call.sdkMs))}
${row(`one IAM call at the proxy (${org.latencyMs} ms injected + the answer)`, (r) => msec(r.call.proxyMs))}
${row("calls answered from the proxy's memory", (r) => `${count(r.call.replayed)} of ${count(r.call.total)}`)}
${row('CPU of this process (SDK, mapping, upload): time, share of the wall', (r) => `${sec(r.cpu.oursMs)}, ${pct(cpuShare(r))}`)}
${row('CPU of this process per API call (of it in the kernel)', (r) => `${msec(r.cpu.oursMs / Math.max(1, r.apiCalls))} (${pct(r.cpu.oursKernelMs / Math.max(1, r.cpu.oursMs))})`)}
${row('CPU of the proxy / moto / ingestion emulator', (r) => `${sec(r.cpu.proxyMs)} / ${sec(r.cpu.motoMs)} / ${sec(r.cpu.ingestionMs)}`)}
${row(`CPU of the whole machine (${'cores × wall'}), whoever used it`, machine)}
${row('of which processes outside this bench', (r) => {
  const o = others(r);
  return o === null ? 'n/a' : sec(o);
})}
${row('sink: uploads, time in them', (r) => `${r.sink.batches}, ${sec(r.sink.sendMs)}`)}

### Where the rest goes, in ratios of the same run

${runs
  .filter((r) => r.accountConcurrency > 1)
  .map(rest)
  .join('\n\n')}

A call the SDK saw take longer than the proxy did waited in this process: for its CPU (signing, parsing, the
other calls' callbacks) while the event loop was busy. Node runs the code of each thread on one core: once the
threads' CPU nears their share of the wall, more accounts at a time only make every call wait longer. The
threads are the process's (kept from run to run, as on a warm instance): the first pass below started them.

**Against moto itself** (the first pass, ${live.accountConcurrency} at a time, every call to moto): ${sec(live.wallMs)} for ${count(live.calls)} calls
(${count(liveCallRate)} calls/s). moto used ${sec(live.motoCpuMs)} of CPU, ${msec(motoPerCall)} per call, and took ${msec(live.motoAnswerMs)} on average to answer one
after the injected latency. moto is one Python process: it answers one call at a time on one core (the GIL), at
most about ${count(motoPerCall > 0 ? 1000 / motoPerCall : 0)} calls/s on this machine, while ${Math.min(most.accountConcurrency, org.accounts)} accounts × ${org.concurrency} users at ${org.latencyMs} ms ask for up to
${count((Math.min(most.accountConcurrency, org.accounts) * org.concurrency * 1000) / Math.max(1, org.latencyMs))}. Against moto, moto sets the pace; the runs above measure our code instead.
`;
}
