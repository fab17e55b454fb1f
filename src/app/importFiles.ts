// `crosscloud-identity-monitor import <format> FILE…`: log files into a table whose DCR stream takes raw
// lines, driven by the importers the sources declare (ImporterDeclaration). Each line goes to the
// Logs Ingestion API unparsed, where the table's transform parses it — the same transform the Azure
// Monitor Agent's DCR runs, so an import and the agent store the same rows. The transform also runs
// here (src/lib/kql): a dry run writes the rows the workspace would store, and every run counts the
// lines the transform could not parse (kept with their flag, never dropped) and feeds the summary.
// A run that sends its lines computes locally only the columns it uses (the parse-error flag, and
// those the caller's `onRows` reads when it says which: `rowColumns`), on every line all the same.
//
// Files are streamed (plain or gzip, by content), line by line with Node's readline, in batches, with a
// few uploads in flight: memory stays flat however big the file.
import { open, stat } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import type { TokenCredential } from '@azure/core-auth';
import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { azureCredentialFor } from '../config/azureCredential.js';
import type { CollectorSettingsReader } from '../config/collectorSettings.js';
import { loadSettings } from '../config/settings.js';
import { compileTransform, type KqlRecord } from '../lib/kql/evaluate.js';
import { withTransformParameters } from '../lib/kql/parameters.js';
import type { Logger } from '../lib/logger.js';
import { fitLine } from '../lib/longLines.js';
import type { ImporterDeclaration } from '../run/collectorDeclaration.js';
import { maxFieldBytes } from '../sinks/ingestionLimits.js';
import { logsIngestionSink, type LogsIngestionSinkOptions } from '../sinks/logsIngestionSink.js';
import { ndjsonSink } from '../sinks/ndjsonSink.js';
import { tableDefinitions, type StreamRows, type TableName, type TableRows } from '../tables/generated.js';
import { declaredCollectors } from './collectors.generated.js';

/** Every file format a source declares an importer for. */
export const importers: readonly ImporterDeclaration[] = declaredCollectors.flatMap(
  (collector) => collector.importers ?? [],
);

export function importerNamed(format: string): ImporterDeclaration | undefined {
  return importers.find((importer) => importer.format === format);
}

export interface ImportProgress {
  readonly file: string;
  /** Bytes of the file read so far (compressed bytes for a .gz) and its size. */
  readonly bytesRead: number;
  readonly fileBytes: number;
  readonly lines: number;
  readonly parseErrors: number;
}

export interface ImportResult {
  readonly format: string;
  readonly table: TableName;
  readonly files: number;
  /** Lines read, blank ones excluded. */
  readonly lines: number;
  /** Blank lines: not records, skipped (and counted). */
  readonly blankLines: number;
  /** Lines over the 64 KB field limit, shortened in their longest field (longLines.ts). */
  readonly cutLines: number;
  /** Lines the transform could not parse: sent (and written) all the same, flagged. */
  readonly parseErrors: number;
  /** Records the destination accepted. */
  readonly accepted: number;
  readonly durationMs: number;
  readonly destination: string;
}

export interface ImportOptions {
  readonly format: string;
  readonly files: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly log: Logger;
  /** Dry run: write the parsed rows as NDJSON here instead of sending the lines. */
  readonly dryRunDirectory?: string;
  /**
   * The parsed rows, every one once, in order (the summary): a dry run's with each batch as it is
   * written, an import's a few hundred at a time as they are parsed — so they are not held while the
   * batch's lines upload.
   */
  readonly onRows?: (rows: readonly TableRows[TableName][]) => void;
  /**
   * The columns `onRows` reads (default: all). A run that sends its lines — not a dry run, whose
   * rows are written whole — then computes only these and the parse-error column, and the rows
   * `onRows` gets have only these: the transform is most of an import's time, the summary reads few.
   */
  readonly rowColumns?: readonly string[];
  readonly onProgress?: (progress: ImportProgress) => void;
  readonly tuning?: {
    /** Benches: a credential in place of the environment's (DefaultAzureCredential). */
    readonly credential?: TokenCredential;
    readonly ingestionRetry?: LogsIngestionSinkOptions['retryOptions'];
    readonly batchLines?: number;
    readonly maxInFlight?: number;
  };
}

export class ImportError extends Error {
  override readonly name = 'ImportError';
}

/** An import asks for no collector settings: only the ingestion settings every run reads. */
const noCollectorSettings: CollectorSettingsReader<undefined> = () => ({
  secrets: { required: [], optional: [] },
  complete: () => undefined,
});

const gzipMagic = [0x1f, 0x8b];

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
    return bytesRead === 2 && buffer[0] === gzipMagic[0] && buffer[1] === gzipMagic[1];
  } finally {
    await handle.close();
  }
}

export async function runImport(options: ImportOptions): Promise<ImportResult> {
  const startedAt = Date.now();
  const importer = importerNamed(options.format);
  if (importer === undefined)
    throw new ImportError(
      `No importer for "${options.format}" (formats: ${importers.map((i) => i.format).join(', ')})`,
    );
  const table = importer.table;
  const definition = tableDefinitions[table];
  if (definition.streamColumns === undefined)
    throw new ImportError(`${table} has no stream of its own (streamColumns): nothing to import into`);
  // The transform as deployed with this environment's settings (e.g. PROXY_KEEP_QUERY).
  const transform = compileTransform(
    withTransformParameters(
      definition.transformKql,
      definition.transformParameters ?? [],
      (setting) => options.env[setting],
    ),
    { inputColumns: definition.streamColumns },
  );
  const columns = new Set<string>(definition.columns.map((column) => column.name));
  const extra = transform.outputColumns.filter((column) => !columns.has(column));
  if (extra.length > 0)
    throw new ImportError(`the transform of ${table} outputs unknown columns: ${extra.join(', ')}`);

  const dryRun = options.dryRunDirectory !== undefined;
  const unknownColumns = (options.rowColumns ?? []).filter((column) => !columns.has(column));
  if (unknownColumns.length > 0)
    throw new ImportError(`${table} has no columns ${unknownColumns.join(', ')} (rowColumns)`);
  // What this run reads of each row: a dry run writes them whole.
  const local =
    dryRun || (options.onRows !== undefined && options.rowColumns === undefined)
      ? transform
      : transform.select([
          ...new Set([importer.parseErrorColumn, ...(options.onRows ? (options.rowColumns ?? []) : [])]),
        ]);
  const { settings, credential } = await loadSettings({
    env: options.env,
    host: 'cli',
    dryRun,
    collector: { readSettings: noCollectorSettings, needsState: false },
    log: options.log,
    credentialFor: (clientId) => azureCredentialFor('cli', clientId),
  });
  const files = ndjsonSink(options.dryRunDirectory ?? '.local/out');
  const ingestion =
    dryRun || settings.logsIngestion === undefined
      ? undefined
      : logsIngestionSink({
          ...settings.logsIngestion,
          credential: options.tuning?.credential ?? credential,
          retryOptions: options.tuning?.ingestionRetry,
        });
  const destination = ingestion?.description ?? files.description;

  // About 2,000 lines of 250 bytes make a request of half the 1 MB limit; four in flight keep the
  // pipe full while what is held in memory stays small (a batch's records, and in a dry run its rows).
  const rowGroup = 256;
  const batchLines = options.tuning?.batchLines ?? 2000;
  const maxInFlight = options.tuning?.maxInFlight ?? 4;
  const readAt = new Date();
  let lines = 0;
  let blankLines = 0;
  let cutLines = 0;
  let parseErrors = 0;
  let accepted = 0;
  const inFlight: Promise<void>[] = [];

  async function send(records: StreamRows[TableName][], rows: TableRows[TableName][]): Promise<void> {
    if (rows.length > 0) options.onRows?.(rows);
    const count = records.length;
    const upload = (
      ingestion === undefined ? files.send(table, rows) : ingestion.sendStream(table, records)
    ).then(() => {
      accepted += count;
    });
    // Awaited in order below; marked handled now, so a failure before its turn is not "unhandled".
    upload.catch(() => undefined);
    inFlight.push(upload);
    if (inFlight.length >= maxInFlight) await inFlight.shift();
  }

  for (const file of options.files) {
    const fileBytes = (await stat(file)).size;
    const gzip = await isGzip(file);
    // Everything below up to the read loop runs in one go: a 'data' listener starts the flow.
    const input = createReadStream(file);
    let bytesRead = 0;
    input.on('data', (chunk) => {
      bytesRead += chunk.length;
    });
    const decoded: Readable = gzip ? input.pipe(createGunzip()) : input;
    const reader = createInterface({ input: decoded, crlfDelay: Infinity });
    let failure: Error | undefined;
    const fail = (error: Error) => {
      failure ??= error;
      reader.close();
    };
    input.on('error', fail);
    if (decoded !== input) decoded.on('error', fail);

    let records: StreamRows[TableName][] = [];
    let rows: TableRows[TableName][] = [];
    const progress = () => options.onProgress?.({ file, bytesRead, fileBytes, lines, parseErrors });
    try {
      for await (const raw of reader) {
        if (raw.trim() === '') {
          blankLines += 1;
          continue;
        }
        lines += 1;
        const fitted = fitLine(raw, maxFieldBytes);
        if (fitted.cut) cutLines += 1;
        const record = importer.record(fitted.line, { file, readAt });
        // The transform's output is the table's row (its output columns are checked above).
        const output = local.apply(record as unknown as KqlRecord);
        if (output?.[importer.parseErrorColumn] === true) parseErrors += 1;
        records.push(record);
        if (output !== null && (dryRun || options.onRows !== undefined))
          rows.push(output as unknown as TableRows[TableName]);
        if (!dryRun && rows.length >= rowGroup) {
          options.onRows?.(rows);
          rows = [];
        }
        if (records.length >= batchLines) {
          await send(records, rows);
          records = [];
          rows = [];
          progress();
        }
      }
    } finally {
      reader.close();
      input.destroy();
    }
    if (failure !== undefined) throw new ImportError(`${file}: ${failure.message}`);
    if (records.length > 0) await send(records, rows);
    progress();
  }
  while (inFlight.length > 0) await inFlight.shift();

  return {
    format: importer.format,
    table,
    files: options.files.length,
    lines,
    blankLines,
    cutLines,
    parseErrors,
    accepted,
    durationMs: Date.now() - startedAt,
    destination,
  };
}
