// Native parity is a claim to keep true (README, "Native parity"): the Entra tables reuse the names of the
// native SigninLogs / AuditLogs columns, and the README says precisely where they differ. Here, the native
// columns as the Azure Monitor table reference lists them; the checks fail when a table changes (a column
// added, renamed, retyped) and the README's account of the differences does not.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { tableDefinitions, type TableName } from '../../src/tables/generated.js';
import { repoRoot } from '../support/paths.js';

// https://learn.microsoft.com/azure/azure-monitor/reference/tables/signinlogs (columns of the page's
// 2024-02-18 revision: MicrosoftDocs/azure-reference-other, azure-monitor-ref/tables/includes/signinlogs-include.md)
// prettier-ignore
const signinLogs: Readonly<Record<string, string>> = {
  AADTenantId: 'string', AlternateSignInName: 'string', AppDisplayName: 'string', AppId: 'string',
  AppliedConditionalAccessPolicies: 'string', AppliedEventListeners: 'dynamic',
  AuthenticationContextClassReferences: 'string', AuthenticationDetails: 'string',
  AuthenticationMethodsUsed: 'string', AuthenticationProcessingDetails: 'string', AuthenticationProtocol: 'string',
  AuthenticationRequirement: 'string', AuthenticationRequirementPolicies: 'string', AutonomousSystemNumber: 'string',
  Category: 'string', ClientAppUsed: 'string', ConditionalAccessPolicies: 'dynamic', ConditionalAccessStatus: 'string',
  CorrelationId: 'string', CreatedDateTime: 'datetime', CrossTenantAccessType: 'string', DeviceDetail: 'dynamic',
  DurationMs: 'long', FlaggedForReview: 'bool', HomeTenantId: 'string', Id: 'string', Identity: 'string',
  IPAddress: 'string', IPAddressFromResourceProvider: 'string', IsInteractive: 'bool', IsRisky: 'bool',
  Level: 'string', Location: 'string', LocationDetails: 'dynamic', MfaDetail: 'dynamic',
  NetworkLocationDetails: 'string', OperationName: 'string', OperationVersion: 'string', OriginalRequestId: 'string',
  ProcessingTimeInMilliseconds: 'string', Resource: 'string', ResourceDisplayName: 'string', ResourceGroup: 'string',
  ResourceId: 'string', ResourceIdentity: 'string', ResourceProvider: 'string', ResourceServicePrincipalId: 'string',
  ResourceTenantId: 'string', ResultDescription: 'string', ResultSignature: 'string', ResultType: 'string',
  RiskDetail: 'string', RiskEventTypes: 'string', RiskEventTypes_V2: 'string', RiskLevel: 'string',
  RiskLevelAggregated: 'string', RiskLevelDuringSignIn: 'string', RiskState: 'string', ServicePrincipalId: 'string',
  ServicePrincipalName: 'string', SessionLifetimePolicies: 'string', SignInIdentifier: 'string',
  SignInIdentifierType: 'string', SourceSystem: 'string', Status: 'dynamic', TimeGenerated: 'datetime',
  TokenIssuerName: 'string', TokenIssuerType: 'string', UniqueTokenIdentifier: 'string', UserAgent: 'string',
  UserDisplayName: 'string', UserId: 'string', UserPrincipalName: 'string', UserType: 'string',
};

// https://learn.microsoft.com/azure/azure-monitor/reference/tables/auditlogs (same revision, auditlogs-include.md)
// prettier-ignore
const auditLogs: Readonly<Record<string, string>> = {
  AADOperationType: 'string', AADTenantId: 'string', ActivityDateTime: 'datetime', ActivityDisplayName: 'string',
  AdditionalDetails: 'dynamic', Category: 'string', CorrelationId: 'string', DurationMs: 'long', Id: 'string',
  Identity: 'string', InitiatedBy: 'dynamic', Level: 'string', Location: 'string', LoggedByService: 'string',
  OperationName: 'string', OperationVersion: 'string', Resource: 'string', ResourceGroup: 'string',
  ResourceId: 'string', ResourceProvider: 'string', Result: 'string', ResultDescription: 'string',
  ResultReason: 'string', ResultSignature: 'string', ResultType: 'string', SourceSystem: 'string',
  TargetResources: 'dynamic', TimeGenerated: 'datetime',
};

interface Parity {
  table: TableName;
  native: string;
  columns: Readonly<Record<string, string>>;
  /** Our columns that no native column is named like. */
  ownColumns: readonly string[];
  /** Shared columns whose type differs from the native one. */
  typeDifferences: Readonly<Record<string, string>>;
}

const parities: readonly Parity[] = [
  {
    table: 'EntraSignIns_CL',
    native: 'SigninLogs',
    columns: signinLogs,
    ownColumns: ['SignInEventType'],
    typeDifferences: { RiskEventTypes_V2: 'dynamic' },
  },
  {
    table: 'EntraAuditLogs_CL',
    native: 'AuditLogs',
    columns: auditLogs,
    ownColumns: [],
    typeDifferences: {},
  },
];

/** Log Analytics column types as the table reference spells them. */
const referenceType = (type: string): string => (type === 'boolean' ? 'bool' : type);

function paritySection(): string {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const start = readme.indexOf('### Native parity');
  assert.ok(start >= 0, 'README.md has a "### Native parity" section');
  const end = readme.slice(start + 1).search(/\n#{2,3} /);
  return end < 0 ? readme.slice(start) : readme.slice(start, start + 1 + end);
}

describe('native parity of the Entra tables (README "Native parity")', () => {
  const section = paritySection();
  const mentioned = (name: string): boolean => section.includes(`\`${name}\``);

  for (const { table, native, columns, ownColumns, typeDifferences } of parities) {
    const ours = tableDefinitions[table].columns;
    const ourNames = new Set<string>(ours.map((column) => column.name));

    it(`${table}: every column named like a ${native} column has its type, or the difference is listed`, () => {
      for (const column of ours) {
        const nativeType = columns[column.name];
        if (nativeType === undefined) continue;
        const expected = typeDifferences[column.name] ?? nativeType;
        assert.equal(
          referenceType(column.type),
          expected,
          `${table}.${column.name} (${native}: ${nativeType})`,
        );
      }
      for (const name of Object.keys(typeDifferences)) {
        assert.ok(mentioned(name), `README's parity section explains the type of ${name}`);
      }
    });

    it(`${table}: its columns without a ${native} namesake are exactly the known ones, and named in the README`, () => {
      const own = ours.map((column) => column.name).filter((name) => columns[name] === undefined);
      assert.deepEqual(own, ownColumns, `a new column should take its native name where ${native} has one`);
      for (const name of own) assert.ok(mentioned(name), `README's parity section names ${name}`);
    });

    it(`${table}: every ${native} column it lacks is named in the README's parity section`, () => {
      const missing = Object.keys(columns).filter((name) => !ourNames.has(name));
      const unexplained = missing.filter((name) => !mentioned(name));
      assert.deepEqual(unexplained, [], `${native} columns absent from ${table} and not in README`);
    });
  }

  it('keeps the native names the issue called out', () => {
    const signIns = new Set<string>(tableDefinitions.EntraSignIns_CL.columns.map((column) => column.name));
    const audits = new Set<string>(tableDefinitions.EntraAuditLogs_CL.columns.map((column) => column.name));
    for (const name of [
      'UserAgent',
      'UserType',
      'AuthenticationRequirement',
      'AuthenticationDetails',
      'AADTenantId',
    ])
      assert.ok(signIns.has(name), `EntraSignIns_CL.${name}`);
    for (const name of ['ActivityDisplayName', 'AADOperationType', 'AADTenantId'])
      assert.ok(audits.has(name), `EntraAuditLogs_CL.${name}`);
    for (const name of ['SourceTenantId', 'OperationType'])
      assert.ok(!signIns.has(name) && !audits.has(name), `${name} is not a native column name`);
    assert.ok(signIns.has('Id') && audits.has('Id'), 'Id, as natively (the reserved name is lowercase id)');
  });
});
