// Drives the Microsoft Graph audit-log emulator with a real client: an @azure/core-rest-pipeline pipeline
// (default policies, including the retry policy that honours Retry-After) plus bearerTokenAuthenticationPolicy with
// a ManagedIdentityCredential that gets its tokens from the managed-identity emulator.
//
// One managed-identity emulator serves the whole file: MSAL keeps the managed-identity endpoint per process.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, test } from 'vitest';
import {
  bearerTokenAuthenticationPolicy,
  createDefaultHttpClient,
  createHttpHeaders,
  createPipelineFromOptions,
  createPipelineRequest,
  type HttpClient,
  type Pipeline,
  type PipelineRetryOptions,
} from '@azure/core-rest-pipeline';
import { ManagedIdentityCredential } from '@azure/identity';
import {
  startGraphEmulator,
  toV1SignIn,
  type BetaSignIn,
  type DirectoryAudit,
  type GraphApiVersion,
  type GraphEmulator,
  type GraphErrorBody,
  type GraphEventKind,
  type GraphListResponse,
  type SignIn,
  type SignInEventType,
} from '../emulators/graph.js';
import { startManagedIdentityEmulator, type ManagedIdentityEmulator } from '../emulators/managedIdentity.js';
import { newSourceStats, type SourceStats } from '../../src/run/collector.js';
import { createGraphClient, type GraphClientOptions } from '../../src/sources/entra/graphClient.js';
import { GraphRequestError } from '../../src/sources/entra/graphErrors.js';

const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';
const FROM = new Date('2026-11-01T00:00:00Z');
const TO = new Date('2026-11-03T00:00:00Z');
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
// Fast retries for the 5xx / connection tests; 429s are paced by Retry-After, not by these.
const fastRetries: PipelineRetryOptions = { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 };

const tenantId = randomUUID();
const clientId = randomUUID();
const principalId = randomUUID();
let mi: ManagedIdentityEmulator;
let credential: ManagedIdentityCredential;

beforeAll(async () => {
  mi = await startManagedIdentityEmulator({ tenantId, clientId, principalId });
  Object.assign(process.env, mi.env());
  credential = new ManagedIdentityCredential({ clientId, retryOptions: fastRetries });
});
afterAll(() => mi.stop());

interface RawResponse {
  status: number;
  header(name: string): string | undefined;
  text: string;
}

/** What a Graph collector builds on: the default pipeline plus bearer-token authentication. */
class GraphClient {
  private readonly pipeline: Pipeline;
  private readonly httpClient: HttpClient = createDefaultHttpClient();

  constructor(retryOptions?: PipelineRetryOptions) {
    this.pipeline = createPipelineFromOptions({ retryOptions });
    this.pipeline.addPolicy(bearerTokenAuthenticationPolicy({ credential, scopes: GRAPH_SCOPE }));
  }

  async get(url: string): Promise<RawResponse> {
    const request = createPipelineRequest({
      url,
      method: 'GET',
      headers: createHttpHeaders({ accept: 'application/json' }),
    });
    const response = await this.pipeline.sendRequest(this.httpClient, request);
    return {
      status: response.status,
      header: (name) => response.headers.get(name),
      text: response.bodyAsText ?? '',
    };
  }

  async list<T>(url: string): Promise<{ status: number; body: GraphListResponse<T> }> {
    const res = await this.get(url);
    assert.equal(res.status, 200, `GET ${url} -> ${res.status} ${res.text.slice(0, 300)}`);
    return { status: res.status, body: JSON.parse(res.text) as GraphListResponse<T> };
  }

  async error(url: string): Promise<{ status: number; body: GraphErrorBody; res: RawResponse }> {
    const res = await this.get(url);
    assert.notEqual(res.status, 200, `GET ${url} unexpectedly succeeded`);
    return { status: res.status, body: JSON.parse(res.text) as GraphErrorBody, res };
  }

  /** Follows @odata.nextLink to the end; returns every item and the links followed. */
  async all<T>(url: string): Promise<{ items: T[]; pages: number; links: string[] }> {
    const items: T[] = [];
    const links: string[] = [];
    let next: string | undefined = url;
    let pages = 0;
    while (next) {
      const { body }: { body: GraphListResponse<T> } = await this.list<T>(next);
      items.push(...body.value);
      pages += 1;
      next = body['@odata.nextLink'];
      if (next) links.push(next);
    }
    return { items, pages, links };
  }
}

function listUrl(
  g: GraphEmulator,
  version: GraphApiVersion,
  kind: GraphEventKind,
  params: Record<string, string | number> = {},
): string {
  const query = Object.entries(params)
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`)
    .join('&');
  return `${g.endpoint}/${version}/auditLogs/${kind}${query ? `?${query}` : ''}`;
}

const timeOf = (item: SignIn | DirectoryAudit): string =>
  'createdDateTime' in item ? item.createdDateTime : item.activityDateTime;

function assertDescending(items: (SignIn | DirectoryAudit)[]): void {
  for (let i = 1; i < items.length; i++) {
    const [prev, cur] = [items[i - 1], items[i]];
    assert.ok(prev && cur);
    // Fixed-width ISO strings of one resource compare like the instants they denote.
    assert.ok(
      timeOf(prev) >= timeOf(cur),
      `item ${i} (${timeOf(cur)}) is newer than item ${i - 1} (${timeOf(prev)})`,
    );
  }
}

function assertSameIds(actual: Iterable<{ id: string }>, expected: Set<string>): void {
  const seen = new Set<string>();
  for (const { id } of actual) {
    assert.ok(!seen.has(id), `duplicate ${id}`);
    seen.add(id);
  }
  const missing = [...expected].filter((id) => !seen.has(id));
  const extra = [...seen].filter((id) => !expected.has(id));
  assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] });
  assert.equal(seen.size, expected.size);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const addMs = (d: Date | string, ms: number): Date => new Date(new Date(d).getTime() + ms);

describe('graph emulator: records, filters and paging', () => {
  let g: GraphEmulator;
  let client: GraphClient;

  beforeAll(async () => {
    g = await startGraphEmulator({
      identity: mi,
      seed: 'filters',
      signIns: { count: 20_000, from: FROM, to: TO },
      audits: { count: 3_000, from: FROM, to: TO },
      throttle: { limit: 100_000 },
    });
    client = new GraphClient(fastRetries);
  });
  afterAll(() => g.stop());

  test('requires a bearer token for https://graph.microsoft.com', async () => {
    const url = listUrl(g, 'v1.0', 'signIns', { $top: 1 });
    const anonymous = await fetch(url);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Bearer realm=""/);
    const body = (await anonymous.json()) as GraphErrorBody;
    assert.equal(body.error.code, 'InvalidAuthenticationToken');
    assert.equal(body.error.message, 'Access token is empty.');
    assert.match(body.error.innerError.date, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    assert.match(body.error.innerError['request-id'], GUID);
    assert.equal(anonymous.headers.get('request-id'), body.error.innerError['request-id']);

    const monitorToken = await credential.getToken('https://monitor.azure.com/.default');
    const wrongAudience = await fetch(url, { headers: { authorization: `Bearer ${monitorToken.token}` } });
    assert.equal(wrongAudience.status, 401);
    const wrong = (await wrongAudience.json()) as GraphErrorBody;
    assert.equal(wrong.error.code, 'InvalidAuthenticationToken');
    assert.match(wrong.error.message, /Invalid audience/);

    const forged = await fetch(url, { headers: { authorization: 'Bearer a.b.c' } });
    assert.equal(forged.status, 401);

    const { body: page } = await client.list<SignIn>(url);
    assert.equal(page['@odata.context'], `${g.endpoint}/v1.0/$metadata#auditLogs/signIns`);
    assert.equal(page.value.length, 1);
    assert.ok(mi.issued.some((t) => t.resource === 'https://graph.microsoft.com'));
  });

  test('records have the Graph resource shapes', async () => {
    const v1Keys = Object.keys(toV1SignIn(g.event('signIns', 0))).sort();
    const { body: v1 } = await client.list<SignIn>(listUrl(g, 'v1.0', 'signIns', { $top: 200 }));
    assert.equal(v1.value.length, 200);
    for (const s of v1.value) {
      assert.deepEqual(Object.keys(s).sort(), v1Keys, 'v1.0 has no beta-only properties');
      assert.match(s.id, GUID);
      assert.match(s.createdDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      assert.equal(s.isInteractive, true, 'v1.0 serves interactive sign-ins only');
      assert.equal(s.status.errorCode === 0, s.status.failureReason === 'Other.');
      const index = g.indexOf('signIns', s.id);
      assert.ok(index !== undefined);
      assert.deepEqual(s, toV1SignIn(g.event('signIns', index)), 'served record = source record');
    }

    const { body: beta } = await client.list<BetaSignIn>(listUrl(g, 'beta', 'signIns', { $top: 5 }));
    for (const s of beta.value) {
      assert.deepEqual(
        s.signInEventTypes,
        ['interactiveUser'],
        'beta without a type filter: interactive only',
      );
      assert.equal(s.homeTenantId.length, 36);
      assert.equal(typeof s.servicePrincipalId, 'string');
    }

    const { body: audits } = await client.list<DirectoryAudit>(
      listUrl(g, 'v1.0', 'directoryAudits', { $top: 300 }),
    );
    assert.equal(audits['@odata.context'], `${g.endpoint}/v1.0/$metadata#auditLogs/directoryAudits`);
    for (const a of audits.value) {
      assert.match(a.activityDateTime, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/);
      assert.equal(
        (a.initiatedBy.user === null) !== (a.initiatedBy.app === null),
        true,
        'exactly one initiator',
      );
      assert.ok(a.targetResources.length > 0);
      assert.match(a.id, /^[A-Za-z]+_[0-9a-f-]{36}_/);
      assert.ok(['success', 'failure', 'timeout', 'unknownFutureValue'].includes(a.result));
    }

    // The source covers the awkward cases a client must tolerate.
    const sample = Array.from({ length: 4_000 }, (_, i) => g.event('signIns', i));
    const codes = new Set(sample.map((s) => s.status.errorCode));
    for (const code of [0, 50126, 50074, 53003])
      assert.ok(codes.has(code), `some sign-ins fail with ${code}`);
    assert.ok(sample.some((s) => s.location.city === null));
    assert.ok(sample.some((s) => s.deviceDetail.deviceId === ''));
    assert.ok(sample.some((s) => s.conditionalAccessStatus === 'unknownFutureValue'));
    assert.ok(sample.some((s) => s.riskEventTypes_v2.length > 0));
    assert.ok(
      sample.some((s) => s.userPrincipalName === null),
      'workload sign-ins have no user',
    );
    const types = new Set(sample.map((s) => s.signInEventTypes[0]));
    assert.equal(types.size, 4);
    const categories = new Set(
      Array.from({ length: 1_000 }, (_, i) => g.event('directoryAudits', i).category),
    );
    for (const c of [
      'UserManagement',
      'GroupManagement',
      'RoleManagement',
      'ApplicationManagement',
      'Policy',
    ]) {
      assert.ok(categories.has(c), c);
    }
  });

  test('a time filter selects exactly the events in range, newest first, across pages', async () => {
    const a = new Date('2026-11-01T10:00:00Z');
    const b = new Date('2026-11-01T14:00:00Z');
    const filter = `createdDateTime ge ${a.toISOString()} and createdDateTime lt 2026-11-01T14:00:00Z`;
    const { items, pages, links } = await client.all<SignIn>(
      listUrl(g, 'v1.0', 'signIns', { $filter: filter, $top: 97 }),
    );
    const expected = g.ids('signIns', a, b, ['interactiveUser']);
    assert.ok(expected.size > 300, `enough events in range (${expected.size})`);
    assertSameIds(items, expected);
    assertDescending(items);
    assert.equal(pages, Math.ceil(expected.size / 97));
    for (const link of links) {
      assert.ok(link.startsWith(`${g.endpoint}/v1.0/auditLogs/signIns?`), link);
      assert.match(link, /[?&]\$skiptoken=[A-Za-z0-9_.-]+/);
    }
    assert.ok(
      items.every(
        (s) => s.createdDateTime >= '2026-11-01T10:00:00Z' && s.createdDateTime < '2026-11-01T14:00:00Z',
      ),
    );

    // gt / le around an exact event time, with and without fractional seconds.
    const pivot = items[Math.floor(items.length / 2)];
    assert.ok(pivot);
    const t = pivot.createdDateTime;
    const gt = await client.all<SignIn>(
      listUrl(g, 'v1.0', 'signIns', {
        $filter: `createdDateTime gt ${t} and createdDateTime le 2026-11-01T14:00:00.0000000Z`,
      }),
    );
    assertSameIds(gt.items, g.ids('signIns', addMs(t, 1), addMs(b, 1), ['interactiveUser']));
    assert.ok(!gt.items.some((s) => s.id === pivot.id));
    const ge = await client.all<SignIn>(
      listUrl(g, 'v1.0', 'signIns', {
        $filter: `createdDateTime ge ${t.replace('Z', '.000Z')} and createdDateTime le 2026-11-01T14:00:00Z`,
      }),
    );
    assert.ok(ge.items.some((s) => s.id === pivot.id));

    // Either bound alone.
    const tail = await client.all<SignIn>(
      listUrl(g, 'v1.0', 'signIns', { $filter: 'createdDateTime ge 2026-11-02T21:30:00Z' }),
    );
    assertSameIds(
      tail.items,
      g.ids('signIns', new Date('2026-11-02T21:30:00Z'), undefined, ['interactiveUser']),
    );
    const head = await client.all<SignIn>(
      listUrl(g, 'v1.0', 'signIns', { $filter: 'createdDateTime lt 2026-11-01T02:00:00+00:00' }),
    );
    assertSameIds(
      head.items,
      g.ids('signIns', undefined, new Date('2026-11-01T02:00:00Z'), ['interactiveUser']),
    );
  });

  test('audit filters work on activityDateTime down to 100 ns', async () => {
    const a = new Date('2026-11-02T00:00:00Z');
    const b = new Date('2026-11-02T06:00:00Z');
    const { items } = await client.all<DirectoryAudit>(
      listUrl(g, 'beta', 'directoryAudits', {
        $filter: `activityDateTime ge ${a.toISOString()} and activityDateTime lt ${b.toISOString()}`,
        $top: 50,
      }),
    );
    assertSameIds(items, g.ids('directoryAudits', a, b));
    assertDescending(items);

    const pivot = g.event('directoryAudits', 1234);
    const le = await client.list<DirectoryAudit>(
      listUrl(g, 'v1.0', 'directoryAudits', {
        $filter: `activityDateTime le ${pivot.activityDateTime}`,
        $top: 1,
      }),
    );
    assert.equal(le.body.value[0]?.id, pivot.id, 'le includes the event at exactly that instant');
    const lt = await client.list<DirectoryAudit>(
      listUrl(g, 'v1.0', 'directoryAudits', {
        $filter: `activityDateTime lt ${pivot.activityDateTime}`,
        $top: 1,
      }),
    );
    assert.notEqual(lt.body.value[0]?.id, pivot.id);
    assert.ok((lt.body.value[0]?.activityDateTime ?? '') < pivot.activityDateTime);
  });

  test('paging with @odata.nextLink reaches every event exactly once', async () => {
    const v1 = await client.all<SignIn>(listUrl(g, 'v1.0', 'signIns', { $top: 1000 }));
    assertSameIds(v1.items, g.ids('signIns', undefined, undefined, ['interactiveUser']));
    assertDescending(v1.items);

    const everything = await client.all<BetaSignIn>(
      listUrl(g, 'beta', 'signIns', {
        $filter:
          "signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser' or t eq 'servicePrincipal' or t eq 'managedIdentity')",
      }),
    );
    assert.equal(everything.items.length, 20_000);
    assert.equal(everything.pages, 20, 'default page size 1000');
    assertSameIds(everything.items, g.ids('signIns'));
    assertDescending(everything.items);

    const audits = await client.all<DirectoryAudit>(listUrl(g, 'v1.0', 'directoryAudits', { $top: 999 }));
    assert.equal(audits.pages, 4);
    assertSameIds(audits.items, g.ids('directoryAudits'));
    assertDescending(audits.items);
  });

  test('beta filters on signInEventTypes, combined with a time range', async () => {
    const a = new Date('2026-11-01T06:00:00Z');
    const b = new Date('2026-11-01T18:00:00Z');
    const wanted: SignInEventType[] = ['interactiveUser', 'nonInteractiveUser'];
    const users = await client.all<BetaSignIn>(
      listUrl(g, 'beta', 'signIns', {
        $filter: `createdDateTime ge ${a.toISOString()} and createdDateTime lt ${b.toISOString()} and (signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser'))`,
        $top: 500,
      }),
    );
    assertSameIds(users.items, g.ids('signIns', a, b, wanted));
    assertDescending(users.items);
    for (const s of users.items) {
      const [type] = s.signInEventTypes;
      assert.ok(type && wanted.includes(type));
      assert.equal(s.isInteractive, type === 'interactiveUser');
      assert.ok(s.userPrincipalName);
    }
    assert.ok(users.items.some((s) => !s.isInteractive));

    const workloads = await client.all<BetaSignIn>(
      listUrl(g, 'beta', 'signIns', {
        $filter: `signInEventTypes/any(x: x eq 'servicePrincipal') and createdDateTime ge ${a.toISOString()} and createdDateTime lt ${b.toISOString()}`,
      }),
    );
    assertSameIds(workloads.items, g.ids('signIns', a, b, ['servicePrincipal']));
    for (const s of workloads.items) {
      assert.deepEqual(s.signInEventTypes, ['servicePrincipal']);
      assert.match(s.servicePrincipalId, GUID);
      assert.equal(s.userId, '');
      assert.equal(s.userPrincipalName, null);
    }

    const v1 = await client.error(
      listUrl(g, 'v1.0', 'signIns', { $filter: "signInEventTypes/any(t: t eq 'servicePrincipal')" }),
    );
    assert.equal(v1.status, 400);
    assert.equal(v1.body.error.code, 'BadRequest');
    assert.match(v1.body.error.message, /Could not find a property named 'signInEventTypes'/);
  });

  test('malformed filters, page sizes and skip tokens are 400 BadRequest', async () => {
    const invalid = [
      "createdDateTime ge '2026-11-01T00:00:00Z'",
      'createdDateTime ge 2026-11-01',
      'createdDateTime gte 2026-11-01T00:00:00Z',
      'createdDateTime ge 2026-11-01T00:00:00Z and',
      'createdDateTime ge 2026-11-01T00:00:00Z or createdDateTime le 2026-11-02T00:00:00Z',
      '(createdDateTime ge 2026-11-01T00:00:00Z',
      'createdDateTime ge 2026-13-01T00:00:00Z',
      'userPrincipalName eq 1',
      '',
    ];
    for (const filter of invalid) {
      const { status, body } = await client.error(listUrl(g, 'v1.0', 'signIns', { $filter: filter }));
      assert.equal(status, 400, filter);
      assert.deepEqual(
        [body.error.code, body.error.message],
        ['BadRequest', 'Invalid filter clause'],
        filter,
      );
    }
    const wrongProperty = await client.error(
      listUrl(g, 'v1.0', 'signIns', { $filter: 'activityDateTime ge 2026-11-01T00:00:00Z' }),
    );
    assert.match(wrongProperty.body.error.message, /'activityDateTime' on type 'microsoft.graph.signIn'/);
    const badEnum = await client.error(
      listUrl(g, 'beta', 'signIns', { $filter: "signInEventTypes/any(t: t eq 'robot')" }),
    );
    assert.equal(badEnum.status, 400);

    for (const top of ['0', '1001', 'ten']) {
      const { status, body } = await client.error(listUrl(g, 'v1.0', 'directoryAudits', { $top: top }));
      assert.equal(status, 400, top);
      assert.match(body.error.message, /Invalid page size/);
    }
    assert.equal((await client.list(listUrl(g, 'v1.0', 'directoryAudits', { $top: 1000 }))).status, 200);

    const tampered = await client.error(listUrl(g, 'v1.0', 'signIns', { $skiptoken: 'eyJmb28iOjF9.AAAA' }));
    assert.equal(tampered.status, 400);
    const { body } = await client.list(listUrl(g, 'v1.0', 'signIns', { $top: 1 }));
    const link = body['@odata.nextLink'];
    assert.ok(link);
    const crossed = await client.error(
      link.replace('/v1.0/auditLogs/signIns', '/v1.0/auditLogs/directoryAudits'),
    );
    assert.equal(crossed.status, 400, 'a sign-in skiptoken does not page audits');
  });

  test('late events become visible from now on; a paging run in progress misses those above its cursor', async () => {
    const a = new Date('2026-11-02T06:00:00Z');
    const b = new Date('2026-11-02T07:00:00Z');
    const url = listUrl(g, 'v1.0', 'signIns', {
      $filter: `createdDateTime ge ${a.toISOString()} and createdDateTime lt ${b.toISOString()}`,
      $top: 25,
    });
    const original = g.ids('signIns', a, b, ['interactiveUser']);
    const first = await client.list<SignIn>(url);
    const cursorTime = first.body.value.at(-1)?.createdDateTime;
    const link = first.body['@odata.nextLink'];
    assert.ok(cursorTime && link);
    const sizeBefore = g.size('signIns');

    const [aboveCursor, belowCursor, outside, nonInteractive] = g.addLateEvents('signIns', [
      { at: addMs(cursorTime, 1_000) },
      { at: addMs(a, 1_500) },
      { at: addMs(b, 60_000) },
      { at: addMs(a, 2_000), signInEventType: 'nonInteractiveUser' },
    ]);
    assert.ok(aboveCursor && belowCursor && outside && nonInteractive);
    assert.equal(g.size('signIns'), sizeBefore + 4);
    const late = g.event('signIns', sizeBefore + 1);
    assert.equal(late.id, belowCursor);
    assert.equal(late.createdDateTime, '2026-11-02T06:00:01Z', 'truncated to whole seconds');
    assert.equal(g.indexOf('signIns', belowCursor), sizeBefore + 1);

    // The run that was already under way continues below its cursor only.
    const rest = await client.all<SignIn>(link);
    const firstRun = [...first.body.value, ...rest.items];
    assertSameIds(firstRun, new Set([...original, belowCursor]));

    // The next run (an overlapping window) catches the late arrival above the old cursor.
    const second = await client.all<SignIn>(url);
    assertSameIds(second.items, new Set([...original, belowCursor, aboveCursor]));
    assertDescending(second.items);
    assertSameIds(second.items, g.ids('signIns', a, b, ['interactiveUser']));

    const beta = await client.all<BetaSignIn>(
      listUrl(g, 'beta', 'signIns', {
        $filter: `createdDateTime ge ${a.toISOString()} and createdDateTime lt ${b.toISOString()} and signInEventTypes/any(t: t eq 'nonInteractiveUser')`,
      }),
    );
    assert.ok(beta.items.some((s) => s.id === nonInteractive));
    assertSameIds(beta.items, g.ids('signIns', a, b, ['nonInteractiveUser']));

    const [auditId] = g.addLateEvents('directoryAudits', [{ at: new Date('2026-11-01T00:00:00.123Z') }]);
    assert.ok(auditId);
    const oldest = await client.list<DirectoryAudit>(
      listUrl(g, 'v1.0', 'directoryAudits', { $filter: 'activityDateTime lt 2026-11-01T00:00:01Z' }),
    );
    assert.ok(
      oldest.body.value.some(
        (e) => e.id === auditId && e.activityDateTime === '2026-11-01T00:00:00.1230000Z',
      ),
    );
  });

  test('the same seed gives the same events; another seed does not', async () => {
    const options = {
      identity: mi,
      seed: 'filters',
      signIns: { count: 20_000, from: FROM, to: TO },
      audits: { count: 3_000, from: FROM, to: TO },
    };
    const twin = await startGraphEmulator(options);
    const other = await startGraphEmulator({ ...options, seed: 'other' });
    try {
      for (const i of [0, 1, 7_777, 19_999])
        assert.deepEqual(twin.event('signIns', i), g.event('signIns', i));
      assert.deepEqual(twin.event('directoryAudits', 42), g.event('directoryAudits', 42));
      const a = new Date('2026-11-01T12:00:00Z');
      const b = new Date('2026-11-01T13:00:00Z');
      // g has the late events added above; the twin only has the generated ones.
      const generated = [...g.ids('signIns', a, b)].filter(
        (id) => (g.indexOf('signIns', id) ?? Infinity) < 20_000,
      );
      assert.deepEqual(twin.ids('signIns', a, b), new Set(generated));
      assert.notEqual(other.event('signIns', 0).id, g.event('signIns', 0).id);
      assert.equal(other.indexOf('signIns', g.event('signIns', 0).id), undefined);
      assert.equal(other.count('signIns'), 20_000);
    } finally {
      await twin.stop();
      await other.stop();
    }
  });
});

describe('graph emulator: faults and permissions', () => {
  let g: GraphEmulator;
  let client: GraphClient;
  const statusesSince = (n: number): number[] => g.requests.slice(n).map((r) => r.status);

  beforeAll(async () => {
    g = await startGraphEmulator({
      identity: mi,
      seed: 'faults',
      signIns: { count: 500, from: FROM, to: TO },
      audits: { count: 200, from: FROM, to: TO },
      throttle: { limit: 100_000 },
    });
    client = new GraphClient(fastRetries);
  });
  afterEach(() => {
    g.clearFaults();
    g.denyAuditLogRead = false;
    g.nonPremiumTenant = false;
  });
  afterAll(() => g.stop());

  test('500, 502 and 503 are retried by the pipeline; a persistent 504 is returned after the retries', async () => {
    g.failNext({ status: 500 });
    g.failNext({ status: 502 });
    g.failNext({ status: 503 });
    let n = g.requests.length;
    const ok = await client.list<SignIn>(listUrl(g, 'v1.0', 'signIns', { $top: 10 }));
    assert.equal(ok.body.value.length, 10);
    assert.deepEqual(statusesSince(n), [500, 502, 503, 200]);

    g.failNext({ status: 504, times: 4 });
    n = g.requests.length;
    const { status, body } = await client.error(listUrl(g, 'v1.0', 'signIns'));
    assert.equal(status, 504);
    assert.equal(body.error.code, 'GatewayTimeout');
    assert.match(body.error.innerError['client-request-id'], GUID);
    assert.deepEqual(statusesSince(n), [504, 504, 504, 504]);
  });

  test('a fault can target one path; 503 may carry Retry-After', async () => {
    g.failNext({ status: 503, path: '/beta/auditLogs/directoryAudits', retryAfterSeconds: 0.01 });
    let n = g.requests.length;
    await client.list(listUrl(g, 'v1.0', 'directoryAudits'));
    await client.list(listUrl(g, 'v1.0', 'signIns'));
    assert.deepEqual(statusesSince(n), [200, 200]);
    n = g.requests.length;
    await client.list(listUrl(g, 'beta', 'directoryAudits'));
    assert.deepEqual(statusesSince(n), [503, 200]);
  });

  test('an injected 429 is retried after its Retry-After and counted as throttled', async () => {
    g.failNext({ status: 429, retryAfterSeconds: 0.05 });
    const n = g.requests.length;
    const throttled = g.throttledCount;
    await client.list(listUrl(g, 'v1.0', 'signIns', { $top: 1 }));
    assert.deepEqual(statusesSince(n), [429, 200]);
    assert.equal(g.throttledCount, throttled + 1);
    const [first, second] = g.requests.slice(n);
    assert.ok(first?.throttled && second);
    assert.ok(second.at.getTime() - first.at.getTime() >= 45);
  });

  test('a dropped connection is retried', async () => {
    g.dropNextConnection();
    const n = g.requests.length;
    const { body } = await client.list<DirectoryAudit>(listUrl(g, 'v1.0', 'directoryAudits', { $top: 3 }));
    assert.equal(body.value.length, 3);
    assert.deepEqual(statusesSince(n), [0, 200]);
    assert.equal(g.requests[n]?.errorCode, 'ConnectionDropped');
  });

  test('delayNext holds the answer', async () => {
    g.delayNext(150);
    const started = performance.now();
    await client.list(listUrl(g, 'v1.0', 'signIns', { $top: 1 }));
    assert.ok(performance.now() - started >= 145);
  });

  test('a tenant without Entra ID P1/P2 cannot read sign-ins, but can read audits', async () => {
    g.nonPremiumTenant = true;
    for (const version of ['v1.0', 'beta'] as const) {
      const { status, body } = await client.error(listUrl(g, version, 'signIns'));
      assert.equal(status, 403);
      assert.equal(body.error.code, 'Authentication_RequestFromNonPremiumTenantOrB2CTenant');
      assert.equal(body.error.message, "Neither tenant is B2C or tenant doesn't have premium license");
    }
    assert.equal((await client.list(listUrl(g, 'v1.0', 'directoryAudits'))).status, 200);
  });

  test('without AuditLog.Read.All both endpoints are 403 Authorization_RequestDenied', async () => {
    g.denyAuditLogRead = true;
    for (const kind of ['signIns', 'directoryAudits'] as const) {
      const { status, body } = await client.error(listUrl(g, 'v1.0', kind));
      assert.equal(status, 403);
      assert.equal(body.error.code, 'Authorization_RequestDenied');
      assert.equal(body.error.message, 'Insufficient privileges to complete the operation.');
    }
  });
});

// The app's own Graph client (createGraphClient) against the faults Graph's throttling guidance says to retry:
// a 429 that carries no Retry-After, and a connection that dies in the middle of a response body.
describe('graph client: what Graph says to retry, it retries', () => {
  let g: GraphEmulator;
  const statusesSince = (n: number): number[] => g.requests.slice(n).map((r) => r.status);

  beforeAll(async () => {
    g = await startGraphEmulator({
      identity: mi,
      seed: 'client-retries',
      signIns: { count: 400, from: FROM, to: TO },
      audits: { count: 300, from: FROM, to: TO },
      throttle: { limit: 100_000 },
    });
  });
  afterEach(() => g.clearFaults());
  afterAll(() => g.stop());

  function graphClient(stats: SourceStats, retryOptions: GraphClientOptions['retryOptions']) {
    return createGraphClient({
      endpoint: g.endpoint,
      audience: 'https://graph.microsoft.com',
      credential,
      pacing: { limit: 1_000, intervalMs: 1_000 },
      stats,
      retryOptions,
    });
  }

  async function collect<T>(pages: AsyncGenerator<T[]>): Promise<T[]> {
    const items: T[] = [];
    for await (const page of pages) items.push(...page);
    return items;
  }

  test('a 429 without Retry-After is retried with exponential backoff and counted as throttled', async () => {
    g.failNext({ status: 429, times: 2, path: '/v1.0/auditLogs/signIns' });
    const stats = newSourceStats();
    // Backoff d = 200 ms, then 400 ms, each jittered into [d/2, d].
    const graph = graphClient(stats, { maxRetries: 3, retryDelayInMs: 200, maxRetryDelayInMs: 5_000 });
    const n = g.requests.length;
    const items = await collect(graph.pages<SignIn>('/v1.0/auditLogs/signIns?$top=1000'));
    assertSameIds(items, g.ids('signIns', undefined, undefined, ['interactiveUser']));
    assert.deepEqual(statusesSince(n), [429, 429, 200]);
    assert.deepEqual(
      g.requests.slice(n).map((r) => r.throttled),
      [true, true, false],
    );
    assert.equal(stats.throttled, 2);
    assert.equal(stats.apiCalls, 3);
    const [first, second, third] = g.requests.slice(n).map((r) => r.at.getTime());
    assert.ok(first !== undefined && second !== undefined && third !== undefined);
    assert.ok(second - first >= 90, `first retry after ${second - first} ms, backoff at least 100 ms`);
    assert.ok(third - second >= 190, `second retry after ${third - second} ms, backoff at least 200 ms`);
  });

  test('a body cut mid-response is retried, and the page arrives complete, exactly once', async () => {
    g.cutNextBody({ path: '/v1.0/auditLogs/directoryAudits' });
    const stats = newSourceStats();
    const graph = graphClient(stats, { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 });
    const n = g.requests.length;
    const pages: DirectoryAudit[][] = [];
    for await (const page of graph.pages<DirectoryAudit>('/v1.0/auditLogs/directoryAudits?$top=1000')) {
      pages.push(page);
    }
    const [cut, retried] = g.requests.slice(n);
    assert.ok(cut && retried);
    assert.deepEqual([cut.status, cut.errorCode, retried.status], [200, 'BodyCut', 200]);
    assert.ok(cut.returned > 0 && cut.returned < 300, `the cut came mid-page (${cut.returned} records sent)`);
    assert.equal(pages.length, 1, 'one page, not a partial one and then a full one');
    assertSameIds(pages.flat(), g.ids('directoryAudits'));
    assert.equal(stats.apiCalls, 2);
    assert.equal(stats.throttled, 0);
  });

  test('a 429 without Retry-After that persists fails after the retries, with an error that says so', async () => {
    g.failNext({ status: 429, times: 10, path: '/v1.0/auditLogs/signIns' });
    const stats = newSourceStats();
    const graph = graphClient(stats, { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 });
    const n = g.requests.length;
    await assert.rejects(collect(graph.pages<SignIn>('/v1.0/auditLogs/signIns?$top=10')), (error) => {
      assert.ok(error instanceof GraphRequestError, String(error));
      assert.equal(error.status, 429);
      assert.match(error.message, /answered HTTP 429 TooManyRequests/);
      assert.match(error.message, /Still throttled after 4 attempts/);
      assert.match(error.message, /no Retry-After/);
      return true;
    });
    assert.deepEqual(statusesSince(n), [429, 429, 429, 429]);
    assert.equal(stats.throttled, 4);
    assert.equal(stats.apiCalls, 4);
  });

  test('a body cut on every attempt fails after the retries, saying the answer was cut off', async () => {
    g.cutNextBody({ times: 10, path: '/v1.0/auditLogs/directoryAudits', afterRecords: 5 });
    const stats = newSourceStats();
    const graph = graphClient(stats, { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 });
    const n = g.requests.length;
    await assert.rejects(
      collect(graph.pages<DirectoryAudit>('/v1.0/auditLogs/directoryAudits?$top=100')),
      (error) => {
        assert.ok(error instanceof GraphRequestError, String(error));
        assert.match(error.message, /\/v1\.0\/auditLogs\/directoryAudits/);
        assert.match(error.message, /3 attempts/);
        assert.match(error.message, /cut off|before the end/);
        return true;
      },
    );
    assert.deepEqual(
      g.requests.slice(n).map((r) => r.errorCode),
      ['BodyCut', 'BodyCut', 'BodyCut'],
    );
  });
});

describe('graph emulator: throttling', () => {
  let g: GraphEmulator;
  // 10 s window -> 2.5 s. These tests need several requests inside one window: a burst of 8 (each with
  // its TLS handshake) or 6 sequential pages. On a busy 2-core machine a request can take a few hundred
  // ms, so a 500 ms window let requests slip into the next one and nothing was throttled.
  const TIME_SCALE = 4;

  beforeAll(async () => {
    g = await startGraphEmulator({
      identity: mi,
      seed: 'throttle',
      signIns: { count: 3_000, from: FROM, to: TO },
      audits: { count: 100, from: FROM, to: TO },
      timeScale: TIME_SCALE,
    });
  });
  afterAll(() => g.stop());

  test('more than 5 requests in the window are 429 with a fractional Retry-After', async () => {
    assert.equal(g.throttleWindowMs, 10_000 / TIME_SCALE);
    const token = (await credential.getToken(GRAPH_SCOPE)).token;
    const url = listUrl(g, 'v1.0', 'directoryAudits', { $top: 1 });
    const responses = await Promise.all(
      Array.from({ length: 8 }, () => fetch(url, { headers: { authorization: `Bearer ${token}` } })),
    );
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429, 429, 429]);
    for (const res of responses.filter((r) => r.status === 429)) {
      const retryAfter = res.headers.get('retry-after') ?? '';
      assert.match(retryAfter, /^\d+\.\d{1,3}$/, `fractional seconds: ${retryAfter}`);
      const seconds = Number(retryAfter);
      assert.ok(seconds > 0 && seconds <= g.throttleWindowMs / 1000, retryAfter);
      const body = (await res.json()) as GraphErrorBody;
      assert.equal(body.error.code, 'TooManyRequests');
      assert.equal(body.error.innerError['status'], '429');
    }
    assert.equal(g.throttledCount, 3);
    assert.equal(g.requests.filter((r) => r.throttled).length, 3);
  });

  test("the pipeline's default retry policy honours Retry-After and gets every request through", async () => {
    await sleep(g.throttleWindowMs);
    // Not the default 3 retries: the first 5 are admitted over the few ms their TLS handshakes take, so
    // slots free one at a time, and the 7 throttled requests, woken together by their Retry-After, win
    // them one per wake-up. The last can lose 6 times (7 attempts) however fast the machine is; a loaded
    // machine spreads the admissions further, which is what made 3 retries fail. 10 leaves room for
    // a retry that wakes a millisecond early.
    const client = new GraphClient({ maxRetries: 10 });
    const throttledBefore = g.throttledCount;
    const n = g.requests.length;
    const started = performance.now();
    const results = await Promise.all(
      Array.from({ length: 12 }, () => client.list<SignIn>(listUrl(g, 'v1.0', 'signIns', { $top: 5 }))),
    );
    const elapsed = performance.now() - started;
    assert.ok(results.every((r) => r.body.value.length === 5));
    assert.ok(g.throttledCount - throttledBefore >= 7, `throttled ${g.throttledCount - throttledBefore}`);
    // 12 requests at 5 per window need at least two waits for a slot.
    assert.ok(elapsed >= 2 * g.throttleWindowMs - 20, `took ${elapsed} ms`);
    // Sliding window: no 6 admitted requests within one window.
    const admitted = g.requests
      .slice(n)
      .filter((r) => r.status === 200)
      .map((r) => r.at.getTime())
      .sort((x, y) => x - y);
    assert.equal(admitted.length, 12);
    for (let i = 5; i < admitted.length; i++) {
      const gap = (admitted[i] ?? 0) - (admitted[i - 5] ?? 0);
      assert.ok(gap >= g.throttleWindowMs - 10, `requests ${i - 5} and ${i} only ${gap} ms apart`);
    }
  });

  test('sequential paging under the limit is slowed, not broken', async () => {
    await sleep(g.throttleWindowMs);
    const client = new GraphClient({ maxRetries: 10 });
    const throttledBefore = g.throttledCount;
    const { items, pages } = await client.all<BetaSignIn>(
      listUrl(g, 'beta', 'signIns', {
        $filter: "(signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser'))",
        $top: 150,
      }),
    );
    assertSameIds(items, g.ids('signIns', undefined, undefined, ['interactiveUser', 'nonInteractiveUser']));
    assert.ok(pages > 5);
    assert.ok(g.throttledCount > throttledBefore, 'some pages were throttled and retried');
  });
});

describe('graph emulator: scale', () => {
  const COUNT = 250_000;
  let g: GraphEmulator;

  beforeAll(async () => {
    g = await startGraphEmulator({
      identity: mi,
      seed: 'scale',
      signIns: { count: COUNT, from: FROM, to: new Date('2026-11-08T00:00:00Z') },
      timeScale: 200, // 50 ms window: the 5-per-window limit still applies, just faster
    });
  });
  afterAll(() => g.stop());

  test(
    '250,000 sign-ins page through with bounded memory, each exactly once',
    { timeout: 600_000 }, // a hang guard: on a loaded machine this takes minutes, not seconds
    async ({ annotate }) => {
      assert.equal(g.count('signIns'), COUNT);
      const client = new GraphClient({ maxRetries: 10 });
      const seen = new Uint8Array(COUNT);
      let next: string | undefined = listUrl(g, 'beta', 'signIns', {
        $filter:
          "signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser' or t eq 'servicePrincipal' or t eq 'managedIdentity')",
        $top: 1000,
      });
      let received = 0;
      let pages = 0;
      let previous = '9999';
      let baseline = 0;
      let peak = 0;
      const started = performance.now();
      while (next) {
        const { body }: { body: GraphListResponse<BetaSignIn> } = await client.list<BetaSignIn>(next);
        for (const s of body.value) {
          const index = g.indexOf('signIns', s.id);
          assert.ok(index !== undefined, `unknown id ${s.id}`);
          assert.equal(seen[index], 0, `event ${index} delivered twice`);
          seen[index] = 1;
          assert.ok(s.createdDateTime <= previous, 'descending');
          previous = s.createdDateTime;
        }
        received += body.value.length;
        pages += 1;
        next = body['@odata.nextLink'];
        const rss = process.memoryUsage.rss();
        if (pages === 1) baseline = rss;
        peak = Math.max(peak, rss);
      }
      const growthMb = (peak - baseline) / 1024 / 1024;
      assert.equal(received, COUNT);
      assert.equal(pages, COUNT / 1000);
      assert.ok(seen.every((x) => x === 1));
      assert.ok(growthMb < 200, `RSS grew ${growthMb.toFixed(1)} MB`);
      await annotate(
        `${pages} pages in ${Math.round(performance.now() - started)} ms, RSS growth ${growthMb.toFixed(1)} MB, ` +
          `throttled ${g.throttledCount}`,
      );
    },
  );
});
