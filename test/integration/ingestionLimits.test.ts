import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ManagedIdentityCredential } from '@azure/identity';
import { logsIngestionSink } from '../../src/sinks/logsIngestionSink.js';
import type { EntraAuditLogsRow } from '../../src/tables/generated.js';
import { dcrImmutableId, identityClientId, startLocalCloud, type LocalCloud } from '../support/localCloud.js';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false });
  Object.assign(process.env, cloud.env);
});
afterAll(() => cloud?.stop());

describe('oversized records against the ingestion emulator (64 KB per field, 1 MB per request)', () => {
  it('are cut to fit and accepted instead of failing the batch', async () => {
    const truncated: string[] = [];
    const sink = logsIngestionSink({
      endpoint: cloud.ingestion.endpoint,
      dcrImmutableId,
      credential: new ManagedIdentityCredential({ clientId: identityClientId }),
      onTruncated: (_table, cuts) => truncated.push(...cuts.map((c) => c.field)),
    });
    const huge: EntraAuditLogsRow = {
      TimeGenerated: new Date().toISOString(),
      ActivityDateTime: new Date().toISOString(),
      Id: 'huge-audit',
      Category: 'GroupManagement',
      OperationName: `Add member to group ${'\u0007'.repeat(10)}${'n'.repeat(200_000)}`,
      OperationType: 'Add',
      Result: 'success',
      ResultReason: 'é'.repeat(70_000),
      LoggedByService: 'Core Directory',
      CorrelationId: 'c',
      InitiatedBy: { user: { id: 'u' } },
      TargetResources: Array.from({ length: 20_000 }, (_, i) => ({ id: `member-${i}`, type: 'User' })),
      AdditionalDetails: Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(40) })),
      SourceTenantId: 't',
    };
    const normal: EntraAuditLogsRow = {
      ...huge,
      Id: 'normal',
      OperationName: 'Update user',
      ResultReason: '',
      TargetResources: [],
      AdditionalDetails: [],
    };
    await sink.send('EntraAuditLogs_CL', [huge, normal]);
    const accepted = cloud.ingestion.accepted('EntraAuditLogs_CL');
    assert.deepEqual(accepted.map((r) => r.Id).sort(), ['huge-audit', 'normal']);
    assert.deepEqual(truncated.sort(), [
      'AdditionalDetails',
      'OperationName',
      'ResultReason',
      'TargetResources',
    ]);
    assert.equal(accepted.find((r) => r.Id === 'normal')?.OperationName, 'Update user');
  });
});
