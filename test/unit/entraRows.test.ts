import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import type { GraphSignIn } from '../../src/sources/entra/graphTypes.js';
import { toAuditRow, toSignInRow } from '../../src/sources/entra/rows.js';
import { tableDefinitions } from '../../src/tables/generated.js';
import { sfc32 } from '../emulators/graph/random.js';
import { buildSignIn } from '../emulators/graph/signIns.js';
import type { SignInEventType } from '../emulators/graph/types.js';
import { buildWorld } from '../emulators/graph/world.js';

const context = {
  tenantId: 'tenant-1',
  collectedAt: new Date('2026-11-23T10:00:00Z'),
  defaultEventType: 'interactiveUser' as const,
};

// Shaped like Graph's signIn resource (v1.0 docs example), with nested objects and nulls.
const graphSignIn = {
  id: '66ea54eb-6301-4ee5-be62-ff5a759b8100',
  createdDateTime: '2026-11-20T09:14:32.1234567Z',
  userDisplayName: 'Adele Vance',
  userPrincipalName: 'AdeleV@contoso.com',
  userId: 'd7cc485d-2c1b-422c-98fd-5ce52859a4a3',
  appId: 'de8bc8b5-d9f9-48b1-a8ad-b748da725064',
  appDisplayName: 'Graph Explorer',
  ipAddress: '131.107.159.37',
  clientAppUsed: 'Browser',
  correlationId: '65c9d4f1-8c3c-4e3f-9c4b-1b2a9d1f0e2a',
  conditionalAccessStatus: 'notApplied',
  isInteractive: true,
  riskDetail: 'none',
  riskLevelAggregated: 'none',
  riskLevelDuringSignIn: 'none',
  riskState: 'none',
  riskEventTypes_v2: [],
  resourceDisplayName: 'Microsoft Graph',
  resourceId: '00000003-0000-0000-c000-000000000000',
  status: { errorCode: 50126, failureReason: 'Invalid username or password.', additionalDetails: null },
  deviceDetail: {
    deviceId: '',
    displayName: null,
    operatingSystem: 'Windows 10',
    browser: 'Edge 80.0.361',
    isCompliant: false,
    isManaged: false,
    trustType: '',
  },
  location: {
    city: 'Redmond',
    state: 'Washington',
    countryOrRegion: 'US',
    geoCoordinates: { altitude: null, latitude: 47.68, longitude: -122.12 },
  },
  appliedConditionalAccessPolicies: [{ id: 'p1', displayName: 'Require MFA', result: 'notApplied' }],
};

describe('Graph → EntraSignIns_CL rows', () => {
  it('maps every column of the table from the signIn resource', () => {
    const row = toSignInRow(graphSignIn, context);
    assert.deepEqual(
      Object.keys(row).sort(),
      tableDefinitions.EntraSignIns_CL.columns.map((c) => c.name).sort(),
    );
    assert.equal(row.TimeGenerated, '2026-11-20T09:14:32.123Z');
    assert.equal(row.CreatedDateTime, row.TimeGenerated);
    assert.equal(row.ResultType, '50126', 'status.errorCode as a string, as in SigninLogs');
    assert.equal(row.ResultDescription, 'Invalid username or password.');
    assert.equal(row.Location, 'US');
    assert.deepEqual(row.LocationDetails, graphSignIn.location);
    assert.deepEqual(row.DeviceDetail, graphSignIn.deviceDetail);
    assert.equal(row.SignInEventType, 'interactiveUser');
    assert.equal(row.AADTenantId, 'tenant-1', 'the tenant read, under its native name');
    assert.equal(row.ResourceIdentity, graphSignIn.resourceId);
  });

  it('keeps a success code 0 and the beta event type', () => {
    const row = toSignInRow(
      { ...graphSignIn, status: { errorCode: 0 }, signInEventTypes: ['servicePrincipal'] },
      context,
    );
    assert.equal(row.ResultType, '0');
    assert.equal(row.SignInEventType, 'servicePrincipal');
  });

  it('tolerates missing and null nested fields without inventing values', () => {
    const row = toSignInRow(
      {
        id: 'x',
        createdDateTime: '2026-11-20T09:00:00Z',
        status: null,
        location: null,
        deviceDetail: undefined,
      },
      context,
    );
    assert.equal(row.ResultType, null);
    assert.equal(row.Location, null);
    assert.equal(row.LocationDetails, null);
    assert.equal(row.DeviceDetail, null);
    assert.equal(row.IsInteractive, null);
    assert.equal(row.UserPrincipalName, null);
  });

  it('passes unknown enum values through as text', () => {
    const row = toSignInRow(
      { ...graphSignIn, conditionalAccessStatus: 'unknownFutureValue', riskState: 'someNewState' },
      context,
    );
    assert.equal(row.ConditionalAccessStatus, 'unknownFutureValue');
    assert.equal(row.RiskState, 'someNewState');
  });

  it('stores an event without a usable time at collection time instead of dropping it', () => {
    for (const createdDateTime of [undefined, null, 'not a date']) {
      const row = toSignInRow({ id: 'y', createdDateTime }, context);
      assert.equal(row.CreatedDateTime, null);
      assert.equal(row.TimeGenerated, '2026-11-23T10:00:00.000Z');
    }
  });

  // The beta signIn's properties that have a native SigninLogs column of the same name. Every value differs
  // from every other, so a column fed from the wrong property fails.
  const authenticationDetails = [
    {
      authenticationStepDateTime: '2026-11-20T09:14:32Z',
      authenticationMethod: 'Password',
      authenticationMethodDetail: 'Password in the cloud',
      succeeded: true,
      authenticationStepResultDetail: 'Correct password',
      authenticationStepRequirement: 'Primary authentication',
    },
    {
      authenticationStepDateTime: '2026-11-20T09:14:40Z',
      authenticationMethod: 'Mobile app notification',
      authenticationMethodDetail: null,
      succeeded: true,
      authenticationStepResultDetail: 'MFA successfully completed',
      authenticationStepRequirement: 'Multifactor authentication',
    },
  ];
  const betaSignIn: GraphSignIn = {
    ...graphSignIn,
    signInEventTypes: ['interactiveUser'],
    userAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0.0.0',
    userType: 'guest',
    authenticationRequirement: 'multiFactorAuthentication',
    authenticationDetails,
    authenticationProtocol: 'deviceCode',
    crossTenantAccessType: 'b2bCollaboration',
  };

  it('maps the beta-only properties to their native SigninLogs columns', () => {
    const row = toSignInRow(betaSignIn, context);
    assert.equal(row.UserAgent, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Edg/120.0.0.0');
    assert.equal(row.UserType, 'guest');
    assert.equal(row.AuthenticationRequirement, 'multiFactorAuthentication');
    assert.equal(row.AuthenticationProtocol, 'deviceCode');
    assert.equal(row.CrossTenantAccessType, 'b2bCollaboration');
    // Native AuthenticationDetails is a string column holding the JSON array: the same here, steps in order.
    assert.equal(typeof row.AuthenticationDetails, 'string');
    assert.deepEqual(JSON.parse(row.AuthenticationDetails ?? 'null'), authenticationDetails);
  });

  it('leaves the beta-only columns null for a v1.0 sign-in, which has none of those properties', () => {
    const row = toSignInRow(graphSignIn, context);
    for (const column of [
      'UserAgent',
      'UserType',
      'AuthenticationRequirement',
      'AuthenticationDetails',
      'AuthenticationProtocol',
      'CrossTenantAccessType',
      'ServicePrincipalId',
      'HomeTenantId',
    ] as const) {
      assert.equal(row[column], null, column);
    }
  });

  it('keeps an empty list of authentication steps as [] and drops one that is not a list', () => {
    assert.equal(
      toSignInRow({ ...betaSignIn, authenticationDetails: [] }, context).AuthenticationDetails,
      '[]',
    );
    for (const wrong of ['[{"authenticationMethod":"Password"}]', { authenticationMethod: 'Password' }, 7]) {
      const row = toSignInRow({ ...betaSignIn, authenticationDetails: wrong as never }, context);
      assert.equal(row.AuthenticationDetails, null, JSON.stringify(wrong));
    }
    const row = toSignInRow({ ...betaSignIn, userType: 1 as never, userAgent: {} as never }, context);
    assert.equal(row.UserType, null);
    assert.equal(row.UserAgent, null);
  });

  it('maps every Graph emulator beta record property for property, of every sign-in type', () => {
    const world = buildWorld(11, 'tenant-1');
    const types: SignInEventType[] = [
      'interactiveUser',
      'nonInteractiveUser',
      'servicePrincipal',
      'managedIdentity',
    ];
    const seen = { guest: 0, mfa: 0, ropc: 0, steps: 0 };
    for (let i = 0; i < 2_000; i += 1) {
      const type = types[i % types.length] ?? 'interactiveUser';
      const record = buildSignIn(world, sfc32(11, i, 2, 3), `id-${i}`, '2026-11-20T09:00:00Z', type);
      const row = toSignInRow(record, context);
      const label = `record ${i} (${type})`;
      assert.equal(row.UserAgent, record.userAgent, label);
      assert.equal(row.UserType, record.userType, label);
      assert.equal(row.AuthenticationRequirement, record.authenticationRequirement, label);
      assert.equal(row.AuthenticationProtocol, record.authenticationProtocol, label);
      assert.equal(row.CrossTenantAccessType, record.crossTenantAccessType, label);
      assert.deepEqual(JSON.parse(row.AuthenticationDetails ?? 'null'), record.authenticationDetails, label);
      assert.equal(row.SignInEventType, type, label);
      // The record hangs together the way Entra's do.
      assert.equal(row.UserType === 'guest', row.CrossTenantAccessType === 'b2bCollaboration', label);
      assert.equal(row.UserType === 'guest', (row.UserPrincipalName ?? '').includes('#EXT#'), label);
      assert.equal(row.UserAgent === 'BAV2ROPC', row.AuthenticationProtocol === 'ropc', label);
      if (type === 'servicePrincipal' || type === 'managedIdentity') {
        assert.equal(row.AuthenticationDetails, '[]', label);
        assert.equal(row.AuthenticationRequirement, 'singleFactorAuthentication', label);
      } else {
        assert.ok(record.authenticationDetails.length >= 1, `${label}: a first factor`);
        const mfaStep = record.authenticationDetails.find(
          (step) => step.authenticationStepRequirement === 'Multifactor authentication',
        );
        if (mfaStep) assert.equal(row.AuthenticationRequirement, 'multiFactorAuthentication', label);
        if (row.ResultType === '0' && row.AuthenticationRequirement === 'multiFactorAuthentication')
          assert.ok(mfaStep?.succeeded, `${label}: a successful MFA sign-in shows its MFA step`);
        seen.steps += record.authenticationDetails.length;
      }
      if (row.UserType === 'guest') seen.guest += 1;
      if (row.AuthenticationRequirement === 'multiFactorAuthentication') seen.mfa += 1;
      if (row.AuthenticationProtocol === 'ropc') seen.ropc += 1;
    }
    assert.ok(seen.guest > 0 && seen.mfa > 0 && seen.ropc > 0 && seen.steps > 1_000, JSON.stringify(seen));
  });

  it('ignores values of the wrong type rather than writing them into typed columns', () => {
    const row = toSignInRow(
      { id: 'z', isInteractive: 'yes' as unknown as boolean, userId: 42 as unknown as string },
      context,
    );
    assert.equal(row.IsInteractive, null);
    assert.equal(row.UserId, null);
  });
});

describe('Graph → EntraAuditLogs_CL rows', () => {
  const audit = {
    id: 'Directory_ABC_123',
    category: 'RoleManagement',
    correlationId: 'c1',
    result: 'success',
    resultReason: '',
    activityDisplayName: 'Add member to role',
    activityDateTime: '2026-11-20T08:00:00Z',
    loggedByService: 'Core Directory',
    operationType: 'Assign',
    initiatedBy: {
      user: { id: 'u1', displayName: null, userPrincipalName: 'admin@contoso.com', ipAddress: null },
      app: null,
    },
    targetResources: [
      {
        id: 't1',
        type: 'User',
        modifiedProperties: [
          { displayName: 'Role.DisplayName', oldValue: null, newValue: '"Global Administrator"' },
        ],
      },
    ],
    additionalDetails: [],
  };

  it('maps every column, keeping nested objects as dynamic values', () => {
    const row = toAuditRow(audit, context);
    assert.deepEqual(
      Object.keys(row).sort(),
      tableDefinitions.EntraAuditLogs_CL.columns.map((c) => c.name).sort(),
    );
    assert.equal(row.OperationName, 'Add member to role');
    assert.equal(row.ActivityDisplayName, 'Add member to role', 'natively the same value as OperationName');
    assert.equal(row.AADOperationType, 'Assign', 'operationType under its native name');
    assert.equal(row.AADTenantId, 'tenant-1');
    assert.equal(row.Category, 'RoleManagement');
    assert.equal(row.TimeGenerated, '2026-11-20T08:00:00.000Z');
    assert.deepEqual(row.InitiatedBy, audit.initiatedBy);
    assert.deepEqual(row.TargetResources, audit.targetResources);
  });

  it('tolerates an audit with only an id', () => {
    const row = toAuditRow({ id: 'only' }, context);
    assert.equal(row.Id, 'only');
    assert.equal(row.ActivityDateTime, null);
    assert.equal(row.InitiatedBy, null);
    assert.equal(row.Result, null);
    assert.equal(row.ActivityDisplayName, null);
    assert.equal(row.AADOperationType, null);
  });

  it('keeps operationType apart from activityDisplayName', () => {
    const row = toAuditRow(
      { ...audit, activityDisplayName: 'Update user', operationType: 'Update' },
      context,
    );
    assert.equal(row.OperationName, 'Update user');
    assert.equal(row.ActivityDisplayName, 'Update user');
    assert.equal(row.AADOperationType, 'Update');
  });
});
