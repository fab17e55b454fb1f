import type { TokenCredential } from '@azure/core-auth';
import {
  AzureNamedKeyCredential,
  AzureSASCredential,
  odata,
  TableClient,
  type TableServiceClientOptions,
} from '@azure/data-tables';
import { maxAcceptedIdsBytes } from './acceptedIds.js';
import type { Checkpoint, CheckpointStore } from './checkpointStore.js';
import {
  isLoopbackHost,
  parseStorageConnectionString,
  type CheckpointStorageSettings,
} from '../config/checkpointSettings.js';

/**
 * The stored entity: PartitionKey = collector, RowKey = scope. Checkpoint.acceptedIds, when there are
 * any, is split over Edm.Binary properties AcceptedIds0, AcceptedIds1, … of at most 64,000 bytes each (a
 * binary property holds 64 KiB, an entity 1 MiB).
 */
interface CheckpointEntity {
  readonly partitionKey: string;
  readonly rowKey: string;
  /** Edm.DateTime when this store wrote it; an ISO-8601 string is read too. */
  readonly Position: Date | string;
  readonly RunId: string;
  readonly UpdatedAt: Date | string;
  readonly [acceptedIdsPart: `${typeof acceptedIdsProperty}${number}`]: Uint8Array | undefined;
}

const acceptedIdsProperty = 'AcceptedIds';
const acceptedIdsPartBytes = 64_000;
const maxAcceptedIdsParts = Math.ceil(maxAcceptedIdsBytes / acceptedIdsPartBytes);
/** What `set` reads to compare positions: not the accepted Ids, which it replaces anyway. */
const positionOnly = ['PartitionKey', 'RowKey', 'Position', 'RunId', 'UpdatedAt'];

export interface TableCheckpointStoreOptions {
  /** Read-compare-write rounds before `set` gives up against other writers. Default 10. */
  readonly maxAttempts?: number;
}

const DEFAULT_MAX_ATTEMPTS = 10;

/**
 * Checkpoints in an Azure table, one entity per (collector, scope). The table is created on first use.
 * `set` is monotonic even against concurrent writers: it reads the entity, compares positions and writes with
 * the entity's ETag (or creates it), re-reading after a 412/409 conflict.
 */
export function tableCheckpointStore(
  client: TableClient,
  options: TableCheckpointStoreOptions = {},
): CheckpointStore {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const where = `table "${client.tableName}" at ${redactUrl(client.url)}`;
  let tableReady: Promise<void> | undefined;

  const ensureTable = (): Promise<void> => {
    tableReady ??= client.createTable().catch((error: unknown) => {
      if (statusOf(error) === 409 && !/TableBeingDeleted/i.test(codeOf(error) ?? '')) return;
      tableReady = undefined; // let the next call try again
      throw new Error(`cannot create checkpoint ${where}: ${messageOf(error)}`, { cause: error });
    });
    return tableReady;
  };

  const read = async (
    collector: string,
    scope: string,
    select?: string[],
  ): Promise<{ checkpoint: Checkpoint; etag: string } | undefined> => {
    let entity: CheckpointEntity & { etag: string };
    try {
      entity = await client.getEntity<CheckpointEntity>(
        collector,
        scope,
        select ? { queryOptions: { select } } : {},
      );
    } catch (error) {
      // ResourceNotFound: no checkpoint yet. TableNotFound means someone deleted the table: not "start over".
      if (statusOf(error) === 404 && !/TableNotFound/i.test(codeOf(error) ?? '')) return undefined;
      throw new Error(`cannot read checkpoint ${collector}/${scope} from ${where}: ${messageOf(error)}`, {
        cause: error,
      });
    }
    return { etag: entity.etag, checkpoint: toCheckpoint(entity) };
  };

  return {
    description: `Azure Table checkpoints (${where})`,

    async get(collector, scope) {
      validateKeys(collector, scope);
      await ensureTable();
      return (await read(collector, scope))?.checkpoint;
    },

    async list(collector) {
      validateKeys(collector, 'any');
      await ensureTable();
      const found: Checkpoint[] = [];
      try {
        const entities = client.listEntities<CheckpointEntity>({
          queryOptions: { filter: odata`PartitionKey eq ${collector}` },
        });
        for await (const entity of entities) found.push(toCheckpoint(entity));
      } catch (error) {
        throw new Error(`cannot list checkpoints of ${collector} in ${where}: ${messageOf(error)}`, {
          cause: error,
        });
      }
      return found;
    },

    async set(checkpoint) {
      const { collector, scope } = checkpoint;
      validateKeys(collector, scope);
      const position = validDate(checkpoint.position, 'position');
      const updatedAt = validDate(checkpoint.updatedAt, 'updatedAt');
      const acceptedIds = acceptedIdsParts(checkpoint.acceptedIds);
      await ensureTable();
      // Replace, not merge: parts of an earlier, longer set of accepted Ids must not survive.
      const entity: CheckpointEntity = {
        partitionKey: collector,
        rowKey: scope,
        Position: position,
        RunId: checkpoint.runId,
        UpdatedAt: updatedAt,
        ...acceptedIds,
      };
      for (let attempt = 1; ; attempt++) {
        const stored = await read(collector, scope, positionOnly);
        if (stored !== undefined && stored.checkpoint.position.getTime() > position.getTime()) return;
        try {
          if (stored === undefined) await client.createEntity(entity);
          else await client.updateEntity(entity, 'Replace', { etag: stored.etag });
          return;
        } catch (error) {
          const status = statusOf(error);
          // 409: created by another writer since our read; 412: changed since; 404: deleted since.
          const conflict = status === 409 || status === 412 || (status === 404 && stored !== undefined);
          if (!conflict) {
            throw new Error(
              `cannot write checkpoint ${collector}/${scope} to ${where}: ${messageOf(error)}`,
              {
                cause: error,
              },
            );
          }
          if (attempt >= maxAttempts) {
            throw new Error(
              `cannot write checkpoint ${collector}/${scope} to ${where}: still conflicting with other writers ` +
                `after ${attempt} attempts`,
              { cause: error },
            );
          }
        }
        // Jittered, growing pause so racing writers do not keep colliding in lockstep.
        await sleep(Math.random() * Math.min(500, 10 * 2 ** attempt));
      }
    },
  };
}

export interface CreateTableCheckpointStoreOptions extends TableCheckpointStoreOptions {
  /**
   * Identity-based storage only (required there): the credential of the identity named by
   * `settings.clientId`, e.g. the app's user-assigned managed identity.
   */
  readonly credential?: TokenCredential;
  /** Pipeline options passed to the TableClient (retries, HTTP client, …). */
  readonly clientOptions?: TableServiceClientOptions;
}

/** The TableClient for validated checkpoint settings (see readCheckpointStorageSettings). */
export function createCheckpointTableClient(
  settings: CheckpointStorageSettings,
  options: Pick<CreateTableCheckpointStoreOptions, 'credential' | 'clientOptions'> = {},
): TableClient {
  const { tableName } = settings;
  if (settings.kind === 'connection-string') {
    const parsed = parseStorageConnectionString(settings.connectionString);
    if (!parsed.ok) throw new Error(`AzureWebJobsStorage ${parsed.problem}`);
    const clientOptions = withInsecureForLoopback(parsed.tableEndpoint, options.clientOptions);
    const { credential } = parsed;
    return credential.kind === 'shared-key'
      ? new TableClient(
          parsed.tableEndpoint,
          tableName,
          new AzureNamedKeyCredential(credential.accountName, credential.accountKey),
          clientOptions,
        )
      : new TableClient(
          parsed.tableEndpoint,
          tableName,
          new AzureSASCredential(credential.signature),
          clientOptions,
        );
  }
  if (options.credential === undefined) {
    throw new Error(
      `identity-based checkpoint storage (${settings.tableServiceUri}) needs a credential` +
        (settings.clientId ? ` for the managed identity ${settings.clientId}` : ''),
    );
  }
  const endpoint = settings.tableServiceUri.replace(/\/+$/, '');
  return new TableClient(
    endpoint,
    tableName,
    options.credential,
    withInsecureForLoopback(endpoint, options.clientOptions),
  );
}

/** Checkpoint store for validated settings: a connection string (local, Azurite) or an identity-based connection. */
export function createTableCheckpointStore(
  settings: CheckpointStorageSettings,
  options: CreateTableCheckpointStoreOptions = {},
): CheckpointStore {
  return tableCheckpointStore(createCheckpointTableClient(settings, options), options);
}

/** Plain http only for an emulator on this machine; anything else must be https. */
function withInsecureForLoopback(
  endpoint: string,
  clientOptions: TableServiceClientOptions | undefined,
): TableServiceClientOptions {
  const url = new URL(endpoint);
  if (url.protocol === 'https:') return { ...clientOptions };
  if (url.protocol === 'http:' && isLoopbackHost(url.hostname))
    return { ...clientOptions, allowInsecureConnection: true };
  throw new Error(
    `table endpoint ${redactUrl(endpoint)} must use https (http is allowed only for localhost)`,
  );
}

// PartitionKey and RowKey may not hold / \ # ? or control characters (U+0000–U+001F, U+007F–U+009F).
function isForbiddenKeyCharacter(character: string): boolean {
  const code = character.codePointAt(0) ?? 0;
  return '/\\#?'.includes(character) || code <= 0x1f || (code >= 0x7f && code <= 0x9f);
}

function validateKeys(collector: string, scope: string): void {
  for (const [label, value] of [
    ['collector', collector],
    ['scope', scope],
  ] as const) {
    if (value === '' || value.length > 512 || [...value].some(isForbiddenKeyCharacter)) {
      throw new Error(
        `checkpoint ${label} "${value}" cannot be a table key: 1 to 512 characters, none of / \\ # ? or control characters`,
      );
    }
  }
}

function toCheckpoint(entity: CheckpointEntity): Checkpoint {
  const { partitionKey: collector, rowKey: scope } = entity;
  const acceptedIds = acceptedIdsOf(entity);
  return {
    collector,
    scope,
    position: dateOf(entity.Position, 'Position', collector, scope),
    runId: typeof entity.RunId === 'string' ? entity.RunId : '',
    updatedAt: dateOf(entity.UpdatedAt, 'UpdatedAt', collector, scope),
    ...(acceptedIds === undefined ? {} : { acceptedIds }),
  };
}

function acceptedIdsParts(value: Uint8Array | undefined): Record<string, Uint8Array> {
  if (value === undefined || value.length === 0) return {};
  if (!(value instanceof Uint8Array)) throw new Error('checkpoint acceptedIds is not a Uint8Array');
  if (value.length > maxAcceptedIdsBytes) {
    throw new Error(
      `checkpoint acceptedIds of ${value.length} bytes exceed the ${maxAcceptedIdsBytes} bytes a table entity can hold`,
    );
  }
  const parts: Record<string, Uint8Array> = {};
  for (let part = 0; part * acceptedIdsPartBytes < value.length; part++) {
    // A Buffer copy, not a view: @azure/data-tables base64-encodes a plain Uint8Array's whole
    // underlying ArrayBuffer, ignoring its offset and length (13.3.2, utils/bufferSerializer.ts).
    parts[`${acceptedIdsProperty}${part}`] = Buffer.from(
      value.subarray(part * acceptedIdsPartBytes, (part + 1) * acceptedIdsPartBytes),
    );
  }
  return parts;
}

/**
 * The parts AcceptedIds0, 1, … joined; undefined when there are none. A part that is missing or not
 * binary ends the sequence there: the caller then finds a truncated encoding and sends those events again
 * rather than trusting it.
 */
function acceptedIdsOf(entity: CheckpointEntity): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  for (let part = 0; part < maxAcceptedIdsParts; part++) {
    const value = entity[`${acceptedIdsProperty}${part}`];
    if (!(value instanceof Uint8Array)) break;
    parts.push(value);
  }
  if (parts.length === 0) return undefined;
  return new Uint8Array(Buffer.concat(parts));
}

function validDate(value: Date, label: string): Date {
  if (!(value instanceof Date) || Number.isNaN(value.getTime()))
    throw new Error(`checkpoint ${label} is not a valid Date`);
  return value;
}

function dateOf(value: unknown, property: string, collector: string, scope: string): Date {
  const date = value instanceof Date ? value : typeof value === 'string' ? new Date(value) : undefined;
  if (date === undefined || Number.isNaN(date.getTime())) {
    throw new Error(`checkpoint ${collector}/${scope} has an invalid ${property}: ${JSON.stringify(value)}`);
  }
  return date;
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The storage error code (x-ms-error-code), e.g. TableNotFound; RestError.code is not set by this SDK. */
function codeOf(error: unknown): string | undefined {
  const e = error as {
    code?: unknown;
    details?: { errorCode?: unknown };
    response?: { parsedBody?: { odataError?: { code?: unknown } } };
  } | null;
  for (const code of [e?.details?.errorCode, e?.code, e?.response?.parsedBody?.odataError?.code]) {
    if (typeof code === 'string' && code !== '') return code;
  }
  return undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The URL without query (a SAS) or credentials, for messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname}`.replace(/\/+$/, '');
  } catch {
    return '<invalid URL>';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
