import type { TokenCredential } from '@azure/core-auth';
import type { CollectorSettingsReader, Host } from '../config/collectorSettings.js';
import type { CheckpointStore } from '../state/checkpointStore.js';
import type { StreamRows, TableName, TableRows } from '../tables/generated.js';
import type { Collector } from './collector.js';
import type { WindowedCollector, WindowPolicy } from './windowedCollector.js';

/** Test seams a factory may honour: shorter SDK backoff, faster polling. Production passes none. */
export interface CollectorTuning {
  /** The source's own HTTP retries (e.g. Graph's pipeline). */
  readonly retry?: {
    readonly maxRetries?: number;
    readonly retryDelayInMs?: number;
    readonly maxRetryDelayInMs?: number;
  };
  /** Seconds between polls of a job the source waits for (e.g. IAM's credential report). */
  readonly pollSeconds?: number;
}

/** What a factory is given, besides its own settings. */
export interface CollectorFactoryContext {
  readonly host: Host;
  /** The app's Entra credential (managed identity deployed, DefaultAzureCredential locally). */
  readonly credential: TokenCredential;
  /**
   * The run's state store, where one is configured: the app's storage account, or the CLI's local
   * file. Read-only in a dry run. A source keeps what it must remember between runs here (e.g. which
   * AWS accounts it inventoried last), under its collector name. Windowed collectors' checkpoints are
   * kept here by the runner itself.
   */
  readonly state: CheckpointStore | undefined;
  readonly tuning: CollectorTuning;
}

/** A one-line summary for the CLI, fed with the rows the sink accepted. */
export interface CollectorSummary<Table extends TableName> {
  add(rows: readonly TableRows[Table][]): void;
  /**
   * The only columns `add` reads, when it reads few: an import then computes just these (and the
   * parse-error flag) for the rows it passes on. Default: every column.
   */
  readonly columns?: readonly string[];
  /**
   * Lines after the run's figures (before its warnings), then lines after the warnings. Lists show the
   * worst few of each kind unless `all`.
   */
  render(options: { readonly all: boolean }): {
    readonly figures: readonly string[];
    readonly details: readonly string[];
  };
}

/**
 * A file format the source can import (`crosscloud-identity-monitor import <format> FILE…`): each line
 * of the files becomes one record of `table`'s DCR stream, sent as it is, and the table's transform
 * (its transformKql, run by Azure Monitor — and, for dry runs and counts, by src/lib/kql) turns it
 * into a row. The transform is the one parser; the importer only carries lines.
 */
export interface ImporterDeclaration<Table extends TableName = TableName> {
  /** The CLI's word for it: lower-case words and hyphens, e.g. `squid-log`. */
  readonly format: string;
  /** One line for the CLI usage. */
  readonly description: string;
  /** The table whose stream takes the lines; its definition declares the stream's own columns. */
  readonly table: Table;
  /** One line of a file as a record of the table's stream (the line itself goes unparsed). */
  record(line: string, origin: { readonly file: string; readonly readAt: Date }): StreamRows[Table];
  /** The transform's output column that is true for a line it could not parse: such lines are counted. */
  readonly parseErrorColumn: keyof TableRows[Table] & string;
  /** What the CLI prints about the parsed rows. */
  readonly summary?: () => CollectorSummary<Table>;
}

interface DeclarationBase<Table extends TableName, Settings> {
  /** Stable name: run rows, the CLI, session names, checkpoints. `aws-access-keys`. */
  readonly name: string;
  readonly table: Table;
  /** One line for the CLI's usage and the docs. */
  readonly description: string;
  /** The timer that runs it in the Function App. */
  readonly timer: {
    /** Function name in the host (and in Application Insights). */
    readonly functionName: string;
    /** App setting holding its NCRONTAB schedule, resolved by the host as `%NAME%`. */
    readonly scheduleSetting: string;
    readonly defaultSchedule: string;
  };
  /** Reads its own app settings and asks for its Key Vault secrets; nothing of any other collector. */
  readonly readSettings: CollectorSettingsReader<Settings>;
  /** What the CLI prints about the accepted rows, besides the run's figures. */
  readonly summary?: () => CollectorSummary<Table>;
  /** File formats the source can also import into a table of its own (none by default). */
  readonly importers?: readonly ImporterDeclaration<TableName>[];
}

/** Reads everything each run (an inventory): every row carries the run's snapshot time. */
export interface SnapshotCollectorDeclaration<
  Table extends TableName = TableName,
  Settings = unknown,
> extends DeclarationBase<Table, Settings> {
  readonly kind: 'snapshot';
  create(settings: Settings, context: CollectorFactoryContext): Collector<Table>;
}

/** Reads events window by window behind a checkpoint (an event log). */
export interface WindowedCollectorDeclaration<
  Table extends TableName = TableName,
  Settings = unknown,
> extends DeclarationBase<Table, Settings> {
  readonly kind: 'windowed';
  create(settings: Settings, context: CollectorFactoryContext): WindowedCollector<Table>;
  windowPolicy(settings: Settings): WindowPolicy;
}

/**
 * A collector, declared once in its source's folder (`src/sources/<source>/collectors.ts`). The runner,
 * the CLI, the timers, the settings checks and the infra (`infra/collectors.json`) are driven from it.
 */
export type CollectorDeclaration<Table extends TableName, Settings> =
  SnapshotCollectorDeclaration<Table, Settings> | WindowedCollectorDeclaration<Table, Settings>;

/**
 * Declares a collector, keeping its settings type inside: the registry holds declarations of
 * different settings, and only the declaration's own functions ever see them.
 */
export function declareCollector<Table extends TableName, Settings>(
  declaration: CollectorDeclaration<Table, Settings>,
): AnyCollectorDeclaration {
  return declaration as unknown as AnyCollectorDeclaration;
}

/** A declaration seen from outside: its settings are opaque (produced and consumed by its own functions). */
export type AnyCollectorDeclaration =
  | SnapshotCollectorDeclaration<TableName, OpaqueSettings>
  | WindowedCollectorDeclaration<TableName, OpaqueSettings>;

declare const opaque: unique symbol;
/** Settings a declaration's reader produced, to be passed back to that declaration only. */
export interface OpaqueSettings {
  readonly [opaque]: true;
}

/** Declares an importer, keeping its table's row types inside (as declareCollector does for settings). */
export function declareImporter<Table extends TableName>(
  importer: ImporterDeclaration<Table>,
): ImporterDeclaration {
  return importer as unknown as ImporterDeclaration;
}
