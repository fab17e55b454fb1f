// `import squid-log` throughput (issue 15 item 10): lines per second through the whole path — read
// (streamed), the transform run locally (counts, summary), and the upload of the raw lines through
// LogsIngestionClient (1 MB gzip requests) to the ingestion emulator in its own process — beside the
// floor measured in the same run on the same file: reading its lines and JSON.stringify + gzip of the
// same records, nothing else. Peak RSS of this process while importing.
//
//   node scripts/with-dev-ca.mjs node --import tsx bench/squidImport.bench.ts [--mb 1024]
// Results: bench/results/squid-import.{json,md}.
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { runImport } from '../src/app/importFiles.js';
import { silentLogger } from '../src/lib/logger.js';
import { proxyLogLines } from '../test/support/proxyLog.js';
import { repoRoot } from '../test/support/paths.js';
import { startIngestionChild } from './pipeline.bench.js';
import { machine, staticTokenCredential, withPeakRss } from './support.js';

const { values } = parseArgs({ options: { mb: { type: 'string', default: '1024' } } });
const targetBytes = Number(values.mb) * 1_048_576;
const dir = join(repoRoot, '.local', 'bench');
const file = join(dir, `squid-access-${values.mb}mb.log`);

/** Writes a log of at least targetBytes, chunk by chunk (never the whole file in memory). */
async function generate(): Promise<void> {
  if (existsSync(file) && statSync(file).size >= targetBytes) return;
  mkdirSync(dir, { recursive: true });
  const out = createWriteStream(file);
  const users = Array.from({ length: 2000 }, (_, i) => ({
    samAccountName: `user${i}`,
    domain: 'corp.example.com',
  }));
  let written = 0;
  for (let chunk = 0; written < targetBytes; chunk += 1) {
    const from = new Date(Date.UTC(2026, 10, 1) + chunk * 60_000);
    const text = `${proxyLogLines({ users, lines: 20_000, from, to: new Date(from.getTime() + 60_000), seed: chunk }).join('\n')}\n`;
    written += Buffer.byteLength(text);
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/** The floor: the same lines as the same records, stringified and gzipped in ~1 MB requests. */
async function floor(): Promise<{ lines: number; wallMs: number }> {
  const started = performance.now();
  const readAt = new Date().toISOString();
  let lines = 0;
  let chunk: string[] = [];
  let size = 0;
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    lines += 1;
    const json = JSON.stringify({ TimeGenerated: readAt, RawData: line, FilePath: file, Computer: '' });
    chunk.push(json);
    size += json.length + 1;
    if (size >= 1_000_000) {
      gzipSync(`[${chunk.join(',')}]`);
      chunk = [];
      size = 0;
    }
  }
  if (chunk.length > 0) gzipSync(`[${chunk.join(',')}]`);
  return { lines, wallMs: performance.now() - started };
}

await generate();
const bytes = statSync(file).size;
const base = await floor();
const emulator = await startIngestionChild(false);
const measured = await withPeakRss(() =>
  runImport({
    format: 'squid-log',
    files: [file],
    env: { LOGS_INGESTION_ENDPOINT: emulator.endpoint, LOGS_INGESTION_DCR_ID: emulator.dcrImmutableId },
    log: silentLogger,
    tuning: { credential: staticTokenCredential(emulator.token) },
  }),
);
await emulator.stop();
const result = measured.result;
const report = {
  machine,
  file: { bytes, lines: result.lines },
  import: {
    wallMs: Math.round(result.durationMs),
    linesPerSecond: Math.round(result.lines / (result.durationMs / 1000)),
    accepted: result.accepted,
    parseErrors: result.parseErrors,
    peakRssMB: Math.round(measured.peakRssBytes / 1_048_576),
  },
  floor: { wallMs: Math.round(base.wallMs), linesPerSecond: Math.round(base.lines / (base.wallMs / 1000)) },
};
const fraction = report.import.linesPerSecond / report.floor.linesPerSecond;
mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(repoRoot, 'bench', 'results', 'squid-import.json'),
  `${JSON.stringify({ ...report, fractionOfFloor: fraction }, null, 2)}\n`,
);
const md = [
  '# `import squid-log` throughput',
  '',
  `${(bytes / 1_048_576).toFixed(0)} MB, ${result.lines} lines (${machine.cores} cores, ${machine.cpu}, Node ${machine.node}).`,
  '',
  '| | lines/s | wall | peak RSS |',
  '| --- | --- | --- | --- |',
  `| import (read, transform, upload) | ${report.import.linesPerSecond} | ${(report.import.wallMs / 1000).toFixed(1)} s | ${report.import.peakRssMB} MB |`,
  `| floor (read, JSON.stringify + gzip) | ${report.floor.linesPerSecond} | ${(report.floor.wallMs / 1000).toFixed(1)} s | |`,
  '',
  `The import runs at ${(fraction * 100).toFixed(0)} % of the floor; ${result.accepted} records accepted, ${result.parseErrors} lines did not parse (kept).`,
  '',
].join('\n');
writeFileSync(join(repoRoot, 'bench', 'results', 'squid-import.md'), md);
process.stdout.write(md);
