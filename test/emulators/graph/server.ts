// The HTTPS server: routes a request, checks it, and writes its page or Graph's error answer.
//
// Order of checks per request: injected drop / delay / fault, route, bearer token (401), method (405), throttle
// (429), permissions (403), query options (400), then the page. Pages are written as chunked JSON, generated
// STREAM_BATCH records at a time, so a 1000-record page never exists as one string.
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import { verifyBearer } from '../managedIdentity.js';
import { listenHttpsOnLoopback } from '../tls.js';
import { GraphError } from './errors.js';
import { Faults, Throttle } from './faults.js';
import { SkipTokens, selectPage } from './query.js';
import { toV1SignIn } from './signIns.js';
import { EventSource, type Entry } from './source.js';
import { hashString, stableGuid } from './random.js';
import {
  GRAPH_RESOURCE,
  type BetaSignIn,
  type DirectoryAudit,
  type GraphApiVersion,
  type GraphEmulator,
  type GraphEmulatorOptions,
  type GraphErrorBody,
  type GraphEventKind,
  type GraphRequest,
} from './types.js';
import { USERS_ROUTE, UserDirectory } from './users.js';
import { buildWorld } from './world.js';

const ROUTE = /^\/(v1\.0|beta)\/auditlogs\/(signins|directoryaudits)$/i;
const CONTENT_TYPE =
  'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const AGS_DIAGNOSTIC = JSON.stringify({
  ServerInfo: {
    DataCenter: 'West Europe',
    Slice: 'E',
    Ring: '5',
    ScaleUnit: '002',
    RoleInstance: 'AM2PEPF0001C4E1',
  },
});

/** Records generated and written per chunk. */
const STREAM_BATCH = 100;

interface Page<E = Entry> {
  /** The JSON text up to and including `"value":[`. */
  head: string;
  entries: E[];
  render: (e: E) => string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Writes the page in chunks (Transfer-Encoding: chunked, as Graph streams), honouring back-pressure. */
async function stream<E>(res: http.ServerResponse, page: Page<E>): Promise<void> {
  const write = (chunk: string): Promise<void> | undefined =>
    res.write(chunk)
      ? undefined
      : new Promise<void>((resolve, reject) => {
          const done = (): void => {
            res.off('drain', done);
            res.off('close', done);
            if (res.destroyed && !res.writableFinished) reject(new Error('client went away'));
            else resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
  await write(page.head);
  for (let k = 0; k < page.entries.length; k += STREAM_BATCH) {
    const batch = page.entries.slice(k, k + STREAM_BATCH).map(page.render);
    await write((k === 0 ? '' : ',') + batch.join(','));
  }
  res.end(']}');
}

/**
 * Writes the head and the first `records` records of the page, waits until they have left for the socket,
 * then destroys it: the client has a 200, its headers and a partial body that never ends.
 */
async function streamCut<E>(res: http.ServerResponse, page: Page<E>, records: number): Promise<void> {
  const written = (chunk: string): Promise<void> =>
    new Promise((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : resolve())));
  await written(page.head);
  for (let k = 0; k < records; k += STREAM_BATCH) {
    const batch = page.entries.slice(k, Math.min(k + STREAM_BATCH, records)).map(page.render);
    await written((k === 0 ? '' : ',') + batch.join(','));
  }
  res.socket?.destroy();
}

/**
 * Set by the front of several tenants' emulators (tenants.ts, same process): performance.now() when the
 * request reached it, so each tenant's throttle counts it from there, as Graph counts at its edge, not from
 * when this emulator (busy serving another tenant's page) got to it.
 */
export const ARRIVED_AT_HEADER = 'x-emulator-arrived-at';

export async function startGraphEmulator(options: GraphEmulatorOptions): Promise<GraphEmulator> {
  const { identity } = options;
  const seedKey = hashString(String(options.seed ?? 1));
  const tenantId = options.tenantId ?? stableGuid(seedKey, 'tenant', 0);
  const world = buildWorld(seedKey, tenantId);
  const directory = new UserDirectory(world, options.users);
  const sources: Record<GraphEventKind, EventSource> = {
    signIns: new EventSource('signIns', seedKey, options.signIns, world),
    directoryAudits: new EventSource('directoryAudits', seedKey, options.audits, world),
  };
  const throttle = new Throttle(options.throttle?.limit ?? 5, options.timeScale ?? 1);
  const faults = new Faults();
  const skipTokens = new SkipTokens();
  const requests: GraphRequest[] = [];
  let throttledCount = 0;
  let endpoint = '';

  const state = { denyAuditLogRead: false, nonPremiumTenant: false };

  function page(url: URL, entry: GraphRequest, kind: GraphEventKind, version: GraphApiVersion): Page {
    const source = sources[kind];
    const { top, entries, skiptoken } = selectPage(url, source, kind, version, skipTokens);
    entry.returned = entries.length;
    const context = `${endpoint}/${version}/$metadata#auditLogs/${kind}`;
    let head = `{"@odata.context":${JSON.stringify(context)}`;
    if (skiptoken !== undefined) {
      head += `,"@odata.nextLink":${JSON.stringify(`${endpoint}/${version}/auditLogs/${kind}?$top=${top}&$skiptoken=${skiptoken}`)}`;
    }
    const v1SignIns = kind === 'signIns' && version === 'v1.0';
    return {
      head: `${head},"value":[`,
      entries,
      render: (e) => {
        const record = source.build(e);
        return JSON.stringify(v1SignIns ? toV1SignIn(record as BetaSignIn) : record);
      },
    };
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.resume();
    const url = new URL(req.url ?? '/', 'https://localhost');
    const entry: GraphRequest = {
      path: url.pathname,
      kind: null,
      status: 0,
      throttled: false,
      returned: 0,
      at: new Date(),
    };
    requests.push(entry);
    const requestId = randomUUID();
    const clientRequestId =
      [req.headers['client-request-id'], req.headers['x-ms-client-request-id']].find(
        (h): h is string => typeof h === 'string',
      ) ?? requestId;
    const baseHeaders: http.OutgoingHttpHeaders = {
      'request-id': requestId,
      'client-request-id': clientRequestId,
      'x-ms-ags-diagnostic': AGS_DIAGNOSTIC,
      'strict-transport-security': 'max-age=31536000',
      'cache-control': 'no-cache',
      'odata-version': '4.0',
    };

    let streaming = false;
    if (faults.takeDrop()) {
      entry.errorCode = 'ConnectionDropped';
      req.socket.destroy();
      return;
    }
    const delay = faults.takeDelay();
    if (delay !== undefined) {
      await sleep(delay);
      entry.at = new Date();
    }

    try {
      const fault = faults.takeFault(url.pathname);
      if (fault) {
        if (fault.status === 429) {
          entry.throttled = true;
          throttledCount += 1;
        }
        throw fault;
      }
      // GET /v1.0/users (users.ts), or an audit-log route.
      const users = USERS_ROUTE.test(url.pathname);
      const route = ROUTE.exec(url.pathname);
      if (!users && (!route?.[1] || !route[2])) {
        const segment = url.pathname.split('/').filter(Boolean).at(-1) ?? '';
        throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
      }
      const version: GraphApiVersion = route?.[1]?.toLowerCase() === 'beta' ? 'beta' : 'v1.0';
      const kind: GraphEventKind | null =
        route === null ? null : route[2]?.toLowerCase() === 'signins' ? 'signIns' : 'directoryAudits';
      entry.kind = kind;

      const check = verifyBearer(req.headers.authorization, GRAPH_RESOURCE, identity);
      if (!check.ok) {
        const message = {
          missing: 'Access token is empty.',
          unknown: 'Access token validation failure.',
          expired: 'Lifetime validation failed, the token is expired.',
          audience: 'Access token validation failure. Invalid audience.',
        }[check.reason];
        throw new GraphError(401, 'InvalidAuthenticationToken', message, {
          'www-authenticate':
            'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", ' +
            'client_id="00000003-0000-0000-c000-000000000000"',
        });
      }
      if (req.method !== 'GET') {
        throw new GraphError(
          405,
          'Request_BadRequest',
          'Specified HTTP method is not allowed for the request target.',
        );
      }
      // Graph counts a request where it arrives: at the front, when several tenants share one (tenants.ts).
      const arrivedAt = Number(req.headers[ARRIVED_AT_HEADER]);
      const throttled = throttle.admit(check.claims.tid, Number.isFinite(arrivedAt) ? arrivedAt : undefined);
      if (throttled) {
        entry.throttled = true;
        throttledCount += 1;
        throw throttled;
      }
      if (state.denyAuditLogRead && kind !== null) {
        throw new GraphError(
          403,
          'Authorization_RequestDenied',
          'Insufficient privileges to complete the operation.',
        );
      }
      if (kind === 'signIns' && state.nonPremiumTenant) {
        throw new GraphError(
          403,
          'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
          "Neither tenant is B2C or tenant doesn't have premium license",
        );
      }
      const answer: Page<unknown> =
        kind === null
          ? (directory.page(url, endpoint, {
              auditLogRead: !state.denyAuditLogRead,
              premium: !state.nonPremiumTenant,
            }) as Page<unknown>)
          : (page(url, entry, kind, version) as Page<unknown>);
      entry.returned = answer.entries.length;
      entry.status = 200;
      const cutAfter = faults.takeCut(url.pathname, answer.entries.length);
      res.writeHead(200, { ...baseHeaders, 'content-type': CONTENT_TYPE });
      streaming = true;
      if (cutAfter !== undefined) {
        entry.errorCode = 'BodyCut';
        entry.returned = cutAfter;
        await streamCut(res, answer, cutAfter);
        return;
      }
      await stream(res, answer);
    } catch (err) {
      if (streaming) {
        res.destroy();
        return;
      }
      const e =
        err instanceof GraphError
          ? err
          : new GraphError(500, 'UnknownError', err instanceof Error ? err.message : 'unexpected error');
      entry.status = e.status;
      entry.errorCode = e.code;
      entry.returned = 0;
      const body: GraphErrorBody = {
        error: {
          code: e.code,
          message: e.message,
          innerError: {
            ...e.innerExtra,
            // Graph's innerError date has no zone designator and no fraction.
            date: new Date().toISOString().slice(0, 19),
            'request-id': requestId,
            'client-request-id': clientRequestId,
          },
        },
      };
      const text = JSON.stringify(body);
      res.writeHead(e.status, {
        ...baseHeaders,
        ...e.headers,
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
    }
  }

  const { server, origin } = await listenHttpsOnLoopback(handle);
  endpoint = options.publicEndpoint ?? origin;

  function event(kind: 'signIns', index: number): BetaSignIn;
  function event(kind: 'directoryAudits', index: number): DirectoryAudit;
  function event(kind: GraphEventKind, index: number): BetaSignIn | DirectoryAudit;
  function event(kind: GraphEventKind, index: number): BetaSignIn | DirectoryAudit {
    const source = sources[kind];
    return source.build(source.entry(index));
  }

  return {
    endpoint,
    origin,
    throttleWindowMs: throttle.windowMs,
    get denyAuditLogRead() {
      return state.denyAuditLogRead;
    },
    set denyAuditLogRead(value: boolean) {
      state.denyAuditLogRead = value;
    },
    get nonPremiumTenant() {
      return state.nonPremiumTenant;
    },
    set nonPremiumTenant(value: boolean) {
      state.nonPremiumTenant = value;
    },
    users: directory.users,
    requests,
    get throttledCount() {
      return throttledCount;
    },
    failNext: (fault) => faults.failNext(fault),
    dropNextConnection: (times) => faults.dropNextConnection(times),
    cutNextBody: (cut) => faults.cutNextBody(cut),
    delayNext: (ms, times) => faults.delayNext(ms, times),
    clearFaults: () => faults.clear(),
    addLateEvents(kind, events) {
      const source = sources[kind];
      return events.map(({ at, signInEventType, edit }) => {
        const e = source.addLate(
          at.getTime(),
          kind === 'signIns' ? (signInEventType ?? 'interactiveUser') : null,
          kind === 'directoryAudits' ? edit : undefined,
        );
        return source.idOfEntry(e);
      });
    },
    count(kind, from, to, eventTypes) {
      const source = sources[kind];
      const events = source.descending(source.range(from, to, eventTypes), null);
      let n = 0;
      while (!events.next().done) n++;
      return n;
    },
    ids(kind, from, to, eventTypes) {
      const source = sources[kind];
      const ids = new Set<string>();
      for (const e of source.descending(source.range(from, to, eventTypes), null)) {
        ids.add(source.idOfEntry(e));
      }
      return ids;
    },
    size: (kind) => sources[kind].size(),
    event,
    indexOf: (kind, id) => sources[kind].indexOf(id),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
