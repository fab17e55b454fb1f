// Emulates the Microsoft Entra ID v2.0 token endpoint for the client-credentials grant with a client assertion,
// as @azure/identity's ClientAssertionCredential calls it through MSAL node:
//   GET  /{tenant}/v2.0/.well-known/openid-configuration   (MSAL's authority metadata for an unknown host)
//   POST /{tenant}/oauth2/v2.0/token
//        grant_type=client_credentials&client_id=<app>&scope=<resource>/.default
//        &client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion=<JWT>
// The assertion is a managed identity's token for the token exchange audience (the identity emulator issues and
// vouches for it). It is accepted only as Entra accepts a federated identity credential on the app: issuer,
// subject and audience each equal to one credential of the app (the audience as written, api://AzureADTokenExchange,
// or the exchange app's ID that the token's aud carries), the token unexpired, the app registered in the
// identity's tenant and provisioned (consented) in the tenant asked for. Errors are Entra's:
//   { error, error_description: "AADSTS<code>: …", error_codes: [code], timestamp, trace_id, correlation_id }.
// https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity
// A Graph token it issues is a v1.0 app-only token of the customer tenant (tid), for the app (appid), with the
// roles consented there; `lookup` vouches for it, like the identity emulator's for its own.
import { randomBytes, randomUUID } from 'node:crypto';
import type http from 'node:http';
import type https from 'node:https';
import {
  tokenExchangeAppIds,
  type IssuedToken,
  type ManagedIdentityEmulator,
  type TokenClaims,
} from './managedIdentity.js';
import { listenHttpsOnLoopback } from './tls.js';

/** A federated identity credential on an app registration: all three must match the assertion. */
export interface FederatedCredential {
  issuer: string;
  subject: string;
  audience: string;
}

export interface EmulatedApp {
  clientId: string;
  /** The tenant the app is registered in: a managed identity of another tenant can never be its credential. */
  homeTenantId: string;
  federatedCredentials: FederatedCredential[];
  /** Tenants where the app has a service principal (an admin consented), and the Graph roles granted there. */
  consentedIn: Map<string, string[]>;
}

export interface TokenEndpointRequestRecord {
  tenant: string;
  clientId: string | null;
  status: number;
  /** AADSTS code of a refusal. */
  errorCode?: number;
}

export interface EntraTokenEndpoint {
  /** `https://localhost:<port>`: AZURE_AUTHORITY_HOST. */
  readonly authorityHost: string;
  readonly apps: Map<string, EmulatedApp>;
  /** Known tenants; a token for any other is AADSTS90002. */
  readonly tenants: Set<string>;
  readonly requests: TokenEndpointRequestRecord[];
  readonly issued: IssuedToken[];
  /** Vouches for a token this endpoint issued, then for the identity emulator's. */
  lookup(token: string): IssuedToken | undefined;
  stop(): Promise<void>;
}

const jwtBearer = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export async function startEntraTokenEndpoint(options: {
  identity: Pick<ManagedIdentityEmulator, 'lookup'>;
  tenants: readonly string[];
  apps: readonly EmulatedApp[];
  tokenLifetimeSeconds?: number;
}): Promise<EntraTokenEndpoint> {
  const apps = new Map(options.apps.map((app) => [app.clientId, app]));
  const tenants = new Set(options.tenants);
  const requests: TokenEndpointRequestRecord[] = [];
  const issued: IssuedToken[] = [];
  const byToken = new Map<string, IssuedToken>();
  let origin = '';

  function refuse(
    res: http.ServerResponse,
    record: TokenEndpointRequestRecord,
    status: number,
    error: string,
    code: number,
    description: string,
  ): void {
    record.status = status;
    record.errorCode = code;
    const body = JSON.stringify({
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
      error_codes: [code],
      timestamp: new Date().toISOString().replace('T', ' ').replace('Z', 'Z'),
      trace_id: randomUUID(),
      correlation_id: randomUUID(),
    });
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(body);
  }

  function issueGraphToken(resource: string, tenant: string, app: EmulatedApp, roles: string[]): IssuedToken {
    const now = Math.floor(Date.now() / 1000);
    const claims: TokenClaims & { roles: string[] } = {
      aud: resource,
      iss: `https://sts.windows.net/${tenant}/`,
      iat: now,
      nbf: now,
      exp: now + (options.tokenLifetimeSeconds ?? 3599),
      appid: app.clientId,
      appidacr: '2',
      idp: `https://sts.windows.net/${tenant}/`,
      idtyp: 'app',
      // The app's service principal in that tenant: an object of its own there.
      oid: randomUUID(),
      sub: randomUUID(),
      tid: tenant,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
      roles,
    };
    const b64 = (value: string | Buffer) => Buffer.from(value).toString('base64url');
    const token = [
      b64(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'token-endpoint-emulator' })),
      b64(JSON.stringify(claims)),
      b64(randomBytes(32)),
    ].join('.');
    const entry = { resource, token, claims };
    issued.push(entry);
    byToken.set(token, entry);
    return entry;
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', origin);
    const [tenant = '', ...rest] = url.pathname.split('/').filter(Boolean);
    const path = rest.join('/');
    if (req.method === 'GET' && path === 'v2.0/.well-known/openid-configuration') {
      req.resume();
      const base = `${origin}/${tenant}`;
      const body = JSON.stringify({
        token_endpoint: `${base}/oauth2/v2.0/token`,
        authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
        end_session_endpoint: `${base}/oauth2/v2.0/logout`,
        issuer: `${base}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys`,
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        token_endpoint_auth_methods_supported: [
          'client_secret_post',
          'private_key_jwt',
          'client_secret_basic',
        ],
      });
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      res.end(body);
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const clientId = form.get('client_id');
    const record: TokenEndpointRequestRecord = { tenant, clientId, status: 0 };
    requests.push(record);
    if (req.method !== 'POST' || path !== 'oauth2/v2.0/token') {
      return refuse(
        res,
        record,
        404,
        'invalid_request',
        900561,
        `The endpoint only accepts POST requests. Received ${req.method} ${path}.`,
      );
    }
    if (!tenants.has(tenant)) {
      return refuse(res, record, 400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
    }
    if (form.get('grant_type') !== 'client_credentials') {
      return refuse(
        res,
        record,
        400,
        'unsupported_grant_type',
        70003,
        'The app requested an unsupported grant type.',
      );
    }
    const app = clientId === null ? undefined : apps.get(clientId);
    const roles = app?.consentedIn.get(tenant);
    if (!app || !roles) {
      return refuse(
        res,
        record,
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId ?? ''}' was not found in the directory '${tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    }
    if (form.get('client_assertion_type') !== jwtBearer || !form.get('client_assertion')) {
      return refuse(
        res,
        record,
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    }
    const assertion = options.identity.lookup(form.get('client_assertion') ?? '');
    if (!assertion) {
      return refuse(res, record, 401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    }
    const { claims } = assertion;
    if (Date.now() / 1000 >= claims.exp) {
      return refuse(
        res,
        record,
        401,
        'invalid_client',
        700024,
        'Client assertion is not within its valid time range.',
      );
    }
    const credentials = app.federatedCredentials;
    if (!credentials.some((fic) => fic.issuer === claims.iss)) {
      return refuse(
        res,
        record,
        401,
        'invalid_client',
        700211,
        `No matching federated identity record found for presented assertion issuer '${claims.iss}'.`,
      );
    }
    if (!credentials.some((fic) => fic.issuer === claims.iss && fic.subject === claims.sub)) {
      return refuse(
        res,
        record,
        401,
        'invalid_client',
        700213,
        `No matching federated identity record found for presented assertion subject '${claims.sub}'.`,
      );
    }
    const audienceMatches = (fic: FederatedCredential) =>
      fic.audience === claims.aud || tokenExchangeAppIds[fic.audience.toLowerCase()] === claims.aud;
    if (
      !credentials.some(
        (fic) => fic.issuer === claims.iss && fic.subject === claims.sub && audienceMatches(fic),
      )
    ) {
      return refuse(
        res,
        record,
        401,
        'invalid_client',
        700212,
        `No matching federated identity record found for presented assertion audience '${claims.aud}'.`,
      );
    }
    // A managed identity is a credential only of apps in its own tenant (the app may then reach others).
    if (claims.tid !== app.homeTenantId) {
      return refuse(
        res,
        record,
        401,
        'invalid_client',
        700236,
        `Entra ID tokens issued by issuer '${claims.iss}' may not be used for federated identity credential flows for applications or managed identities registered in this tenant.`,
      );
    }
    const scope = form.get('scope') ?? '';
    if (!scope.endsWith('/.default')) {
      return refuse(
        res,
        record,
        400,
        'invalid_scope',
        1002012,
        `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      );
    }
    const { token, claims: issuedClaims } = issueGraphToken(
      scope.slice(0, -'/.default'.length),
      tenant,
      app,
      roles,
    );
    record.status = 200;
    const body = JSON.stringify({
      token_type: 'Bearer',
      expires_in: issuedClaims.exp - issuedClaims.iat,
      ext_expires_in: issuedClaims.exp - issuedClaims.iat,
      access_token: token,
    });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
    res.end(body);
  }

  const listening: { server: https.Server; origin: string } = await listenHttpsOnLoopback(handle);
  origin = listening.origin;
  return {
    authorityHost: origin,
    apps,
    tenants,
    requests,
    issued,
    lookup: (token) => byToken.get(token) ?? options.identity.lookup(token),
    stop: () =>
      new Promise<void>((resolve) => {
        listening.server.close(() => resolve());
        listening.server.closeAllConnections();
      }),
  };
}
