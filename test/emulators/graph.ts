// Emulates the Microsoft Graph audit-log endpoints over HTTPS, as a Graph client (an @azure/core-rest-pipeline
// pipeline with bearerTokenAuthenticationPolicy and a ManagedIdentityCredential) calls them:
//   GET /v1.0/auditLogs/signIns          interactive user sign-ins only (isInteractive true)
//   GET /beta/auditLogs/signIns          + signInEventTypes & co; all four event types behind a filter
//   GET /{v1.0|beta}/auditLogs/directoryAudits
//   Authorization: Bearer <token for https://graph.microsoft.com>
// Query options: $filter (see parseFilter), $top (1..1000), $skiptoken (only as handed out in @odata.nextLink).
// Answers { "@odata.context", "@odata.nextLink"?, "value": [...] } newest first, or Graph's error shape
// { "error": { "code", "message", "innerError": { "date", "request-id", "client-request-id" } } }.
//
// Data is never materialised. Event i of a source has a time that is a monotonic (non-decreasing) function of i
// over [from, to): t(i) = from + floor(span * (i + u(i)) / count), with a seeded jitter u(i) in [0, 1). A time
// filter is then an index range found by binary search, a page is a walk down that range from a cursor, and the
// record itself is generated on demand from (seed, kind, i) with a small seeded PRNG. Sign-in ids are v4-shaped
// GUIDs whose first 32 bits are a keyed bijection of i, so an id can be mapped back to its index (indexOf) and
// ids are unique by construction. Late events (addLateEvents) are the only stored records: a handful of
// { time, index >= count } entries merged into the same ordering.
//
// Ordering and paging: results are ordered by (time, index) descending. $skiptoken carries the filter and the
// (time, index) key of the last item returned (keyset pagination, HMAC-signed so it stays opaque), so a page
// always continues strictly below the previous one. Like the real service, an event that arrives late with a time
// *above* the cursor of a paging run in progress is not returned by that run: only a later query sees it, which is
// what overlap windows in a collector are for. A request with a $skiptoken pages the query the token carries (any
// $filter beside it is ignored); a token is only valid on the path that issued it. Pages are written as chunked
// JSON, generated 100 records at a time, so a 1000-record page never exists as one string.
//
// Order of checks per request: injected drop / delay / fault, route, bearer token (401), throttle (429),
// permissions (403), query options (400), then the page. An injected body cut (cutNextBody) applies to the
// next page that would be served in full: 200 and its headers go out, then part of the JSON, then the socket is
// destroyed (no terminating chunk), as when a connection dies mid-response.
// Throttling: the identity-and-access reports limit, `limit` requests (default 5) per sliding `windowMs` (default
// 10,000) per tenant (the token's tid), counted over admitted requests. An excess request gets 429 TooManyRequests
// with Retry-After = the time until the oldest admitted request leaves the window, in seconds with millisecond
// precision (e.g. "2.5", "0.035"). `timeScale` divides the window (and so Retry-After): 10,000 ms at timeScale 100
// is a 100 ms window.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import { performance } from 'node:perf_hooks';
import { verifyBearer, type ManagedIdentityEmulator } from './managedIdentity.js';
import { listenHttpsOnLoopback } from './tls.js';

// ---------------------------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------------------------

export type GraphEventKind = 'signIns' | 'directoryAudits';
export type GraphApiVersion = 'v1.0' | 'beta';
export type SignInEventType =
  'interactiveUser' | 'nonInteractiveUser' | 'servicePrincipal' | 'managedIdentity';

export const GRAPH_RESOURCE = 'https://graph.microsoft.com';
export const SIGN_IN_EVENT_TYPES: readonly SignInEventType[] = [
  'interactiveUser',
  'nonInteractiveUser',
  'servicePrincipal',
  'managedIdentity',
];

export interface EventSourceOptions {
  /** Events in [from, to), spread evenly with seeded jitter. Sign-ins over all four event types (see beta). */
  count: number;
  from: Date;
  to: Date;
}

export interface GraphEmulatorOptions {
  /** Token issuer: only its tokens for https://graph.microsoft.com are accepted. */
  identity: Pick<ManagedIdentityEmulator, 'lookup'>;
  /** Same seed, same events (ids, times, fields). Default 1. */
  seed?: number | string;
  signIns?: EventSourceOptions;
  audits?: EventSourceOptions;
  /** Home tenant of the generated users and apps. Default: derived from the seed. */
  tenantId?: string;
  /** Default contoso.onmicrosoft.com. */
  tenantDomain?: string;
  /** Default { limit: 5, windowMs: 10_000 } per tenant; windowMs is divided by timeScale. */
  throttle?: { limit?: number; windowMs?: number };
  /** Divides the throttle window and so Retry-After. Default 1. */
  timeScale?: number;
  /** 403 Authorization_RequestDenied on every audit-log call (no AuditLog.Read.All). Can be changed later. */
  denyAuditLogRead?: boolean;
  /** 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant on sign-ins (audits still work). */
  nonPremiumTenant?: boolean;
  /** Page size without $top. Default 1000. */
  defaultPageSize?: number;
}

export interface SignInStatus {
  errorCode: number;
  failureReason: string | null;
  additionalDetails: string | null;
}

export interface SignInDeviceDetail {
  deviceId: string;
  displayName: string | null;
  operatingSystem: string | null;
  browser: string | null;
  isCompliant: boolean;
  isManaged: boolean;
  trustType: string | null;
}

export interface SignInLocation {
  city: string | null;
  state: string | null;
  countryOrRegion: string | null;
  geoCoordinates: { altitude: number | null; latitude: number | null; longitude: number | null };
}

export interface AppliedConditionalAccessPolicy {
  id: string;
  displayName: string;
  enforcedGrantControls: string[];
  enforcedSessionControls: string[];
  result: 'success' | 'failure' | 'notApplied' | 'notEnabled' | 'unknownFutureValue';
}

/** microsoft.graph.signIn as served by /v1.0. */
export interface SignIn {
  id: string;
  createdDateTime: string;
  userDisplayName: string | null;
  userPrincipalName: string | null;
  userId: string;
  appId: string;
  appDisplayName: string;
  ipAddress: string;
  clientAppUsed: string | null;
  correlationId: string;
  conditionalAccessStatus: 'success' | 'failure' | 'notApplied' | 'unknownFutureValue';
  isInteractive: boolean;
  riskDetail: string;
  riskLevelAggregated: string;
  riskLevelDuringSignIn: string;
  riskState: string;
  riskEventTypes: string[];
  riskEventTypes_v2: string[];
  resourceDisplayName: string;
  resourceId: string;
  status: SignInStatus;
  deviceDetail: SignInDeviceDetail;
  location: SignInLocation;
  appliedConditionalAccessPolicies: AppliedConditionalAccessPolicy[];
}

/** microsoft.graph.signIn as served by /beta: the v1.0 shape plus the workload-identity properties. */
export interface BetaSignIn extends SignIn {
  signInEventTypes: SignInEventType[];
  servicePrincipalId: string;
  servicePrincipalName: string | null;
  homeTenantId: string;
  resourceTenantId: string;
  userType: 'member' | 'guest';
  authenticationRequirement: 'singleFactorAuthentication' | 'multiFactorAuthentication';
  tokenIssuerType: 'AzureAD';
  crossTenantAccessType: 'none' | 'b2bCollaboration';
  clientCredentialType: 'none' | 'clientSecret' | 'certificate' | 'managedIdentity';
  isTenantRestricted: boolean;
  managedServiceIdentity: {
    msiType: 'none' | 'userAssigned' | 'systemAssigned';
    associatedResourceId: string | null;
    federatedTokenId: string | null;
    federatedTokenIssuer: string | null;
  };
}

export interface AuditUserIdentity {
  id: string;
  displayName: string | null;
  userPrincipalName: string;
  ipAddress: string | null;
}

export interface AuditAppIdentity {
  appId: string | null;
  displayName: string;
  servicePrincipalId: string;
  servicePrincipalName: string | null;
}

export interface ModifiedProperty {
  displayName: string;
  oldValue: string | null;
  newValue: string | null;
}

export interface TargetResource {
  id: string;
  displayName: string | null;
  type: string;
  userPrincipalName: string | null;
  groupType: 'unifiedGroups' | 'azureAD' | null;
  modifiedProperties: ModifiedProperty[];
}

/** microsoft.graph.directoryAudit (same shape on v1.0 and beta). */
export interface DirectoryAudit {
  id: string;
  category: string;
  correlationId: string;
  result: 'success' | 'failure' | 'timeout' | 'unknownFutureValue';
  resultReason: string;
  activityDisplayName: string;
  activityDateTime: string;
  loggedByService: string;
  operationType: string;
  /** Exactly one of user and app is non-null. */
  initiatedBy: { user: AuditUserIdentity | null; app: AuditAppIdentity | null };
  targetResources: TargetResource[];
  additionalDetails: { key: string; value: string }[];
}

export interface GraphListResponse<T> {
  '@odata.context': string;
  '@odata.nextLink'?: string;
  value: T[];
}

export interface GraphErrorBody {
  error: {
    code: string;
    message: string;
    innerError: { date: string; 'request-id': string; 'client-request-id': string } & Record<string, string>;
  };
}

export interface GraphRequest {
  method: string;
  /** URL path, e.g. /v1.0/auditLogs/signIns. */
  path: string;
  version: GraphApiVersion | null;
  kind: GraphEventKind | null;
  /** $filter as sent (null on nextLink calls, whose filter travels in the skiptoken). */
  filter: string | null;
  top: number | null;
  skiptoken: boolean;
  /** 0: the connection was dropped without an answer. */
  status: number;
  throttled: boolean;
  errorCode?: string;
  /** Records in the answer. */
  returned: number;
  /** When the request arrived (after any injected delay). */
  at: Date;
}

export interface GraphFault {
  /** 500, 502, 503, 504, or 429 (counted as throttled); any status works, the body is a Graph error. */
  status: number;
  /** Default 1. */
  times?: number;
  /** Only requests whose path ends with this (e.g. '/beta/auditLogs/signIns' or 'directoryAudits'). */
  path?: string;
  /** Sent as Retry-After when set. */
  retryAfterSeconds?: number;
}

export interface GraphBodyCut {
  /** Default 1. */
  times?: number;
  /** Only requests whose path ends with this (e.g. '/beta/auditLogs/signIns' or 'directoryAudits'). */
  path?: string;
  /** Records of the page written before the cut. Default half the page (rounded down). */
  afterRecords?: number;
}

export interface LateEvent {
  /** Event time (createdDateTime / activityDateTime); sign-ins are truncated to whole seconds. */
  at: Date;
  /** Sign-ins only. Default interactiveUser (visible on v1.0 too). */
  signInEventType?: SignInEventType;
}

export interface GraphEmulator {
  /** https://localhost:<port>: the Graph base URL (requests go to `${endpoint}/v1.0/auditLogs/...`). */
  readonly endpoint: string;
  readonly tenantId: string;
  /** The sliding-window length in real milliseconds (windowMs / timeScale). */
  readonly throttleWindowMs: number;
  readonly throttleLimit: number;
  denyAuditLogRead: boolean;
  nonPremiumTenant: boolean;
  /** Every request, in arrival order, including dropped, faulted and throttled ones. */
  readonly requests: GraphRequest[];
  /** 429 answers so far (the throttle's and injected ones). */
  readonly throttledCount: number;
  failNext(fault: GraphFault): void;
  /** Destroy the socket of the next `times` requests (default 1) without answering. */
  dropNextConnection(times?: number): void;
  /**
   * Cut the body of the next page(s) served: status 200 and headers, the JSON up to `afterRecords` records, then
   * the socket is destroyed. Recorded with status 200, errorCode 'BodyCut' and `returned` = records written.
   */
  cutNextBody(cut?: GraphBodyCut): void;
  /** Hold the next `times` requests (default 1) for `ms` real milliseconds (not scaled) before handling them. */
  delayNext(ms: number, times?: number): void;
  clearFaults(): void;
  /** Forget the throttle window (admitted requests so far). */
  resetThrottle(): void;
  /**
   * Events whose time may lie in the past but that exist only from now on. Returns their ids; their indices
   * (for event()) are count, count + 1, ... in the order added.
   */
  addLateEvents(kind: GraphEventKind, events: LateEvent[]): string[];
  /** Events with from <= time < to (all when omitted), including late ones; sign-ins of the given types (default all). */
  count(kind: GraphEventKind, from?: Date, to?: Date, eventTypes?: readonly SignInEventType[]): number;
  ids(kind: GraphEventKind, from?: Date, to?: Date, eventTypes?: readonly SignInEventType[]): Set<string>;
  /** Events in the source: count plus late events. */
  size(kind: GraphEventKind): number;
  /** The full (beta-shaped) record of event `index` (0 <= index < size(kind)). */
  event(kind: 'signIns', index: number): BetaSignIn;
  event(kind: 'directoryAudits', index: number): DirectoryAudit;
  event(kind: GraphEventKind, index: number): BetaSignIn | DirectoryAudit;
  /** Index of the event with this id, or undefined when the source has no such event. */
  indexOf(kind: GraphEventKind, id: string): number | undefined;
  stop(): Promise<void>;
}

/** The v1.0 view of a sign-in: the beta record without the beta-only properties. */
export function toV1SignIn(s: BetaSignIn): SignIn {
  return {
    id: s.id,
    createdDateTime: s.createdDateTime,
    userDisplayName: s.userDisplayName,
    userPrincipalName: s.userPrincipalName,
    userId: s.userId,
    appId: s.appId,
    appDisplayName: s.appDisplayName,
    ipAddress: s.ipAddress,
    clientAppUsed: s.clientAppUsed,
    correlationId: s.correlationId,
    conditionalAccessStatus: s.conditionalAccessStatus,
    isInteractive: s.isInteractive,
    riskDetail: s.riskDetail,
    riskLevelAggregated: s.riskLevelAggregated,
    riskLevelDuringSignIn: s.riskLevelDuringSignIn,
    riskState: s.riskState,
    riskEventTypes: s.riskEventTypes,
    riskEventTypes_v2: s.riskEventTypes_v2,
    resourceDisplayName: s.resourceDisplayName,
    resourceId: s.resourceId,
    status: s.status,
    deviceDetail: s.deviceDetail,
    location: s.location,
    appliedConditionalAccessPolicies: s.appliedConditionalAccessPolicies,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Deterministic hashing, PRNG and invertible ids
// ---------------------------------------------------------------------------------------------------------------

const TICKS_PER_MS = 10_000; // 100 ns ticks, the precision of Graph's DateTimeOffset values
const TWO_32 = 4_294_967_296;

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

// Multiplicative inverse modulo 2^32 of an odd number (Newton's iteration doubles the correct bits each time).
function inverse32(a: number): number {
  let x = a;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(a, x));
  return x >>> 0;
}
const INV_C2 = inverse32(0xc2b2ae35);
const INV_85 = inverse32(0x85ebca6b);

function fmix32Inverse(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, INV_C2);
  x ^= (x >>> 13) ^ (x >>> 26);
  x = Math.imul(x, INV_85);
  x ^= x >>> 16;
  return x >>> 0;
}

function hash3(a: number, b: number, c: number): number {
  let h = fmix32((a + 0x9e3779b9) | 0);
  h = fmix32(h ^ b);
  h = fmix32(h ^ Math.imul(c + 1, 0x27d4eb2f));
  return h;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

type Rng = () => number;

// sfc32 with a 128-bit state: distinct events get distinct streams.
function sfc32(a: number, b: number, c: number, d: number): Rng {
  const next = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / TWO_32;
  };
  for (let i = 0; i < 8; i++) next();
  return next;
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
const hex4 = (n: number): string => (n & 0xffff).toString(16).padStart(4, '0');

function guidFromWords(w0: number, w1: number, w2: number, w3: number): string {
  return (
    `${hex8(w0)}-${hex4(w1 >>> 16)}-${hex4((w1 & 0x0fff) | 0x4000)}-` +
    `${hex4(((w2 >>> 16) & 0x3fff) | 0x8000)}-${hex4(w2)}${hex8(w3)}`
  );
}

const word = (rnd: Rng): number => Math.floor(rnd() * TWO_32);
const randomGuid = (rnd: Rng): string => guidFromWords(word(rnd), word(rnd), word(rnd), word(rnd));
/** A stable GUID for a named thing (user n, app n, ...). */
const stableGuid = (key: number, label: string, n: number): string => {
  const h = hash3(key, hashString(label), n);
  return guidFromWords(h, hash3(h, n, 1), hash3(h, n, 2), hash3(h, n, 3));
};

/** Keyed bijection of 32-bit integers: the first GUID word of event i. */
class IdCodec {
  private readonly k1: number;
  private readonly k2: number;
  constructor(private readonly key: number) {
    this.k1 = hash3(key, 0x1d, 1);
    this.k2 = hash3(key, 0x1d, 2);
  }
  guid(index: number): string {
    const w0 = fmix32(fmix32((index ^ this.k1) >>> 0) ^ this.k2);
    return guidFromWords(w0, hash3(this.key, w0, 11), hash3(this.key, w0, 12), hash3(this.key, w0, 13));
  }
  index(guid: string): number | undefined {
    const m = /^([0-9a-f]{8})-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.exec(
      guid.toLowerCase(),
    );
    if (!m?.[1]) return undefined;
    const w0 = parseInt(m[1], 16);
    const index = (fmix32Inverse((fmix32Inverse(w0) ^ this.k2) >>> 0) ^ this.k1) >>> 0;
    return this.guid(index) === guid.toLowerCase() ? index : undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Generation helpers and catalogues
// ---------------------------------------------------------------------------------------------------------------

function pick<T>(rnd: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rnd() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

function weighted<T>(rnd: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, w]) => sum + w, 0);
  let r = rnd() * total;
  for (const [value, w] of items) {
    r -= w;
    if (r < 0) return value;
  }
  const last = items.at(-1);
  if (!last) throw new Error('weighted pick from an empty list');
  return last[0];
}

// prettier-ignore
const FIRST_NAMES = [
  'Adele', 'Alex', 'Allan', 'Christie', 'Debra', 'Diego', 'Emily', 'Enrico', 'Grady', 'Henrietta',
  'Irvin', 'Isaiah', 'Johanna', 'Joni', 'Lee', 'Lidia', 'Lynne', 'Megan', 'Miriam', 'Nestor',
  'Patti', 'Pradeep', 'Raul', 'Ren', 'Sanjay', 'Sofia', 'Tomas', 'Wei', 'Yuki', 'Zainab',
  'Amara', 'Björn', 'Chloé', 'Dmitri', 'Fatima', 'Hiroshi', 'Ingrid', 'José', 'Kwame', 'Léa',
] as const;
// prettier-ignore
const LAST_NAMES = [
  'Vance', 'Wilber', 'Deyoung', 'Cline', 'Berg', 'Siciliani', 'Braun', 'Vescovi', 'Archie', 'Gonzalez',
  'Morgan', 'Tran', 'Lang', 'Sherman', 'Gu', 'Holloway', 'Valentine', 'Bowen', 'Graham', 'Wilke',
  'Fernandez', 'Gupta', 'Ramos', 'Nakamura', 'Patel', 'Rossi', 'Novak', 'Zhang', 'Sato', 'Okafor',
  'Mensah', 'Lindqvist', 'Dubois', 'Ivanov', 'Haddad', 'Tanaka', 'Johansson', 'García', 'Asante', 'Moreau',
] as const;

interface NamedApp {
  appId: string;
  displayName: string;
}

// Well-known first-party client applications (real app IDs).
const CLIENT_APPS: readonly NamedApp[] = [
  { appId: '4765445b-32c6-49b0-83e6-1d93765276ca', displayName: 'OfficeHome' },
  { appId: 'c44b4083-3bb0-49c1-b47d-974e53cbdf3c', displayName: 'Azure Portal' },
  { appId: '1fec8e78-bce4-4aaf-ab1b-5451cc387264', displayName: 'Microsoft Teams' },
  { appId: 'd3590ed6-52b3-4102-aeff-aad2292ab01c', displayName: 'Microsoft Office' },
  { appId: '00000002-0000-0ff1-ce00-000000000000', displayName: 'Office 365 Exchange Online' },
  { appId: '04b07795-8ddb-461a-bbee-02f9e1bf7b46', displayName: 'Microsoft Azure CLI' },
  { appId: '1950a258-227b-4e31-a9cf-717495945fc2', displayName: 'Microsoft Azure PowerShell' },
  { appId: '29d9ed98-a469-4536-ade2-f981bc1d605e', displayName: 'Microsoft Authentication Broker' },
  { appId: '38aa3b87-a06d-4817-b275-7a316988d93b', displayName: 'Windows Sign In' },
  { appId: '00000003-0000-0ff1-ce00-000000000000', displayName: 'Office 365 SharePoint Online' },
  { appId: '14d82eec-204b-4c2f-b7e8-296a70dab67e', displayName: 'Microsoft Graph Command Line Tools' },
  { appId: '89bee1f7-5e6e-4d8a-9f3d-ecd601259da7', displayName: 'Office365 Shell WCSS-Client' },
];

interface NamedResource {
  id: string;
  displayName: string;
}

const RESOURCES: readonly NamedResource[] = [
  { id: '00000003-0000-0000-c000-000000000000', displayName: 'Microsoft Graph' },
  { id: '00000002-0000-0ff1-ce00-000000000000', displayName: 'Office 365 Exchange Online' },
  { id: '00000003-0000-0ff1-ce00-000000000000', displayName: 'Office 365 SharePoint Online' },
  { id: '797f4846-ba00-4fd7-ba43-dac1f8f63013', displayName: 'Windows Azure Service Management API' },
  { id: '00000002-0000-0000-c000-000000000000', displayName: 'Windows Azure Active Directory' },
  { id: 'cc15fd57-2c6c-4117-a88c-83b1d56b4bbe', displayName: 'Microsoft Teams Services' },
];
const WORKLOAD_RESOURCES: readonly NamedResource[] = [
  { id: '00000003-0000-0000-c000-000000000000', displayName: 'Microsoft Graph' },
  { id: 'cfa8b339-82a2-471a-a3c9-0fc0be7a4093', displayName: 'Azure Key Vault' },
  { id: 'e406a681-f3d4-42a8-90b6-c2b029497af1', displayName: 'Azure Storage' },
  { id: '797f4846-ba00-4fd7-ba43-dac1f8f63013', displayName: 'Windows Azure Service Management API' },
];

const SERVICE_PRINCIPAL_NAMES = [
  'svc-hr-sync',
  'terraform-deploy',
  'github-actions-prod',
  'backup-orchestrator',
  'crm-connector',
  'grafana-reader',
  'datadog-integration',
  'jenkins-ci',
  'payroll-export',
  'sentinel-playbooks',
] as const;
const MANAGED_IDENTITY_NAMES = [
  ['func-identity-monitor', 'userAssigned', 'Microsoft.ManagedIdentity/userAssignedIdentities'],
  ['aks-agentpool', 'userAssigned', 'Microsoft.ManagedIdentity/userAssignedIdentities'],
  ['vm-build-01', 'systemAssigned', 'Microsoft.Compute/virtualMachines'],
  ['logic-approvals', 'systemAssigned', 'Microsoft.Logic/workflows'],
  ['adf-ingest', 'systemAssigned', 'Microsoft.DataFactory/factories'],
] as const;

interface Place {
  city: string;
  state: string;
  countryOrRegion: string;
  latitude: number;
  longitude: number;
  ipPrefix: string;
}

// prettier-ignore
const PLACES: readonly Place[] = [
  { city: 'Seattle', state: 'Washington', countryOrRegion: 'US', latitude: 47.6062, longitude: -122.3321, ipPrefix: '131.107' },
  { city: 'Redmond', state: 'Washington', countryOrRegion: 'US', latitude: 47.674, longitude: -122.1215, ipPrefix: '167.220' },
  { city: 'New York', state: 'New York', countryOrRegion: 'US', latitude: 40.7128, longitude: -74.006, ipPrefix: '72.229' },
  { city: 'London', state: 'England', countryOrRegion: 'GB', latitude: 51.5074, longitude: -0.1278, ipPrefix: '81.2' },
  { city: 'Amsterdam', state: 'Noord-Holland', countryOrRegion: 'NL', latitude: 52.3676, longitude: 4.9041, ipPrefix: '145.53' },
  { city: 'Frankfurt Am Main', state: 'Hessen', countryOrRegion: 'DE', latitude: 50.1109, longitude: 8.6821, ipPrefix: '62.157' },
  { city: 'Bengaluru', state: 'Karnataka', countryOrRegion: 'IN', latitude: 12.9716, longitude: 77.5946, ipPrefix: '49.207' },
  { city: 'Sydney', state: 'New South Wales', countryOrRegion: 'AU', latitude: -33.8688, longitude: 151.2093, ipPrefix: '203.2' },
  { city: 'São Paulo', state: 'São Paulo', countryOrRegion: 'BR', latitude: -23.5505, longitude: -46.6333, ipPrefix: '177.69' },
  { city: 'Tokyo', state: 'Tokyo', countryOrRegion: 'JP', latitude: 35.6762, longitude: 139.6503, ipPrefix: '133.242' },
  { city: 'Lagos', state: 'Lagos', countryOrRegion: 'NG', latitude: 6.5244, longitude: 3.3792, ipPrefix: '105.112' },
];
// prettier-ignore
const AZURE_PLACES: readonly Place[] = [
  { city: 'Dublin', state: 'Dublin', countryOrRegion: 'IE', latitude: 53.3498, longitude: -6.2603, ipPrefix: '20.107' },
  { city: 'Amsterdam', state: 'Noord-Holland', countryOrRegion: 'NL', latitude: 52.3676, longitude: 4.9041, ipPrefix: '20.103' },
  { city: 'Boydton', state: 'Virginia', countryOrRegion: 'US', latitude: 36.6676, longitude: -78.3875, ipPrefix: '20.185' },
];

const UNKNOWN_LOCATION: SignInLocation = {
  city: null,
  state: null,
  countryOrRegion: null,
  geoCoordinates: { altitude: null, latitude: null, longitude: null },
};

const FAILURES: Record<number, { reason: string; details: string | null }> = {
  50126: {
    reason: 'Error validating credentials due to invalid username or password.',
    details:
      "The user didn't enter the right credentials. It's expected to see some number of these errors in your logs due to users making mistakes.",
  },
  50074: {
    reason: 'Strong Authentication is required.',
    details: 'User needs to perform multi-factor authentication.',
  },
  53003: {
    reason:
      'Access has been blocked by Conditional Access policies. The access policy does not allow token issuance.',
    details: null,
  },
  50053: {
    reason:
      'Account is locked because user tried to sign in too many times with an incorrect user ID or password.',
    details: null,
  },
  50140: {
    reason: "This error occurred due to 'Keep me signed in' interrupt when the user was signing in.",
    details: null,
  },
  50076: {
    reason:
      'Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access this resource.',
    details: null,
  },
  70044: {
    reason: 'The session has expired or is invalid due to sign-in frequency checks by conditional access.',
    details: null,
  },
  50173: {
    reason:
      'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.',
    details: null,
  },
  7000215: {
    reason:
      'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app.',
    details: null,
  },
  7000222: {
    reason:
      'The provided client secret keys for app are expired. Visit the Azure portal to create new keys for your app, or consider using certificate credentials for added security.',
    details: null,
  },
  500011: {
    reason: 'The resource principal named https://vault.azure.net was not found in the tenant.',
    details: null,
  },
};

const CA_POLICIES = [
  ['Require MFA for administrators', ['Mfa']],
  ['Block legacy authentication', ['Block']],
  ['Require compliant or hybrid joined device', ['RequireCompliantDevice', 'RequireDomainJoinedDevice']],
  ['Block high-risk sign-ins', ['Block']],
  ['Require MFA for Azure management', ['Mfa']],
] as const;

const ROLES = [
  ['Global Administrator', '62e90394-69f5-4237-9190-012177145e10', 'TenantAdmins'],
  ['User Administrator', 'fe930be7-5e62-47db-91af-98c3a49a38b1', 'UserAccountAdmins'],
  ['Security Reader', '5d6b6bb7-de71-4623-b4af-96380a352509', 'SecurityReader'],
  ['Application Administrator', '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3', 'ApplicationAdministrator'],
  ['Privileged Role Administrator', 'e8611ab8-c189-46e8-94e1-60213ab1f814', 'PrivilegedRoleAdmins'],
  ['Helpdesk Administrator', '729827e3-9c14-49f7-bb1b-9608f156bbb8', 'HelpdeskAdmins'],
] as const;

const GROUPS = [
  ['All Employees', 'unifiedGroups'],
  ['Finance Team', 'unifiedGroups'],
  ['Sales EMEA', 'unifiedGroups'],
  ['Engineering', 'azureAD'],
  ['VPN Users', 'azureAD'],
  ['Break Glass Admins', 'azureAD'],
  ['M365 Pilot', 'azureAD'],
] as const;

const DEPARTMENTS = ['Sales', 'Marketing', 'Finance', 'Engineering', 'Legal', 'Support'] as const;

type TargetType =
  'User' | 'Group' | 'Role' | 'ServicePrincipal' | 'Application' | 'Policy' | 'Device' | 'Other';

interface AuditTemplate {
  category: string;
  activity: string;
  service: string;
  operationType: string;
  targets: readonly TargetType[];
  weight: number;
}

// prettier-ignore
const AUDIT_TEMPLATES: readonly AuditTemplate[] = [
  { category: 'UserManagement', activity: 'Update user', service: 'Core Directory', operationType: 'Update', targets: ['User'], weight: 20 },
  { category: 'UserManagement', activity: 'Add user', service: 'Core Directory', operationType: 'Add', targets: ['User'], weight: 5 },
  { category: 'UserManagement', activity: 'Delete user', service: 'Core Directory', operationType: 'Delete', targets: ['User'], weight: 2 },
  { category: 'UserManagement', activity: 'Reset user password', service: 'Core Directory', operationType: 'Update', targets: ['User'], weight: 4 },
  { category: 'UserManagement', activity: 'Reset password (self-service)', service: 'Self-service Password Management', operationType: 'Update', targets: ['User'], weight: 3 },
  { category: 'UserManagement', activity: 'Disable account', service: 'Core Directory', operationType: 'Update', targets: ['User'], weight: 1 },
  { category: 'GroupManagement', activity: 'Add member to group', service: 'Core Directory', operationType: 'Assign', targets: ['User', 'Group'], weight: 14 },
  { category: 'GroupManagement', activity: 'Remove member from group', service: 'Core Directory', operationType: 'Unassign', targets: ['User', 'Group'], weight: 6 },
  { category: 'GroupManagement', activity: 'Add group', service: 'Core Directory', operationType: 'Add', targets: ['Group'], weight: 2 },
  { category: 'RoleManagement', activity: 'Add member to role', service: 'Core Directory', operationType: 'Assign', targets: ['User', 'Role'], weight: 3 },
  { category: 'RoleManagement', activity: 'Remove member from role', service: 'Core Directory', operationType: 'Unassign', targets: ['User', 'Role'], weight: 2 },
  { category: 'RoleManagement', activity: 'Add eligible member to role in PIM completed (permanent)', service: 'PIM', operationType: 'Assign', targets: ['Role', 'User'], weight: 1 },
  { category: 'ApplicationManagement', activity: 'Consent to application', service: 'Core Directory', operationType: 'Assign', targets: ['ServicePrincipal'], weight: 4 },
  { category: 'ApplicationManagement', activity: 'Add service principal', service: 'Core Directory', operationType: 'Add', targets: ['ServicePrincipal'], weight: 3 },
  // Graph really spells this one with an en dash and a trailing space.
  { category: 'ApplicationManagement', activity: 'Update application – Certificates and secrets management ', service: 'Core Directory', operationType: 'Update', targets: ['Application'], weight: 2 },
  { category: 'ApplicationManagement', activity: 'Add app role assignment to service principal', service: 'Core Directory', operationType: 'Assign', targets: ['ServicePrincipal'], weight: 2 },
  { category: 'Policy', activity: 'Update conditional access policy', service: 'Conditional Access', operationType: 'Update', targets: ['Policy'], weight: 2 },
  { category: 'Policy', activity: 'Add conditional access policy', service: 'Conditional Access', operationType: 'Add', targets: ['Policy'], weight: 1 },
  { category: 'Policy', activity: 'Update authorization policy', service: 'Core Directory', operationType: 'Update', targets: ['Policy'], weight: 1 },
  { category: 'DirectoryManagement', activity: 'Update company', service: 'Core Directory', operationType: 'Update', targets: ['Other'], weight: 1 },
  { category: 'DirectoryManagement', activity: 'Verify domain', service: 'Core Directory', operationType: 'Update', targets: ['Other'], weight: 1 },
  { category: 'Device', activity: 'Add device', service: 'Core Directory', operationType: 'Add', targets: ['Device'], weight: 5 },
  { category: 'Device', activity: 'Update device', service: 'Core Directory', operationType: 'Update', targets: ['Device'], weight: 5 },
];

const USER_AGENTS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15',
  'Microsoft Azure Graph Client Library 1.0',
  'python-requests/2.31.0',
] as const;

const DEVICE_PROFILES = [
  ['Windows10', 'Edge 120.0.0', 'Azure AD joined'],
  ['Windows10', 'Chrome 119.0.0', 'Hybrid Azure AD joined'],
  ['MacOs', 'Safari 17.1', 'Azure AD registered'],
  ['Ios', 'Mobile Safari 17.1', 'Azure AD registered'],
  ['Android', 'Rich Client 5.2.7.0', 'Azure AD registered'],
] as const;
const UNMANAGED_PROFILES = [
  ['Windows10', 'Chrome 120.0.0'],
  ['MacOs', 'Firefox 121.0'],
  ['Linux', 'Firefox 121.0'],
  ['Ios', 'Mobile Safari'],
  ['Android', 'Chrome Mobile 119.0.6045'],
  ['Windows10', 'Rich Client 4.61.0.0'],
] as const;

const ascii = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');

interface PoolUser {
  id: string;
  displayName: string;
  userPrincipalName: string;
  home: Place;
  homeIp: string;
  deviceId: string;
  deviceName: string;
  profile: (typeof DEVICE_PROFILES)[number];
  guest: boolean;
}

interface Workload {
  appId: string;
  servicePrincipalId: string;
  displayName: string;
  msiType: 'none' | 'userAssigned' | 'systemAssigned';
  associatedResourceId: string | null;
}

interface World {
  tenantId: string;
  users: PoolUser[];
  servicePrincipals: Workload[];
  managedIdentities: Workload[];
  policies: { id: string; displayName: string; grant: readonly string[] }[];
  roleIds: string[];
  groupIds: string[];
  key: number;
}

function buildWorld(key: number, tenantId: string, domain: string): World {
  const rnd = sfc32(key, 0x51, 0x52, 0x53);
  const guestDomains = ['fabrikam.com', 'tailspintoys.com', 'gmail.com'];
  const users: PoolUser[] = [];
  const firstOffset = Math.floor(rnd() * FIRST_NAMES.length);
  const lastOffset = Math.floor(rnd() * LAST_NAMES.length);
  for (let u = 0; u < 600; u++) {
    const first = FIRST_NAMES[(u + firstOffset) % FIRST_NAMES.length] ?? 'User';
    const last = LAST_NAMES[(Math.floor(u / FIRST_NAMES.length) + lastOffset) % LAST_NAMES.length] ?? 'Name';
    const guest = u % 37 === 36;
    const local = `${ascii(first)}.${ascii(last)}`.toLowerCase();
    const upn = guest ? `${local}_${pick(rnd, guestDomains)}#EXT#@${domain}` : `${local}@${domain}`;
    const home = weighted(
      rnd,
      PLACES.map((p, i) => [p, i < 4 ? 6 : 1] as const),
    );
    users.push({
      id: stableGuid(key, 'user', u),
      displayName: `${first} ${last}`,
      userPrincipalName: upn,
      home,
      homeIp: `${home.ipPrefix}.${Math.floor(rnd() * 254) + 1}.${Math.floor(rnd() * 254) + 1}`,
      deviceId: stableGuid(key, 'device', u),
      deviceName: `CONTOSO-${pick(rnd, ['LT', 'WS', 'MB'])}-${String(1000 + u)}`,
      profile: pick(rnd, DEVICE_PROFILES),
      guest,
    });
  }
  const subscription = stableGuid(key, 'subscription', 0);
  return {
    tenantId,
    users,
    servicePrincipals: SERVICE_PRINCIPAL_NAMES.map((displayName, n) => ({
      appId: stableGuid(key, 'sp-app', n),
      servicePrincipalId: stableGuid(key, 'sp', n),
      displayName,
      msiType: 'none',
      associatedResourceId: null,
    })),
    managedIdentities: MANAGED_IDENTITY_NAMES.map(([displayName, msiType, provider], n) => ({
      appId: stableGuid(key, 'mi-app', n),
      servicePrincipalId: stableGuid(key, 'mi', n),
      displayName,
      msiType,
      associatedResourceId: `/subscriptions/${subscription}/resourceGroups/rg-identity-monitor/providers/${provider}/${displayName}`,
    })),
    policies: CA_POLICIES.map(([displayName, grant], n) => ({
      id: stableGuid(key, 'policy', n),
      displayName,
      grant,
    })),
    roleIds: ROLES.map((_, n) => stableGuid(key, 'role', n)),
    groupIds: GROUPS.map((_, n) => stableGuid(key, 'group', n)),
    key,
  };
}

const randomIp = (rnd: Rng, prefix?: string): string =>
  prefix
    ? `${prefix}.${Math.floor(rnd() * 254) + 1}.${Math.floor(rnd() * 254) + 1}`
    : rnd() < 0.08
      ? `2a02:${hex4(word(rnd))}:${hex4(word(rnd))}:${hex4(word(rnd))}::${hex4(word(rnd))}`
      : `${Math.floor(rnd() * 200) + 20}.${Math.floor(rnd() * 254) + 1}.${Math.floor(rnd() * 254) + 1}.${Math.floor(rnd() * 254) + 1}`;

const placeLocation = (p: Place): SignInLocation => ({
  city: p.city,
  state: p.state,
  countryOrRegion: p.countryOrRegion,
  geoCoordinates: { altitude: null, latitude: p.latitude, longitude: p.longitude },
});

const RISK_EVENTS = [
  ['unfamiliarFeatures'],
  ['anonymizedIPAddress'],
  ['unlikelyTravel', 'unfamiliarFeatures'],
  ['maliciousIPAddress'],
] as const;

function buildSignIn(
  world: World,
  rnd: Rng,
  id: string,
  createdDateTime: string,
  type: SignInEventType,
): BetaSignIn {
  const correlationId = randomGuid(rnd);
  const isUser = type === 'interactiveUser' || type === 'nonInteractiveUser';
  let status: SignInStatus = { errorCode: 0, failureReason: 'Other.', additionalDetails: null };
  const failWith = (code: number): SignInStatus => ({
    errorCode: code,
    failureReason: FAILURES[code]?.reason ?? 'Other.',
    additionalDetails: FAILURES[code]?.details ?? null,
  });
  if (isUser) {
    const user = pick(rnd, world.users);
    const interactive = type === 'interactiveUser';
    const app = pick(rnd, CLIENT_APPS);
    const resource = pick(rnd, RESOURCES);
    const code = interactive
      ? weighted(rnd, [
          [0, 850],
          [50126, 50],
          [50074, 40],
          [53003, 20],
          [50140, 20],
          [50053, 10],
          [50076, 10],
        ])
      : weighted(rnd, [
          [0, 950],
          [50173, 20],
          [70044, 20],
          [50074, 10],
        ]);
    if (code !== 0) status = failWith(code);
    else if (interactive && rnd() < 0.2)
      status = { ...status, additionalDetails: 'MFA requirement satisfied by claim in the token' };
    const managedDevice = rnd() < 0.45;
    const unmanaged = pick(rnd, UNMANAGED_PROFILES);
    const deviceDetail: SignInDeviceDetail = managedDevice
      ? {
          deviceId: user.deviceId,
          displayName: user.deviceName,
          operatingSystem: user.profile[0],
          browser: user.profile[1],
          isCompliant: rnd() < 0.9,
          isManaged: true,
          trustType: user.profile[2],
        }
      : {
          deviceId: '',
          displayName: null,
          operatingSystem: unmanaged[0],
          browser: unmanaged[1],
          isCompliant: false,
          isManaged: false,
          trustType: '',
        };
    const roaming = rnd() < 0.1;
    const place = roaming ? pick(rnd, PLACES) : user.home;
    const location = rnd() < 0.04 ? UNKNOWN_LOCATION : placeLocation(place);
    const ipAddress = roaming ? randomIp(rnd, place.ipPrefix) : rnd() < 0.05 ? randomIp(rnd) : user.homeIp;
    const risky = rnd() < 0.05;
    const riskLevel = risky
      ? weighted(rnd, [
          ['low', 5],
          ['medium', 3],
          ['high', 1],
          ['hidden', 1],
        ] as const)
      : 'none';
    const riskEvents: string[] = risky && riskLevel !== 'hidden' ? [...pick(rnd, RISK_EVENTS)] : [];
    const policies: AppliedConditionalAccessPolicy[] = [];
    let conditionalAccessStatus: SignIn['conditionalAccessStatus'] = 'notApplied';
    if (code === 53003) {
      const blocking = world.policies[1] ?? world.policies[0];
      if (blocking)
        policies.push({
          id: blocking.id,
          displayName: blocking.displayName,
          enforcedGrantControls: ['Block'],
          enforcedSessionControls: [],
          result: 'failure',
        });
      conditionalAccessStatus = 'failure';
    } else if (rnd() < 0.45) {
      const count = 1 + Math.floor(rnd() * 2);
      for (let p = 0; p < count; p++) {
        const policy = pick(rnd, world.policies);
        if (policies.some((x) => x.id === policy.id)) continue;
        policies.push({
          id: policy.id,
          displayName: policy.displayName,
          enforcedGrantControls: [...policy.grant],
          enforcedSessionControls: rnd() < 0.2 ? ['SignInFrequency'] : [],
          result: weighted(rnd, [
            ['success', 80],
            ['notApplied', 15],
            ['notEnabled', 4],
            ['unknownFutureValue', 1],
          ] as const),
        });
      }
      conditionalAccessStatus = rnd() < 0.01 ? 'unknownFutureValue' : 'success';
    } else if (rnd() < 0.01) {
      conditionalAccessStatus = 'unknownFutureValue';
    }
    const clientAppUsed = interactive
      ? weighted(rnd, [
          ['Browser', 60],
          ['Mobile Apps and Desktop clients', 34],
          ['Exchange ActiveSync', 2],
          ['IMAP4', 1],
          ['Authenticated SMTP', 1],
          ['Other clients', 2],
        ] as const)
      : 'Mobile Apps and Desktop clients';
    const homeTenantId = user.guest ? stableGuid(world.key, 'guest-tenant', 0) : world.tenantId;
    return {
      id,
      createdDateTime,
      userDisplayName: user.displayName,
      userPrincipalName: user.userPrincipalName,
      userId: user.id,
      appId: app.appId,
      appDisplayName: app.displayName,
      ipAddress,
      clientAppUsed,
      correlationId,
      conditionalAccessStatus,
      isInteractive: interactive,
      riskDetail: risky ? (rnd() < 0.5 ? 'none' : 'userPassedMFADrivenByRiskBasedPolicy') : 'none',
      riskLevelAggregated: riskLevel,
      riskLevelDuringSignIn: riskLevel,
      riskState: risky
        ? weighted(rnd, [
            ['atRisk', 5],
            ['remediated', 3],
            ['dismissed', 2],
          ] as const)
        : 'none',
      riskEventTypes: riskEvents,
      riskEventTypes_v2: [...riskEvents],
      resourceDisplayName: resource.displayName,
      resourceId: resource.id,
      status,
      deviceDetail,
      location,
      appliedConditionalAccessPolicies: policies,
      signInEventTypes: [type],
      servicePrincipalId: '',
      servicePrincipalName: '',
      homeTenantId,
      resourceTenantId: world.tenantId,
      userType: user.guest ? 'guest' : 'member',
      authenticationRequirement:
        policies.some((p) => p.enforcedGrantControls.includes('Mfa')) || code === 50074
          ? 'multiFactorAuthentication'
          : 'singleFactorAuthentication',
      tokenIssuerType: 'AzureAD',
      crossTenantAccessType: user.guest ? 'b2bCollaboration' : 'none',
      clientCredentialType: 'none',
      isTenantRestricted: false,
      managedServiceIdentity: {
        msiType: 'none',
        associatedResourceId: null,
        federatedTokenId: null,
        federatedTokenIssuer: null,
      },
    };
  }

  const mi = type === 'managedIdentity';
  const workload = pick(rnd, mi ? world.managedIdentities : world.servicePrincipals);
  const resource = pick(rnd, WORKLOAD_RESOURCES);
  const code = mi
    ? weighted(rnd, [
        [0, 995],
        [500011, 5],
      ])
    : weighted(rnd, [
        [0, 970],
        [7000215, 20],
        [7000222, 10],
      ]);
  if (code !== 0) status = failWith(code);
  const place = pick(rnd, mi ? AZURE_PLACES : [...AZURE_PLACES, ...PLACES]);
  return {
    id,
    createdDateTime,
    userDisplayName: null,
    userPrincipalName: null,
    userId: '',
    appId: workload.appId,
    appDisplayName: workload.displayName,
    ipAddress: mi ? '' : randomIp(rnd, place.ipPrefix),
    clientAppUsed: null,
    correlationId,
    conditionalAccessStatus: 'notApplied',
    isInteractive: false,
    riskDetail: 'none',
    riskLevelAggregated: 'none',
    riskLevelDuringSignIn: 'none',
    riskState: 'none',
    riskEventTypes: [],
    riskEventTypes_v2: [],
    resourceDisplayName: resource.displayName,
    resourceId: resource.id,
    status,
    deviceDetail: {
      deviceId: '',
      displayName: null,
      operatingSystem: null,
      browser: null,
      isCompliant: false,
      isManaged: false,
      trustType: null,
    },
    location: mi ? UNKNOWN_LOCATION : placeLocation(place),
    appliedConditionalAccessPolicies: [],
    signInEventTypes: [type],
    servicePrincipalId: workload.servicePrincipalId,
    servicePrincipalName: workload.displayName,
    homeTenantId: world.tenantId,
    resourceTenantId: world.tenantId,
    userType: 'member',
    authenticationRequirement: 'singleFactorAuthentication',
    tokenIssuerType: 'AzureAD',
    crossTenantAccessType: 'none',
    clientCredentialType: mi ? 'managedIdentity' : rnd() < 0.6 ? 'clientSecret' : 'certificate',
    isTenantRestricted: false,
    managedServiceIdentity: {
      msiType: workload.msiType,
      associatedResourceId: workload.associatedResourceId,
      federatedTokenId: null,
      federatedTokenIssuer: null,
    },
  };
}

const jsonValue = (v: unknown): string => JSON.stringify(v);

function auditTarget(
  world: World,
  rnd: Rng,
  type: TargetType,
  template: AuditTemplate,
  ctx: { role: (typeof ROLES)[number]; roleId: string; group: (typeof GROUPS)[number]; groupId: string },
): TargetResource {
  // Graph's property order: id, displayName, type, userPrincipalName, groupType, modifiedProperties.
  const target = (
    id: string,
    displayName: string | null,
    extra: Partial<Pick<TargetResource, 'userPrincipalName' | 'groupType' | 'modifiedProperties'>> = {},
  ): TargetResource => ({
    id,
    displayName,
    type,
    userPrincipalName: extra.userPrincipalName ?? null,
    groupType: extra.groupType ?? null,
    modifiedProperties: extra.modifiedProperties ?? [],
  });
  switch (type) {
    case 'User': {
      const user = pick(rnd, world.users);
      const props: ModifiedProperty[] = [];
      if (template.activity === 'Update user') {
        const [from, to] = [pick(rnd, DEPARTMENTS), pick(rnd, DEPARTMENTS)];
        props.push(
          { displayName: 'Department', oldValue: jsonValue([from]), newValue: jsonValue([to]) },
          { displayName: 'Included Updated Properties', oldValue: null, newValue: '"Department"' },
        );
      } else if (template.category === 'RoleManagement') {
        props.push(
          { displayName: 'Role.ObjectID', oldValue: null, newValue: jsonValue(ctx.roleId) },
          { displayName: 'Role.DisplayName', oldValue: null, newValue: jsonValue(ctx.role[0]) },
          { displayName: 'Role.TemplateId', oldValue: null, newValue: jsonValue(ctx.role[1]) },
          { displayName: 'Role.WellKnownObjectName', oldValue: null, newValue: jsonValue(ctx.role[2]) },
        );
      } else if (template.category === 'GroupManagement') {
        props.push(
          { displayName: 'Group.ObjectID', oldValue: null, newValue: jsonValue(ctx.groupId) },
          { displayName: 'Group.DisplayName', oldValue: null, newValue: jsonValue(ctx.group[0]) },
        );
      } else if (template.activity === 'Disable account') {
        props.push({ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' });
      }
      // Graph often leaves displayName null on user targets and names them by UPN only.
      return target(user.id, rnd() < 0.5 ? null : user.displayName, {
        userPrincipalName: user.userPrincipalName,
        modifiedProperties: props,
      });
    }
    case 'Group':
      return target(ctx.groupId, ctx.group[0], { groupType: ctx.group[1] });
    case 'Role':
      return target(ctx.roleId, ctx.role[0]);
    case 'ServicePrincipal': {
      const sp = pick(rnd, world.servicePrincipals);
      const props: ModifiedProperty[] =
        template.activity === 'Consent to application'
          ? [
              { displayName: 'ConsentContext.IsAdminConsent', oldValue: null, newValue: '"True"' },
              { displayName: 'ConsentContext.OnBehalfOfAll', oldValue: null, newValue: '"True"' },
              {
                displayName: 'ConsentAction.Permissions',
                oldValue: null,
                newValue: `"[] => [[Id: ${randomGuid(rnd)}, ClientId: ${sp.servicePrincipalId}, PrincipalId: , ResourceId: ${randomGuid(rnd)}, ConsentType: AllPrincipals, Scope:  User.Read AuditLog.Read.All, CreatedDateTime: , LastModifiedDateTime ]]; "`,
              },
            ]
          : [];
      return target(sp.servicePrincipalId, sp.displayName, { modifiedProperties: props });
    }
    case 'Application': {
      const sp = pick(rnd, world.servicePrincipals);
      return target(sp.appId, sp.displayName, {
        modifiedProperties: [
          {
            displayName: 'KeyDescription',
            oldValue: '[]',
            newValue: jsonValue([
              `[KeyIdentifier=${randomGuid(rnd)},KeyType=Password,KeyUsage=Verify,DisplayName=ci-secret]`,
            ]),
          },
          { displayName: 'Included Updated Properties', oldValue: null, newValue: '"KeyDescription"' },
        ],
      });
    }
    case 'Policy': {
      const policy = pick(rnd, world.policies);
      return target(policy.id, policy.displayName, {
        modifiedProperties: [
          {
            displayName: 'ConditionalAccessPolicy',
            oldValue:
              template.operationType === 'Add'
                ? null
                : jsonValue({
                    id: policy.id,
                    displayName: policy.displayName,
                    state: 'enabledForReportingButNotEnforced',
                  }),
            newValue: jsonValue({ id: policy.id, displayName: policy.displayName, state: 'enabled' }),
          },
        ],
      });
    }
    case 'Device': {
      const user = pick(rnd, world.users);
      return target(user.deviceId, user.deviceName);
    }
    case 'Other':
      return target(world.tenantId, null);
  }
}

function buildAudit(world: World, rnd: Rng, guid: string, activityDateTime: string): DirectoryAudit {
  const template = weighted(
    rnd,
    AUDIT_TEMPLATES.map((t) => [t, t.weight] as const),
  );
  const result = weighted(rnd, [
    ['success', 930],
    ['failure', 50],
    ['timeout', 15],
    ['unknownFutureValue', 5],
  ] as const);
  const resultReason =
    result === 'failure'
      ? pick(rnd, [
          'Microsoft.Online.Workflows.ObjectAlreadyExistsException',
          'Microsoft.Online.DirectoryServices.DirectoryUniquenessException',
          'Insufficient privileges to complete the operation.',
        ])
      : result === 'timeout'
        ? 'The operation timed out.'
        : '';
  const byApp = template.service !== 'Self-service Password Management' && rnd() < 0.25;
  const actor = pick(rnd, world.users);
  const appActor = pick(rnd, [...world.servicePrincipals, ...world.managedIdentities]);
  const role = pick(rnd, ROLES);
  const group = pick(rnd, GROUPS);
  const ctx = {
    role,
    roleId: world.roleIds[ROLES.indexOf(role)] ?? '',
    group,
    groupId: world.groupIds[GROUPS.indexOf(group)] ?? '',
  };
  const prefix = template.service === 'Self-service Password Management' ? 'SSGM' : 'Directory';
  const suffix = `${String.fromCharCode(65 + Math.floor(rnd() * 26))}${Math.floor(rnd() * 10)}${String.fromCharCode(65 + Math.floor(rnd() * 26))}${String.fromCharCode(65 + Math.floor(rnd() * 26))}${Math.floor(rnd() * 10)}`;
  return {
    id: `${prefix}_${guid}_${suffix}_${String(Math.floor(rnd() * 900_000_000) + 100_000_000)}`,
    category: template.category,
    correlationId: randomGuid(rnd),
    result,
    resultReason,
    activityDisplayName: template.activity,
    activityDateTime,
    loggedByService: template.service,
    operationType: template.operationType,
    initiatedBy: byApp
      ? {
          user: null,
          app: {
            appId: rnd() < 0.3 ? null : appActor.appId,
            displayName: appActor.displayName,
            servicePrincipalId: appActor.servicePrincipalId,
            servicePrincipalName: appActor.displayName,
          },
        }
      : {
          user: {
            id: actor.id,
            displayName: rnd() < 0.3 ? null : actor.displayName,
            userPrincipalName: actor.userPrincipalName,
            ipAddress: rnd() < 0.2 ? null : actor.homeIp,
          },
          app: null,
        },
    targetResources: template.targets.map((t) => auditTarget(world, rnd, t, template, ctx)),
    additionalDetails: byApp
      ? [{ key: 'AppId', value: appActor.appId }]
      : [
          { key: 'UserType', value: actor.guest ? 'Guest' : 'Member' },
          { key: 'User-Agent', value: pick(rnd, USER_AGENTS) },
        ],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Lazy event sources
// ---------------------------------------------------------------------------------------------------------------

/** (time, index): the total order of a source; results are served in descending order of it. */
interface Key {
  ticks: number;
  index: number;
}

interface Entry extends Key {
  type: SignInEventType | null;
}

const compareKeys = (a: Key, b: Key): number => a.ticks - b.ticks || a.index - b.index;

interface Query {
  /** Inclusive tick bounds (relative to the source origin); null = unbounded. */
  lo: number | null;
  hi: number | null;
  /** Sign-ins only: the event types to include. */
  types: readonly SignInEventType[] | null;
}

const SIGN_IN_TYPE_WEIGHTS: readonly (readonly [SignInEventType, number])[] = [
  ['interactiveUser', 30],
  ['nonInteractiveUser', 50],
  ['servicePrincipal', 15],
  ['managedIdentity', 5],
];

class EventSource {
  readonly count: number;
  /** Absolute time of tick 0, in ms since the epoch. */
  readonly originMs: number;
  private readonly salt: number;
  private readonly codec: IdCodec;
  private readonly wholeSeconds: boolean;
  private readonly fromSec: number;
  private readonly spanSec: number;
  private readonly spanTicks: number;
  /** Sorted ascending by (ticks, index). */
  readonly late: Entry[] = [];

  constructor(
    readonly kind: GraphEventKind,
    seedKey: number,
    options: EventSourceOptions | undefined,
    private readonly world: World,
  ) {
    const count = options?.count ?? 0;
    if (!Number.isSafeInteger(count) || count < 0 || count > 2 ** 31) {
      throw new Error(`${kind}.count must be an integer in 0..2^31, got ${count}`);
    }
    const fromMs = options?.from.getTime() ?? Math.floor(Date.now() / 1000) * 1000;
    const toMs = options?.to.getTime() ?? fromMs + 1000;
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) {
      throw new Error(`${kind}: 'to' must be after 'from'`);
    }
    this.count = count;
    this.originMs = fromMs;
    this.salt = hash3(seedKey, hashString(kind), 7);
    this.codec = new IdCodec(hash3(seedKey, hashString(kind), 8));
    // Sign-in times are whole seconds (as Graph serves createdDateTime); audit times have 100 ns precision.
    this.wholeSeconds = kind === 'signIns';
    this.fromSec = Math.ceil(fromMs / 1000);
    this.spanSec = Math.ceil(toMs / 1000) - this.fromSec;
    this.spanTicks = (toMs - fromMs) * TICKS_PER_MS;
    if (count > 0 && this.wholeSeconds && this.spanSec < 1) {
      throw new Error(`${kind}: [from, to) holds no whole second`);
    }
    if (this.spanTicks > Number.MAX_SAFE_INTEGER / 4) throw new Error(`${kind}: time range too long`);
  }

  /** Monotonic non-decreasing in i: t(i) = from + floor(span * (i + u(i)) / count), u(i) in [0, 1). */
  ticksAt(i: number): number {
    const u = hash3(this.salt, i, 1) / TWO_32;
    if (this.wholeSeconds) {
      const sec =
        this.fromSec + Math.min(this.spanSec - 1, Math.floor((this.spanSec * (i + u)) / this.count));
      return (sec * 1000 - this.originMs) * TICKS_PER_MS;
    }
    return Math.min(this.spanTicks - 1, Math.floor((this.spanTicks * (i + u)) / this.count));
  }

  typeAt(i: number): SignInEventType | null {
    if (this.kind !== 'signIns') return null;
    let r = (hash3(this.salt, i, 2) / TWO_32) * 100;
    for (const [type, weight] of SIGN_IN_TYPE_WEIGHTS) {
      r -= weight;
      if (r < 0) return type;
    }
    return 'managedIdentity';
  }

  /** First base index whose time is >= ticks (count when none). */
  lowerBound(ticks: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ticksAt(mid) < ticks) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Number of base events whose key is below `key`: they are exactly the indices [0, result). */
  private baseBelow(key: Key): number {
    const first = this.lowerBound(key.ticks);
    const afterTies = this.lowerBound(key.ticks + 1);
    return Math.min(Math.max(key.index, first), afterTies);
  }

  ticksOfMs(ms: number): number {
    return (ms - this.originMs) * TICKS_PER_MS;
  }

  size(): number {
    return this.count + this.late.length;
  }

  addLate(atMs: number, type: SignInEventType | null): Entry {
    const ms = this.wholeSeconds ? Math.floor(atMs / 1000) * 1000 : atMs;
    const entry: Entry = { ticks: this.ticksOfMs(ms), index: this.size(), type };
    // Indices grow, so the new entry goes after every late entry with the same or an earlier time.
    let lo = 0;
    let hi = this.late.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.late[mid];
      if (other && compareKeys(other, entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.late.splice(lo, 0, entry);
    return entry;
  }

  entry(index: number): Entry {
    if (!Number.isInteger(index) || index < 0 || index >= this.size()) {
      throw new RangeError(`${this.kind} has no event ${index} (size ${this.size()})`);
    }
    if (index < this.count) return { ticks: this.ticksAt(index), index, type: this.typeAt(index) };
    const late = this.late.find((e) => e.index === index);
    if (!late) throw new RangeError(`${this.kind} has no event ${index}`);
    return late;
  }

  private matches(e: Entry, q: Query): boolean {
    return q.types === null || (e.type !== null && q.types.includes(e.type));
  }

  /** Events matching q with key < below (all when below is null), in descending key order. */
  *descending(q: Query, below: Key | null): Generator<Entry> {
    const base = this.baseDescending(q, below);
    const late = this.lateDescending(q, below);
    let a = base.next();
    let b = late.next();
    while (!a.done || !b.done) {
      if (b.done || (!a.done && compareKeys(a.value, b.value) > 0)) {
        if (!a.done) yield a.value;
        a = base.next();
      } else {
        yield b.value;
        b = late.next();
      }
    }
  }

  private *baseDescending(q: Query, below: Key | null): Generator<Entry> {
    const start = q.lo === null ? 0 : this.lowerBound(q.lo);
    let end = q.hi === null ? this.count : this.lowerBound(q.hi + 1);
    if (below) end = Math.min(end, this.baseBelow(below));
    for (let i = end - 1; i >= start; i--) {
      const type = this.typeAt(i);
      if (q.types !== null && (type === null || !q.types.includes(type))) continue;
      yield { ticks: this.ticksAt(i), index: i, type };
    }
  }

  private *lateDescending(q: Query, below: Key | null): Generator<Entry> {
    for (let j = this.late.length - 1; j >= 0; j--) {
      const e = this.late[j];
      if (!e) continue;
      if (below && compareKeys(e, below) >= 0) continue;
      if (q.hi !== null && e.ticks > q.hi) continue;
      if (q.lo !== null && e.ticks < q.lo) break;
      if (this.matches(e, q)) yield e;
    }
  }

  idOf(index: number): string {
    return this.codec.guid(index);
  }

  indexOfGuid(guid: string): number | undefined {
    const index = this.codec.index(guid);
    return index !== undefined && index < this.size() ? index : undefined;
  }

  isoTime(ticks: number): string {
    const ms = this.originMs + Math.floor(ticks / TICKS_PER_MS);
    const iso = new Date(ms).toISOString();
    if (this.wholeSeconds) return iso.replace(/\.\d{3}Z$/, 'Z');
    const sub = ticks - Math.floor(ticks / TICKS_PER_MS) * TICKS_PER_MS;
    return `${iso.slice(0, -1)}${String(sub).padStart(4, '0')}Z`;
  }

  /** The full record; for audits the sub-millisecond digits of the time come from the record's own stream. */
  build(e: Entry): BetaSignIn | DirectoryAudit {
    const rnd = sfc32(
      hash3(this.salt, e.index, 3),
      hash3(this.salt, e.index, 4),
      hash3(this.salt, e.index, 5),
      hash3(this.salt, e.index, 6),
    );
    const guid = this.idOf(e.index);
    if (this.kind === 'signIns') {
      return buildSignIn(this.world, rnd, guid, this.isoTime(e.ticks), e.type ?? 'interactiveUser');
    }
    return buildAudit(this.world, rnd, guid, this.isoTime(e.ticks));
  }
}

// ---------------------------------------------------------------------------------------------------------------
// $filter
// ---------------------------------------------------------------------------------------------------------------

class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: http.OutgoingHttpHeaders = {},
    readonly innerExtra: Record<string, string> = {},
  ) {
    super(message);
  }
}

const invalidFilter = (): GraphError => new GraphError(400, 'BadRequest', 'Invalid filter clause');

type Token =
  | { t: 'punct'; v: '(' | ')' | '/' | ':' }
  | { t: 'ident'; v: string }
  | { t: 'string'; v: string }
  | { t: 'datetime'; v: string };

const DATETIME_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/i;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '/' || c === ':') {
      tokens.push({ t: 'punct', v: c });
      i++;
    } else if (c === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw invalidFilter();
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j] ?? '';
        j++;
      }
      tokens.push({ t: 'string', v: value });
      i = j + 1;
    } else if (/\d/.test(c)) {
      const m = DATETIME_AT.exec(text.slice(i));
      if (!m) throw invalidFilter();
      tokens.push({ t: 'datetime', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      const v = m?.[0] ?? c;
      tokens.push({ t: 'ident', v });
      i += v.length;
    } else {
      throw invalidFilter();
    }
  }
  return tokens;
}

/** An absolute DateTimeOffset in ticks (100 ns) since the epoch, split to stay within safe integers. */
interface Instant {
  ms: number;
  subTicks: number;
}

function parseInstant(text: string): Instant {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|([+-])(\d{2}):(\d{2}))$/i.exec(
      text,
    );
  if (!m) throw invalidFilter();
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(
    Number,
  ) as [number, number, number, number, number, number];
  const fraction = (m[7] ?? '').padEnd(7, '0');
  let ms = Date.UTC(year, month - 1, day, hour, minute, second) + Number(fraction.slice(0, 3));
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    month < 1 ||
    month > 12 ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    check.getUTCDate() !== day ||
    check.getUTCMonth() !== month - 1
  ) {
    throw invalidFilter();
  }
  if (m[9]) ms -= (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000;
  return { ms, subTicks: Number(fraction.slice(3)) };
}

interface ParsedFilter {
  lo: Instant | null;
  loInclusive: boolean;
  hi: Instant | null;
  hiInclusive: boolean;
  types: SignInEventType[] | null;
}

const compareInstants = (a: Instant, b: Instant): number => a.ms - b.ms || a.subTicks - b.subTicks;

const ENTITY_TYPE: Record<GraphEventKind, string> = {
  signIns: 'microsoft.graph.signIn',
  directoryAudits: 'microsoft.graph.directoryAudit',
};
const TIME_PROPERTY: Record<GraphEventKind, string> = {
  signIns: 'createdDateTime',
  directoryAudits: 'activityDateTime',
};
const ALL_TIME_PROPERTIES = ['createdDateTime', 'activityDateTime'];

/**
 * The forms a collector sends:
 *   createdDateTime ge 2026-11-01T00:00:00Z and createdDateTime lt 2026-11-02T00:00:00.000Z
 *   (either bound alone; ge/gt/le/lt/eq; unquoted DateTimeOffset with 0-7 fraction digits, Z or +hh:mm)
 *   activityDateTime ... for directoryAudits
 *   (signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')) on beta sign-ins
 * joined with `and`, optionally parenthesised. Anything else is 400 BadRequest "Invalid filter clause".
 */
function parseFilter(text: string, kind: GraphEventKind, version: GraphApiVersion): ParsedFilter {
  const tokens = tokenize(text);
  const result: ParsedFilter = { lo: null, loInclusive: true, hi: null, hiInclusive: true, types: null };
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isPunct = (v: string): boolean => {
    const t = peek();
    return t?.t === 'punct' && t.v === v;
  };
  const isKeyword = (v: string): boolean => {
    const t = peek();
    return t?.t === 'ident' && t.v === v;
  };
  const expectPunct = (v: string): void => {
    if (!isPunct(v)) throw invalidFilter();
    pos++;
  };
  const expectIdent = (): string => {
    const t = peek();
    if (t?.t !== 'ident') throw invalidFilter();
    pos++;
    return t.v;
  };
  const noProperty = (name: string): GraphError =>
    new GraphError(
      400,
      'BadRequest',
      `Could not find a property named '${name}' on type '${ENTITY_TYPE[kind]}'.`,
    );

  const lambdaBody = (variable: string): SignInEventType[] => {
    const types: SignInEventType[] = [];
    const term = (): void => {
      if (isPunct('(')) {
        pos++;
        types.push(...lambdaBody(variable));
        expectPunct(')');
        return;
      }
      if (expectIdent() !== variable || expectIdent() !== 'eq') throw invalidFilter();
      const value = peek();
      if (value?.t !== 'string') throw invalidFilter();
      pos++;
      if (!(SIGN_IN_EVENT_TYPES as readonly string[]).includes(value.v) && value.v !== 'unknownFutureValue') {
        throw new GraphError(
          400,
          'BadRequest',
          `The string '${value.v}' is not a valid enumeration type constant.`,
        );
      }
      if (value.v !== 'unknownFutureValue') types.push(value.v as SignInEventType);
    };
    term();
    while (isKeyword('or')) {
      pos++;
      term();
    }
    return types;
  };

  const comparison = (): void => {
    const property = expectIdent();
    if (property.toLowerCase() === 'signineventtypes') {
      if (kind !== 'signIns' || version !== 'beta') throw noProperty(property);
      expectPunct('/');
      if (expectIdent() !== 'any') throw invalidFilter();
      expectPunct('(');
      const variable = expectIdent();
      expectPunct(':');
      const types = lambdaBody(variable);
      expectPunct(')');
      result.types = result.types === null ? types : result.types.filter((t) => types.includes(t));
      return;
    }
    const known = ALL_TIME_PROPERTIES.find((p) => p.toLowerCase() === property.toLowerCase());
    if (!known) throw invalidFilter();
    if (known !== TIME_PROPERTY[kind]) throw noProperty(property);
    const op = expectIdent();
    const value = peek();
    if (value?.t !== 'datetime') throw invalidFilter();
    pos++;
    const instant = parseInstant(value.v);
    const tightenLo = (inclusive: boolean): void => {
      const c = result.lo === null ? 1 : compareInstants(instant, result.lo);
      if (c > 0 || (c === 0 && !inclusive)) {
        result.lo = instant;
        result.loInclusive = inclusive;
      }
    };
    const tightenHi = (inclusive: boolean): void => {
      const c = result.hi === null ? -1 : compareInstants(instant, result.hi);
      if (c < 0 || (c === 0 && !inclusive)) {
        result.hi = instant;
        result.hiInclusive = inclusive;
      }
    };
    switch (op) {
      case 'ge':
        return tightenLo(true);
      case 'gt':
        return tightenLo(false);
      case 'le':
        return tightenHi(true);
      case 'lt':
        return tightenHi(false);
      case 'eq':
        tightenLo(true);
        return tightenHi(true);
      default:
        throw invalidFilter();
    }
  };

  const conjunction = (): void => {
    primary();
    while (isKeyword('and')) {
      pos++;
      primary();
    }
  };
  const primary = (): void => {
    if (isPunct('(')) {
      pos++;
      conjunction();
      expectPunct(')');
    } else {
      comparison();
    }
  };

  if (tokens.length === 0) throw invalidFilter();
  conjunction();
  if (pos !== tokens.length) throw invalidFilter();
  return result;
}

function toQuery(
  source: EventSource,
  f: ParsedFilter,
  kind: GraphEventKind,
  version: GraphApiVersion,
): Query {
  const ticks = (x: Instant): number => source.ticksOfMs(x.ms) + x.subTicks;
  return {
    lo: f.lo === null ? null : ticks(f.lo) + (f.loInclusive ? 0 : 1),
    hi: f.hi === null ? null : ticks(f.hi) - (f.hiInclusive ? 0 : 1),
    // v1.0 serves interactive sign-ins only; so does beta unless signInEventTypes is filtered on.
    types:
      kind !== 'signIns' ? null : version === 'v1.0' ? ['interactiveUser'] : (f.types ?? ['interactiveUser']),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Server
// ---------------------------------------------------------------------------------------------------------------

const ROUTE = /^\/(v1\.0|beta)\/auditlogs\/(signins|directoryaudits)$/i;
const MAX_TOP = 1000;
/** Real milliseconds of clock slack when deciding whether a window slot has freed (timer vs. clock drift). */
const CLOCK_SLACK_MS = 2;
const FAULT_CODES: Record<number, string> = {
  429: 'TooManyRequests',
  500: 'UnknownError',
  502: 'BadGateway',
  503: 'ServiceNotAvailable',
  504: 'GatewayTimeout',
};
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

interface SkipState {
  kind: GraphEventKind;
  version: GraphApiVersion;
  query: Query;
  after: Key;
}

interface Page {
  /** The JSON text up to and including `"value":[`. */
  head: string;
  entries: Entry[];
  render: (e: Entry) => string;
}

/** Records generated and written per chunk. */
const STREAM_BATCH = 100;

interface BodyCut {
  left: number;
  path: string | undefined;
  afterRecords: number | undefined;
}

interface Fault {
  status: number;
  left: number;
  path: string | undefined;
  retryAfterSeconds: number | undefined;
}

/** Seconds with millisecond precision and no trailing zeros: 2500 -> "2.5", 35 -> "0.035". */
const formatSeconds = (ms: number): string => String(Math.max(1, Math.ceil(ms)) / 1000);

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startGraphEmulator(options: GraphEmulatorOptions): Promise<GraphEmulator> {
  const { identity } = options;
  const seedKey = hashString(String(options.seed ?? 1));
  const tenantId = options.tenantId ?? stableGuid(seedKey, 'tenant', 0);
  const world = buildWorld(seedKey, tenantId, options.tenantDomain ?? 'contoso.onmicrosoft.com');
  const sources: Record<GraphEventKind, EventSource> = {
    signIns: new EventSource('signIns', seedKey, options.signIns, world),
    directoryAudits: new EventSource('directoryAudits', seedKey, options.audits, world),
  };
  const timeScale = options.timeScale ?? 1;
  if (!(timeScale > 0)) throw new Error('timeScale must be positive');
  const throttleLimit = options.throttle?.limit ?? 5;
  const throttleWindowMs = (options.throttle?.windowMs ?? 10_000) / timeScale;
  const defaultPageSize = options.defaultPageSize ?? MAX_TOP;
  const skipKey = randomBytes(32);
  const requests: GraphRequest[] = [];
  const admitted = new Map<string, number[]>();
  let throttledCount = 0;
  let faults: Fault[] = [];
  let cuts: BodyCut[] = [];
  let dropsLeft = 0;
  const delays: { ms: number; left: number } = { ms: 0, left: 0 };
  let endpoint = '';

  const state = {
    denyAuditLogRead: options.denyAuditLogRead ?? false,
    nonPremiumTenant: options.nonPremiumTenant ?? false,
  };

  function encodeSkipToken(s: SkipState): string {
    const payload = Buffer.from(
      JSON.stringify([
        s.kind,
        s.version,
        s.query.lo,
        s.query.hi,
        s.query.types,
        s.after.ticks,
        s.after.index,
      ]),
    ).toString('base64url');
    const mac = createHmac('sha256', skipKey).update(payload).digest().subarray(0, 16).toString('base64url');
    return `${payload}.${mac}`;
  }

  function decodeSkipToken(token: string, kind: GraphEventKind, version: GraphApiVersion): SkipState {
    const invalid = new GraphError(400, 'BadRequest', `Invalid $skiptoken value: '${token.slice(0, 40)}'.`);
    const [payload, mac] = token.split('.');
    if (!payload || !mac) throw invalid;
    const expected = createHmac('sha256', skipKey).update(payload).digest().subarray(0, 16);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [
      GraphEventKind,
      GraphApiVersion,
      number | null,
      number | null,
      SignInEventType[] | null,
      number,
      number,
    ];
    const [k, v, lo, hi, types, ticks, index] = parsed;
    if (k !== kind || v !== version) throw invalid;
    return { kind: k, version: v, query: { lo, hi, types }, after: { ticks, index } };
  }

  function takeFault(path: string): Fault | undefined {
    const fault = faults.find((f) => f.left > 0 && (f.path === undefined || path.endsWith(f.path)));
    if (!fault) return undefined;
    fault.left -= 1;
    faults = faults.filter((f) => f.left > 0);
    return fault;
  }

  function takeCut(path: string): BodyCut | undefined {
    const cut = cuts.find((c) => c.left > 0 && (c.path === undefined || path.endsWith(c.path)));
    if (!cut) return undefined;
    cut.left -= 1;
    cuts = cuts.filter((c) => c.left > 0);
    return cut;
  }

  /** undefined when admitted, else the milliseconds until a slot frees. */
  function throttle(tenant: string): number | undefined {
    const now = performance.now();
    const window = (admitted.get(tenant) ?? []).filter((t) => t + throttleWindowMs > now + CLOCK_SLACK_MS);
    admitted.set(tenant, window);
    if (window.length < throttleLimit) {
      window.push(now);
      return undefined;
    }
    const oldest = window[0] ?? now;
    return oldest + throttleWindowMs - now;
  }

  function serve(url: URL, entry: GraphRequest, kind: GraphEventKind, version: GraphApiVersion): Page {
    const source = sources[kind];
    if (url.searchParams.has('$skip')) {
      throw new GraphError(
        400,
        'BadRequest',
        "'$skip' is not supported by the service. Use the @odata.nextLink.",
      );
    }
    const topText = url.searchParams.get('$top');
    let top = defaultPageSize;
    if (topText !== null) {
      top = /^\d+$/.test(topText) ? Number(topText) : NaN;
      if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
        throw new GraphError(
          400,
          'BadRequest',
          `Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_TOP} inclusive.`,
        );
      }
    }
    entry.top = top;
    const skiptoken = url.searchParams.get('$skiptoken');
    let query: Query;
    let after: Key | null = null;
    if (skiptoken !== null) {
      const s = decodeSkipToken(skiptoken, kind, version);
      query = s.query;
      after = s.after;
    } else {
      const filter = url.searchParams.get('$filter');
      const parsed =
        filter === null
          ? { lo: null, loInclusive: true, hi: null, hiInclusive: true, types: null }
          : parseFilter(filter, kind, version);
      query = toQuery(source, parsed, kind, version);
    }

    // Select the page by keys only (cheap); records are generated while streaming the answer.
    const entries: Entry[] = [];
    let more = false;
    for (const e of source.descending(query, after)) {
      if (entries.length === top) {
        more = true;
        break;
      }
      entries.push(e);
    }
    entry.returned = entries.length;
    const context = `${endpoint}/${version}/$metadata#auditLogs/${kind}`;
    let head = `{"@odata.context":${JSON.stringify(context)}`;
    const last = entries.at(-1);
    if (more && last) {
      const token = encodeSkipToken({
        kind,
        version,
        query,
        after: { ticks: last.ticks, index: last.index },
      });
      head += `,"@odata.nextLink":${JSON.stringify(`${endpoint}/${version}/auditLogs/${kind}?$top=${top}&$skiptoken=${token}`)}`;
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

  /** Writes the page in chunks (Transfer-Encoding: chunked, as Graph streams), honouring back-pressure. */
  async function stream(res: http.ServerResponse, page: Page): Promise<void> {
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
  async function streamCut(res: http.ServerResponse, page: Page, records: number): Promise<void> {
    const written = (chunk: string): Promise<void> =>
      new Promise((resolve, reject) => res.write(chunk, (err) => (err ? reject(err) : resolve())));
    await written(page.head);
    for (let k = 0; k < records; k += STREAM_BATCH) {
      const batch = page.entries.slice(k, Math.min(k + STREAM_BATCH, records)).map(page.render);
      await written((k === 0 ? '' : ',') + batch.join(','));
    }
    res.socket?.destroy();
  }

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    req.resume();
    const url = new URL(req.url ?? '/', 'https://localhost');
    const entry: GraphRequest = {
      method: req.method ?? '',
      path: url.pathname,
      version: null,
      kind: null,
      filter: url.searchParams.get('$filter'),
      top: null,
      skiptoken: url.searchParams.has('$skiptoken'),
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
    if (dropsLeft > 0) {
      dropsLeft -= 1;
      entry.errorCode = 'ConnectionDropped';
      req.socket.destroy();
      return;
    }
    if (delays.left > 0) {
      delays.left -= 1;
      await sleep(delays.ms);
      entry.at = new Date();
    }

    try {
      const fault = takeFault(url.pathname);
      if (fault) {
        if (fault.status === 429) {
          entry.throttled = true;
          throttledCount += 1;
        }
        const headers: http.OutgoingHttpHeaders =
          fault.retryAfterSeconds === undefined ? {} : { 'retry-after': String(fault.retryAfterSeconds) };
        throw new GraphError(
          fault.status,
          FAULT_CODES[fault.status] ?? 'UnknownError',
          `Injected failure (HTTP ${fault.status}).`,
          headers,
        );
      }
      const route = ROUTE.exec(url.pathname);
      if (!route?.[1] || !route[2]) {
        const segment = url.pathname.split('/').filter(Boolean).at(-1) ?? '';
        throw new GraphError(400, 'BadRequest', `Resource not found for the segment '${segment}'.`);
      }
      const version: GraphApiVersion = route[1].toLowerCase() === 'beta' ? 'beta' : 'v1.0';
      const kind: GraphEventKind = route[2].toLowerCase() === 'signins' ? 'signIns' : 'directoryAudits';
      entry.version = version;
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
      const wait = throttle(check.claims.tid);
      if (wait !== undefined) {
        entry.throttled = true;
        throttledCount += 1;
        throw new GraphError(
          429,
          'TooManyRequests',
          'Too many requests.',
          { 'retry-after': formatSeconds(wait) },
          { code: '429', status: '429', message: 'Please retry after' },
        );
      }
      if (state.denyAuditLogRead) {
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
      const page = serve(url, entry, kind, version);
      entry.status = 200;
      const cut = takeCut(url.pathname);
      res.writeHead(200, { ...baseHeaders, 'content-type': CONTENT_TYPE });
      streaming = true;
      if (cut) {
        const records = Math.min(
          page.entries.length,
          cut.afterRecords ?? Math.floor(page.entries.length / 2),
        );
        entry.errorCode = 'BodyCut';
        entry.returned = records;
        await streamCut(res, page, records);
        return;
      }
      await stream(res, page);
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
  endpoint = origin;

  const rangeQuery = (
    source: EventSource,
    from: Date | undefined,
    to: Date | undefined,
    eventTypes: readonly SignInEventType[] | undefined,
  ): Query => ({
    lo: from === undefined ? null : source.ticksOfMs(from.getTime()),
    hi: to === undefined ? null : source.ticksOfMs(to.getTime()) - 1,
    types: source.kind === 'signIns' ? (eventTypes ?? SIGN_IN_EVENT_TYPES) : null,
  });

  function idOfEntry(source: EventSource, e: Entry): string {
    return source.kind === 'signIns' ? source.idOf(e.index) : (source.build(e) as DirectoryAudit).id;
  }

  function event(kind: 'signIns', index: number): BetaSignIn;
  function event(kind: 'directoryAudits', index: number): DirectoryAudit;
  function event(kind: GraphEventKind, index: number): BetaSignIn | DirectoryAudit;
  function event(kind: GraphEventKind, index: number): BetaSignIn | DirectoryAudit {
    const source = sources[kind];
    return source.build(source.entry(index));
  }

  return {
    endpoint,
    tenantId,
    throttleWindowMs,
    throttleLimit,
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
    requests,
    get throttledCount() {
      return throttledCount;
    },
    failNext({ status, times = 1, path, retryAfterSeconds }) {
      faults.push({ status, left: times, path, retryAfterSeconds });
    },
    dropNextConnection(times = 1) {
      dropsLeft += times;
    },
    cutNextBody({ times = 1, path, afterRecords } = {}) {
      cuts.push({ left: times, path, afterRecords });
    },
    delayNext(ms, times = 1) {
      delays.ms = ms;
      delays.left = times;
    },
    clearFaults() {
      faults = [];
      cuts = [];
      dropsLeft = 0;
      delays.left = 0;
    },
    resetThrottle() {
      admitted.clear();
    },
    addLateEvents(kind, events) {
      const source = sources[kind];
      return events.map(({ at, signInEventType }) => {
        const e = source.addLate(
          at.getTime(),
          kind === 'signIns' ? (signInEventType ?? 'interactiveUser') : null,
        );
        return idOfEntry(source, e);
      });
    },
    count(kind, from, to, eventTypes) {
      const source = sources[kind];
      const events = source.descending(rangeQuery(source, from, to, eventTypes), null);
      let n = 0;
      while (!events.next().done) n++;
      return n;
    },
    ids(kind, from, to, eventTypes) {
      const source = sources[kind];
      const ids = new Set<string>();
      for (const e of source.descending(rangeQuery(source, from, to, eventTypes), null)) {
        ids.add(idOfEntry(source, e));
      }
      return ids;
    },
    size: (kind) => sources[kind].size(),
    event,
    indexOf(kind, id) {
      const guid = kind === 'signIns' ? id : /^[A-Za-z]+_([0-9a-f-]{36})_/.exec(id)?.[1];
      if (guid === undefined) return undefined;
      const index = sources[kind].indexOfGuid(guid);
      if (index === undefined) return undefined;
      return kind === 'signIns' || event(kind, index).id === id ? index : undefined;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
