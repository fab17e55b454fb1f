import type { SettingsReader } from './parse.js';

/**
 * Where the table checkpoint store lives: the function app's own storage account, named the way the
 * Functions host names it (`AzureWebJobsStorage`), so no extra account or setting is needed.
 */
export type CheckpointStorage =
  /** Local runs (Azurite, `UseDevelopmentStorage=true`) or an account connection string. */
  | { readonly kind: 'connection-string'; readonly connectionString: string }
  /** Identity-based connection: the table endpoint, and the user-assigned identity to use, if any. */
  | { readonly kind: 'identity'; readonly tableServiceUri: string; readonly clientId?: string };

export type CheckpointStorageSettings = CheckpointStorage & {
  /** Azure table holding one entity per (collector, scope). */
  readonly tableName: string;
};

export const defaultCheckpointTable = 'checkpoints';

export const checkpointSettingNames = {
  connectionString: 'AzureWebJobsStorage',
  tableServiceUri: 'AzureWebJobsStorage__tableServiceUri',
  accountName: 'AzureWebJobsStorage__accountName',
  clientId: 'AzureWebJobsStorage__clientId',
  table: 'CHECKPOINT_TABLE',
} as const;

const names = checkpointSettingNames;

const expected = {
  tableServiceUri:
    "the function app storage account's table endpoint, https://<account>.table.core.windows.net " +
    `(identity-based connection), or ${names.connectionString} as a connection string for local runs`,
  accountName: 'the storage account name: 3 to 24 lowercase letters and digits',
  clientId: 'the client ID (a GUID) of the user-assigned managed identity that may use the storage account',
  connectionString:
    'UseDevelopmentStorage=true, or a storage connection string with AccountName and AccountKey, or ' +
    'SharedAccessSignature, and an https table endpoint (TableEndpoint, or DefaultEndpointsProtocol, AccountName ' +
    'and EndpointSuffix)',
  table: `an Azure table name: 3 to 63 letters and digits starting with a letter, not "tables" (default ${defaultCheckpointTable})`,
} as const;

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const accountName = /^[a-z0-9]{3,24}$/;
const tableName = /^(?!tables$)[A-Za-z][A-Za-z0-9]{2,62}$/i;

/**
 * Reads where checkpoints are stored, pushing every problem into `reader.problems` (the caller throws one
 * SettingsError for all of them). Like the Functions host, a connection string in `AzureWebJobsStorage` wins;
 * without it the identity-based form is used: `AzureWebJobsStorage__tableServiceUri`, or the endpoint derived
 * from `AzureWebJobsStorage__accountName`, with `AzureWebJobsStorage__clientId` naming a user-assigned identity.
 *
 * `env` is the map the reader was built from; it is only consulted to name the `AzureWebJobsStorage__*`
 * settings that are present but do not give a table endpoint (e.g. only `__blobServiceUri`).
 *
 * @returns the settings, or undefined when any of them has a problem.
 */
export function readCheckpointStorageSettings(
  reader: SettingsReader,
  env: Readonly<Record<string, string | undefined>>,
): CheckpointStorageSettings | undefined {
  const before = reader.problems.length;
  const table = reader.matching(
    names.table,
    reader.raw(names.table) ?? defaultCheckpointTable,
    tableName,
    expected.table,
  );
  const storage = readStorage(reader, env);
  if (reader.problems.length > before || storage === undefined || table === undefined) return undefined;
  return { ...storage, tableName: table };
}

function readStorage(
  reader: SettingsReader,
  env: Readonly<Record<string, string | undefined>>,
): CheckpointStorage | undefined {
  const connectionString = reader.raw(names.connectionString);
  if (connectionString !== undefined) {
    const parsed = parseStorageConnectionString(connectionString);
    if (parsed.ok) return { kind: 'connection-string', connectionString };
    // A connection string holds the account key: never echo it (the problem names only its non-secret parts).
    reader.problems.push({
      setting: names.connectionString,
      problem: parsed.problem,
      expected: expected.connectionString,
    });
    return undefined;
  }

  const clientId = reader.matching(names.clientId, reader.raw(names.clientId), guid, expected.clientId);
  const uriRaw = reader.raw(names.tableServiceUri);
  let tableServiceUri: string | undefined;
  if (uriRaw !== undefined) {
    tableServiceUri = reader.httpsUrl(names.tableServiceUri, uriRaw, expected.tableServiceUri);
  } else {
    const account = reader.matching(
      names.accountName,
      reader.raw(names.accountName),
      accountName,
      expected.accountName,
    );
    if (account !== undefined) tableServiceUri = `https://${account}.table.core.windows.net`;
    else if (reader.raw(names.accountName) === undefined) {
      const others = Object.keys(env)
        .filter((key) => key.startsWith(`${names.connectionString}__`) && reader.raw(key) !== undefined)
        .sort();
      reader.problems.push({
        setting: names.tableServiceUri,
        problem:
          others.length > 0
            ? `is missing (${others.join(', ')} ${others.length === 1 ? 'is set, but gives' : 'are set, but give'} ` +
              'no table endpoint; ' +
              `${names.accountName} would)`
            : 'is missing',
        expected: expected.tableServiceUri,
      });
    }
  }
  if (tableServiceUri === undefined) return undefined;
  return clientId === undefined
    ? { kind: 'identity', tableServiceUri }
    : { kind: 'identity', tableServiceUri, clientId };
}

/** The well-known Azurite / storage emulator account, as `UseDevelopmentStorage=true` means it. */
export const developmentStorage = {
  accountName: 'devstoreaccount1',
  accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
  tableEndpoint: 'http://127.0.0.1:10002/devstoreaccount1',
} as const;

export type ParsedConnectionString =
  | {
      readonly ok: true;
      /** Table service endpoint, without a trailing slash. */
      readonly tableEndpoint: string;
      readonly credential:
        | { readonly kind: 'shared-key'; readonly accountName: string; readonly accountKey: string }
        | { readonly kind: 'sas'; readonly signature: string };
    }
  | { readonly ok: false; readonly problem: string };

/**
 * Parses a storage connection string the way the Functions host and the storage SDKs read it, as far as the
 * table endpoint goes. Problems are worded so they never repeat the secret parts of the string.
 */
export function parseStorageConnectionString(value: string): ParsedConnectionString {
  if (/^\s*UseDevelopmentStorage\s*=\s*true\s*;?\s*$/i.test(value)) {
    const { accountName, accountKey, tableEndpoint } = developmentStorage;
    return { ok: true, tableEndpoint, credential: { kind: 'shared-key', accountName, accountKey } };
  }
  const parts = new Map<string, string>();
  for (const element of value.split(';')) {
    if (element.trim() === '') continue;
    const at = element.indexOf('=');
    if (at <= 0)
      return { ok: false, problem: 'is not a connection string (expected Key=Value pairs separated by ";")' };
    const v = element.slice(at + 1).trim();
    if (v !== '') parts.set(element.slice(0, at).trim().toLowerCase(), v);
  }
  const account = parts.get('accountname');
  const key = parts.get('accountkey');
  const signature = parts.get('sharedaccesssignature')?.replace(/^\?/, '');

  let tableEndpoint = parts.get('tableendpoint');
  if (tableEndpoint === undefined) {
    if (account === undefined) return { ok: false, problem: 'has neither TableEndpoint nor AccountName' };
    const protocol = (parts.get('defaultendpointsprotocol') ?? 'https').toLowerCase();
    if (protocol !== 'https' && protocol !== 'http')
      return { ok: false, problem: `has DefaultEndpointsProtocol "${protocol}" (expected https)` };
    tableEndpoint = `${protocol}://${account}.table.${parts.get('endpointsuffix') ?? 'core.windows.net'}`;
  }
  let url: URL;
  try {
    url = new URL(tableEndpoint);
  } catch {
    return { ok: false, problem: `has a TableEndpoint that is not a URL ("${tableEndpoint}")` };
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHost(url.hostname))) {
    return {
      ok: false,
      problem: `has a table endpoint that is not https ("${tableEndpoint}"; plain http is allowed only for a local emulator)`,
    };
  }
  if (url.search !== '' || url.hash !== '')
    return {
      ok: false,
      problem: 'has a TableEndpoint with a query string (put a SAS in SharedAccessSignature)',
    };
  tableEndpoint = tableEndpoint.replace(/\/+$/, '');

  if (account !== undefined && key !== undefined)
    return {
      ok: true,
      tableEndpoint,
      credential: { kind: 'shared-key', accountName: account, accountKey: key },
    };
  if (signature !== undefined) return { ok: true, tableEndpoint, credential: { kind: 'sas', signature } };
  return { ok: false, problem: 'has neither AccountName and AccountKey nor a SharedAccessSignature' };
}

/** Hosts for which plain http is acceptable: the emulator on this machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host);
}
