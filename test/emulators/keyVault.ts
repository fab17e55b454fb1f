// Emulates the Key Vault secrets data plane (GET /secrets/{name}[/{version}]) over HTTPS, including the
// challenge-based authentication that @azure/keyvault-secrets' SecretClient performs:
//   1. the client first sends the request without a token;
//   2. the vault answers 401 + WWW-Authenticate: Bearer authorization="https://login.microsoftonline.com/<tenant>",
//      resource="https://vault.azure.net";
//   3. the client gets a token for "<resource>/.default" (from the managed-identity emulator) and retries.
//
// Why the client needs `disableChallengeResourceVerification: true` against this emulator: the SDK
// (@azure/keyvault-common) accepts a challenge only if the vault's hostname ends with "." + the resource's
// hostname (myvault.vault.azure.net vs vault.azure.net). "localhost" contains no dot, so no resource can pass;
// 127.0.0.1 cannot either (WHATWG URL turns any numeric resource host into a full 4-part IPv4 address), and
// *.localhost names do not resolve here (glibc without nss-myhostname). So the emulator keeps the production
// resource, https://vault.azure.net, which makes the tokens it accepts identical in audience to production ones.
import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import { verifyBearer, type ManagedIdentityEmulator } from './managedIdentity.js';
import { listenHttpsOnLoopback } from './tls.js';

export interface KeyVaultEmulatorOptions {
  secrets: Record<string, string>;
  /** Token issuer: only tokens it issued for `resource` are accepted. */
  identity: Pick<ManagedIdentityEmulator, 'lookup' | 'tenantId' | 'principalId'>;
  /** Object IDs holding "Key Vault Secrets User". Default: the identity's principal. [] simulates missing RBAC. */
  authorizedPrincipalIds?: string[];
  /** Audience announced in the challenge and required in tokens. Default https://vault.azure.net. */
  resource?: string;
}

export interface KeyVaultRequest {
  method: string;
  path: string;
  status: number;
  secretName: string | null;
  /** Whether the request carried an Authorization header (the SDK's first, challenge-eliciting call does not). */
  bearer: boolean;
}

export interface KeyVaultEmulator {
  /** https://localhost:<port>, trusted through NODE_EXTRA_CA_CERTS (see scripts/with-dev-ca.mjs). */
  readonly vaultUrl: string;
  readonly resource: string;
  /** Adds a new current version of the secret and returns its version ID; older versions stay readable. */
  setSecret(name: string, value: string): string;
  readonly requests: KeyVaultRequest[];
  /** Answer the next `times` requests (default 1) with `status`; 429/503 carry Retry-After (default 1 s). */
  failNext(status: number, times?: number, retryAfterSeconds?: number): void;
  stop(): Promise<void>;
}

interface SecretVersion {
  version: string;
  value: string;
  created: number;
}

const SECRET_NAME = /^[0-9a-zA-Z-]{1,127}$/;
const FAULT_CODES: Record<number, string> = {
  403: 'Forbidden',
  429: 'Throttled',
  500: 'InternalServerError',
  503: 'ServiceUnavailable',
};

function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: http.OutgoingHttpHeaders = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-ms-request-id': randomUUID(),
    'x-ms-keyvault-service-version': '1.9.0.0',
  });
  res.end(text);
}

const keyVaultError = (code: string, message: string, innerCode?: string): unknown => ({
  error: innerCode ? { code, message, innererror: { code: innerCode } } : { code, message },
});

export async function startKeyVaultEmulator(options: KeyVaultEmulatorOptions): Promise<KeyVaultEmulator> {
  const { identity } = options;
  const resource = options.resource ?? 'https://vault.azure.net';
  const authorized = new Set(options.authorizedPrincipalIds ?? [identity.principalId]);
  // Secret names are case-insensitive in Key Vault.
  const store = new Map<string, { name: string; versions: SecretVersion[] }>();
  const requests: KeyVaultRequest[] = [];
  const fault = { status: 0, left: 0, retryAfterSeconds: 1 };
  const challenge = `Bearer authorization="https://login.microsoftonline.com/${identity.tenantId}", resource="${resource}"`;
  let vaultUrl = '';

  function setSecret(name: string, value: string): string {
    if (!SECRET_NAME.test(name)) throw new Error(`invalid Key Vault secret name: ${JSON.stringify(name)}`);
    const entry = store.get(name.toLowerCase()) ?? { name, versions: [] };
    const version = randomBytes(16).toString('hex');
    entry.versions.push({ version, value, created: Math.floor(Date.now() / 1000) });
    store.set(name.toLowerCase(), entry);
    return version;
  }
  for (const [name, value] of Object.entries(options.secrets)) setSecret(name, value);

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://localhost');
    // /secrets/{name}, /secrets/{name}/ (latest, as the SDK asks) or /secrets/{name}/{version}
    const route = /^\/secrets\/([^/]+)(?:\/([^/]*))?$/.exec(url.pathname);
    const secretName = route?.[1] ? decodeURIComponent(route[1]) : null;
    const version = route?.[2] ? decodeURIComponent(route[2]) : '';
    const bearer = req.headers.authorization !== undefined;
    const reply = (status: number, body: unknown, headers?: http.OutgoingHttpHeaders): void => {
      requests.push({ method: req.method ?? '', path: url.pathname, status, secretName, bearer });
      sendJson(res, status, body, headers);
    };
    // Drain any request body so keep-alive connections stay usable.
    req.resume();

    if (fault.left > 0) {
      fault.left -= 1;
      const headers =
        fault.status === 429 || fault.status === 503
          ? { 'retry-after': String(fault.retryAfterSeconds) }
          : {};
      const code = FAULT_CODES[fault.status] ?? 'InjectedFault';
      return reply(fault.status, keyVaultError(code, `Injected failure (HTTP ${fault.status}).`), headers);
    }

    const check = verifyBearer(req.headers.authorization, resource, identity);
    if (!check.ok) {
      const message =
        check.reason === 'missing'
          ? 'AKV10000: Request is missing a Bearer or PoP token.'
          : check.reason === 'audience'
            ? `AKV10022: ${check.message}`
            : `AKV10032: Invalid token: ${check.message}`;
      // Key Vault repeats the challenge on every 401 so a client can (re)authenticate.
      return reply(401, keyVaultError('Unauthorized', message), { 'www-authenticate': challenge });
    }
    if (!url.searchParams.get('api-version')) {
      return reply(
        400,
        keyVaultError('BadParameter', 'The request URI must contain an api-version query parameter.'),
      );
    }
    if (!secretName)
      return reply(404, keyVaultError('NotFound', `The path ${url.pathname} is not served by this vault.`));
    if (req.method !== 'GET') {
      return reply(
        405,
        keyVaultError('MethodNotAllowed', `${req.method ?? ''} is not supported by the emulator.`),
      );
    }
    if (!authorized.has(check.claims.oid)) {
      const { appid, oid, iss } = check.claims;
      return reply(
        403,
        keyVaultError(
          'Forbidden',
          'Caller is not authorized to perform action on resource.\r\n' +
            `Caller: appid=${appid};oid=${oid};iss=${iss}\r\n` +
            "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'\r\n" +
            "Assignment: (not found)\r\nDecisionReason: 'DeniedWithNoValidRBAC'\r\n",
          'ForbiddenByRbac',
        ),
      );
    }

    const entry = store.get(secretName.toLowerCase());
    const found = version ? entry?.versions.find((v) => v.version === version) : entry?.versions.at(-1);
    if (!entry || !found) {
      const id = version ? `${secretName}/${version}` : secretName;
      return reply(
        404,
        keyVaultError(
          'SecretNotFound',
          `A secret with (name/id) ${id} was not found in this key vault. If you recently deleted this secret you ` +
            'may be able to recover it using the correct recovery command. For help resolving this issue, please ' +
            'see https://go.microsoft.com/fwlink/?linkid=2125182',
        ),
      );
    }
    reply(200, {
      value: found.value,
      id: `${vaultUrl}/secrets/${entry.name}/${found.version}`,
      attributes: {
        enabled: true,
        created: found.created,
        updated: found.created,
        recoveryLevel: 'Recoverable+Purgeable',
        recoverableDays: 90,
      },
      tags: {},
    });
  }

  const { server, origin } = await listenHttpsOnLoopback(handle);
  vaultUrl = origin;

  return {
    vaultUrl,
    resource,
    setSecret,
    requests,
    failNext(status, times = 1, retryAfterSeconds = 1) {
      Object.assign(fault, { status, left: times, retryAfterSeconds });
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
