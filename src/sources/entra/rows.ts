import type { EntraAuditLogsRow, EntraSignInsRow } from '../../tables/generated.js';
import type { GraphDirectoryAudit, GraphSignIn } from './graphTypes.js';

/** Graph's `signInEventTypes` values; v1.0 serves interactive sign-ins only. */
export const signInEventTypes = [
  'interactiveUser',
  'nonInteractiveUser',
  'servicePrincipal',
  'managedIdentity',
] as const;
export type SignInEventType = (typeof signInEventTypes)[number];

/**
 * Maps a Graph signIn to a row, tolerating any missing or null field. An event without a time keeps
 * a null CreatedDateTime and is stamped with the collection time, so it is stored, not dropped.
 */
export function toSignInRow(
  signIn: GraphSignIn,
  context: { tenantId: string; collectedAt: Date; defaultEventType: SignInEventType },
): EntraSignInsRow {
  const created = isoOrNull(signIn.createdDateTime);
  const errorCode = signIn.status?.errorCode;
  return {
    TimeGenerated: created ?? context.collectedAt.toISOString(),
    CreatedDateTime: created,
    Id: text(signIn.id),
    UserPrincipalName: text(signIn.userPrincipalName),
    UserId: text(signIn.userId),
    UserDisplayName: text(signIn.userDisplayName),
    AppDisplayName: text(signIn.appDisplayName),
    AppId: text(signIn.appId),
    ResourceDisplayName: text(signIn.resourceDisplayName),
    ResourceIdentity: text(signIn.resourceId),
    IPAddress: text(signIn.ipAddress),
    ClientAppUsed: text(signIn.clientAppUsed),
    IsInteractive: typeof signIn.isInteractive === 'boolean' ? signIn.isInteractive : null,
    SignInEventType: text(signIn.signInEventTypes?.[0]) ?? context.defaultEventType,
    ResultType: typeof errorCode === 'number' ? String(errorCode) : null,
    ResultDescription: text(signIn.status?.failureReason),
    ConditionalAccessStatus: text(signIn.conditionalAccessStatus),
    ConditionalAccessPolicies: signIn.appliedConditionalAccessPolicies ?? null,
    RiskDetail: text(signIn.riskDetail),
    RiskLevelDuringSignIn: text(signIn.riskLevelDuringSignIn),
    RiskLevelAggregated: text(signIn.riskLevelAggregated),
    RiskState: text(signIn.riskState),
    RiskEventTypes_V2: signIn.riskEventTypes_v2 ?? null,
    Location: text(signIn.location?.countryOrRegion),
    LocationDetails: signIn.location ?? null,
    DeviceDetail: signIn.deviceDetail ?? null,
    Status: signIn.status ?? null,
    ServicePrincipalId: text(signIn.servicePrincipalId),
    ServicePrincipalName: text(signIn.servicePrincipalName),
    HomeTenantId: text(signIn.homeTenantId),
    ResourceTenantId: text(signIn.resourceTenantId),
    UserAgent: text(signIn.userAgent),
    UserType: text(signIn.userType),
    AuthenticationRequirement: text(signIn.authenticationRequirement),
    AuthenticationDetails: jsonText(signIn.authenticationDetails),
    AuthenticationProtocol: text(signIn.authenticationProtocol),
    CrossTenantAccessType: text(signIn.crossTenantAccessType),
    CorrelationId: text(signIn.correlationId),
    AADTenantId: context.tenantId,
  };
}

export function toAuditRow(
  audit: GraphDirectoryAudit,
  context: { tenantId: string; collectedAt: Date },
): EntraAuditLogsRow {
  const activity = isoOrNull(audit.activityDateTime);
  return {
    TimeGenerated: activity ?? context.collectedAt.toISOString(),
    ActivityDateTime: activity,
    Id: text(audit.id),
    Category: text(audit.category),
    OperationName: text(audit.activityDisplayName),
    ActivityDisplayName: text(audit.activityDisplayName),
    AADOperationType: text(audit.operationType),
    Result: text(audit.result),
    ResultReason: text(audit.resultReason),
    LoggedByService: text(audit.loggedByService),
    CorrelationId: text(audit.correlationId),
    InitiatedBy: audit.initiatedBy ?? null,
    TargetResources: audit.targetResources ?? null,
    AdditionalDetails: audit.additionalDetails ?? null,
    AADTenantId: context.tenantId,
  };
}

/** Strings stay strings (unknown enum values included); anything else that is not text becomes null. */
function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * A collection as JSON text, the type native SigninLogs gives such columns (AuthenticationDetails is a
 * string there): queries read it with todynamic()/parse_json(), or match it as text. Absent (v1.0) is null.
 */
function jsonText(value: unknown): string | null {
  return Array.isArray(value) ? JSON.stringify(value) : null;
}

/** Graph timestamps are ISO 8601 with up to 7 fractional digits; rows carry them normalised. */
function isoOrNull(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}
