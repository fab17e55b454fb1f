// The demo's people on both clouds (issue 17), seeded consistently: every IAM user of the realistic account is
// named after an Entra user of the Graph emulator's directory who is enabled and signs in (by the forms the
// matching rules of infra/people/matching.json know: bare UPN name, full UPN in another case, sAMAccountName,
// mail address), so that the only leavers and orphans are the ones seeded here:
// - Dana Whitfield: disabled in Entra ID (a "Disable account" audit 6 h ago), IAM user dana.whitfield with a
//   900-day-old key used 2 h ago — after she left;
// - Ravi Okafor: enabled but no sign-in for 200 days, IAM user rokafor (his sAMAccountName) with an active key;
// - jenkins-legacy: an IAM user with an active key that names nobody (an orphan key);
// - svc-reporting: a service user whose name names nobody either, but its owner tag does (not an orphan).
import type { DirectoryAudit, DirectoryUser } from '../emulators/graph.js';
import type { LateEvent } from '../emulators/graph/types.js';
import type { SeedIamSpec, SeedUser } from '../emulators/moto.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface DemoPeople {
  /** Entra users the Graph emulator's directory lists besides its generated ones. */
  readonly directoryUsers: DirectoryUser[];
  /** Directory audits the Graph emulator serves besides its generated ones. */
  readonly audits: LateEvent[];
  /** Leavers with an active key the demo must print, by display name. */
  readonly leavers: readonly string[];
  /** IAM users whose active keys are orphans. */
  readonly orphans: readonly string[];
  /** IAM users matched to their owner by a tag only. */
  readonly tagged: readonly string[];
}

const iso = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

function directoryUser(
  fields: Partial<DirectoryUser> & Pick<DirectoryUser, 'id' | 'userPrincipalName' | 'displayName'>,
): DirectoryUser {
  const [givenName = null, surname = null] = fields.displayName.split(' ');
  return {
    givenName,
    surname,
    mail: null,
    accountEnabled: true,
    userType: 'Member',
    department: null,
    jobTitle: null,
    officeLocation: null,
    businessPhones: [],
    mobilePhone: null,
    preferredLanguage: 'en-US',
    onPremisesSamAccountName: null,
    onPremisesDomainName: null,
    onPremisesUserPrincipalName: null,
    onPremisesSyncEnabled: null,
    createdDateTime: null,
    ...fields,
  };
}

export function demoPeople(now: Date): DemoPeople {
  const t = now.getTime();
  const dana = directoryUser({
    id: '5d1b1e0a-0d5a-4c1e-9a11-000000000d01',
    userPrincipalName: 'dana.whitfield@contoso.onmicrosoft.com',
    displayName: 'Dana Whitfield',
    mail: 'dana.whitfield@contoso.com',
    accountEnabled: false,
    department: 'Finance',
    jobTitle: 'Controller',
    createdDateTime: iso(t - 2000 * DAY),
    signInActivity: {
      lastSignInDateTime: iso(t - 20 * DAY),
      lastSignInRequestId: null,
      lastNonInteractiveSignInDateTime: iso(t - 19 * DAY),
      lastNonInteractiveSignInRequestId: null,
      lastSuccessfulSignInDateTime: iso(t - 19 * DAY),
      lastSuccessfulSignInRequestId: null,
    },
  });
  const ravi = directoryUser({
    id: '5d1b1e0a-0d5a-4c1e-9a11-000000000d02',
    userPrincipalName: 'ravi.okafor@contoso.onmicrosoft.com',
    displayName: 'Ravi Okafor',
    mail: 'ravi.okafor@contoso.com',
    department: 'Engineering',
    jobTitle: 'Site Reliability Engineer',
    onPremisesSamAccountName: 'rokafor',
    onPremisesDomainName: 'corp.contoso.com',
    onPremisesUserPrincipalName: 'rokafor@corp.contoso.com',
    onPremisesSyncEnabled: true,
    createdDateTime: iso(t - 2500 * DAY),
    signInActivity: {
      lastSignInDateTime: iso(t - 200 * DAY),
      lastSignInRequestId: null,
      lastNonInteractiveSignInDateTime: iso(t - 199 * DAY),
      lastNonInteractiveSignInRequestId: null,
      lastSuccessfulSignInDateTime: iso(t - 199 * DAY),
      lastSuccessfulSignInRequestId: null,
    },
  });
  const disabled: LateEvent = {
    at: new Date(t - 6 * HOUR),
    edit: (audit: DirectoryAudit): DirectoryAudit => ({
      ...audit,
      category: 'UserManagement',
      activityDisplayName: 'Disable account',
      loggedByService: 'Core Directory',
      operationType: 'Update',
      result: 'success',
      resultReason: '',
      targetResources: [
        {
          id: dana.id,
          displayName: null,
          type: 'User',
          userPrincipalName: dana.userPrincipalName,
          groupType: null,
          modifiedProperties: [{ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' }],
        },
      ],
    }),
  };
  return {
    directoryUsers: [dana, ravi],
    audits: [disabled],
    leavers: [dana.displayName, ravi.displayName],
    orphans: ['jenkins-legacy'],
    tagged: ['svc-reporting'],
  };
}

/** The latest sign-in the people block counts (block.kql.tmpl: SnapshotSignIn), or null. */
function lastSignIn(user: DirectoryUser): number | null {
  const a = user.signInActivity;
  if (!a) return null;
  const successful = a.lastSuccessfulSignInDateTime ? Date.parse(a.lastSuccessfulSignInDateTime) : null;
  if (successful !== null) return successful;
  const attempts = [a.lastSignInDateTime, a.lastNonInteractiveSignInDateTime]
    .filter((v): v is string => v !== null)
    .map(Date.parse);
  return attempts.length > 0 ? Math.max(...attempts) : null;
}

/**
 * The realistic account with every IAM user renamed after an active Entra user of `directory` (enabled
 * members who signed in within 60 days), in turn by each form the rules match, plus the seeded people's IAM
 * users. IAM user names allow letters, digits and + = , . @ _ - (no backslash: no DOMAIN\name).
 */
export function withDemoPeople(
  spec: SeedIamSpec,
  directory: readonly DirectoryUser[],
  now: Date,
): SeedIamSpec {
  const t = now.getTime();
  const ago = (days: number, hours = 0) => iso(t - days * DAY - hours * HOUR);
  const active = directory.filter(
    (user) =>
      user.accountEnabled &&
      user.userType === 'Member' &&
      (lastSignIn(user) ?? 0) > t - 60 * DAY &&
      !['dana.whitfield@contoso.onmicrosoft.com', 'ravi.okafor@contoso.onmicrosoft.com'].includes(
        user.userPrincipalName,
      ),
  );
  if (active.length < spec.users.length + 1)
    throw new Error(`the directory has ${active.length} active users for ${spec.users.length + 1} IAM users`);
  const reportingOwner = active[spec.users.length] as DirectoryUser;
  const nameFor = (user: DirectoryUser, i: number): string => {
    const bare = user.userPrincipalName.split('@')[0] ?? user.userPrincipalName;
    switch (i % 4) {
      case 0:
        return bare; // name-upn-bare
      case 1:
        return user.userPrincipalName.replace(/^./, (c) => c.toUpperCase()); // name-upn, another case
      case 2:
        return user.onPremisesSamAccountName ?? bare; // name-sam
      default:
        return user.mail ?? user.userPrincipalName; // name-mail
    }
  };
  const renamed = spec.users.map((user, i) => ({ ...user, name: nameFor(active[i] as DirectoryUser, i) }));
  const seeded: SeedUser[] = [
    {
      name: 'dana.whitfield',
      createDate: ago(1500),
      passwordEnabled: true,
      mfaActive: true,
      keys: [
        {
          createDate: ago(900),
          status: 'Active',
          lastUsed: { date: ago(0, 2), region: 'eu-west-1', service: 's3' },
        },
      ],
    },
    {
      name: 'rokafor',
      createDate: ago(1200),
      passwordEnabled: false,
      mfaActive: false,
      keys: [
        {
          createDate: ago(400),
          status: 'Active',
          lastUsed: { date: ago(10), region: 'us-east-1', service: 'ec2' },
        },
      ],
    },
    {
      name: 'svc-reporting',
      createDate: ago(700),
      passwordEnabled: false,
      mfaActive: false,
      tags: [
        { key: 'team', value: 'finance-bi' },
        { key: 'Owner', value: reportingOwner.mail ?? reportingOwner.userPrincipalName },
      ],
      keys: [
        {
          createDate: ago(300),
          status: 'Active',
          lastUsed: { date: ago(0, 5), region: 'eu-west-1', service: 'athena' },
        },
      ],
    },
    {
      name: 'jenkins-legacy',
      createDate: ago(1100),
      passwordEnabled: false,
      mfaActive: false,
      keys: [
        {
          createDate: ago(1000),
          status: 'Active',
          lastUsed: { date: ago(1), region: 'us-east-1', service: 'sts' },
        },
      ],
    },
  ];
  return { ...spec, users: [...renamed, ...seeded] };
}
