import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { toAuditRow, toSignInRow } from '../../src/sources/entra/rows.js';
import { tableDefinitions } from '../../src/tables/generated.js';

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
    assert.equal(row.SourceTenantId, 'tenant-1');
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
  });
});
