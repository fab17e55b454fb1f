// `npm run bench`: the measurements that decide whether this runs comfortably for a large
// organisation, each beside a baseline measured in the same run. Writes bench/results/latest.json
// and latest.md. BENCH_SMOKE=1 runs tiny sizes (the test suite does, so the benches keep working).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { autoAccountWorkers } from '../src/sources/aws/settings.js';
import { startManagedIdentityEmulator } from '../test/emulators/managedIdentity.js';
import { startMoto, type MotoServer } from '../test/emulators/moto.js';
import { repoRoot } from '../test/support/paths.js';
import {
  benchAwsInventory,
  compareWithBaseline,
  startOldLambdaBaseline,
  type AwsBenchResult,
  type OursInventory,
} from './awsInventory.bench.js';
import {
  benchAwsOrganization,
  renderOrganization,
  type OrganizationBenchResult,
} from './awsOrganization.bench.js';
import {
  benchEntraDuplicates,
  type DuplicatesBenchResult,
  type DuplicatesBenchRun,
} from './entraDuplicates.bench.js';
import { benchGraphThrottle, type GraphBenchResult } from './graphThrottle.bench.js';
import { benchPipeline, type PipelineBenchResult } from './pipeline.bench.js';
import { machine, staticTokenCredential, tokenFromIdentityEndpoint } from './support.js';

export interface BenchSizes {
  readonly awsUsers: number;
  readonly awsLatencyMs: number;
  readonly awsThrottleRps: number;
  readonly orgAccounts: number;
  readonly orgUsersPerAccount: number;
  /** AWS_ACCOUNT_CONCURRENCY values compared, 1 first; and rounds (in order, then reversed, …). */
  readonly orgAccountConcurrencies: readonly number[];
  readonly orgRounds: number;
  readonly graphSignIns: number;
  readonly graphTimeScale: number;
  readonly pipelineRecords: number;
  /** The ingestion emulator parses and counts records (smoke); at full size it only checks the protocol. */
  readonly pipelineEmulatorParsesRecords: boolean;
  /** Entra duplicates: simulated hours of 15-min runs, and sign-ins a day. */
  readonly duplicatesHours: number;
  readonly duplicatesEventsPerDay: number;
}

export const fullSizes: BenchSizes = {
  awsUsers: 5000,
  awsLatencyMs: 40,
  awsThrottleRps: 60,
  orgAccounts: 20,
  orgUsersPerAccount: 250,
  orgAccountConcurrencies: [1, 4, 8],
  orgRounds: 2,
  graphSignIns: 100_000,
  graphTimeScale: 5,
  pipelineRecords: 1_000_000,
  pipelineEmulatorParsesRecords: false,
  duplicatesHours: 24,
  duplicatesEventsPerDay: 200_000,
};

export const smokeSizes: BenchSizes = {
  awsUsers: 60,
  awsLatencyMs: 2,
  awsThrottleRps: 100,
  orgAccounts: 3,
  orgUsersPerAccount: 15,
  orgAccountConcurrencies: [1, 4, 8],
  orgRounds: 1,
  graphSignIns: 3000,
  graphTimeScale: 200,
  pipelineRecords: 5000,
  pipelineEmulatorParsesRecords: true,
  duplicatesHours: 2,
  duplicatesEventsPerDay: 5000,
};

export interface BenchResults {
  readonly startedAt: string;
  readonly machine: typeof machine;
  readonly sizes: BenchSizes;
  /** The whole suite, start to finish. */
  readonly suiteMs: number;
  readonly aws: AwsBenchResult;
  readonly organization: OrganizationBenchResult;
  readonly graph: GraphBenchResult;
  readonly pipeline: PipelineBenchResult;
  readonly duplicates: DuplicatesBenchResult;
}

export async function runBenchmarks(
  sizes: BenchSizes,
  progress: (line: string) => void = () => {},
): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const suiteStarted = performance.now();

  // CPU-bound, so alone, before anything else starts.
  progress(`Pipeline: ${sizes.pipelineRecords} sign-ins mapped and uploaded…`);
  const pipeline = await benchPipeline(sizes.pipelineRecords, {
    emulatorParsesRecords: sizes.pipelineEmulatorParsesRecords,
  });
  // In process on a simulated clock, CPU-bound too.
  progress(
    `Entra duplicates: ${sizes.duplicatesHours} simulated hours of 15-min runs, ${sizes.duplicatesEventsPerDay} sign-ins a day…`,
  );
  const duplicates = await benchEntraDuplicates({
    hours: sizes.duplicatesHours,
    eventsPerDay: sizes.duplicatesEventsPerDay,
    seed: 29,
  });

  // Organization mode at 8 accounts at a time is CPU-bound (the SDK's work per call), so it runs alone too,
  // with its own moto, before the baseline's process starts.
  const organization = await organizationBench(sizes, progress);

  // The rest waits on latency and throttles, not on CPU: the old Lambda's sequential run, the longest
  // by far, goes on in its own process meanwhile.
  progress(
    `AWS inventory baseline (old Lambda, own process): ${sizes.awsUsers} users, ${sizes.awsLatencyMs} ms per call…`,
  );
  const baseline = startOldLambdaBaseline({ users: sizes.awsUsers, latencyMs: sizes.awsLatencyMs });
  try {
    progress(
      `AWS inventory, ours: ${sizes.awsUsers} users, then throttled above ${sizes.awsThrottleRps} requests/s…`,
    );
    const ours: OursInventory = await inventoryBench(sizes);

    progress(`Graph against the throttle: ${sizes.graphSignIns} sign-ins, clock ×${sizes.graphTimeScale}…`);
    const graph = await benchGraph(sizes);

    progress('Waiting for the AWS baseline…');
    const aws = compareWithBaseline(ours, await baseline.result);
    const suiteMs = performance.now() - suiteStarted;
    return { startedAt, machine, sizes, suiteMs, aws, organization, graph, pipeline, duplicates };
  } finally {
    baseline.stop();
  }
}

/** The organization at 1, 4 and 8 accounts at a time, with its own moto (CPU-bound: run it alone). */
function organizationBench(
  sizes: BenchSizes,
  progress: (line: string) => void,
): Promise<OrganizationBenchResult> {
  progress(
    `AWS organization: ${sizes.orgAccounts} accounts × ${sizes.orgUsersPerAccount} users, ${sizes.orgAccountConcurrencies.join(', ')} at a time…`,
  );
  return withMoto((moto) =>
    benchAwsOrganization(moto, {
      accounts: sizes.orgAccounts,
      usersPerAccount: sizes.orgUsersPerAccount,
      latencyMs: sizes.awsLatencyMs,
      concurrency: 8,
      accountConcurrencies: sizes.orgAccountConcurrencies,
      rounds: sizes.orgRounds,
      // As a deployment with the default, AWS_ACCOUNT_WORKERS=auto, on this machine.
      workers: (accountConcurrency) => autoAccountWorkers(accountConcurrency),
      ingestionParsesRecords: sizes.pipelineEmulatorParsesRecords,
    }),
  );
}

/** Our single-account inventory (without, then with owner tags; then throttled), with its own moto. */
function inventoryBench(sizes: BenchSizes): Promise<OursInventory> {
  return withMoto((moto) =>
    benchAwsInventory(moto, {
      users: sizes.awsUsers,
      latencyMs: sizes.awsLatencyMs,
      throttleRps: sizes.awsThrottleRps,
      concurrency: 8,
    }),
  );
}

/**
 * The AWS benchmarks alone (`--only aws`): the organization, then ours against the old Lambda's baseline
 * (its own process and moto) as in the whole suite, minus the benchmarks that ran beside the baseline.
 */
export async function runAwsBenchmarks(
  sizes: BenchSizes,
  progress: (line: string) => void = () => {},
): Promise<Pick<BenchResults, 'aws' | 'organization'>> {
  const organization = await organizationBench(sizes, progress);
  progress(`AWS inventory: ${sizes.awsUsers} users, ours and the old Lambda's (own process)…`);
  const baseline = startOldLambdaBaseline({ users: sizes.awsUsers, latencyMs: sizes.awsLatencyMs });
  try {
    const ours = await inventoryBench(sizes);
    progress('Waiting for the AWS baseline…');
    return { aws: compareWithBaseline(ours, await baseline.result), organization };
  } finally {
    baseline.stop();
  }
}

/**
 * latest.md with the sections from `heading` up to `until` (a line it matches) replaced: the AWS sections
 * (up to the next section not about AWS), or the organization's alone (up to the next section or note).
 */
export function spliceSections(
  markdown: string,
  heading: string,
  until: RegExp,
  replacement: string,
): string {
  const start = markdown.indexOf(heading);
  const next = start < 0 ? null : until.exec(markdown.slice(start + heading.length));
  if (start < 0 || next === null) return `${markdown.trimEnd()}\n\n${replacement}`;
  return markdown.slice(0, start) + replacement + markdown.slice(start + heading.length + next.index);
}

async function withMoto<T>(work: (moto: MotoServer) => Promise<T>): Promise<T> {
  const moto = await startMoto();
  try {
    return await work(moto);
  } finally {
    await moto.stop();
  }
}

async function benchGraph(sizes: BenchSizes): Promise<GraphBenchResult> {
  const identity = await startManagedIdentityEmulator({
    tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    clientId: '0c5a3b1e-7f3d-4b8e-9a51-3e2f6d8c9b10',
    principalId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
  });
  try {
    const token = await tokenFromIdentityEndpoint(identity.env(), 'https://graph.microsoft.com');
    return await benchGraphThrottle(identity, staticTokenCredential(token), {
      signIns: sizes.graphSignIns,
      timeScale: sizes.graphTimeScale,
    });
  } finally {
    await identity.stop();
  }
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const n = (x: number) => Math.round(x).toLocaleString('en-US');
const mb = (bytes: number) => `${(bytes / 1_000_000).toFixed(1)} MB`;
const min = (ms: number) => `${(ms / 60_000).toFixed(1)} min`;

function duplicatesRow(label: string, run: DuplicatesBenchRun): string {
  const state =
    run.stateIdsMax === 0 ? '–' : `${n(run.stateIdsMax)} Ids, ${(run.stateBytesMax / 1000).toFixed(1)} kB`;
  return `| ${label} | ${n(run.graphRequests)} | ${n(run.recordsSent)} | ${n(run.duplicates)} (${pct(run.duplicateFraction)}) | ${n(run.lostWithinGuarantee)} | ${n(run.lostBeyondGuarantee)} | ${state} |`;
}

/** The AWS sections of latest.md: the inventory against the old Lambda, owner tags, the organization. */
export function renderAws(r: Pick<BenchResults, 'aws' | 'organization'>): string {
  const { aws, organization: org } = r;
  return `## AWS inventory at scale

${n(aws.users)} IAM users, ${n(aws.keys)} access keys, in moto behind a proxy adding ${aws.latencyMs} ms per call.
The baseline's calls took ${(aws.baseline.wallMs / aws.baseline.apiCalls).toFixed(1)} ms on average, ${aws.latencyMs} ms of it injected.

| | API calls | wall time | keys | throttled | failed |
|---|---|---|---|---|---|
| baseline: old Lambda (sequential ListUsers → ListAccessKeys → GetAccessKeyLastUsed) | ${n(aws.baseline.apiCalls)} | ${s(aws.baseline.wallMs)} | ${n(aws.baseline.keys)} | ${aws.baseline.throttled} | ${aws.baseline.failed ?? 'no'} |
| ours: credential report + ListAccessKeys, 8 at a time | ${n(aws.ours.apiCalls)} | ${s(aws.ours.wallMs)} | ${n(aws.ours.keys)} | ${aws.ours.throttled} | ${aws.ours.failed ?? 'no'} |
| ours with owner tags (AWS_OWNER_TAG_KEYS=${aws.ownerTags.tagKeys.join(',')}): one ListUserTags per user with keys (${n(aws.ownerTags.usersWithKeys)}) | ${n(aws.ownerTags.run.apiCalls)} | ${s(aws.ownerTags.run.wallMs)} | ${n(aws.ownerTags.run.keys)} | ${aws.ownerTags.run.throttled} | ${aws.ownerTags.run.failed ?? 'no'} |
| ours, given a report another tool left ${aws.oursStaleReport.reportAgeMinutes} min before (> CREDENTIAL_REPORT_MAX_AGE_MINUTES): its ${n(aws.oursStaleReport.usersWithoutKeys)} users without keys asked too | ${n(aws.oursStaleReport.apiCalls)} | ${s(aws.oursStaleReport.wallMs)} | ${n(aws.oursStaleReport.keys)} | ${aws.oursStaleReport.throttled} | ${aws.oursStaleReport.failed ?? 'no'} |
| ours, IAM throttling above ${aws.oursThrottled.throttleRps} requests/s | ${n(aws.oursThrottled.apiCalls)} | ${s(aws.oursThrottled.wallMs)} | ${n(aws.oursThrottled.keys)} | ${aws.oursThrottled.throttled} | ${aws.oursThrottled.failed ?? 'no'} |

**${aws.callRatio.toFixed(1)}× fewer API calls, ${aws.wallTimeRatio.toFixed(1)}× less wall time** (targets: 2× and 10×).

**Owner tags cost ${aws.ownerTags.callRatio.toFixed(2)}× the API calls and ${aws.ownerTags.wallTimeRatio.toFixed(2)}× the wall time** of the inventory
without them (${n(aws.ownerTags.run.apiCalls)} calls in ${s(aws.ownerTags.run.wallMs)} against ${n(aws.ours.apiCalls)} in ${s(aws.ours.wallMs)}, one right after the other, each generating its
credential report). The tags are read \`AWS_CONCURRENCY\` users at a time while the keys of the next users are listed,
so their calls ${aws.ownerTags.wallTimeRatio < aws.ownerTags.callRatio ? 'partly overlap' : 'do not overlap'} the listing's.

${renderOrganization(org)}
`;
}

export function renderMarkdown(r: BenchResults): string {
  const { graph, pipeline, duplicates: dup } = r;
  return `# Benchmarks

Run ${r.startedAt} on ${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}; the whole suite took
${min(r.suiteMs)}. Every figure is set beside a baseline measured in the same run; absolute times on a shared
machine are noise. The CPU-bound benchmarks ran first, one after the other and alone: the pipeline, the Entra
duplicates (simulated clock) and the AWS organization; the AWS baseline then ran in its own process, against its
own moto, while the other benchmarks (which wait on latency and throttles) went on.

${renderAws(r)}## Graph collection against the throttle

${n(graph.signIns)} sign-ins in one window; Graph allows 5 requests per 10 s (the emulator's clock runs ×${graph.timeScale}),
so the ceiling is ${n(graph.ceilingRecordsPerSecond)} records/s.

| | records | requests | 429s | records/s | of ceiling |
|---|---|---|---|---|---|
| baseline: unpaced sequential pager (relies on 429 + Retry-After) | ${n(graph.baseline.records)} | ${graph.baseline.requests} | ${graph.baseline.throttled} | ${n(graph.baseline.recordsPerSecond)} | ${pct(graph.baseline.fractionOfCeiling)} |
| ours: paced to 5 per 10.2 s | ${n(graph.ours.records)} | ${graph.ours.requests} | ${graph.ours.throttled} | ${n(graph.ours.recordsPerSecond)} | ${pct(graph.ours.fractionOfCeiling)} |

Target: at least 95% of the ceiling with no 429.

## Pipeline cost per record

${n(pipeline.records)} synthetic sign-ins mapped to rows and uploaded through LogsIngestionClient to the ingestion
emulator (in a child process), against the floor: JSON.stringify + gzip of the same sign-ins, as Graph sends
them, in this process. The rows are about a fifth larger than the Graph records, so if anything the
comparison is hard on the pipeline.

| | wall time | records/s | peak RSS |
|---|---|---|---|
| floor: JSON.stringify + gzip (half before the pipeline, half after) | ${s(pipeline.floor.wallMs)} | ${n(pipeline.floor.recordsPerSecond)} | |
| pipeline | ${s(pipeline.pipeline.wallMs)} | ${n(pipeline.pipeline.recordsPerSecond)} | ${n(pipeline.pipeline.peakRssMB)} MB |

The emulator accepted ${n(pipeline.uploaded.requests)} requests: ${mb(pipeline.uploaded.jsonBytes)} of JSON sent as ${mb(pipeline.uploaded.gzipBytes)} gzip.
${
  pipeline.uploaded.records === null
    ? `It checks the token, route, gzip and 1 MB limit but does not parse records: that is the service's work on
its own machines, and here it took about 40% of all CPU time on these two cores.`
    : `It parsed and counted ${n(pipeline.uploaded.records)} records.`
}

**${pct(pipeline.fractionOfFloor)} of the floor's throughput** (target: at least 50%, peak RSS under 300 MB).

## Entra duplicates and losses in steady state

${dup.hours} simulated hours of runs every ${dup.policy.scheduleMinutes} min (lag ${dup.policy.lagMinutes} min, overlap ${dup.policy.overlapMinutes} min),
${n(dup.events)} sign-ins (${n(dup.eventsPerDay)} a day), late by ${dup.delays.medianMinutes.toFixed(1)} min at the median,
${pct(dup.delays.under5MinFraction)} under 5 min, ${pct(dup.delays.beyondGuaranteeFraction)} later than lag + overlap (${dup.policy.lagMinutes + dup.policy.overlapMinutes} min), 99th percentile
${dup.delays.p99Minutes.toFixed(0)} min, at most ${dup.delays.maxMinutes.toFixed(0)} min. In process on a simulated clock: the real runner, file checkpoint store,
sign-in mapping and Entra \`identify\`; Graph simulated (both bounds inclusive, only arrived events, pages of 1,000).

| | Graph requests | records sent | duplicates | lost, ≤ ${dup.policy.lagMinutes + dup.policy.overlapMinutes} min late | lost, later | checkpoint state |
|---|---|---|---|---|---|---|
${duplicatesRow('before: every re-read row sent again', dup.today)}
${duplicatesRow('ours: Ids accepted in the overlap remembered', dup.remembered)}
${duplicatesRow(`ours with a ${dup.rememberedLongOverlap.overlapMinutes / 60} h overlap (not the default)`, dup.rememberedLongOverlap)}

**Duplicates ${pct(dup.today.duplicateFraction)} → ${pct(dup.remembered.duplicateFraction)} of records sent** (target: at most 1%), with ${
    dup.remembered.graphRequests === dup.today.graphRequests
      ? 'the same Graph requests'
      : `${n(dup.remembered.graphRequests)} Graph requests instead of ${n(dup.today.graphRequests)}`
  }, and ${
    dup.remembered.lostWithinGuarantee === 0
      ? 'nothing lost'
      : `${n(dup.remembered.lostWithinGuarantee)} events lost`
  } that was at most ${dup.policy.lagMinutes + dup.policy.overlapMinutes} min late.
`;
}

/**
 * `--only aws`: the AWS benchmarks alone; `--only aws-organization`: the organization's alone. Their
 * sections of latest.{json,md} are replaced, the others kept.
 */
async function writeAwsOnly(smoke: boolean, only: 'aws' | 'aws-organization'): Promise<void> {
  const sizes = smoke ? smokeSizes : fullSizes;
  const progress = (line: string) => process.stderr.write(`${line}\n`);
  const dir = join(repoRoot, 'bench', 'results');
  await mkdir(dir, { recursive: true });
  const name = smoke ? 'smoke' : 'latest';
  const jsonPath = join(dir, `${name}.json`);
  const mdPath = join(dir, `${name}.md`);
  const at = () => new Date().toISOString();
  let results: Record<string, unknown>;
  let splice: (markdown: string) => string;
  let shown: string;
  if (only === 'aws') {
    const aws = await runAwsBenchmarks(sizes, progress);
    results = { ...aws, awsRunAt: at() };
    shown = `${renderAws(aws)}\n_The AWS sections were rerun alone (\`--only aws\`) ${at()}._\n\n`;
    splice = (markdown) => spliceSections(markdown, '## AWS inventory at scale', /^## (?!AWS)/m, shown);
  } else {
    const organization = await organizationBench(sizes, progress);
    results = { organization, awsOrganizationRunAt: at() };
    shown = `${renderOrganization(organization)}\n_The organization section was rerun alone (\`--only aws-organization\`) ${at()}._\n\n`;
    splice = (markdown) =>
      spliceSections(markdown, '## AWS organization', /^(## |_The AWS sections)/m, shown);
  }
  const previous = JSON.parse(await readFile(jsonPath, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  await writeFile(jsonPath, `${JSON.stringify({ ...previous, ...results }, null, 2)}\n`);
  await writeFile(mdPath, splice(await readFile(mdPath, 'utf8').catch(() => '')));
  process.stdout.write(shown);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const smoke = process.env.BENCH_SMOKE === '1';
  const { values } = parseArgs({ options: { only: { type: 'string' } } });
  const { only } = values;
  if (only !== undefined && only !== 'aws' && only !== 'aws-organization')
    throw new Error('--only takes: aws, aws-organization');
  if (only !== undefined) await writeAwsOnly(smoke, only);
  else {
    const results = await runBenchmarks(smoke ? smokeSizes : fullSizes, (line) =>
      process.stderr.write(`${line}\n`),
    );
    const dir = join(repoRoot, 'bench', 'results');
    await mkdir(dir, { recursive: true });
    const name = smoke ? 'smoke' : 'latest';
    await writeFile(join(dir, `${name}.json`), `${JSON.stringify(results, null, 2)}\n`);
    const markdown = renderMarkdown(results);
    await writeFile(join(dir, `${name}.md`), markdown);
    process.stdout.write(markdown);
  }
}
