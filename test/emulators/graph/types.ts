// The Graph emulator's public types: the options, the emulator handle, and the resource shapes it serves.
import type { ManagedIdentityEmulator } from '../managedIdentity.js';
import type { DirectoryUser, UserDirectoryOptions } from './users.js';

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
  /** The directory /v1.0/users lists (see users.ts). Default: the world's 600 users. */
  users?: UserDirectoryOptions;
  /** Home tenant of the generated users and apps. Default: derived from the seed. */
  tenantId?: string;
  /** Default { limit: 5 } per tenant, over a 10 s window divided by timeScale. */
  throttle?: { limit?: number };
  /** Divides the throttle window and so Retry-After. Default 1. */
  timeScale?: number;
  /**
   * The base URL clients use, when it is not this server's own: a front that routes several tenants'
   * emulators behind one Graph host (tenants.ts). Links (@odata.nextLink) point there.
   */
  publicEndpoint?: string;
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

/** microsoft.graph.signIn as served by /v1.0 (the properties the collectors map). */
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
  riskEventTypes_v2: string[];
  resourceDisplayName: string;
  resourceId: string;
  status: SignInStatus;
  deviceDetail: SignInDeviceDetail;
  location: SignInLocation;
  appliedConditionalAccessPolicies: AppliedConditionalAccessPolicy[];
}

/** microsoft.graph.authenticationDetail (beta): one step of a sign-in's authentication. */
export interface AuthenticationDetail {
  authenticationStepDateTime: string;
  authenticationMethod: string;
  authenticationMethodDetail: string | null;
  succeeded: boolean;
  authenticationStepResultDetail: string;
  authenticationStepRequirement: string;
}

/**
 * microsoft.graph.signIn as served by /beta: the v1.0 shape plus the beta-only properties the collectors map
 * (workload identities, tenants, user agent and type, authentication requirement, steps and protocol).
 */
export interface BetaSignIn extends SignIn {
  signInEventTypes: SignInEventType[];
  servicePrincipalId: string;
  servicePrincipalName: string | null;
  homeTenantId: string;
  resourceTenantId: string;
  userAgent: string;
  userType: 'member' | 'guest';
  authenticationRequirement: 'singleFactorAuthentication' | 'multiFactorAuthentication';
  authenticationDetails: AuthenticationDetail[];
  authenticationProtocol: 'none' | 'ropc' | 'deviceCode';
  crossTenantAccessType: 'none' | 'b2bCollaboration';
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
  /** URL path, e.g. /v1.0/auditLogs/signIns. */
  path: string;
  /** null when the path is not an audit-log route (or a fault was injected before routing). */
  kind: GraphEventKind | null;
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
  /** Directory audits only: changes the generated record (keep its id and time), e.g. a given activity on a given user. */
  edit?: (audit: DirectoryAudit) => DirectoryAudit;
}

export interface GraphEmulator {
  /** https://localhost:<port>: the Graph base URL (requests go to `${endpoint}/v1.0/auditLogs/...`). */
  readonly endpoint: string;
  /** Where this server itself listens: the endpoint, unless it sits behind a front (publicEndpoint). */
  readonly origin: string;
  /** The sliding-window length in real milliseconds (10,000 / timeScale). */
  readonly throttleWindowMs: number;
  /**
   * No AuditLog.Read.All: 403 Authorization_RequestDenied on every audit-log call, and 403
   * Authentication_MSGraphPermissionMissing on /users with signInActivity selected. Default false.
   */
  denyAuditLogRead: boolean;
  /**
   * 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant on sign-ins and on /users with signInActivity
   * selected (audits and the rest of /users still work). Default false.
   */
  nonPremiumTenant: boolean;
  /** Every user /v1.0/users lists, in its order, with every property (signInActivity absent: never signed in). */
  readonly users: readonly DirectoryUser[];
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
