// Rows the collectors produce, built by the real mapping functions from realistic inputs (nulls and
// missing fields included), must match their table in infra/tables/*.json: exactly the declared
// columns, each value of the column's type or null — what the DCR stream declaration accepts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import type { Collector } from '../../src/run/collector.js';
import { silentLogger } from '../../src/lib/logger.js';
import { CollectorRunError, runCollector } from '../../src/run/runCollector.js';
import { runWindowedCollector } from '../../src/run/runWindowedCollector.js';
import type { WindowedCollector } from '../../src/run/windowedCollector.js';
import { toAccessKeyRow, type AccessKeyFacts, type Snapshot } from '../../src/sources/aws/accessKeyRow.js';
import type { GraphDirectoryAudit, GraphSignIn } from '../../src/sources/entra/graphTypes.js';
import { toAuditRow, toSignInRow } from '../../src/sources/entra/rows.js';
import { toUserRow, type GraphUser } from '../../src/sources/entra/userRows.js';
import type { CheckpointStore } from '../../src/state/checkpointStore.js';
import type { TableName } from '../../src/tables/generated.js';
import { memorySink } from '../support/memorySink.js';
import { syncedMember, userSnapshot } from '../support/entraUserFixtures.js';
import { repoRoot } from '../support/paths.js';

interface TableFile {
  name: TableName;
  columns: { name: string; type: string }[];
}

const tables = new Map<string, TableFile>(
  readdirSync(join(repoRoot, 'infra', 'tables'))
    .filter((file) => file.endsWith('.json'))
    .map((file) => {
      const table = JSON.parse(readFileSync(join(repoRoot, 'infra', 'tables', file), 'utf8')) as TableFile;
      return [table.name, table];
    }),
);

const isoDateTime = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?Z$/;

/** Why `value` cannot be stored in a column of `type`, or undefined when it can. */
function typeProblem(type: string, value: unknown): string | undefined {
  if (value === null) return undefined; // every column may be empty
  switch (type) {
    case 'string':
      return typeof value === 'string' ? undefined : `expected a string, got ${typeof value}`;
    case 'int':
      return Number.isInteger(value) && (value as number) >= -(2 ** 31) && (value as number) < 2 ** 31
        ? undefined
        : `expected a 32-bit integer, got ${JSON.stringify(value)}`;
    case 'long':
      return Number.isSafeInteger(value)
        ? undefined
        : `expected a whole number, got ${JSON.stringify(value)}`;
    case 'real':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `expected a finite number`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `expected a boolean, got ${typeof value}`;
    case 'datetime':
      return typeof value === 'string' && isoDateTime.test(value) && !Number.isNaN(Date.parse(value))
        ? undefined
        : `expected an ISO 8601 UTC time, got ${JSON.stringify(value)}`;
    case 'dynamic':
      return value === undefined ? 'undefined is not JSON' : undefined;
    default:
      return `unknown column type ${type}`;
  }
}

function assertRowMatchesTable(tableName: TableName, row: object, label: string): void {
  const table = tables.get(tableName);
  assert.ok(table, `no infra/tables/${tableName}.json`);
  const record = row as Record<string, unknown>;
  assert.deepEqual(
    Object.keys(record).sort(),
    table.columns.map((column) => column.name).sort(),
    `${label}: the row's keys must be exactly the ${tableName} columns`,
  );
  for (const column of table.columns) {
    const value = record[column.name];
    assert.notEqual(value, undefined, `${label}.${column.name} is undefined (absent values are null)`);
    const problem = typeProblem(column.type, value);
    assert.equal(problem, undefined, `${label}.${column.name} (${column.type}): ${problem ?? ''}`);
  }
  assert.notEqual(record['TimeGenerated'], null, `${label}: TimeGenerated is required`);
  // What the Logs Ingestion API receives is the JSON text: nothing may be lost on the way.
  assert.deepEqual(JSON.parse(JSON.stringify(record)), record, `${label}: survives JSON`);
}

// --------------------------------------------------------------------------------- AWS access keys

const snapshotTime = new Date('2026-11-23T06:00:00.000Z');
const snapshot = (overrides: Partial<Snapshot> = {}): Snapshot => ({
  id: '8d0f0c5e-1d2a-4b7e-9a51-6f1c2f0a9b11',
  time: snapshotTime,
  accountId: '123456789012',
  accountName: 'prod-payments',
  accessKeyIdMode: 'masked',
  ...overrides,
});

const accessKeys: { label: string; facts: AccessKeyFacts; snapshot: Snapshot }[] = [
  {
    label: 'active, used, from the credential report',
    facts: {
      userName: 'deploy-bot',
      userArn: 'arn:aws:iam::123456789012:user/ci/deploy-bot',
      userCreateDate: new Date('2021-03-04T10:11:12Z'),
      accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
      status: 'Active',
      createDate: new Date('2024-01-02T03:04:05Z'),
      lastUsedDate: new Date('2026-11-22T23:10:00Z'),
      lastUsedRegion: 'eu-west-1',
      lastUsedService: 's3',
      mfaActive: false,
      passwordEnabled: false,
      source: 'credential-report',
    },
    snapshot: snapshot(),
  },
  {
    label: 'never used, from the API, full key IDs, account without alias',
    facts: {
      userName: 'alice',
      userArn: 'arn:aws:iam::123456789012:user/alice',
      userCreateDate: new Date('2026-11-01T00:00:00Z'),
      accessKeyId: 'AKIAI44QH8DHBEXAMPLE',
      status: 'Inactive',
      createDate: new Date('2026-11-01T09:00:00Z'),
      lastUsedDate: undefined,
      lastUsedRegion: undefined,
      lastUsedService: undefined,
      mfaActive: true,
      passwordEnabled: true,
      source: 'api',
    },
    snapshot: snapshot({ accountName: undefined, accessKeyIdMode: 'full' }),
  },
  {
    label: 'root key: no key ID, ARN, dates or MFA facts',
    facts: {
      userName: '<root_account>',
      userArn: undefined,
      userCreateDate: undefined,
      accessKeyId: undefined,
      status: 'Active',
      createDate: undefined,
      lastUsedDate: new Date('2019-05-06T07:08:09Z'),
      lastUsedRegion: undefined,
      lastUsedService: undefined,
      mfaActive: undefined,
      passwordEnabled: undefined,
      source: 'credential-report',
    },
    snapshot: snapshot(),
  },
  {
    label: 'key created after the snapshot started (clock skew)',
    facts: {
      userName: 'bob',
      userArn: 'arn:aws:iam::123456789012:user/bob',
      userCreateDate: new Date('2010-01-01T00:00:00Z'),
      accessKeyId: 'AKIAJ7Q3EXAMPLEKEY01',
      status: 'Active',
      createDate: new Date('2026-11-23T06:00:01Z'),
      lastUsedDate: new Date('2026-11-23T06:00:02Z'),
      lastUsedRegion: 'us-east-1',
      lastUsedService: 'iam',
      mfaActive: true,
      passwordEnabled: false,
      source: 'api',
    },
    snapshot: snapshot(),
  },
];

// ---------------------------------------------------------------------------------------- Entra

const collectedAt = new Date('2026-11-23T12:00:00.000Z');
const signInContext = {
  tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  collectedAt,
  defaultEventType: 'interactiveUser' as const,
};

const signIns: { label: string; signIn: GraphSignIn }[] = [
  {
    label: 'interactive failure blocked by Conditional Access, risky, full detail',
    signIn: {
      id: '66ea54eb-6301-4ee5-be62-ff5a759b8100',
      createdDateTime: '2026-11-23T10:15:30Z',
      userDisplayName: 'Megan Bowen',
      userPrincipalName: 'meganb@contoso.com',
      userId: 'd8f6b2a3-3f2e-4c1a-9d7b-0e5f4a3b2c1d',
      appId: '00000002-0000-0ff1-ce00-000000000000',
      appDisplayName: 'Office 365 Exchange Online',
      ipAddress: '203.0.113.7',
      clientAppUsed: 'Browser',
      correlationId: '4b8a1c2d-5e6f-4a7b-8c9d-0e1f2a3b4c5d',
      conditionalAccessStatus: 'failure',
      appliedConditionalAccessPolicies: [
        {
          id: 'a1b2c3d4-0000-4000-8000-000000000001',
          displayName: 'Require MFA for all users',
          enforcedGrantControls: ['Mfa'],
          enforcedSessionControls: [],
          result: 'failure',
        },
        {
          id: 'a1b2c3d4-0000-4000-8000-000000000002',
          displayName: 'Block legacy auth',
          result: 'notApplied',
        },
      ],
      isInteractive: true,
      riskDetail: 'none',
      riskLevelAggregated: 'medium',
      riskLevelDuringSignIn: 'high',
      riskState: 'atRisk',
      riskEventTypes_v2: ['unfamiliarFeatures', 'anonymizedIPAddress'],
      resourceDisplayName: 'Office 365 Exchange Online',
      resourceId: '00000002-0000-0ff1-ce00-000000000000',
      status: {
        errorCode: 53003,
        failureReason: 'Access has been blocked by Conditional Access policies.',
        additionalDetails: null,
      },
      deviceDetail: {
        deviceId: '',
        displayName: null,
        operatingSystem: 'Windows 10',
        browser: 'Edge 131.0.0',
        isCompliant: false,
        isManaged: false,
        trustType: null,
      },
      // Graph's location has more fields than the mapping reads; LocationDetails keeps them all.
      location: {
        city: 'Redmond',
        state: 'Washington',
        countryOrRegion: 'US',
        geoCoordinates: { altitude: null, latitude: 47.68, longitude: -122.12 },
      } as GraphSignIn['location'],
    },
  },
  {
    label: 'beta service-principal sign-in, 7 fractional digits',
    signIn: {
      id: '0f3c6c1e-2a7d-4b6e-9b0a-7d1e2f3a4b5c',
      createdDateTime: '2026-11-23T10:15:30.1234567Z',
      userDisplayName: null,
      userPrincipalName: null,
      userId: '',
      appId: '3e1c9f77-1b2a-4c3d-8e4f-5a6b7c8d9e0f',
      appDisplayName: 'crosscloud-identity-monitor',
      ipAddress: '20.50.2.1',
      clientAppUsed: null,
      conditionalAccessStatus: 'notApplied',
      appliedConditionalAccessPolicies: [],
      isInteractive: false,
      riskDetail: 'hidden',
      riskLevelAggregated: 'hidden',
      riskLevelDuringSignIn: 'hidden',
      riskState: 'none',
      riskEventTypes_v2: [],
      resourceDisplayName: 'Microsoft Graph',
      resourceId: '00000003-0000-0000-c000-000000000000',
      status: { errorCode: 0, failureReason: 'Other.', additionalDetails: null },
      location: { countryOrRegion: 'NL' },
      signInEventTypes: ['servicePrincipal'],
      servicePrincipalId: '9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d',
      servicePrincipalName: 'crosscloud-identity-monitor',
      homeTenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      resourceTenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    },
  },
  {
    label: 'beta guest sign-in with MFA: user agent, user type, authentication steps and protocol',
    signIn: {
      id: '7a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
      createdDateTime: '2026-11-23T10:20:00Z',
      userDisplayName: 'Lee Gu',
      userPrincipalName: 'lee.gu_fabrikam.com#EXT#@contoso.onmicrosoft.com',
      userId: 'b2c3d4e5-0000-4000-8000-00000000000b',
      appId: '4765445b-32c6-49b0-83e6-1d93765276ca',
      appDisplayName: 'OfficeHome',
      ipAddress: '81.2.69.160',
      clientAppUsed: 'Browser',
      isInteractive: true,
      status: { errorCode: 0, failureReason: 'Other.', additionalDetails: 'MFA completed in Azure AD' },
      signInEventTypes: ['interactiveUser'],
      homeTenantId: 'c0ffee00-0000-4000-8000-000000000001',
      resourceTenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
      userAgent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15',
      userType: 'guest',
      authenticationRequirement: 'multiFactorAuthentication',
      authenticationDetails: [
        {
          authenticationStepDateTime: '2026-11-23T10:20:00Z',
          authenticationMethod: 'Password',
          authenticationMethodDetail: 'Password in the cloud',
          succeeded: true,
          authenticationStepResultDetail: 'Correct password',
          authenticationStepRequirement: 'Primary authentication',
        },
        {
          authenticationStepDateTime: '2026-11-23T10:20:09Z',
          authenticationMethod: 'Text message',
          authenticationMethodDetail: '+X XXXXXXXX42',
          succeeded: true,
          authenticationStepResultDetail: 'MFA successfully completed',
          authenticationStepRequirement: 'Multifactor authentication',
        },
      ],
      authenticationProtocol: 'none',
      crossTenantAccessType: 'b2bCollaboration',
    },
  },
  { label: 'empty object (every field missing)', signIn: {} },
  {
    label: 'every field null',
    signIn: {
      id: null,
      createdDateTime: null,
      userDisplayName: null,
      userPrincipalName: null,
      userId: null,
      appId: null,
      appDisplayName: null,
      ipAddress: null,
      clientAppUsed: null,
      correlationId: null,
      conditionalAccessStatus: null,
      appliedConditionalAccessPolicies: null,
      isInteractive: null,
      riskDetail: null,
      riskLevelAggregated: null,
      riskLevelDuringSignIn: null,
      riskState: null,
      riskEventTypes_v2: null,
      resourceDisplayName: null,
      resourceId: null,
      status: null,
      deviceDetail: null,
      location: null,
      signInEventTypes: null,
      servicePrincipalId: null,
      servicePrincipalName: null,
      homeTenantId: null,
      resourceTenantId: null,
      userAgent: null,
      userType: null,
      authenticationRequirement: null,
      authenticationDetails: null,
      authenticationProtocol: null,
      crossTenantAccessType: null,
    },
  },
  {
    label: 'values of the wrong type (an unparseable time, a numeric UPN, a string flag)',
    signIn: {
      id: 'c1d2e3f4-0000-4000-8000-00000000000a',
      createdDateTime: 'yesterday',
      userPrincipalName: 42,
      isInteractive: 'true',
      status: { errorCode: '50126' },
      location: { countryOrRegion: null },
      signInEventTypes: [],
      userType: 0,
      authenticationDetails: { authenticationMethod: 'Password' },
    } as unknown as GraphSignIn,
  },
];

const auditContext = { tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47', collectedAt };

const audits: { label: string; audit: GraphDirectoryAudit }[] = [
  {
    label: 'Add member to role, initiated by a user',
    audit: {
      id: 'Directory_5b3c1f2e-8a7d-4c6b-9e0f-1a2b3c4d5e6f_ABC12_123456789',
      category: 'RoleManagement',
      correlationId: '5b3c1f2e-8a7d-4c6b-9e0f-1a2b3c4d5e6f',
      result: 'success',
      resultReason: '',
      activityDisplayName: 'Add member to role',
      activityDateTime: '2026-11-23T09:00:00.5Z',
      loggedByService: 'Core Directory',
      operationType: 'Assign',
      initiatedBy: {
        user: {
          id: 'd8f6b2a3-3f2e-4c1a-9d7b-0e5f4a3b2c1d',
          displayName: null,
          userPrincipalName: 'admin@contoso.com',
          ipAddress: '203.0.113.9',
        },
        app: null,
      },
      targetResources: [
        {
          id: 'e1f2a3b4-0000-4000-8000-000000000003',
          displayName: null,
          type: 'User',
          userPrincipalName: 'meganb@contoso.com',
          modifiedProperties: [
            { displayName: 'Role.DisplayName', oldValue: null, newValue: '"Global Administrator"' },
            {
              displayName: 'Role.TemplateId',
              oldValue: null,
              newValue: '"62e90394-69f5-4237-9190-012177145e10"',
            },
          ],
        },
      ],
      additionalDetails: [{ key: 'User-Agent', value: 'Mozilla/5.0' }],
    },
  },
  {
    label: 'Consent to application, initiated by an app',
    audit: {
      id: 'ApplicationManagement_1a2b3c4d_XYZ_987654321',
      category: 'ApplicationManagement',
      correlationId: '1a2b3c4d-0000-4000-8000-000000000004',
      result: 'failure',
      resultReason: 'Microsoft.Online.Security.UserConsentBlockedForRiskyAppsException',
      activityDisplayName: 'Consent to application',
      activityDateTime: '2026-11-23T09:30:00Z',
      loggedByService: 'Core Directory',
      operationType: 'Assign',
      initiatedBy: {
        user: null,
        app: { appId: null, displayName: 'Microsoft Graph', servicePrincipalId: null },
      },
      targetResources: [
        {
          id: 'f0e1d2c3-0000-4000-8000-000000000005',
          displayName: 'Suspicious Mail Reader',
          type: 'ServicePrincipal',
          modifiedProperties: [
            { displayName: 'ConsentContext.IsAdminConsent', oldValue: null, newValue: '"False"' },
            {
              displayName: 'ConsentAction.Permissions',
              oldValue: null,
              newValue: '"Scope: Mail.Read offline_access"',
            },
          ],
        },
      ],
      additionalDetails: [],
    },
  },
  { label: 'empty object (every field missing)', audit: {} },
  {
    label: 'every field null',
    audit: {
      id: null,
      category: null,
      correlationId: null,
      result: null,
      resultReason: null,
      activityDisplayName: null,
      activityDateTime: null,
      loggedByService: null,
      operationType: null,
      initiatedBy: null,
      targetResources: null,
      additionalDetails: null,
    },
  },
];

describe('rows match their table (infra/tables)', () => {
  describe('AWSIAMAccessKeys_CL rows from toAccessKeyRow', () => {
    for (const { label, facts, snapshot: snap } of accessKeys) {
      it(label, () => {
        assertRowMatchesTable('AWSIAMAccessKeys_CL', toAccessKeyRow(facts, snap), label);
      });
    }

    it('a key decades old still fits KeyAgeDays in an int', () => {
      const row = toAccessKeyRow(
        { ...(accessKeys[0]?.facts as AccessKeyFacts), createDate: new Date('1970-01-01T00:00:00Z') },
        snapshot({ time: new Date('2999-12-31T00:00:00Z') }),
      );
      assertRowMatchesTable('AWSIAMAccessKeys_CL', row, 'very old key');
    });
  });

  describe('EntraSignIns_CL rows from toSignInRow', () => {
    for (const { label, signIn } of signIns) {
      it(label, () => {
        assertRowMatchesTable('EntraSignIns_CL', toSignInRow(signIn, signInContext), label);
      });
    }
  });

  describe('EntraAuditLogs_CL rows from toAuditRow', () => {
    for (const { label, audit } of audits) {
      it(label, () => {
        assertRowMatchesTable('EntraAuditLogs_CL', toAuditRow(audit, auditContext), label);
      });
    }
  });

  describe('EntraUsers_CL rows from toUserRow', () => {
    const users: { label: string; user: GraphUser; collected?: boolean }[] = [
      {
        label: 'synced member, every sign-in time, 7 fractional digits',
        user: syncedMember,
      },
      {
        label: 'guest never signed in, created before June 2018 (no createdDateTime)',
        user: {
          id: 'a1b2c3d4-0000-4000-8000-000000000001',
          userPrincipalName: 'joni_fabrikam.com#EXT#@contoso.onmicrosoft.com',
          displayName: 'Joni Sherman',
          mail: 'joni@fabrikam.com',
          accountEnabled: false,
          userType: 'Guest',
          department: null,
          jobTitle: null,
          onPremisesSamAccountName: null,
          onPremisesDomainName: null,
          onPremisesUserPrincipalName: null,
          onPremisesSyncEnabled: null,
          createdDateTime: null,
        },
      },
      { label: 'signInActivity not collected (no licence)', user: { id: 'x' }, collected: false },
      { label: 'empty object (every field missing)', user: {} },
      {
        label: 'values of the wrong type',
        user: {
          id: 7,
          accountEnabled: 'yes',
          signInActivity: { lastSignInDateTime: 'never' },
        } as unknown as GraphUser,
      },
    ];
    for (const { label, user, collected } of users) {
      it(label, () => {
        const snapshot = { ...userSnapshot, signInActivityCollected: collected ?? true };
        assertRowMatchesTable('EntraUsers_CL', toUserRow(user, snapshot), label);
      });
    }
  });

  describe('CollectorRuns_CL rows written by the run harness', () => {
    function accessKeyCollector(failAfter?: number): Collector<'AWSIAMAccessKeys_CL'> {
      return {
        name: 'aws-access-keys',
        table: 'AWSIAMAccessKeys_CL',
        async *read(context) {
          for (const [i, key] of accessKeys.entries()) {
            if (i === failAfter) throw new Error('Throttling: Rate exceeded');
            context.stats.apiCalls += 2;
            await Promise.resolve();
            yield toAccessKeyRow(key.facts, snapshot({ id: context.runId, time: context.startTime }));
          }
          context.stats.throttled += 1;
          context.stats.warnings.push('credential report was 3 h old');
        },
      };
    }

    it('a succeeded snapshot run with a warning', async () => {
      const { sink, rowsOf } = memorySink();
      await runCollector({ collector: accessKeyCollector(), sink, log: silentLogger });
      for (const row of rowsOf('AWSIAMAccessKeys_CL')) {
        assertRowMatchesTable('AWSIAMAccessKeys_CL', row, 'access-key row');
      }
      const [run] = rowsOf('CollectorRuns_CL');
      assert.ok(run);
      assertRowMatchesTable('CollectorRuns_CL', run, 'succeeded run');
    });

    it('a failed snapshot run', async () => {
      const { sink, rowsOf } = memorySink();
      await assert.rejects(
        runCollector({ collector: accessKeyCollector(1), sink, log: silentLogger }),
        CollectorRunError,
      );
      const [run] = rowsOf('CollectorRuns_CL');
      assert.ok(run);
      assertRowMatchesTable('CollectorRuns_CL', run, 'failed run');
    });

    it('a windowed Entra run (window columns set)', async () => {
      const { sink, rowsOf } = memorySink();
      const collector: WindowedCollector<'EntraAuditLogs_CL'> = {
        name: 'entra-audits',
        table: 'EntraAuditLogs_CL',
        open: () =>
          Promise.resolve({
            scope: auditContext.tenantId,
            async *read() {
              for (const { audit } of audits) {
                await Promise.resolve();
                yield toAuditRow(audit, auditContext);
              }
            },
          }),
      };
      const checkpoints: CheckpointStore = {
        description: 'none',
        get: () => Promise.resolve(undefined),
        list: () => Promise.resolve([]),
        set: () => Promise.resolve(),
      };
      const minute = 60_000;
      await runWindowedCollector({
        collector,
        checkpoints,
        sink,
        log: silentLogger,
        policy: {
          overlapMs: 10 * minute,
          lagMs: 15 * minute,
          initialLookbackMs: 24 * 60 * minute,
          sliceMs: 60 * minute,
          budgetMs: 20 * minute,
          retentionMs: 30 * 24 * 60 * minute,
        },
        explicitWindow: { start: new Date('2026-11-23T08:00:00Z'), end: new Date('2026-11-23T10:00:00Z') },
      });
      const [run] = rowsOf('CollectorRuns_CL');
      assert.ok(run);
      assertRowMatchesTable('CollectorRuns_CL', run, 'windowed run');
      assert.equal((run as { WindowStart: unknown }).WindowStart, '2026-11-23T08:00:00.000Z');
    });
  });

  describe('the checks bite', () => {
    const good = toAuditRow(audits[0]?.audit ?? {}, auditContext);
    const cases: [string, object][] = [
      ['a missing column', Object.fromEntries(Object.entries(good).filter(([key]) => key !== 'Result'))],
      ['an extra column', { ...good, Extra: 'x' }],
      ['an undefined value', { ...good, Category: undefined }],
      ['a number in a string column', { ...good, Category: 7 }],
      ['a Date object in a datetime column', { ...good, ActivityDateTime: new Date() }],
      ['a non-ISO datetime', { ...good, ActivityDateTime: 'Mon, 23 Nov 2026 09:00:00 GMT' }],
      ['a null TimeGenerated', { ...good, TimeGenerated: null }],
    ];
    for (const [label, row] of cases) {
      it(`rejects ${label}`, () => {
        assert.throws(() => assertRowMatchesTable('EntraAuditLogs_CL', row, label), assert.AssertionError);
      });
    }

    it('rejects a fractional or 64-bit value in an int column', () => {
      const row = toAccessKeyRow(accessKeys[0]?.facts as AccessKeyFacts, snapshot());
      for (const KeyAgeDays of [1.5, 2 ** 31]) {
        assert.throws(
          () => assertRowMatchesTable('AWSIAMAccessKeys_CL', { ...row, KeyAgeDays }, 'int'),
          assert.AssertionError,
        );
      }
    });
  });
});
