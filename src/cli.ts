#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  collectorNames,
  localCheckpointFile,
  runConfiguredCollector,
  type CollectorName,
} from './run/configuredRun.js';
import type { TimeWindow } from './run/runCollector.js';
import { redactingLogger } from './run/logger.js';
import { describeError } from './run/redact.js';
import type { RunResult } from './run/runCollector.js';
import { accessKeySummarizer, type AccessKeySummary } from './sources/aws/accessKeySummary.js';
import type { AWSIAMAccessKeysRow } from './tables/generated.js';

const usage = `Usage: crosscloud-identity-monitor collect <collector> [--dry-run] [--out DIR] [--since T] [--until T]

Collectors: ${collectorNames.join(', ')}

  --dry-run   write NDJSON files instead of sending to the Logs Ingestion API
  --out DIR   where dry-run files go (default .local/out)
  --since T   entra-*: read from T (ISO 8601, e.g. 2026-11-01T00:00:00Z) instead of the checkpoint;
              a backfill: the checkpoint is left alone
  --until T   entra-*: read up to T (default: now); needs --since
  --help      show this help

Entra collectors keep their checkpoint in AzureWebJobsStorage when set, else in ${localCheckpointFile}.

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
        out: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    io.stderr(`${describeError(error)}\n\n${usage}\n`);
    return 2;
  }
  const [command, collector] = parsed.positionals;
  if (parsed.values.help) {
    io.stdout(`${usage}\n`);
    return 0;
  }
  if (command !== 'collect' || !isCollectorName(collector)) {
    io.stderr(
      `${command === 'collect' ? `Unknown collector "${collector ?? ''}".` : 'Unknown command.'}\n\n${usage}\n`,
    );
    return 2;
  }
  if (parsed.values.out !== undefined && !parsed.values['dry-run']) {
    io.stderr('--out is only used with --dry-run.\n');
    return 2;
  }
  const window = explicitWindow(collector, parsed.values.since, parsed.values.until);
  if (typeof window === 'string') {
    io.stderr(`${window}\n\n${usage}\n`);
    return 2;
  }

  const log = redactingLogger({
    info: (message) => io.stderr(`${message}\n`),
    warn: (message) => io.stderr(`warning: ${message}\n`),
    error: (message) => io.stderr(`error: ${message}\n`),
  });
  const summary = accessKeySummarizer();
  let accepted = 0;
  let lastProgress = Date.now();
  try {
    const result = await runConfiguredCollector(collector, {
      host: 'cli',
      env,
      log,
      dryRunDirectory: parsed.values['dry-run'] ? (parsed.values.out ?? '.local/out') : undefined,
      window,
      onAccepted: (rows) => {
        accepted += rows.length;
        if (collector === 'aws-access-keys') summary.add(rows as readonly AWSIAMAccessKeysRow[]);
        // A line every couple of seconds: progress for long runs, quiet for short ones.
        if (Date.now() - lastProgress >= 2000) {
          lastProgress = Date.now();
          io.stderr(`… ${accepted} records accepted\n`);
        }
      },
    });
    io.stdout(renderSummary(result, collector === 'aws-access-keys' ? summary.result() : undefined));
    return 0;
  } catch (error) {
    io.stderr(`error: ${describeError(error)}\n`);
    return 1;
  }
}

/** The --since/--until window, undefined when neither is given, or what is wrong with them. */
function explicitWindow(
  collector: CollectorName,
  since: string | undefined,
  until: string | undefined,
): TimeWindow | undefined | string {
  if (since === undefined && until === undefined) return undefined;
  if (collector === 'aws-access-keys') return '--since and --until apply to the entra-* collectors only.';
  if (since === undefined) return '--until needs --since.';
  const start = new Date(since);
  const end = until === undefined ? new Date() : new Date(until);
  if (Number.isNaN(start.getTime()))
    return `--since "${since}" is not an ISO 8601 time, e.g. 2026-11-01T00:00:00Z.`;
  if (Number.isNaN(end.getTime()))
    return `--until "${until ?? ''}" is not an ISO 8601 time, e.g. 2026-11-02T00:00:00Z.`;
  if (start >= end) return `--since must be before --until (${start.toISOString()} ≥ ${end.toISOString()}).`;
  return { start, end };
}

function isCollectorName(value: string | undefined): value is CollectorName {
  return (collectorNames as readonly string[]).includes(value ?? '');
}

export function renderSummary(result: RunResult, keys: AccessKeySummary | undefined): string {
  const lines = [
    `${result.collector} run ${result.runId}: ${result.status}`,
    `  records uploaded          ${result.recordsUploaded}`,
    `  API calls                 ${result.apiCalls} (${result.throttled} throttled)`,
    `  duration                  ${(result.durationMs / 1000).toFixed(1)} s`,
  ];
  if (keys) {
    lines.push(
      `  access keys               ${keys.keys} (${keys.activeKeys} active)`,
      `  active keys > 90 days     ${keys.activeOlderThan90Days}`,
      `  never-used keys           ${keys.neverUsed}`,
      `  users with keys, no MFA   ${keys.usersWithKeysWithoutMfa}`,
    );
  }
  if (result.window) {
    lines.push(
      `  window                    ${result.window.start.toISOString()} – ${result.window.end.toISOString()}`,
    );
  }
  for (const warning of result.warnings) lines.push(`  warning: ${warning}`);
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
