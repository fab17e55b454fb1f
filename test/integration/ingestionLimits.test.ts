import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ManagedIdentityCredential } from '@azure/identity';
import type { Collector } from '../../src/run/collector.js';
import { silentLogger } from '../../src/lib/logger.js';
import { runCollector } from '../../src/run/runCollector.js';
import { logsIngestionSink } from '../../src/sinks/logsIngestionSink.js';
import type { CollectorRunsRow, EntraAuditLogsRow } from '../../src/tables/generated.js';
import { dcrImmutableId, identityClientId, startLocalCloud, type LocalCloud } from '../support/localCloud.js';

let cloud: LocalCloud;
beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false });
  Object.assign(process.env, cloud.env);
});
afterAll(() => cloud?.stop());

const sinkOnEmulator = () =>
  logsIngestionSink({
    endpoint: cloud.ingestion.endpoint,
    dcrImmutableId,
    credential: new ManagedIdentityCredential({ clientId: identityClientId }),
  });

function hugeAudit(id: string): EntraAuditLogsRow {
  return {
    TimeGenerated: new Date().toISOString(),
    ActivityDateTime: new Date().toISOString(),
    Id: id,
    Category: 'GroupManagement',
    OperationName: `Add member to group ${'\u0007'.repeat(10)}${'n'.repeat(200_000)}`,
    ActivityDisplayName: 'Add member to group',
    AADOperationType: 'Add',
    Result: 'success',
    ResultReason: 'é'.repeat(70_000),
    LoggedByService: 'Core Directory',
    CorrelationId: 'c',
    InitiatedBy: {
      user: { id: 'u', userPrincipalName: 'admin@contoso.example', details: 'd'.repeat(80_000) },
    },
    TargetResources: Array.from({ length: 20_000 }, (_, i) => ({ id: `member-${i}`, type: 'User' })),
    AdditionalDetails: Array.from({ length: 20_000 }, (_, i) => ({ key: `k${i}`, value: 'v'.repeat(40) })),
    AADTenantId: 't',
  };
}

describe('oversized records against the ingestion emulator (64 KB per field, 1 MB per request)', () => {
  it('are cut to fit and accepted instead of failing the batch, dynamic columns still JSON of their shape', async () => {
    const truncated: string[] = [];
    const huge = hugeAudit('huge-audit');
    const normal: EntraAuditLogsRow = {
      ...huge,
      Id: 'normal',
      OperationName: 'Update user',
      ResultReason: '',
      InitiatedBy: { user: { id: 'u' } },
      TargetResources: [],
      AdditionalDetails: [],
    };
    await sinkOnEmulator().send('EntraAuditLogs_CL', [huge, normal], {
      onTruncated: (cuts) => truncated.push(...cuts.map((c) => c.field)),
    });
    const accepted = cloud.ingestion.accepted('EntraAuditLogs_CL');
    assert.deepEqual(accepted.map((r) => r.Id).sort(), ['huge-audit', 'normal']);
    assert.deepEqual(truncated.sort(), [
      'AdditionalDetails',
      'InitiatedBy',
      'OperationName',
      'ResultReason',
      'TargetResources',
    ]);
    assert.equal(accepted.find((r) => r.Id === 'normal')?.OperationName, 'Update user');

    const cut = accepted.find((r) => r.Id === 'huge-audit') as unknown as EntraAuditLogsRow;
    const targets = cut.TargetResources as unknown[];
    assert.ok(Array.isArray(targets) && targets.length > 1_000, 'still an array, of whole targets');
    assert.deepEqual(targets[0], { id: 'member-0', type: 'User' });
    assert.match(String(targets.at(-1)), /^…\[\d+ more items truncated by crosscloud-identity-monitor\]$/);
    const initiatedBy = cut.InitiatedBy as {
      user: { id: string; userPrincipalName: string; details: string };
    };
    assert.equal(initiatedBy.user.userPrincipalName, 'admin@contoso.example', 'small members survive');
    assert.match(initiatedBy.user.details, /^ddd.*truncated by crosscloud-identity-monitor: 80002 bytes\]$/);
  });

  it('are counted in the run row Warnings, one line per table however many rows were cut', async () => {
    const collector: Collector<'EntraAuditLogs_CL'> = {
      name: 'oversized-audits',
      table: 'EntraAuditLogs_CL',
      async *read() {
        for (let i = 0; i < 3; i += 1) yield await Promise.resolve(hugeAudit(`run-huge-${i}`));
      },
    };
    const result = await runCollector({ collector, sink: sinkOnEmulator(), log: silentLogger, batchSize: 2 });
    const runRow = cloud.ingestion
      .accepted('CollectorRuns_CL')
      .find((row) => row.RunId === result.runId) as unknown as CollectorRunsRow;
    assert.equal(runRow.Status, 'Succeeded');
    const lines = runRow.Warnings?.split('\n') ?? [];
    assert.equal(lines.length, 1, runRow.Warnings ?? '');
    assert.match(lines[0]!, /^EntraAuditLogs_CL: fields cut to fit the ingestion limits/);
    for (const field of [
      'TargetResources',
      'AdditionalDetails',
      'InitiatedBy',
      'OperationName',
      'ResultReason',
    ])
      assert.match(lines[0]!, new RegExp(`${field} in 3 rows \\(largest \\d+ bytes\\)`));
    assert.deepEqual(result.warnings, lines);
  });
});
