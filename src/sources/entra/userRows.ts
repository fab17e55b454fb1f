import type { EntraUsersRow } from '../../tables/generated.js';

/**
 * microsoft.graph.user as /v1.0/users answers with `$select` of `userSelect` (the properties the
 * mapping reads). Every property may be null or missing: Graph leaves out what a user does not have.
 * https://learn.microsoft.com/en-us/graph/api/resources/user?view=graph-rest-1.0
 */
export interface GraphUser {
  id?: string | null;
  userPrincipalName?: string | null;
  displayName?: string | null;
  mail?: string | null;
  accountEnabled?: boolean | null;
  /** `Member` or `Guest`. */
  userType?: string | null;
  department?: string | null;
  jobTitle?: string | null;
  /** Only for users synchronized from on-premises AD by Entra Connect. */
  onPremisesSamAccountName?: string | null;
  onPremisesDomainName?: string | null;
  onPremisesUserPrincipalName?: string | null;
  onPremisesSyncEnabled?: boolean | null;
  /** Null for some users created before June 2018. */
  createdDateTime?: string | null;
  /**
   * Only with `$select=signInActivity` (Entra ID P1/P2 and AuditLog.Read.All); absent for a user who never
   * signed in or last signed in before April 2020.
   * https://learn.microsoft.com/en-us/graph/api/resources/signinactivity?view=graph-rest-1.0
   */
  signInActivity?: GraphSignInActivity | null;
}

export interface GraphSignInActivity {
  /** Last interactive sign-in attempt, successful or not. */
  lastSignInDateTime?: string | null;
  /** Last non-interactive sign-in attempt (a client on the user's behalf), successful or not. */
  lastNonInteractiveSignInDateTime?: string | null;
  /** Last successful sign-in, interactive or not (recorded since December 2023, not backfilled). */
  lastSuccessfulSignInDateTime?: string | null;
}

/** The `$select` of the snapshot, without signInActivity (which needs a licence and a role of its own). */
export const userSelect = [
  'id',
  'userPrincipalName',
  'displayName',
  'mail',
  'accountEnabled',
  'userType',
  'department',
  'jobTitle',
  'onPremisesSamAccountName',
  'onPremisesDomainName',
  'onPremisesUserPrincipalName',
  'onPremisesSyncEnabled',
  'createdDateTime',
] as const;

export interface UserSnapshot {
  /** The run ID: every row of one snapshot carries it (SnapshotId). */
  readonly id: string;
  /** The run's start: every row of one snapshot carries it (TimeGenerated). */
  readonly time: Date;
  readonly tenantId: string;
  /** Whether the snapshot asked for signInActivity (false: Graph refused it, the Last* columns stay null). */
  readonly signInActivityCollected: boolean;
}

/** Maps a Graph user to a row of the snapshot, tolerating any missing, null or mistyped field. */
export function toUserRow(user: GraphUser, snapshot: UserSnapshot): EntraUsersRow {
  const activity = snapshot.signInActivityCollected ? user.signInActivity : undefined;
  return {
    TimeGenerated: snapshot.time.toISOString(),
    SnapshotId: snapshot.id,
    UserId: text(user.id),
    UserPrincipalName: text(user.userPrincipalName),
    UserDisplayName: text(user.displayName),
    Mail: text(user.mail),
    AccountEnabled: flag(user.accountEnabled),
    UserType: text(user.userType),
    Department: text(user.department),
    JobTitle: text(user.jobTitle),
    OnPremisesSamAccountName: text(user.onPremisesSamAccountName),
    OnPremisesDomainName: text(user.onPremisesDomainName),
    OnPremisesUserPrincipalName: text(user.onPremisesUserPrincipalName),
    OnPremisesSyncEnabled: flag(user.onPremisesSyncEnabled),
    CreatedDateTime: isoOrNull(user.createdDateTime),
    LastSignInDateTime: isoOrNull(activity?.lastSignInDateTime),
    LastNonInteractiveSignInDateTime: isoOrNull(activity?.lastNonInteractiveSignInDateTime),
    LastSuccessfulSignInDateTime: isoOrNull(activity?.lastSuccessfulSignInDateTime),
    SignInActivityCollected: snapshot.signInActivityCollected,
    AADTenantId: snapshot.tenantId,
  };
}

/** Strings stay strings (unknown values included); anything else that is not text becomes null. */
function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function flag(value: unknown): boolean | null {
  return typeof value === 'boolean' ? value : null;
}

/** Graph timestamps are ISO 8601 with up to 7 fractional digits; rows carry them normalised. */
function isoOrNull(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const time = Date.parse(value);
  return Number.isNaN(time) ? null : new Date(time).toISOString();
}
