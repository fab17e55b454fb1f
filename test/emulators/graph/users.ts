// GET /v1.0/users: the tenant's directory, as Microsoft Graph lists it.
// https://learn.microsoft.com/en-us/graph/api/user-list?view=graph-rest-1.0
//
// The directory holds the world's users (the people whose sign-ins the emulator serves, same ids and UPNs), then
// as many more as asked for, each with the profile a real directory has: enabled and disabled accounts, guests
// (#EXT# UPNs, userType Guest, invitations never redeemed), members synchronized from on-premises AD by Entra
// Connect (sAMAccountName, DNS domain name, on-premises UPN; a few no longer synchronized), cloud-only members,
// department and job title, creation time (null for some old users, as Graph documents), and signInActivity
// (absent for a user who never signed in, as Graph documents).
//
// Query options, as Graph handles them:
// - $select: only the properties named, in the order named (null ones too); unknown -> 400. Without it, Graph's
//   default set. signInActivity only when selected, and then:
//     no AuditLog.Read.All (denyAuditLogRead) -> 403 Authentication_MSGraphPermissionMissing;
//     no Entra ID P1/P2 (nonPremiumTenant)    -> 403 Authentication_RequestFromNonPremiumTenantOrB2CTenant.
// - $top: 1..999 (else 400), default 100; with signInActivity selected, pages hold at most 500 whatever $top says.
// - @odata.nextLink keeps $select and $top and adds an opaque, signed $skiptoken; $skip -> 400.
// - $filter, $search, $orderby, $count, $expand: not implemented here -> 400 saying so.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { DEPARTMENTS, FIRST_NAMES, LAST_NAMES } from './catalogues.js';
import { GraphError } from './errors.js';
import { hashString, pick, sfc32, stableGuid, type Rng } from './random.js';
import type { World } from './world.js';

export const USERS_ROUTE = /^\/v1\.0\/users\/?$/i;
/** Graph's largest $top on /users. */
export const USERS_MAX_TOP = 999;
/** Graph's largest page when signInActivity is selected (it was 120 before mid-2025). */
export const USERS_MAX_TOP_WITH_SIGN_IN_ACTIVITY = 500;
const DEFAULT_TOP = 100;

const TENANT_DOMAIN = 'contoso.onmicrosoft.com';
const MAIL_DOMAIN = 'contoso.com';
const ON_PREMISES_DOMAINS = ['corp.contoso.com', 'emea.corp.contoso.com'] as const;

// prettier-ignore
const JOB_TITLES: Readonly<Record<(typeof DEPARTMENTS)[number], readonly string[]>> = {
  Sales: ['Account Executive', 'Sales Manager', 'Sales Representative'],
  Marketing: ['Marketing Specialist', 'Product Marketing Manager', 'Content Writer'],
  Finance: ['Accountant', 'Financial Analyst', 'Controller'],
  Engineering: ['Software Engineer', 'Senior Software Engineer', 'Site Reliability Engineer', 'Engineering Manager'],
  Legal: ['Counsel', 'Paralegal'],
  Support: ['Support Engineer', 'Support Team Lead'],
};

export interface SignInActivityRecord {
  lastSignInDateTime: string | null;
  lastSignInRequestId: string | null;
  lastNonInteractiveSignInDateTime: string | null;
  lastNonInteractiveSignInRequestId: string | null;
  lastSuccessfulSignInDateTime: string | null;
  lastSuccessfulSignInRequestId: string | null;
}

/** microsoft.graph.user with the properties the emulator knows (every one selectable). */
export interface DirectoryUser {
  id: string;
  userPrincipalName: string;
  displayName: string;
  givenName: string | null;
  surname: string | null;
  mail: string | null;
  accountEnabled: boolean;
  userType: 'Member' | 'Guest';
  department: string | null;
  jobTitle: string | null;
  officeLocation: string | null;
  businessPhones: string[];
  mobilePhone: string | null;
  preferredLanguage: string | null;
  onPremisesSamAccountName: string | null;
  onPremisesDomainName: string | null;
  onPremisesUserPrincipalName: string | null;
  onPremisesSyncEnabled: boolean | null;
  createdDateTime: string | null;
  /** Absent: the user never signed in (or not since April 2020). */
  signInActivity?: SignInActivityRecord;
}

/** Returned without $select (Graph's default set for users). */
const DEFAULT_PROPERTIES: readonly (keyof DirectoryUser)[] = [
  'businessPhones',
  'displayName',
  'givenName',
  'id',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
];
const KNOWN_PROPERTIES: readonly (keyof DirectoryUser)[] = [
  ...DEFAULT_PROPERTIES,
  'accountEnabled',
  'userType',
  'department',
  'onPremisesSamAccountName',
  'onPremisesDomainName',
  'onPremisesUserPrincipalName',
  'onPremisesSyncEnabled',
  'createdDateTime',
  'signInActivity',
];

export interface UserDirectoryOptions {
  /** Users in the directory: the world's 600 first, then generated ones. Default 600. */
  count?: number;
  /** Users seeded as given (e.g. the demo's leavers), listed after the generated ones. */
  extra?: readonly DirectoryUser[];
}

/** What the caller may read, as the server knows it. */
export interface UsersAccess {
  /** The identity has AuditLog.Read.All (needed for signInActivity). */
  auditLogRead: boolean;
  /** The tenant has Entra ID P1/P2 (needed for signInActivity). */
  premium: boolean;
}

export interface UsersPage {
  /** The JSON text up to and including `"value":[`. */
  head: string;
  entries: DirectoryUser[];
  render: (user: DirectoryUser) => string;
}

const ascii = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');
const isoSeconds = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const DAY_MS = 86_400_000;
const FIRST_CREATED_MS = Date.UTC(2014, 0, 1);

export class UserDirectory {
  readonly users: readonly DirectoryUser[];
  private readonly tokenKey = randomBytes(32);

  constructor(world: World, options: UserDirectoryOptions = {}, now: Date = new Date()) {
    const count = options.count ?? world.users.length;
    if (!Number.isInteger(count) || count < 0) throw new Error('users.count must be a whole number');
    const sams = new Set<string>();
    const users: DirectoryUser[] = [];
    for (let u = 0; u < count; u++) users.push(this.user(world, u, now.getTime(), sams));
    users.push(...(options.extra ?? []));
    this.users = users;
  }

  private user(world: World, u: number, nowMs: number, sams: Set<string>): DirectoryUser {
    const rnd = sfc32(world.key, hashString('directory-user'), u, 0x5e);
    const pooled = world.users[u];
    const first = FIRST_NAMES[u % FIRST_NAMES.length] ?? 'User';
    const last = LAST_NAMES[Math.floor(u / FIRST_NAMES.length) % LAST_NAMES.length] ?? 'Name';
    const id = pooled?.id ?? stableGuid(world.key, 'user', u);
    const displayName = pooled?.displayName ?? `${first} ${last}`;
    const [givenName = first, surname = last] = displayName.split(' ');
    const guest = pooled?.guest ?? u % 37 === 36;
    const local = pooled
      ? (pooled.userPrincipalName.split(/[_@]/)[0] ?? `user${u}`)
      : `${ascii(first)}.${ascii(last)}.${u}`.toLowerCase();
    const guestDomain = pick(rnd, ['fabrikam.com', 'tailspintoys.com', 'gmail.com']);
    const userPrincipalName =
      pooled?.userPrincipalName ??
      (guest ? `${local}_${guestDomain}#EXT#@${TENANT_DOMAIN}` : `${local}@${TENANT_DOMAIN}`);
    const externalMail = /^(.+)_([^_#]+)#EXT#@/.exec(userPrincipalName);
    const department = guest ? null : pick(rnd, DEPARTMENTS);
    const jobTitle = department === null ? null : pick(rnd, JOB_TITLES[department]);
    // Members: 70 % synchronized from on-premises AD, 3 % were and no longer are, the rest cloud-only.
    const syncRoll = rnd();
    const onPremises = !guest && syncRoll < 0.73;
    const domain = pick(rnd, ON_PREMISES_DOMAINS);
    let sam: string | null = null;
    if (onPremises) {
      const base = ascii(`${givenName.charAt(0)}${surname}`)
        .toLowerCase()
        .replace(/[^a-z0-9]/g, '')
        .slice(0, 16);
      sam = base;
      for (let n = 2; sams.has(sam); n++) sam = `${base}${n}`;
      sams.add(sam);
    }
    const enabledRoll = rnd();
    const accountEnabled = guest ? enabledRoll > 0.1 : enabledRoll > 0.06;
    // Created any time from 2014 (a tenant that old) until yesterday.
    const createdMs = FIRST_CREATED_MS + Math.floor(rnd() * Math.max(0, nowMs - DAY_MS - FIRST_CREATED_MS));
    // Graph: null for some users created (or synchronized) before June 2018.
    const createdDateTime = createdMs < Date.UTC(2018, 5, 1) && rnd() < 0.4 ? null : isoSeconds(createdMs);
    return {
      id,
      userPrincipalName,
      displayName,
      givenName: guest ? null : givenName,
      surname: guest ? null : surname,
      mail: guest
        ? externalMail
          ? `${externalMail[1]}@${externalMail[2]}`
          : null
        : rnd() < 0.05
          ? null
          : `${local}@${MAIL_DOMAIN}`,
      accountEnabled,
      userType: guest ? 'Guest' : 'Member',
      department,
      jobTitle,
      officeLocation: guest ? null : (pooled?.home.city ?? null),
      businessPhones:
        guest || rnd() < 0.3 ? [] : [`+1 425 555 ${String(1000 + (u % 9000)).padStart(4, '0')}`],
      mobilePhone: null,
      preferredLanguage: guest ? null : 'en-US',
      onPremisesSamAccountName: sam,
      onPremisesDomainName: onPremises ? domain : null,
      onPremisesUserPrincipalName: sam ? `${sam}@${domain}` : null,
      onPremisesSyncEnabled: onPremises ? syncRoll < 0.7 : null,
      createdDateTime,
      ...signInActivity(rnd, { guest, accountEnabled, createdMs, nowMs, key: world.key, u }),
    };
  }

  /** Checks the query options and selects the page (and writes nothing). */
  page(url: URL, endpoint: string, access: UsersAccess): UsersPage {
    for (const name of url.searchParams.keys()) {
      if (name === '$skip')
        throw new GraphError(
          400,
          'BadRequest',
          "'$skip' is not supported by the service. Use the @odata.nextLink.",
        );
      if (!['$select', '$top', '$skiptoken'].includes(name))
        throw new GraphError(400, 'BadRequest', `The Graph emulator does not implement '${name}' on /users.`);
    }
    const selectText = url.searchParams.get('$select');
    const select = selectText === null ? [...DEFAULT_PROPERTIES] : parseSelect(selectText);
    const withSignInActivity = select.includes('signInActivity');
    if (withSignInActivity && !access.auditLogRead) {
      throw new GraphError(
        403,
        'Authentication_MSGraphPermissionMissing',
        'Calling principal does not have required MSGraph permissions AuditLog.Read.All',
      );
    }
    if (withSignInActivity && !access.premium) {
      throw new GraphError(
        403,
        'Authentication_RequestFromNonPremiumTenantOrB2CTenant',
        "Neither tenant is B2C or tenant doesn't have premium license",
      );
    }
    const topText = url.searchParams.get('$top');
    let top = DEFAULT_TOP;
    if (topText !== null) {
      top = /^\d+$/.test(topText) ? Number(topText) : NaN;
      if (!Number.isInteger(top) || top < 1 || top > USERS_MAX_TOP) {
        throw new GraphError(
          400,
          'Request_BadRequest',
          `Invalid page size specified: '${topText}'. Must be between 1 and ${USERS_MAX_TOP} inclusive.`,
        );
      }
    }
    const size = withSignInActivity ? Math.min(top, USERS_MAX_TOP_WITH_SIGN_IN_ACTIVITY) : top;
    const skiptoken = url.searchParams.get('$skiptoken');
    const offset = skiptoken === null ? 0 : this.decode(skiptoken);
    const entries = this.users.slice(offset, offset + size);
    const next = offset + size < this.users.length ? this.encode(offset + size) : undefined;

    const context = `${endpoint}/v1.0/$metadata#users${selectText === null ? '' : `(${select.join(',')})`}`;
    let head = `{"@odata.context":${JSON.stringify(context)}`;
    if (next !== undefined) {
      const query = [
        ...(selectText === null ? [] : [`$select=${encodeURIComponent(selectText).replace(/%2C/gi, ',')}`]),
        ...(topText === null ? [] : [`$top=${topText}`]),
        `$skiptoken=${next}`,
      ];
      head += `,"@odata.nextLink":${JSON.stringify(`${endpoint}/v1.0/users?${query.join('&')}`)}`;
    }
    return {
      head: `${head},"value":[`,
      entries,
      render: (user) => JSON.stringify(project(user, select)),
    };
  }

  private encode(offset: number): string {
    const payload = Buffer.from(JSON.stringify(['users', offset])).toString('base64url');
    const mac = createHmac('sha256', this.tokenKey)
      .update(payload)
      .digest()
      .subarray(0, 16)
      .toString('base64url');
    return `${payload}.${mac}`;
  }

  private decode(token: string): number {
    const invalid = new GraphError(
      400,
      'Request_BadRequest',
      `Invalid $skiptoken value: '${token.slice(0, 40)}'.`,
    );
    const [payload, mac] = token.split('.');
    if (!payload || !mac) throw invalid;
    const expected = createHmac('sha256', this.tokenKey).update(payload).digest().subarray(0, 16);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
    const [kind, offset] = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [string, number];
    if (kind !== 'users' || !Number.isInteger(offset)) throw invalid;
    return offset;
  }
}

function parseSelect(text: string): (keyof DirectoryUser)[] {
  const names = text.split(',').map((name) => name.trim());
  if (names.some((name) => name === ''))
    throw new GraphError(400, 'BadRequest', `Invalid $select: '${text}'.`);
  const selected: (keyof DirectoryUser)[] = [];
  for (const name of names) {
    // Graph matches property names case-insensitively and answers with the declared spelling.
    const known = KNOWN_PROPERTIES.find((property) => property.toLowerCase() === name.toLowerCase());
    if (!known) {
      throw new GraphError(
        400,
        'BadRequest',
        `Could not find a property named '${name}' on type 'microsoft.graph.user'.`,
      );
    }
    if (!selected.includes(known)) selected.push(known);
  }
  return selected;
}

/** The selected properties of a user, null ones included; signInActivity only for users who signed in. */
function project(user: DirectoryUser, select: readonly (keyof DirectoryUser)[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of select) {
    if (name === 'signInActivity' && user.signInActivity === undefined) continue;
    out[name] = user[name];
  }
  return out;
}

/**
 * Sign-in activity: none for about a third of guests (invitations never redeemed), most disabled accounts
 * and a few enabled members; otherwise interactive sign-ins mostly within weeks (some stale for months),
 * non-interactive ones more recent, and the last successful one at or before the later of the two.
 */
function signInActivity(
  rnd: Rng,
  user: { guest: boolean; accountEnabled: boolean; createdMs: number; nowMs: number; key: number; u: number },
): { signInActivity?: SignInActivityRecord } {
  const never = user.guest ? rnd() < 0.35 : user.accountEnabled ? rnd() < 0.04 : rnd() < 0.6;
  if (never) return {};
  const age = (maxDays: number) => Math.floor(rnd() * maxDays * DAY_MS);
  const stale = rnd() < 0.12;
  const shape = rnd();
  // Mostly both kinds; some only interactive (no client on their behalf), a few only non-interactive.
  const interactive =
    shape < 0.05 ? null : Math.max(user.createdMs, user.nowMs - (stale ? 120 * DAY_MS + age(400) : age(30)));
  const nonInteractive =
    shape >= 0.05 && shape < 0.2
      ? null
      : Math.max(interactive ?? user.createdMs, user.nowMs - age(stale ? 200 : 3));
  const latest = Math.max(interactive ?? 0, nonInteractive ?? 0);
  // The last attempt failed now and then: the last success came earlier.
  const successful = rnd() < 0.1 ? Math.max(user.createdMs, latest - age(5)) : latest;
  const requestId = (n: number) => stableGuid(user.key, 'sign-in-activity', user.u * 4 + n);
  return {
    signInActivity: {
      lastSignInDateTime: interactive === null ? null : isoSeconds(interactive),
      lastSignInRequestId: interactive === null ? null : requestId(0),
      lastNonInteractiveSignInDateTime: nonInteractive === null ? null : isoSeconds(nonInteractive),
      lastNonInteractiveSignInRequestId: nonInteractive === null ? null : requestId(1),
      lastSuccessfulSignInDateTime: isoSeconds(successful),
      lastSuccessfulSignInRequestId: requestId(2),
    },
  };
}
