// Sign-in records: one microsoft.graph.signIn (beta shape) from the tenant, a seeded stream and the event's id,
// time and type. User sign-ins fail with the usual Entra codes, roam, come from managed or unmanaged devices and
// carry Conditional Access and risk details, their user agent, member or guest, the authentication they needed
// and its steps; workload sign-ins (service principals, managed identities) have no user. toV1SignIn gives the
// /v1.0 view of a record, without the beta-only properties.
import {
  AZURE_PLACES,
  CLIENT_APPS,
  DEVICE_CODE_APPS,
  FAILURES,
  MFA_METHODS,
  OS_USER_AGENT_TOKENS,
  PLACES,
  RESOURCES,
  RISK_EVENTS,
  ROPC_USER_AGENT,
  UNMANAGED_PROFILES,
  WORKLOAD_RESOURCES,
  type Place,
} from './catalogues.js';
import { hex4, pick, randomGuid, stableGuid, weighted, word, type Rng } from './random.js';
import type {
  AppliedConditionalAccessPolicy,
  AuthenticationDetail,
  BetaSignIn,
  SignIn,
  SignInDeviceDetail,
  SignInEventType,
  SignInLocation,
  SignInStatus,
} from './types.js';
import type { World } from './world.js';

const UNKNOWN_LOCATION: SignInLocation = {
  city: null,
  state: null,
  countryOrRegion: null,
  geoCoordinates: { altitude: null, latitude: null, longitude: null },
};

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

const LEGACY_CLIENTS: readonly (string | null)[] = ['IMAP4', 'Authenticated SMTP', 'Other clients'];
const MFA_BY_CLAIM = 'MFA requirement satisfied by claim in the token';

/** The user agent of a sign-in from this device: its browser on its OS, a native client, or a legacy protocol. */
function userAgentOf(device: SignInDeviceDetail, clientAppUsed: string | null): string {
  if (LEGACY_CLIENTS.includes(clientAppUsed)) return ROPC_USER_AGENT;
  if (clientAppUsed === 'Exchange ActiveSync') return 'Apple-iPhone15C2/2102.55';
  const system = device.operatingSystem ?? 'Windows10';
  const os = OS_USER_AGENT_TOKENS[system] ?? 'Windows NT 10.0; Win64; x64';
  const browser = device.browser ?? '';
  const version = /\d+(\.\d+)*/.exec(browser)?.[0] ?? '17.1';
  const major = version.split('.')[0] ?? version;
  const webkit = 'AppleWebKit/537.36 (KHTML, like Gecko)';
  if (browser.startsWith('Edge'))
    return `Mozilla/5.0 (${os}) ${webkit} Chrome/${major}.0.0.0 Safari/537.36 Edg/${major}.0.0.0`;
  if (browser.startsWith('Chrome Mobile'))
    return `Mozilla/5.0 (${os}) ${webkit} Chrome/${version} Mobile Safari/537.36`;
  if (browser.startsWith('Chrome'))
    return `Mozilla/5.0 (${os}) ${webkit} Chrome/${major}.0.0.0 Safari/537.36`;
  if (browser.startsWith('Firefox'))
    return `Mozilla/5.0 (${os}; rv:${version}) Gecko/20100101 Firefox/${version}`;
  if (browser.startsWith('Mobile Safari'))
    return `Mozilla/5.0 (${os}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${version} Mobile/15E148 Safari/604.1`;
  if (browser.startsWith('Safari'))
    return `Mozilla/5.0 (${os}) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/${version} Safari/605.1.15`;
  // "Rich Client …": a native app signing in through the platform's broker.
  if (system === 'Windows10') return 'Windows-AzureAD-Authentication-Provider/1.0';
  if (system === 'Android') return 'Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A.230803.041)';
  return `Mozilla/5.0 (${os}) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148`;
}

/**
 * The steps of a user's authentication (authenticationDetails): the first factor (a password, or a token's
 * claim for non-interactive sign-ins), then MFA where it was required and got that far.
 */
function authenticationSteps(
  rnd: Rng,
  at: string,
  interactive: boolean,
  code: number,
  status: SignInStatus,
  mfaRequired: boolean,
): AuthenticationDetail[] {
  const step = (
    authenticationMethod: string,
    authenticationMethodDetail: string | null,
    succeeded: boolean,
    authenticationStepResultDetail: string,
    authenticationStepRequirement: string,
  ): AuthenticationDetail => ({
    authenticationStepDateTime: at,
    authenticationMethod,
    authenticationMethodDetail,
    succeeded,
    authenticationStepResultDetail,
    authenticationStepRequirement,
  });
  if (!interactive) {
    const first = step(
      'Previously satisfied',
      null,
      code === 0,
      code === 0
        ? 'First factor requirement satisfied by claim in the token'
        : (status.failureReason ?? 'Other.'),
      'Primary authentication',
    );
    return code === 0 && mfaRequired
      ? [first, step('Previously satisfied', null, true, MFA_BY_CLAIM, 'Multifactor authentication')]
      : [first];
  }
  const passwordOk = code !== 50126 && code !== 50053;
  const steps = [
    step(
      'Password',
      'Password in the cloud',
      passwordOk,
      code === 50126
        ? 'Invalid username or password or Invalid on-premise username or password.'
        : code === 50053
          ? 'Account is locked'
          : 'Correct password',
      'Primary authentication',
    ),
  ];
  if (!passwordOk || !mfaRequired) return steps;
  if (status.additionalDetails === MFA_BY_CLAIM) {
    steps.push(step('Previously satisfied', null, true, MFA_BY_CLAIM, 'Multifactor authentication'));
    return steps;
  }
  const [method, detail] = pick(rnd, MFA_METHODS);
  if (code === 0)
    steps.push(step(method, detail, true, 'MFA successfully completed', 'Multifactor authentication'));
  else if (code === 50074 || code === 50076)
    steps.push(step(method, detail, false, 'MFA required in Azure AD', 'Multifactor authentication'));
  return steps;
}

export function buildSignIn(
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
    const mfaRequired =
      code === 50074 ||
      code === 50076 ||
      status.additionalDetails === MFA_BY_CLAIM ||
      policies.some(
        (p) => p.enforcedGrantControls.includes('Mfa') && (p.result === 'success' || p.result === 'failure'),
      );
    // Beta-only properties come last: their random draws follow every other field's, so adding them left the
    // rest of each seeded record as it was.
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
      userAgent: userAgentOf(deviceDetail, clientAppUsed),
      userType: user.guest ? 'guest' : 'member',
      authenticationRequirement: mfaRequired ? 'multiFactorAuthentication' : 'singleFactorAuthentication',
      authenticationDetails: authenticationSteps(
        rnd,
        createdDateTime,
        interactive,
        code,
        status,
        mfaRequired,
      ),
      authenticationProtocol: LEGACY_CLIENTS.includes(clientAppUsed)
        ? 'ropc'
        : interactive && DEVICE_CODE_APPS.includes(app.displayName) && rnd() < 0.05
          ? 'deviceCode'
          : 'none',
      crossTenantAccessType: user.guest ? 'b2bCollaboration' : 'none',
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
    // A workload authenticates with a client credential or a managed-identity token: no user agent, member,
    // one factor, no steps.
    userAgent: '',
    userType: 'member',
    authenticationRequirement: 'singleFactorAuthentication',
    authenticationDetails: [],
    authenticationProtocol: 'none',
    crossTenantAccessType: 'none',
  };
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
    riskEventTypes_v2: s.riskEventTypes_v2,
    resourceDisplayName: s.resourceDisplayName,
    resourceId: s.resourceId,
    status: s.status,
    deviceDetail: s.deviceDetail,
    location: s.location,
    appliedConditionalAccessPolicies: s.appliedConditionalAccessPolicies,
  };
}
