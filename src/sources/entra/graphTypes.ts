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
  // beta only (the v1.0 signIn has none of these: learn.microsoft.com/graph/api/resources/signin)
  signInEventTypes?: string[] | null;
  servicePrincipalId?: string | null;
  servicePrincipalName?: string | null;
  homeTenantId?: string | null;
  resourceTenantId?: string | null;
  userAgent?: string | null;
  /** signInUserType: member, guest, unknownFutureValue. */
  userType?: string | null;
  /** singleFactorAuthentication or multiFactorAuthentication. */
  authenticationRequirement?: string | null;
  /** authenticationDetail collection: one entry per authentication step. */
  authenticationDetails?: GraphAuthenticationDetail[] | null;
  /** protocolType: none, oAuth2, ropc, wsFederation, saml20, deviceCode, … */
  authenticationProtocol?: string | null;
  /** signInAccessType: none, b2bCollaboration, b2bDirectConnect, microsoftSupport, serviceProvider, … */
  crossTenantAccessType?: string | null;
}

/** microsoft.graph.authenticationDetail (beta). */
export interface GraphAuthenticationDetail {
  authenticationMethod?: string | null;
  authenticationMethodDetail?: string | null;
  authenticationStepDateTime?: string | null;
  authenticationStepRequirement?: string | null;
  authenticationStepResultDetail?: string | null;
  succeeded?: boolean | null;
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
