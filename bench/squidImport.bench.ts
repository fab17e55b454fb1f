// `import squid-log` throughput (issue 15 item 10): lines per second through the whole path as the CLI
// runs it — read (streamed), the transform run locally for the counts and the summary (the CLI's
// `onRows`, the proxy summary fed with every batch), and the upload of the raw lines through
// LogsIngestionClient (1 MB gzip requests) to the ingestion emulator in its own process — beside the
// floor measured in the same run on the same file: reading its lines and JSON.stringify + gzip of the
// same records, nothing else. The floor reads the first half of the file before the import and the
// second half after it, so both see the machine as it was meanwhile. Peak RSS of this process while
// importing.
//
// A second import (`--select`, on by default) passes the summary's columns as `rowColumns`: what the
// CLI does once it hands them to runImport (the transform then computes those columns only).
//
//   node scripts/with-dev-ca.mjs node --import tsx bench/squidImport.bench.ts [--mb 1024] [--no-select]
//   … --generate-only: only write the log (.local/bench/, gitignored).
// Results: bench/results/squid-import.{json,md}.
import { createReadStream, createWriteStream, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { importerNamed, runImport, type ImportResult } from '../src/app/importFiles.js';
import { silentLogger } from '../src/lib/logger.js';
import { proxySummaryColumns } from '../src/sources/proxy/proxySummary.js';
import { proxyLogLines } from '../test/support/proxyLog.js';
import { repoRoot } from '../test/support/paths.js';
import { startIngestionChild } from './pipeline.bench.js';
import { machine, staticTokenCredential, withPeakRss } from './support.js';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '1024' },
    'generate-only': { type: 'boolean', default: false },
    'no-select': { type: 'boolean', default: false },
  },
});
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

/** Where the second half of the file starts: the first line start at or after the middle. */
async function middle(bytes: number): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const { buffer, bytesRead } = await handle.read(Buffer.alloc(65_536), 0, 65_536, Math.floor(bytes / 2));
    const newline = buffer.subarray(0, bytesRead).indexOf(0x0a);
    return newline < 0 ? bytes : Math.floor(bytes / 2) + newline + 1;
  } finally {
    await handle.close();
  }
}

/** The floor on bytes [start, end] of the file: its lines as the same records, stringified and gzipped in ~1 MB requests. */
async function floor(start: number, end: number): Promise<{ lines: number; wallMs: number }> {
  const started = performance.now();
  const readAt = new Date().toISOString();
  let lines = 0;
  let chunk: string[] = [];
  let size = 0;
  const input = createReadStream(file, { start, end });
  for await (const line of createInterface({ input, crlfDelay: Infinity })) {
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

/** `import squid-log FILE` as the CLI runs it (progress every 10 s on stderr), to the emulator. */
async function importFile(rowColumns: readonly string[] | undefined) {
  const importer = importerNamed('squid-log');
  const summary = importer?.summary?.();
  const emulator = await startIngestionChild(false);
  let lastProgress = Date.now();
  let run;
  try {
    run = await withPeakRss(() =>
      runImport({
        format: 'squid-log',
        files: [file],
        env: { LOGS_INGESTION_ENDPOINT: emulator.endpoint, LOGS_INGESTION_DCR_ID: emulator.dcrImmutableId },
        log: silentLogger,
        onRows: (rows) => summary?.add(rows),
        rowColumns,
        onProgress: (progress) => {
          if (Date.now() - lastProgress < 10_000) return;
          lastProgress = Date.now();
          process.stderr.write(
            `… ${progress.lines} lines (${Math.round((100 * progress.bytesRead) / progress.fileBytes)} %)\n`,
          );
        },
        tuning: { credential: staticTokenCredential(emulator.token) },
      }),
    );
  } catch (error) {
    await emulator.stop();
    throw error;
  }
  const uploaded = await emulator.stop();
  if (uploaded.rejected > 0) throw new Error(`the emulator rejected ${uploaded.rejected} requests`);
  return { ...run, figures: summary?.render({ all: false }).figures ?? [] };
}

function importFigures(run: { result: ImportResult; peakRssBytes: number }) {
  return {
    wallMs: Math.round(run.result.durationMs),
    linesPerSecond: Math.round(run.result.lines / (run.result.durationMs / 1000)),
    accepted: run.result.accepted,
    parseErrors: run.result.parseErrors,
    peakRssMB: Math.round(run.peakRssBytes / 1_048_576),
  };
}

await generate();
if (values['generate-only']) process.exit(0);
const bytes = statSync(file).size;
const half = await middle(bytes);
const firstHalf = await floor(0, half - 1);
const cli = await importFile(undefined);
const selected = !values['no-select'] ? await importFile(proxySummaryColumns) : undefined;
const secondHalf = await floor(half, bytes - 1);
const base = { lines: firstHalf.lines + secondHalf.lines, wallMs: firstHalf.wallMs + secondHalf.wallMs };
const result = cli.result;
if (base.lines !== result.lines)
  throw new Error(`the floor read ${base.lines} lines, the import ${result.lines}`);
const report = {
  machine,
  file: { bytes, lines: result.lines },
  import: importFigures(cli),
  ...(selected ? { importSummaryColumnsOnly: importFigures(selected) } : {}),
  floor: { wallMs: Math.round(base.wallMs), linesPerSecond: Math.round(base.lines / (base.wallMs / 1000)) },
};
const fraction = report.import.linesPerSecond / report.floor.linesPerSecond;
const selectedFraction = report.importSummaryColumnsOnly
  ? report.importSummaryColumnsOnly.linesPerSecond / report.floor.linesPerSecond
  : undefined;
mkdirSync(join(repoRoot, 'bench', 'results'), { recursive: true });
writeFileSync(
  join(repoRoot, 'bench', 'results', 'squid-import.json'),
  `${JSON.stringify({ ...report, fractionOfFloor: fraction, ...(selectedFraction === undefined ? {} : { summaryColumnsOnlyFractionOfFloor: selectedFraction }) }, null, 2)}\n`,
);
const row = (label: string, figures: ReturnType<typeof importFigures>, share: number) =>
  `| ${label} | ${figures.linesPerSecond} | ${(figures.wallMs / 1000).toFixed(1)} s | ${figures.peakRssMB} MB | ${(share * 100).toFixed(0)} % |`;
const md = [
  '# `import squid-log` throughput',
  '',
  `${(bytes / 1_048_576).toFixed(0)} MB, ${result.lines} lines (${machine.cores} cores, ${machine.cpu}, Node ${machine.node}).`,
  '',
  '| | lines/s | wall | peak RSS | of the floor |',
  '| --- | --- | --- | --- | --- |',
  row('import computing every column locally (read, transform, summary, upload)', report.import, fraction),
  ...(report.importSummaryColumnsOnly && selectedFraction !== undefined
    ? [
        row(
          'import as the CLI runs it: the summary columns only (`rowColumns`)',
          report.importSummaryColumnsOnly,
          selectedFraction,
        ),
      ]
    : []),
  `| floor (read, JSON.stringify + gzip; half before, half after) | ${report.floor.linesPerSecond} | ${(report.floor.wallMs / 1000).toFixed(1)} s | | 100 % |`,
  '',
  `${result.accepted} records accepted, ${result.parseErrors} lines did not parse (kept, flagged, counted). The summary:`,
  '',
  '```',
  ...cli.figures,
  '```',
  '',
].join('\n');
writeFileSync(join(repoRoot, 'bench', 'results', 'squid-import.md'), md);
process.stdout.write(md);
