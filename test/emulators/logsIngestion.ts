// Emulates the Azure Monitor Logs Ingestion API (a data collection endpoint) over HTTPS, for
// @azure/monitor-ingestion's LogsIngestionClient:
//   POST /dataCollectionRules/{immutableId}/streams/{stream}?api-version=2023-01-01
//   Authorization: Bearer <token for https://monitor.azure.com>, Content-Type: application/json,
//   Content-Encoding: gzip (what the SDK always sends) or none; body: a JSON array of records -> 204.
// Limits as documented: 1 MB (1,048,576 bytes) per call, checked both compressed and uncompressed (413
// ContentLengthLimitExceeded), 64 KB per field value.
//
// Deliberately stricter than the service: the real endpoint silently drops unknown columns and stores values
// of the wrong type as null (data loss you only notice in Log Analytics). Here both are a 400 naming the record
// index, field and expected type, so tests catch schema drift between code and infra/tables/*.json.
//
// A stream with its own columns (a table JSON's `streamColumns`, e.g. raw log lines) is checked against
// those, then its transformKql runs — the deployed text, `let` parameters replaced from
// `transformSettings` as Bicep does — through the offline evaluator (src/lib/kql), and what is stored is
// the transform's output, checked against the table's columns: end-to-end tests see parsed rows.
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzip } from 'node:zlib';
import { compileTransform, type CompiledTransform } from '../../src/lib/kql/evaluate.js';
import { withTransformParameters } from '../../src/lib/kql/parameters.js';
import { verifyBearer, type ManagedIdentityEmulator } from './managedIdentity.js';
import { listenHttpsOnLoopback } from './tls.js';

export type ColumnType = 'string' | 'int' | 'long' | 'real' | 'boolean' | 'datetime' | 'dynamic';

export interface TableDefinition {
  name: string;
  description?: string;
  stream: string;
  transformKql?: string;
  /** The stream's own columns, when the transform turns its records into rows of other columns. */
  streamColumns?: { name: string; type: ColumnType; description?: string }[];
  transformParameters?: { name: string; setting: string; default: string }[];
  columns: { name: string; type: ColumnType; description?: string }[];
}

export interface LogsIngestionEmulatorOptions {
  /** Token issuer: only its tokens for `audience` are accepted. */
  identity: Pick<ManagedIdentityEmulator, 'lookup' | 'principalId'>;
  /** The token audience this cloud's endpoint expects. Default https://monitor.azure.com (public cloud). */
  audience?: string;
  /** Default: a random dcr-<32 hex>. */
  dcrImmutableId?: string;
  /** Default: every infra/tables/*.json of the repository. */
  tables?: TableDefinition[];
  /** Values of the transforms' parameters by setting name (as Bicep's transformSettings), e.g. PROXY_KEEP_QUERY. */
  transformSettings?: Record<string, string>;
  /** Object IDs holding "Monitoring Metrics Publisher" on the DCR. Default: the identity's principal. */
  authorizedPrincipalIds?: string[];
  /** Volume tests: keep only these fields of each accepted record, so the emulator's memory stays small. */
  retainFields?: string[];
  /**
   * Throughput benches only (default true): when false, the body is still authenticated, routed,
   * gunzipped and held to the 1 MB limit, but its records are neither parsed nor kept. Parsing is the
   * service's work, on the service's machines; here it would share the client's cores and cap what
   * is measured of the client (on 2 cores it took about 40% of all CPU time in the pipeline bench).
   */
  parseRecords?: boolean;
}

export interface IngestionRequest {
  status: number;
  dcrImmutableId: string | null;
  stream: string | null;
  /** Records in the body, when it parsed as a JSON array; null when not parsed (parseRecords: false). */
  records: number | null;
  /** Bytes on the wire (compressed, when gzip). */
  bytes: number;
  uncompressedBytes: number;
  gzip: boolean;
  errorCode?: string;
}

export interface FaultOptions {
  status: number;
  /** Default 1. */
  times?: number;
  /** Sent as Retry-After on 429 and 503. Default 1; 0 makes SDK retries immediate. */
  retryAfterSeconds?: number;
  /** Only requests to this stream (or table name) are affected. Default: any. */
  stream?: string;
}

export type LogRecord = Record<string, unknown>;

export interface LogsIngestionEmulator {
  /** https://localhost:<port>: pass as the LogsIngestionClient endpoint. */
  readonly endpoint: string;
  readonly dcrImmutableId: string;
  readonly tables: readonly TableDefinition[];
  /** Records accepted so far for a stream ("Custom-X") or its table ("X_CL"), in arrival order. */
  accepted(streamOrTableName: string): LogRecord[];
  readonly requests: IngestionRequest[];
  failNext(fault: FaultOptions): void;
  /** Fail every request (optionally of one stream) until clearFaults(). */
  failAlways(status: number, options?: Omit<FaultOptions, 'status' | 'times'>): void;
  /** Destroy the socket of the next `times` requests (default 1) without answering: an ECONNRESET for the client. */
  dropNextConnection(times?: number): void;
  clearFaults(): void;
  stop(): Promise<void>;
}

const API_VERSION = '2023-01-01';
const MAX_BODY_BYTES = 1_048_576;
const MAX_FIELD_BYTES = 65_536;
const MAX_REPORTED_VIOLATIONS = 20;
const COLUMN_TYPES: readonly ColumnType[] = [
  'string',
  'int',
  'long',
  'real',
  'boolean',
  'datetime',
  'dynamic',
];
// Date and time with a zone designator: what toISOString() emits. A zone-less time would be read as UTC by the
// service, which hides local-time bugs, so it is rejected here.
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})$/;
const FAULT_CODES: Record<number, string> = {
  403: 'OperationFailed',
  429: 'TooManyRequests',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: { details?: unknown[]; headers?: http.OutgoingHttpHeaders } = {},
  ) {
    super(message);
  }
}

// Works from test/emulators/*.ts and from dist/test/emulators/*.js alike.
function findRepoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || path.basename(dir) === 'dist') {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${import.meta.url}`);
    dir = parent;
  }
  return dir;
}

export function loadTableDefinitions(dir = path.join(findRepoRoot(), 'infra', 'tables')): TableDefinition[] {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();
  return files.map((file) => {
    const table = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as TableDefinition;
    if (typeof table.name !== 'string' || typeof table.stream !== 'string' || !Array.isArray(table.columns)) {
      throw new Error(`${file}: expected { name, stream, columns }`);
    }
    for (const column of [...table.columns, ...(table.streamColumns ?? [])]) {
      if (!COLUMN_TYPES.includes(column.type))
        throw new Error(`${file}: ${column.name} has unknown type ${column.type}`);
    }
    return table;
  });
}

const typeName = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;

const EXPECTED: Record<ColumnType, string> = {
  string: 'string',
  int: 'int (32-bit integer)',
  long: 'long (safe integer)',
  real: 'real (number)',
  boolean: 'boolean',
  datetime: 'datetime (ISO-8601 string with time zone)',
  dynamic: 'dynamic',
};

function matchesType(type: ColumnType, value: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'int':
      return (
        Number.isInteger(value) && (value as number) >= -2_147_483_648 && (value as number) <= 2_147_483_647
      );
    case 'long':
      return Number.isSafeInteger(value);
    case 'real':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'datetime':
      return typeof value === 'string' && ISO_DATETIME.test(value) && !Number.isNaN(Date.parse(value));
    case 'dynamic':
      return true;
  }
}

interface Violation {
  index: number;
  field: string;
  expectedType: string;
  problem: string;
}

function validateRecords(
  table: TableDefinition,
  body: unknown,
  declared: TableDefinition['columns'] = table.columns,
): LogRecord[] {
  if (!Array.isArray(body))
    throw new HttpError(400, 'InvalidPayload', 'The request body must be a JSON array of records.');
  const columns = new Map(declared.map((c) => [c.name, c.type]));
  const violations: Violation[] = [];
  body.forEach((record: unknown, index) => {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      violations.push({
        index,
        field: '',
        expectedType: 'object',
        problem: `record is ${typeName(record)}, not an object`,
      });
      return;
    }
    for (const [field, value] of Object.entries(record)) {
      const type = columns.get(field);
      if (!type) {
        violations.push({
          index,
          field,
          expectedType: 'none',
          problem: `unknown field (not a column of ${table.stream})`,
        });
      } else if (value !== null && !matchesType(type, value)) {
        violations.push({
          index,
          field,
          expectedType: type,
          problem: `expected ${EXPECTED[type]}, got ${typeName(value)}`,
        });
      } else if (
        value !== null &&
        Buffer.byteLength(typeof value === 'string' ? value : JSON.stringify(value)) > MAX_FIELD_BYTES
      ) {
        violations.push({
          index,
          field,
          expectedType: type,
          problem: `value exceeds ${MAX_FIELD_BYTES} bytes`,
        });
      }
    }
  });
  const first = violations[0];
  if (first) {
    const message =
      `Record ${first.index}${first.field ? ` field '${first.field}'` : ''}: ${first.problem}` +
      (violations.length > 1 ? ` (and ${violations.length - 1} more violation(s))` : '');
    throw new HttpError(400, 'InvalidRecord', message, {
      details: violations.slice(0, MAX_REPORTED_VIOLATIONS),
    });
  }
  return body as LogRecord[];
}

function gunzipLimited(buffer: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(buffer, { maxOutputLength: MAX_BODY_BYTES + 1 }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE')
        return reject(tooLarge(MAX_BODY_BYTES + 1));
      reject(new HttpError(400, 'InvalidContentEncoding', `The body is not valid gzip: ${err.message}`));
    });
  });
}

const tooLarge = (length: number): HttpError =>
  new HttpError(
    413,
    'ContentLengthLimitExceeded',
    `Maximum allowed content length: ${MAX_BODY_BYTES} bytes (1 MB). Provided content length: ${length} bytes.`,
  );

// Reads at most MAX_BODY_BYTES + 1 bytes but drains the rest, so an oversize upload still gets its 413.
function readBody(req: http.IncomingMessage): Promise<{ body: Buffer; bytes: number }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      if (bytes <= MAX_BODY_BYTES) chunks.push(chunk);
      bytes += chunk.length;
    });
    req.on('end', () => resolve({ body: Buffer.concat(chunks), bytes }));
    req.on('error', reject);
  });
}

interface Fault {
  status: number;
  left: number;
  retryAfterSeconds: number;
  stream: string | undefined;
}

export async function startLogsIngestionEmulator(
  options: LogsIngestionEmulatorOptions,
): Promise<LogsIngestionEmulator> {
  const { identity } = options;
  const dcrImmutableId = options.dcrImmutableId ?? `dcr-${randomBytes(16).toString('hex')}`;
  const tables = options.tables ?? loadTableDefinitions();
  const authorized = new Set(options.authorizedPrincipalIds ?? [identity.principalId]);
  const byStream = new Map(tables.map((t) => [t.stream, t]));
  const store = new Map<string, LogRecord[]>(tables.map((t) => [t.stream, []]));
  // The transform of each stream that is not `source`, as deployed: compiled once.
  const transforms = new Map<string, CompiledTransform>();
  for (const table of tables) {
    const text = table.transformKql?.trim() ?? 'source';
    if (text === 'source') continue;
    const deployed = withTransformParameters(
      text,
      table.transformParameters ?? [],
      (setting) => options.transformSettings?.[setting],
    );
    transforms.set(
      table.stream,
      compileTransform(deployed, { inputColumns: table.streamColumns ?? table.columns }),
    );
  }
  const requests: IngestionRequest[] = [];
  let faults: Fault[] = [];
  let always: Fault | undefined;
  let dropsLeft = 0;

  const streamOf = (streamOrTable: string): string | undefined =>
    byStream.has(streamOrTable) ? streamOrTable : tables.find((t) => t.name === streamOrTable)?.stream;

  function takeFault(stream: string | null): Fault | undefined {
    const applies = (f: Fault): boolean => f.stream === undefined || f.stream === stream;
    const queued = faults.find((f) => f.left > 0 && applies(f));
    if (queued) {
      queued.left -= 1;
      faults = faults.filter((f) => f.left > 0);
      return queued;
    }
    return always && applies(always) ? always : undefined;
  }

  async function ingest(
    req: http.IncomingMessage,
    entry: IngestionRequest,
    raw: Buffer,
    rawBytes: number,
  ): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://localhost');
    const route = /^\/dataCollectionRules\/([^/]+)\/streams\/([^/]+)$/.exec(url.pathname);
    if (!route?.[1] || !route[2]) throw new HttpError(404, 'NotFound', `No route for ${url.pathname}.`);
    entry.dcrImmutableId = decodeURIComponent(route[1]);
    entry.stream = decodeURIComponent(route[2]);
    if (req.method !== 'POST')
      throw new HttpError(405, 'MethodNotAllowed', `${req.method ?? ''} is not allowed; use POST.`);

    const fault = takeFault(entry.stream);
    if (fault) {
      const headers =
        fault.status === 429 || fault.status === 503
          ? { 'retry-after': String(fault.retryAfterSeconds) }
          : {};
      const code = FAULT_CODES[fault.status] ?? 'InjectedFault';
      throw new HttpError(fault.status, code, `Injected failure (HTTP ${fault.status}).`, { headers });
    }

    const apiVersion = url.searchParams.get('api-version');
    if (apiVersion !== API_VERSION) {
      throw new HttpError(
        400,
        'InvalidApiVersion',
        `Unsupported api-version '${apiVersion ?? ''}'; supported: ${API_VERSION}.`,
      );
    }
    const check = verifyBearer(
      req.headers.authorization,
      options.audience ?? 'https://monitor.azure.com',
      identity,
    );
    if (!check.ok) {
      if (check.reason === 'audience')
        throw new HttpError(
          403,
          'InvalidAudience',
          `The authentication token has the wrong audience. ${check.message}`,
        );
      throw new HttpError(
        401,
        'InvalidToken',
        `The authentication token is missing or invalid: ${check.message}`,
      );
    }
    if (entry.dcrImmutableId !== dcrImmutableId) {
      throw new HttpError(
        404,
        'NotFound',
        `Data collection rule with immutable Id '${entry.dcrImmutableId}' not found.`,
      );
    }
    if (!authorized.has(check.claims.oid)) {
      throw new HttpError(
        403,
        'OperationFailed',
        `The authentication token provided does not have access to ingest data for the data collection rule with ` +
          `immutable Id '${dcrImmutableId}' PipelineAccessResult: AccessGranted: False, IsRbacPresent: False, ` +
          `Message: Required authorization action was not found for tenantId ${check.claims.tid} objectId ${check.claims.oid}.`,
      );
    }
    const table = byStream.get(entry.stream);
    if (!table) {
      throw new HttpError(
        400,
        'InvalidStream',
        `Stream '${entry.stream}' is not declared in data collection rule '${dcrImmutableId}'.`,
      );
    }

    if (rawBytes > MAX_BODY_BYTES) throw tooLarge(rawBytes);
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      throw new HttpError(415, 'UnsupportedMediaType', 'Content-Type must be application/json.');
    }
    const encoding = (req.headers['content-encoding'] ?? '').toLowerCase();
    if (encoding !== '' && encoding !== 'gzip' && encoding !== 'identity') {
      throw new HttpError(
        400,
        'InvalidContentEncoding',
        `Content-Encoding '${encoding}' is not supported; use gzip.`,
      );
    }
    const body = entry.gzip ? await gunzipLimited(raw) : raw;
    entry.uncompressedBytes = body.length;
    if (body.length > MAX_BODY_BYTES) throw tooLarge(body.length);
    if (options.parseRecords === false) {
      entry.records = null;
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (err) {
      throw new HttpError(400, 'InvalidPayload', `The body is not valid JSON: ${(err as Error).message}`);
    }
    if (Array.isArray(parsed)) entry.records = parsed.length;
    const input = validateRecords(table, parsed, table.streamColumns ?? table.columns);
    const transform = transforms.get(table.stream);
    // What the service stores is the transform's output: checked against the table like any row.
    const records = transform
      ? validateRecords(
          table,
          input.flatMap((record) => transform.apply(record) ?? []),
        )
      : input;
    const retain = options.retainFields;
    const kept = retain
      ? records.map((record) => Object.fromEntries(retain.map((field) => [field, record[field]])))
      : records;
    for (const record of kept) store.get(table.stream)?.push(record);
  }

  function reply(res: http.ServerResponse, entry: IngestionRequest, err?: unknown): void {
    if (err === undefined) {
      entry.status = 204;
      requests.push(entry);
      res.writeHead(204, { 'x-ms-request-id': randomUUID() });
      res.end();
      return;
    }
    const e =
      err instanceof HttpError
        ? err
        : new HttpError(500, 'InternalServerError', err instanceof Error ? err.message : 'unexpected error');
    entry.status = e.status;
    entry.errorCode = e.code;
    requests.push(entry);
    const { details, headers } = e.extra;
    const text = JSON.stringify({
      error: { code: e.code, message: e.message, ...(details ? { details } : {}) },
    });
    res.writeHead(e.status, {
      ...headers,
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(text),
      'x-ms-request-id': randomUUID(),
    });
    res.end(text);
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const gzip = (req.headers['content-encoding'] ?? '').toLowerCase() === 'gzip';
    const { body, bytes } = await readBody(req);
    const entry: IngestionRequest = {
      status: 0,
      dcrImmutableId: null,
      stream: null,
      records: 0,
      bytes,
      uncompressedBytes: gzip ? 0 : bytes,
      gzip,
    };
    if (dropsLeft > 0) {
      // Only after the body is fully read: the client then sees ECONNRESET ("socket hang up"), which SDKs retry,
      // rather than an EPIPE mid-upload, which they do not.
      dropsLeft -= 1;
      requests.push({ ...entry, errorCode: 'ConnectionDropped' });
      req.socket.destroy();
      return;
    }
    try {
      await ingest(req, entry, body, bytes);
      reply(res, entry);
    } catch (err) {
      reply(res, entry, err);
    }
  }

  const { server, origin: endpoint } = await listenHttpsOnLoopback(handle);

  return {
    endpoint,
    dcrImmutableId,
    tables,
    accepted(streamOrTableName) {
      const stream = streamOf(streamOrTableName);
      if (!stream)
        throw new Error(
          `unknown stream or table ${streamOrTableName}; known: ${[...byStream.keys()].join(', ')}`,
        );
      return [...(store.get(stream) ?? [])];
    },
    requests,
    failNext({ status, times = 1, retryAfterSeconds = 1, stream }) {
      faults.push({
        status,
        left: times,
        retryAfterSeconds,
        stream: stream === undefined ? undefined : (streamOf(stream) ?? stream),
      });
    },
    failAlways(status, { retryAfterSeconds = 1, stream } = {}) {
      always = {
        status,
        left: Infinity,
        retryAfterSeconds,
        stream: stream === undefined ? undefined : (streamOf(stream) ?? stream),
      };
    },
    dropNextConnection(times = 1) {
      dropsLeft += times;
    },
    clearFaults() {
      faults = [];
      always = undefined;
      dropsLeft = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
