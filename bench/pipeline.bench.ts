import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { silentLogger } from '../src/run/logger.js';
import { runWindowedCollector } from '../src/run/runWindowedCollector.js';
import type { WindowedCollector } from '../src/run/windowedCollector.js';
import { logsIngestionSink } from '../src/sinks/logsIngestionSink.js';
import type { GraphSignIn } from '../src/sources/entra/graphTypes.js';
import { toSignInRow } from '../src/sources/entra/rows.js';
import type { CheckpointStore } from '../src/state/checkpointStore.js';
import { staticTokenCredential, withPeakRss } from './support.js';

export interface PipelineBenchResult {
  readonly records: number;
  readonly pipeline: {
    readonly wallMs: number;
    readonly recordsPerSecond: number;
    readonly peakRssMB: number;
  };
  readonly floor: { readonly wallMs: number; readonly recordsPerSecond: number; readonly gzipBytes: number };
  /** Pipeline throughput as a share of the floor's (JSON.stringify + gzip of the same records). */
  readonly fractionOfFloor: number;
}

const base = new Date('2026-11-01T00:00:00Z').getTime();

/** Graph-shaped sign-ins, cheap to make, so the measured cost is the pipeline's. */
export function* syntheticSignIns(count: number): Generator<GraphSignIn> {
  for (let i = 0; i < count; i += 1) {
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

async function startIngestionChild() {
  const entry = fileURLToPath(new URL('./ingestionServer.js', import.meta.url));
  const child = spawn(process.execPath, [entry], { stdio: ['pipe', 'pipe', 'inherit'] });
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
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

/** The floor: the same records, stringified and gzipped in ~1 MB chunks as the SDK would. */
function floor(count: number): { wallMs: number; gzipBytes: number } {
  const started = performance.now();
  let gzipBytes = 0;
  let chunk: string[] = [];
  let size = 0;
  for (const record of syntheticSignIns(count)) {
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

/** Synthetic sign-ins → mapping → LogsIngestionClient (chunk, gzip, HTTP) → emulator in another process. */
export async function benchPipeline(records: number): Promise<PipelineBenchResult> {
  const ingestion = await startIngestionChild();
  try {
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
      set: () => Promise.resolve(),
    };
    const sink = logsIngestionSink({
      endpoint: ingestion.endpoint,
      dcrImmutableId: ingestion.dcrImmutableId,
      credential: staticTokenCredential(ingestion.token),
    });
    const start = new Date(base);
    const { result, peakRssBytes } = await withPeakRss(() =>
      runWindowedCollector({
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
        explicitWindow: { start, end: new Date(base + 1) },
      }),
    );
    if (result.recordsUploaded !== records)
      throw new Error(`pipeline uploaded ${result.recordsUploaded} of ${records}`);
    const floorRun = floor(records);
    const pipelineRps = records / (result.durationMs / 1000);
    const floorRps = records / (floorRun.wallMs / 1000);
    return {
      records,
      pipeline: {
        wallMs: result.durationMs,
        recordsPerSecond: pipelineRps,
        peakRssMB: peakRssBytes / 1_048_576,
      },
      floor: { wallMs: floorRun.wallMs, recordsPerSecond: floorRps, gzipBytes: floorRun.gzipBytes },
      fractionOfFloor: pipelineRps / floorRps,
    };
  } finally {
    await ingestion.stop();
  }
}
