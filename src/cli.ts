#!/usr/bin/env node
import { constants, realpathSync } from 'node:fs';
import { access, mkdir, stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { declaredCollectors } from './app/collectors.generated.js';
import { collectorNamed, localCheckpointFile, runConfiguredCollector } from './app/configuredRun.js';
import { ImportError, importerNamed, importers, runImport, type ImportResult } from './app/importFiles.js';
import { peopleReport } from './app/peopleFiles.js';
import { CollectorRunError, type TimeWindow } from './run/runCollector.js';
import { redactingLogger } from './lib/logger.js';
import { describeError } from './lib/redact.js';
import type { RunResult } from './run/runCollector.js';
import type { AnyCollectorDeclaration } from './run/collectorDeclaration.js';

const windowed = declaredCollectors.filter((collector) => collector.kind === 'windowed').map((c) => c.name);
const nameWidth = Math.max(
  ...declaredCollectors.map((collector) => collector.name.length),
  ...importers.map((importer) => importer.format.length),
);

const usage = `Usage: crosscloud-identity-monitor collect <collector> [--dry-run] [--out DIR] [--since T] [--until T] [--all]
       crosscloud-identity-monitor import <format> FILE… [--dry-run] [--out DIR] [--all]
       crosscloud-identity-monitor people [--in DIR] [--all]

Collectors:
${declaredCollectors.map((c) => `  ${c.name.padEnd(nameWidth)}  ${c.description}`).join('\n')}

Import formats (FILE: plain or gzip-compressed, read as a stream; each line is sent as it is and parsed
by the table's data collection rule transform, which the CLI also runs to count lines it cannot parse):
${importers.map((i) => `  ${i.format.padEnd(nameWidth)}  ${i.description}`).join('\n')}

  --dry-run   write NDJSON files instead of sending to the Logs Ingestion API (import: the parsed rows)
  --out DIR   where dry-run files go (default .local/out)
  --since T   ${windowed.join(', ')}: read from T (ISO 8601, e.g. 2026-11-01T00:00:00Z) instead of
              the checkpoint; a backfill: the checkpoint is left alone
  --until T   read up to T (default: now); needs --since
              T is ISO 8601: a date (2026-11-01, UTC) or a time with its zone (…T08:00:00Z, …+01:00)
  --all       list every finding in the summary, not only the worst few of each kind
  --in DIR    people: the dry-run files to read (default .local/out): leavers with active AWS keys,
              orphan keys, weakest links, MFA in neither cloud (rules: infra/people/matching.json)
  --help      show this help

${windowed.join(', ')} keep their checkpoint in AzureWebJobsStorage when set, else in ${localCheckpointFile}.

Settings come from the environment (see README, "Settings"). Locally the AWS default credential
chain is used unless AWS_FEDERATION_AUDIENCE is set, and Azure uses DefaultAzureCredential.`;

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
}

const processIo: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

/** Runs the CLI; resolves to the process exit code (0 ok, 1 run failed, 2 usage). */
export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
  io: CliIo = processIo,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'dry-run': { type: 'boolean', default: false },
        in: { type: 'string' },
        out: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        all: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.stderr(`${describeError(error)}\n\n${usage}\n`);
    return 2;
  }
  const [command, collector, ...stray] = parsed.positionals;
  if (parsed.values.help) {
    io.stdout(`${usage}\n`);
    return 0;
  }
  if (command === 'people') {
    if (parsed.positionals.length > 1 || parsed.values['dry-run'] || parsed.values.out !== undefined) {
      io.stderr(`people reads dry-run files (--in DIR) and takes no other argument.\n\n${usage}\n`);
      return 2;
    }
    const directory = parsed.values.in ?? '.local/out';
    try {
      const { text, missing } = await peopleReport(directory, { all: parsed.values.all });
      if (missing.length > 0) io.stderr(`${directory}: no rows of ${missing.join(', ')}\n`);
      io.stdout(text);
      return 0;
    } catch (error) {
      io.stderr(`error: people: ${describeError(error)}\n`);
      return 1;
    }
  }
  if (parsed.values.in !== undefined) {
    io.stderr('--in is only used with people.\n');
    return 2;
  }
  if (command === 'import') {
    return importCommand(parsed.positionals.slice(1), parsed.values, env, io);
  }
  if (command !== 'collect') {
    io.stderr(
      `${command === undefined ? 'No command given.' : `Unknown command "${command}".`}\n\n${usage}\n`,
    );
    return 2;
  }
  const declaration = collectorNamed(collector ?? '');
  if (declaration === undefined) {
    io.stderr(`Unknown collector "${collector ?? ''}".\n\n${usage}\n`);
    return 2;
  }
  if (stray.length > 0) {
    // `collect aws-access-keys dryrun` must not quietly become a real ingestion.
    io.stderr(
      `Unexpected argument "${stray.join(' ')}" (options start with --, e.g. --dry-run).\n\n${usage}\n`,
    );
    return 2;
  }
  if (parsed.values.out !== undefined && !parsed.values['dry-run']) {
    io.stderr('--out is only used with --dry-run.\n');
    return 2;
  }
  const window = explicitWindow(declaration, parsed.values.since, parsed.values.until);
  if (typeof window === 'string') {
    io.stderr(`${window}\n\n${usage}\n`);
    return 2;
  }
  const dryRunDirectory = parsed.values['dry-run'] ? (parsed.values.out ?? '.local/out') : undefined;
  // Before any call to AWS or Graph: an inventory must not be read only to be lost at the end.
  const unwritable = dryRunDirectory === undefined ? undefined : await cannotWriteTo(dryRunDirectory);
  if (unwritable !== undefined) {
    io.stderr(`--out ${dryRunDirectory ?? ''}: cannot write there (${unwritable}).\n`);
    return 2;
  }
  // Node 20 still works; the AWS SDK's 7-line notice about its 2027 releases is for the README.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const log = redactingLogger({
    info: (message) => io.stderr(`${message}\n`),
    warn: (message) => io.stderr(`warning: ${message}\n`),
    error: (message) => io.stderr(`error: ${message}\n`),
  });
  const summary = declaration.summary?.();
  let accepted = 0;
  let lastProgress = Date.now();
  try {
    const result = await runConfiguredCollector(declaration.name, {
      host: 'cli',
      env,
      log,
      dryRunDirectory,
      window,
      onAccepted: (rows) => {
        accepted += rows.length;
        summary?.add(rows);
        // A line every couple of seconds: progress for long runs, quiet for short ones.
        if (Date.now() - lastProgress >= 2000) {
          lastProgress = Date.now();
          io.stderr(`… ${accepted} records accepted\n`);
        }
      },
    });
    io.stdout(renderSummary(result, summary?.render({ all: parsed.values.all })));
    return 0;
  } catch (error) {
    // The runner has logged a failed run already (to stderr, above): say it once.
    if (!(error instanceof CollectorRunError)) io.stderr(`error: ${describeError(error)}\n`);
    return 1;
  }
}

/** `import <format> FILE…`: checks everything it can before reading a line, then streams the files. */
async function importCommand(
  args: readonly string[],
  values: {
    readonly 'dry-run': boolean;
    readonly out?: string;
    readonly since?: string;
    readonly until?: string;
    readonly all: boolean;
  },
  env: Readonly<Record<string, string | undefined>>,
  io: CliIo,
): Promise<number> {
  const [format, ...files] = args;
  const importer = importerNamed(format ?? '');
  if (importer === undefined) {
    io.stderr(`Unknown import format "${format ?? ''}".\n\n${usage}\n`);
    return 2;
  }
  if (files.length === 0) {
    io.stderr(`import ${importer.format} needs at least one FILE.\n\n${usage}\n`);
    return 2;
  }
  if (values.since !== undefined || values.until !== undefined) {
    io.stderr('--since and --until do not apply to import: files are read whole.\n');
    return 2;
  }
  if (values.out !== undefined && !values['dry-run']) {
    io.stderr('--out is only used with --dry-run.\n');
    return 2;
  }
  for (const file of files) {
    const unreadable = await cannotRead(file);
    if (unreadable !== undefined) {
      io.stderr(`${file}: cannot read it (${unreadable}).\n`);
      return 2;
    }
  }
  const dryRunDirectory = values['dry-run'] ? (values.out ?? '.local/out') : undefined;
  const unwritable = dryRunDirectory === undefined ? undefined : await cannotWriteTo(dryRunDirectory);
  if (unwritable !== undefined) {
    io.stderr(`--out ${dryRunDirectory ?? ''}: cannot write there (${unwritable}).\n`);
    return 2;
  }
  const log = redactingLogger({
    info: (message) => io.stderr(`${message}\n`),
    warn: (message) => io.stderr(`warning: ${message}\n`),
    error: (message) => io.stderr(`error: ${message}\n`),
  });
  const summary = importer.summary?.();
  let lastProgress = Date.now();
  try {
    const result = await runImport({
      format: importer.format,
      files,
      env,
      log,
      dryRunDirectory,
      onRows: (rows) => summary?.add(rows),
      // The transform is most of an import's time: only what the summary reads is computed locally.
      rowColumns: summary?.columns,
      onProgress: (progress) => {
        // A line every couple of seconds: progress for long imports, quiet for short ones.
        if (Date.now() - lastProgress < 2000) return;
        lastProgress = Date.now();
        const share =
          progress.fileBytes > 0 ? Math.round((100 * progress.bytesRead) / progress.fileBytes) : 100;
        io.stderr(
          `… ${progress.lines} lines read (${share} % of ${progress.file}), ${progress.parseErrors} did not parse\n`,
        );
      },
    });
    io.stdout(renderImport(result, summary?.render({ all: values.all })));
    return 0;
  } catch (error) {
    io.stderr(`error: import ${importer.format}: ${describeError(error)}\n`);
    if (!(error instanceof ImportError))
      io.stderr(
        'Lines sent before the failure stay in the workspace: an import run again sends them again.\n',
      );
    return 1;
  }
}

function renderImport(result: ImportResult, extra?: SummaryDetails): string {
  const seconds = result.durationMs / 1000;
  const lines = [
    `import ${result.format}: ${result.files} file${result.files === 1 ? '' : 's'} into ${result.table}`,
    `  lines                     ${result.lines} (${result.blankLines} blank lines skipped)`,
    `  records accepted          ${result.accepted} by ${result.destination}`,
    `  lines that did not parse  ${result.parseErrors} (sent all the same, ParseError = true, the line in RawData)`,
    `  lines cut to 64 KB        ${result.cutLines}`,
    `  duration                  ${seconds.toFixed(1)} s (${Math.round(result.lines / Math.max(seconds, 0.001))} lines/s)`,
  ];
  lines.push(...(extra?.figures ?? []));
  lines.push(...(extra?.details ?? []));
  return `${lines.join('\n')}\n`;
}

/** Why `file` cannot be read, or undefined when it can. */
async function cannotRead(file: string): Promise<string | undefined> {
  try {
    await access(file, constants.R_OK);
    return (await stat(file)).isFile() ? undefined : 'not a file';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? describeError(error);
  }
}

/** The --since/--until window, undefined when neither is given, or what is wrong with them. */
function explicitWindow(
  collector: AnyCollectorDeclaration,
  since: string | undefined,
  until: string | undefined,
): TimeWindow | undefined | string {
  if (since === undefined && until === undefined) return undefined;
  if (collector.kind !== 'windowed')
    return `--since and --until apply to ${windowed.join(', ')} only (collectors that read windows of events).`;
  if (since === undefined) return '--until needs --since.';
  const start = isoTime(since);
  const end = until === undefined ? new Date() : isoTime(until);
  if (start === undefined)
    return `--since "${since}" is not an ISO 8601 date or time with its zone, e.g. 2026-11-01T00:00:00Z.`;
  if (end === undefined)
    return `--until "${until ?? ''}" is not an ISO 8601 date or time with its zone, e.g. 2026-11-02T00:00:00Z.`;
  if (start >= end) return `--since must be before --until (${start.toISOString()} ≥ ${end.toISOString()}).`;
  return { start, end };
}

/**
 * An ISO 8601 date (UTC) or date-time with a zone. `new Date()` alone also takes "11/01/2026" (in the
 * machine's zone, month first) and zone-less times (local time): a backfill must not guess.
 */
function isoTime(text: string): Date | undefined {
  const iso = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
  if (!iso.test(text)) return undefined;
  const time = new Date(text);
  return Number.isNaN(time.getTime()) ? undefined : time;
}

/** Why files cannot be written to `directory`, or undefined when they can. */
async function cannotWriteTo(directory: string): Promise<string | undefined> {
  try {
    await mkdir(directory, { recursive: true });
    await access(directory, constants.W_OK);
    return undefined;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code ?? describeError(error);
  }
}

/** What the collector adds to the run's figures (before the warnings) and after them. */
export interface SummaryDetails {
  readonly figures: readonly string[];
  readonly details: readonly string[];
}

export function renderSummary(result: RunResult, extra?: SummaryDetails): string {
  const lines = [
    `${result.collector} run ${result.runId}: ${result.status}`,
    `  records uploaded          ${result.recordsUploaded}`,
    `  API calls                 ${result.apiCalls} (${result.throttled} throttled)`,
    `  duration                  ${(result.durationMs / 1000).toFixed(1)} s`,
  ];
  if (result.window) {
    lines.push(
      `  window                    ${result.window.start.toISOString()} – ${result.window.end.toISOString()}`,
    );
  }
  lines.push(...(extra?.figures ?? []));
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
  lines.push(...(extra?.details ?? []));
  return `${lines.join('\n')}\n`;
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = await main(process.argv.slice(2));
}
