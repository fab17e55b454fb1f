// The parts of Graph's signIn and directoryAudit resources we map. Everything is optional and may be
// null: Graph omits and nulls fields freely, and enums gain values (`unknownFutureValue` and later).

export interface GraphSignIn {
  id?: string | null;
  createdDateTime?: string | null;
  userDisplayName?: string | null;
  userPrincipalName?: string | null;
  userId?: string | null;
  appId?: string | null;
  appDisplayName?: string | null;
  ipAddress?: string | null;
  clientAppUsed?: string | null;
  correlationId?: string | null;
  conditionalAccessStatus?: string | null;
  appliedConditionalAccessPolicies?: unknown;
  isInteractive?: boolean | null;
  riskDetail?: string | null;
  riskLevelAggregated?: string | null;
  riskLevelDuringSignIn?: string | null;
  riskState?: string | null;
  riskEventTypes_v2?: unknown;
  resourceDisplayName?: string | null;
  resourceId?: string | null;
  status?: {
    errorCode?: number | null;
    failureReason?: string | null;
    additionalDetails?: string | null;
  } | null;
  deviceDetail?: unknown;
  location?: { countryOrRegion?: string | null } | null;
  // beta only
  signInEventTypes?: string[] | null;
  servicePrincipalId?: string | null;
  servicePrincipalName?: string | null;
  homeTenantId?: string | null;
  resourceTenantId?: string | null;
}

export interface GraphDirectoryAudit {
  id?: string | null;
  category?: string | null;
  correlationId?: string | null;
  result?: string | null;
  resultReason?: string | null;
  activityDisplayName?: string | null;
  activityDateTime?: string | null;
  loggedByService?: string | null;
  operationType?: string | null;
  initiatedBy?: unknown;
  targetResources?: unknown;
  additionalDetails?: unknown;
}
