// Emulates the App Service / Azure Functions managed-identity token endpoint (IDENTITY_ENDPOINT +
// IDENTITY_HEADER, api-version 2019-08-01) as called by @azure/identity's ManagedIdentityCredential through
// MSAL node's AppService source:
//   GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=<scope minus /.default>[&client_id=<uami>]
//   X-IDENTITY-HEADER: {IDENTITY_HEADER}
// It answers { access_token, expires_on (epoch seconds, as a string), resource, token_type, client_id }, or
// { statusCode, message, correlationId } on errors: MSAL turns `message` into the thrown error's description.
// Plain HTTP on purpose: the real endpoint is http on localhost and the credential allows insecure connections.
//
// MSAL node (5.x) behaviour that shapes how tests use this, verified against this emulator:
// - the managed-identity source (endpoint, header, and the HTTP pipeline and retry options of the first
//   credential that fetched a token) and the token cache are process-wide statics: use one emulator per test
//   process and set its env() before the first getToken; new credential instances share the cache;
// - a cached token is reused while now + 300 s <= its expiry (whole seconds), so tokenLifetimeSeconds <= 299
//   makes every getToken call fetch a new token; GetTokenOptions.claims is not passed to MSAL and changes nothing;
// - tokens living more than 2 h get refresh_in = half their life; the first call after that fetches a new token
//   but still returns the old one, the next call returns the new one.
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ManagedIdentityEmulatorOptions {
  tenantId: string;
  /** Client (application) ID of the user-assigned identity; requests must name it in client_id. */
  clientId: string;
  /** Object ID of the identity's service principal: becomes the token's oid and sub. */
  principalId: string;
  /** Default 86,400 (a day, like real MI tokens). <= 299 defeats MSAL's cache: every getToken is a new token. */
  tokenLifetimeSeconds?: number;
  /** Fixed port, e.g. to restart an emulator where MSAL's process-wide source still points. Default: any. */
  port?: number;
}

/**
 * Claims of an Entra ID app-only access token for a managed identity: v1.0 for resources (Graph, Key Vault,
 * an app's API), v2.0 for the token exchange audience (api://AzureADTokenExchange), whose token is a
 * federated credential's assertion: there `aud` is the exchange app's ID, `iss` the v2 authority, `azp` the
 * identity's client ID (see exchangeTokenClaims).
 */
export interface TokenClaims {
  aud: string;
  azp?: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  appid: string;
  appidacr: string;
  idp: string;
  idtyp: 'app';
  oid: string;
  sub: string;
  tid: string;
  uti: string;
  ver: '1.0' | '2.0';
}

/**
 * The audiences of a managed identity's federated-credential tokens, and the application ID Entra puts in
 * their `aud` (the "AAD Token Exchange Endpoint" first-party app; the public cloud's is documented, e.g.
 * https://jannemattila.com/azure/2024/12/31/mi-access-across-tenants.html). A resource not listed here gets
 * a v1.0 token whose aud is the resource itself.
 */
export const tokenExchangeAppIds: Readonly<Record<string, string>> = {
  'api://azureadtokenexchange': 'fb60f99c-7a34-4190-8149-302f77469936',
};

export interface IssuedToken {
  resource: string;
  token: string;
  claims: TokenClaims;
}

export interface TokenEndpointRequest {
  status: number;
  resource: string | null;
  clientId: string | null;
}

export interface ManagedIdentityEmulator {
  readonly endpoint: string;
  readonly header: string;
  readonly tenantId: string;
  readonly clientId: string;
  readonly principalId: string;
  /** Lifetime of tokens issued from now on; may be changed between calls. */
  tokenLifetimeSeconds: number;
  /** IDENTITY_ENDPOINT, IDENTITY_HEADER and AZURE_CLIENT_ID, to merge into process.env before the credential is used. */
  env(): Record<string, string>;
  /** Every token handed out, oldest first. */
  readonly issued: IssuedToken[];
  /** Every call to the endpoint, including rejected and fault-injected ones. */
  readonly requests: TokenEndpointRequest[];
  /** Answer the next `times` requests (default 1) with `status` and an App Service style error body. */
  failNext(status: number, times?: number): void;
  /** The token as issued by this emulator, or undefined if it never issued it. */
  lookup(token: string): IssuedToken | undefined;
  stop(): Promise<void>;
}

const API_VERSION = '2019-08-01';
const TOKEN_PATH = '/msi/token';

function base64url(value: string | Buffer): string {
  return Buffer.from(value).toString('base64url');
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-correlation-id': randomUUID(),
  });
  res.end(text);
}

// The shape App Service returns, e.g. {"statusCode":400,"message":"Unable to load the proper Managed Identity.",...}
function sendError(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { statusCode: status, message, correlationId: randomUUID() });
}

export async function startManagedIdentityEmulator(
  options: ManagedIdentityEmulatorOptions,
): Promise<ManagedIdentityEmulator> {
  const { tenantId, clientId, principalId } = options;
  const header = randomBytes(16).toString('hex');
  const issued: IssuedToken[] = [];
  const byToken = new Map<string, IssuedToken>();
  const requests: TokenEndpointRequest[] = [];
  let faultStatus = 0;
  let faultsLeft = 0;

  function issue(resource: string): IssuedToken {
    const now = Math.floor(Date.now() / 1000);
    const exchangeAppId = tokenExchangeAppIds[resource.replace(/\/+$/, '').toLowerCase()];
    const v2 = exchangeAppId !== undefined && {
      aud: exchangeAppId,
      azp: clientId,
      iss: `https://login.microsoftonline.com/${tenantId}/v2.0`,
      ver: '2.0' as const,
    };
    const claims: TokenClaims = {
      aud: resource,
      iss: `https://sts.windows.net/${tenantId}/`,
      iat: now,
      nbf: now,
      exp: now + emulator.tokenLifetimeSeconds,
      appid: clientId,
      appidacr: '2',
      idp: `https://sts.windows.net/${tenantId}/`,
      idtyp: 'app',
      oid: principalId,
      sub: principalId,
      tid: tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
      ...v2,
    };
    const jwtHeader = { typ: 'JWT', alg: 'RS256', kid: 'managed-identity-emulator' };
    // Not a real signature: consumers verify tokens by looking them up in this emulator (verifyBearer).
    const token = [
      base64url(JSON.stringify(jwtHeader)),
      base64url(JSON.stringify(claims)),
      base64url(randomBytes(32)),
    ].join('.');
    const entry = { resource, token, claims };
    issued.push(entry);
    byToken.set(token, entry);
    return entry;
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const resource = url.searchParams.get('resource');
    const requestedClientId = url.searchParams.get('client_id');
    const record = (status: number): void => {
      requests.push({ status, resource, clientId: requestedClientId });
    };
    const fail = (status: number, message: string): void => {
      record(status);
      sendError(res, status, message);
    };

    if (faultsLeft > 0) {
      faultsLeft -= 1;
      return fail(faultStatus, `Injected failure (HTTP ${faultStatus}).`);
    }
    if (req.method !== 'GET' || url.pathname !== TOKEN_PATH) return fail(404, 'Not found.');
    const presented = req.headers['x-identity-header'];
    if (presented === undefined) return fail(400, 'Missing X-IDENTITY-HEADER header.');
    if (presented !== header) {
      return fail(401, 'Unauthorized: X-IDENTITY-HEADER does not match IDENTITY_HEADER.');
    }
    if (url.searchParams.get('api-version') !== API_VERSION) {
      return fail(400, `Unsupported api-version; this endpoint implements ${API_VERSION}.`);
    }
    if (!resource) return fail(400, 'Missing required query parameter: resource.');
    // Only the one user-assigned identity is attached: no system-assigned identity (no ID in the query), and it is
    // addressable by client_id or object_id (mi_res_id would need an ARM resource ID this emulator does not model).
    const objectId = url.searchParams.get('object_id');
    const isOurIdentity =
      requestedClientId !== null ? requestedClientId === clientId : objectId === principalId;
    if (!isOurIdentity) return fail(400, 'Unable to load the proper Managed Identity.');

    const { token, claims } = issue(resource);
    record(200);
    sendJson(res, 200, {
      access_token: token,
      expires_on: String(claims.exp),
      resource,
      token_type: 'Bearer',
      client_id: clientId,
    });
  }

  const server = http.createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A forgotten stop() must not keep the test process alive.
  server.unref();
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}${TOKEN_PATH}`;

  const emulator: ManagedIdentityEmulator = {
    endpoint,
    header,
    tenantId,
    clientId,
    principalId,
    tokenLifetimeSeconds: options.tokenLifetimeSeconds ?? 86_400,
    env: () => ({ IDENTITY_ENDPOINT: endpoint, IDENTITY_HEADER: header, AZURE_CLIENT_ID: clientId }),
    issued,
    requests,
    failNext(status, times = 1) {
      faultStatus = status;
      faultsLeft = times;
    },
    lookup: (token) => byToken.get(token),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
  return emulator;
}

export type BearerCheck =
  | { ok: true; claims: TokenClaims }
  | {
      ok: false;
      /** missing: no Bearer header; unknown: not issued by this emulator; expired; audience: issued for another resource. */
      reason: 'missing' | 'unknown' | 'expired' | 'audience';
      message: string;
      claims?: TokenClaims;
    };

// Resources are compared the way Entra ID treats App ID URIs: a trailing slash does not make a different resource.
function sameResource(a: string, b: string): boolean {
  return a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}

/**
 * Checks an Authorization header value: a Bearer token issued by `emulator`, not expired, for `expectedAudience`.
 * Returns why it is rejected instead of throwing, so each service emulator can answer with its own status.
 */
export function verifyBearer(
  authHeader: string | undefined,
  expectedAudience: string,
  emulator: Pick<ManagedIdentityEmulator, 'lookup'>,
): BearerCheck {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authHeader ?? '');
  if (!match?.[1]) return { ok: false, reason: 'missing', message: 'Request is missing a Bearer token.' };
  const entry = emulator.lookup(match[1]);
  if (!entry)
    return { ok: false, reason: 'unknown', message: 'The token was not issued by the identity emulator.' };
  const { claims } = entry;
  if (Date.now() / 1000 >= claims.exp) {
    return {
      ok: false,
      reason: 'expired',
      message: `The token expired at ${new Date(claims.exp * 1000).toISOString()}.`,
      claims,
    };
  }
  if (!sameResource(claims.aud, expectedAudience)) {
    return {
      ok: false,
      reason: 'audience',
      message: `Invalid audience. Expected ${expectedAudience}, found: ${claims.aud}.`,
      claims,
    };
  }
  return { ok: true, claims };
}
