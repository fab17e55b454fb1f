import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { gzipSync } from 'node:zlib';
import { silentLogger } from '../src/lib/logger.js';
import type { RunResult } from '../src/run/runCollector.js';
import { runWindowedCollector } from '../src/run/runWindowedCollector.js';
import type { WindowedCollector } from '../src/run/windowedCollector.js';
import { logsIngestionSink } from '../src/sinks/logsIngestionSink.js';
import type { GraphSignIn } from '../src/sources/entra/graphTypes.js';
import { toSignInRow } from '../src/sources/entra/rows.js';
import type { CheckpointStore } from '../src/state/checkpointStore.js';
import { siblingEntry, staticTokenCredential, withPeakRss } from './support.js';

export interface PipelineBenchResult {
  readonly records: number;
  readonly pipeline: {
    readonly wallMs: number;
    readonly recordsPerSecond: number;
    readonly peakRssMB: number;
  };
  readonly floor: { readonly wallMs: number; readonly recordsPerSecond: number; readonly gzipBytes: number };
  /** What the emulator accepted: 1 MB requests and their bytes before and after gzip. */
  readonly uploaded: {
    readonly requests: number;
    /** Counted by the emulator when it parsed them (smoke runs); null at full size. */
    readonly records: number | null;
    readonly jsonBytes: number;
    readonly gzipBytes: number;
  };
  /** Pipeline throughput as a share of the floor's (JSON.stringify + gzip of the same records). */
  readonly fractionOfFloor: number;
}

const base = new Date('2026-11-01T00:00:00Z').getTime();

/** Graph-shaped sign-ins, cheap to make, so the measured cost is the pipeline's. */
export function* syntheticSignIns(count: number, from = 0): Generator<GraphSignIn> {
  for (let i = from; i < from + count; i += 1) {
    yield {
      id: `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      createdDateTime: new Date(base + i * 50).toISOString(),
      userDisplayName: `User ${i % 5000}`,
      userPrincipalName: `user${i % 5000}@contoso.com`,
      userId: `11111111-0000-4000-8000-${(i % 5000).toString(16).padStart(12, '0')}`,
      appId: 'de8bc8b5-d9f9-48b1-a8ad-b748da725064',
      appDisplayName: 'Graph Explorer',
      ipAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
      clientAppUsed: 'Browser',
      correlationId: `22222222-0000-4000-8000-${i.toString(16).padStart(12, '0')}`,
      conditionalAccessStatus: i % 7 === 0 ? 'failure' : 'success',
      isInteractive: true,
      riskDetail: 'none',
      riskLevelAggregated: 'none',
      riskLevelDuringSignIn: 'none',
      riskState: 'none',
      riskEventTypes_v2: [],
      resourceDisplayName: 'Microsoft Graph',
      resourceId: '00000003-0000-0000-c000-000000000000',
      status: {
        errorCode: i % 9 === 0 ? 50126 : 0,
        failureReason: i % 9 === 0 ? 'Invalid username or password.' : null,
        additionalDetails: null,
      },
      deviceDetail: {
        deviceId: '',
        displayName: null,
        operatingSystem: 'Windows 10',
        browser: 'Edge 120',
        isCompliant: false,
        isManaged: false,
        trustType: '',
      },
      location: {
        city: 'Redmond',
        state: 'Washington',
        countryOrRegion: 'US',
        geoCoordinates: { latitude: 47.68, longitude: -122.12 },
      } as GraphSignIn['location'],
      appliedConditionalAccessPolicies: [
        { id: 'p1', displayName: 'Require MFA', enforcedGrantControls: ['Mfa'], result: 'success' },
      ],
    };
  }
}

/** The ingestion emulator in a child process (ingestionServer.ts); the AWS organization bench uses it too. */
export async function startIngestionChild(parseRecords: boolean) {
  const { entry, execArgv } = siblingEntry(import.meta.url, 'ingestionServer');
  const child = spawn(process.execPath, [...execArgv, entry, ...(parseRecords ? ['--parse-records'] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const [line] = await Promise.race([
    lines.next().then((r) => [r.value as string]),
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('ingestion emulator did not start')), 30_000),
    ),
  ]);
  const ready = JSON.parse(line ?? '{}') as { endpoint: string; dcrImmutableId: string; token: string };
  return {
    ...ready,
    pid: child.pid,
    /** Closes the emulator and returns what it accepted; an emulator that died is an error. */
    stop: async (): Promise<IngestionSummary> => {
      const exited = new Promise<number | null>((resolve) => {
        if (child.exitCode !== null) resolve(child.exitCode);
        else child.once('exit', (code) => resolve(code));
      });
      child.stdin.end();
      const summary = await lines.next();
      const code = await exited;
      const parsed = JSON.parse((summary.value as string | undefined) ?? 'null') as IngestionSummary | null;
      if (code !== 0 || parsed === null || typeof parsed.requests !== 'number')
        throw new Error(`the ingestion emulator exited with ${code ?? 'a signal'} without its summary`);
      return parsed;
    },
  };
}

interface IngestionSummary {
  readonly requests: number;
  readonly records: number | null;
  readonly rejected: number;
  readonly uncompressedBytes: number;
  readonly compressedBytes: number;
}

/** The floor: the same records, stringified and gzipped in ~1 MB chunks as the SDK would. */
function floor(count: number, from: number): { wallMs: number; gzipBytes: number } {
  const started = performance.now();
  let gzipBytes = 0;
  let chunk: string[] = [];
  let size = 0;
  for (const record of syntheticSignIns(count, from)) {
    const json = JSON.stringify(record);
    chunk.push(json);
    size += json.length + 1;
    if (size >= 1_000_000) {
      gzipBytes += gzipSync(`[${chunk.join(',')}]`).length;
      chunk = [];
      size = 0;
    }
  }
  if (chunk.length > 0) gzipBytes += gzipSync(`[${chunk.join(',')}]`).length;
  return { wallMs: performance.now() - started, gzipBytes };
}

/**
 * Synthetic sign-ins → mapping → LogsIngestionClient (chunk, gzip, HTTP) → emulator in another
 * process. The floor runs half before and half after, so drift on a shared machine hits both alike.
 */
export async function benchPipeline(
  records: number,
  options: { emulatorParsesRecords: boolean },
): Promise<PipelineBenchResult> {
  const half = Math.floor(records / 2);
  const floorBefore = floor(half, 0);
  const ingestion = await startIngestionChild(options.emulatorParsesRecords);
  let run: { result: RunResult; peakRssBytes: number };
  try {
    run = await withPeakRss(() => uploadThroughPipeline(records, ingestion));
  } catch (error) {
    await ingestion.stop();
    throw error;
  }
  const uploaded = await ingestion.stop();
  const floorAfter = floor(records - half, half);

  const { result, peakRssBytes } = run;
  if (result.recordsUploaded !== records)
    throw new Error(`pipeline uploaded ${result.recordsUploaded} of ${records}`);
  if (uploaded.rejected > 0) throw new Error(`the emulator rejected ${uploaded.rejected} requests`);
  if (uploaded.records !== null && uploaded.records !== records)
    throw new Error(`the emulator received ${uploaded.records} records of ${records}`);
  const floorMs = floorBefore.wallMs + floorAfter.wallMs;
  const pipelineRps = records / (result.durationMs / 1000);
  const floorRps = records / (floorMs / 1000);
  return {
    records,
    pipeline: {
      wallMs: result.durationMs,
      recordsPerSecond: pipelineRps,
      peakRssMB: peakRssBytes / 1_000_000,
    },
    floor: {
      wallMs: floorMs,
      recordsPerSecond: floorRps,
      gzipBytes: floorBefore.gzipBytes + floorAfter.gzipBytes,
    },
    uploaded: {
      requests: uploaded.requests,
      records: uploaded.records,
      jsonBytes: uploaded.uncompressedBytes,
      gzipBytes: uploaded.compressedBytes,
    },
    fractionOfFloor: pipelineRps / floorRps,
  };
}

function uploadThroughPipeline(
  records: number,
  ingestion: { endpoint: string; dcrImmutableId: string; token: string },
): Promise<RunResult> {
  const collector: WindowedCollector<'EntraSignIns_CL'> = {
    name: 'bench-signins',
    table: 'EntraSignIns_CL',
    open: (context) =>
      Promise.resolve({
        scope: 'bench',
        async *read() {
          const mapping = {
            tenantId: 'bench',
            collectedAt: context.startTime,
            defaultEventType: 'interactiveUser' as const,
          };
          for (const signIn of syntheticSignIns(records)) yield toSignInRow(signIn, mapping);
          await Promise.resolve();
        },
      }),
  };
  const nowhere: CheckpointStore = {
    description: 'none',
    get: () => Promise.resolve(undefined),
    list: () => Promise.resolve([]),
    set: () => Promise.resolve(),
  };
  const sink = logsIngestionSink({
    endpoint: ingestion.endpoint,
    dcrImmutableId: ingestion.dcrImmutableId,
    credential: staticTokenCredential(ingestion.token),
  });
  return runWindowedCollector({
    collector,
    checkpoints: nowhere,
    sink,
    log: silentLogger,
    policy: {
      overlapMs: 0,
      lagMs: 0,
      initialLookbackMs: 0,
      sliceMs: 1e12,
      budgetMs: 1e12,
      retentionMs: 1e12,
    },
    explicitWindow: { start: new Date(base), end: new Date(base + 1) },
  });
}
