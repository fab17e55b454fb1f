// The synthetic tenant the events happen in: 600 users (some guests) with a home place, IP and device, the
// service principals and managed identities of workload sign-ins, and stable ids for policies, roles and groups.
// Built once per emulator from the seed; events pick from it.
import {
  CA_POLICIES,
  DEVICE_PROFILES,
  FIRST_NAMES,
  GROUPS,
  LAST_NAMES,
  MANAGED_IDENTITY_NAMES,
  PLACES,
  ROLES,
  SERVICE_PRINCIPAL_NAMES,
  type Place,
} from './catalogues.js';
import { pick, sfc32, stableGuid, weighted } from './random.js';

const TENANT_DOMAIN = 'contoso.onmicrosoft.com';

const ascii = (s: string): string => s.normalize('NFD').replace(/[\u0300-\u036f]/g, '');

export interface PoolUser {
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

export interface Workload {
  appId: string;
  servicePrincipalId: string;
  displayName: string;
}

export interface World {
  tenantId: string;
  users: PoolUser[];
  servicePrincipals: Workload[];
  managedIdentities: Workload[];
  policies: { id: string; displayName: string; grant: readonly string[] }[];
  roleIds: string[];
  groupIds: string[];
  key: number;
}

export function buildWorld(key: number, tenantId: string): World {
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
    const upn = guest
      ? `${local}_${pick(rnd, guestDomains)}#EXT#@${TENANT_DOMAIN}`
      : `${local}@${TENANT_DOMAIN}`;
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
  return {
    tenantId,
    users,
    servicePrincipals: SERVICE_PRINCIPAL_NAMES.map((displayName, n) => ({
      appId: stableGuid(key, 'sp-app', n),
      servicePrincipalId: stableGuid(key, 'sp', n),
      displayName,
    })),
    managedIdentities: MANAGED_IDENTITY_NAMES.map((displayName, n) => ({
      appId: stableGuid(key, 'mi-app', n),
      servicePrincipalId: stableGuid(key, 'mi', n),
      displayName,
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
