// Emulates the Microsoft Graph audit-log endpoints over HTTPS, as a Graph client (an @azure/core-rest-pipeline
// pipeline with bearerTokenAuthenticationPolicy and a ManagedIdentityCredential) calls them:
//   GET /v1.0/auditLogs/signIns          interactive user sign-ins only (isInteractive true)
//   GET /beta/auditLogs/signIns          + signInEventTypes & co; all four event types behind a filter
//   GET /{v1.0|beta}/auditLogs/directoryAudits
//   GET /v1.0/users                      the directory: $select, $top, @odata.nextLink (users.ts)
//   Authorization: Bearer <token for https://graph.microsoft.com>
// Answers { "@odata.context", "@odata.nextLink"?, "value": [...] } newest first, or Graph's error shape
// { "error": { "code", "message", "innerError": { "date", "request-id", "client-request-id" } } }.
//
// The parts, under graph/:
//   types.ts      options, the emulator handle and the resource shapes
//   random.ts     seeded hashing, PRNG and invertible ids
//   catalogues.ts names, apps, places, error codes, policies, audit activities
//   world.ts      the synthetic tenant (users, workloads, policies, roles, groups)
//   signIns.ts    sign-in records (and their v1.0 view); audits.ts: directory-audit records
//   users.ts      the directory /v1.0/users lists, its $select, $top and paging
//   source.ts     lazy event sources: times, ordering, late events, records on demand
//   query.ts      $filter, $top and $skiptoken (keyset paging)
//   faults.ts     the throttle (429 with Retry-After) and injected faults
//   server.ts     the HTTPS server and startGraphEmulator
export { startGraphEmulator } from './graph/server.js';
export { toV1SignIn } from './graph/signIns.js';
export type { DirectoryUser, SignInActivityRecord } from './graph/users.js';
export {
  SIGN_IN_EVENT_TYPES,
  type BetaSignIn,
  type DirectoryAudit,
  type GraphApiVersion,
  type GraphEmulator,
  type GraphErrorBody,
  type GraphEventKind,
  type GraphListResponse,
  type SignIn,
  type SignInEventType,
} from './graph/types.js';
export { startGraphTenants, type GraphTenants } from './graph/tenants.js';
