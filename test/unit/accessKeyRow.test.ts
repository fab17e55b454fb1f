import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { toAccessKeyRow, wholeDaysBetween, type AccessKeyFacts } from '../../src/sources/aws/accessKeyRow.js';
import { tableDefinitions } from '../../src/tables/generated.js';

const snapshot = {
  id: 'run-1',
  time: new Date('2026-11-23T06:00:00Z'),
  accountId: '123456789012',
  accountName: 'prod',
  accessKeyIdMode: 'masked' as const,
};

const key: AccessKeyFacts = {
  userName: 'alice',
  userArn: 'arn:aws:iam::123456789012:user/alice',
  userCreateDate: new Date('2018-01-01T00:00:00Z'),
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  status: 'Active',
  createDate: new Date('2026-08-24T06:00:01Z'),
  lastUsedDate: new Date('2026-11-20T05:00:00Z'),
  lastUsedRegion: 'us-east-1',
  lastUsedService: 's3',
  mfaActive: false,
  passwordEnabled: true,
  source: 'credential-report',
};

describe('access key rows', () => {
  it('fills every column of the table, masks the key ID and computes ages in whole days', () => {
    const row = toAccessKeyRow(key, snapshot);
    assert.deepEqual(
      Object.keys(row).sort(),
      tableDefinitions.AWSIAMAccessKeys_CL.columns.map((c) => c.name).sort(),
    );
    assert.equal(row.AccessKeyId, 'AKIA…MPLE');
    assert.equal(row.KeyAgeDays, 90, 'one second short of 91 days');
    assert.equal(row.DaysSinceLastUse, 3);
    assert.equal(row.TimeGenerated, '2026-11-23T06:00:00.000Z');
    assert.equal(row.SnapshotId, 'run-1');
  });

  it('keeps the full key ID only when configured', () => {
    assert.equal(
      toAccessKeyRow(key, { ...snapshot, accessKeyIdMode: 'full' }).AccessKeyId,
      'AKIAIOSFODNN7EXAMPLE',
    );
  });

  it('gives never-used keys null last-use columns, whatever region text came along', () => {
    const row = toAccessKeyRow({ ...key, lastUsedDate: undefined, lastUsedRegion: 'N/A' }, snapshot);
    assert.equal(row.LastUsedDate, null);
    assert.equal(row.LastUsedRegion, null);
    assert.equal(row.LastUsedService, null);
    assert.equal(row.DaysSinceLastUse, null);
  });

  it('says when the credential report was generated, for report rows only', () => {
    const reportTime = new Date('2026-11-23T03:12:00Z');
    const fromReport = toAccessKeyRow({ ...key, credentialReportTime: reportTime }, snapshot);
    assert.equal(fromReport.CredentialReportTime, '2026-11-23T03:12:00.000Z');
    const fromApi = toAccessKeyRow({ ...key, source: 'api', credentialReportTime: reportTime }, snapshot);
    assert.equal(fromApi.CredentialReportTime, null, 'DataSource = api: nothing came from a report');
    assert.equal(toAccessKeyRow(key, snapshot).CredentialReportTime, null, 'time unknown');
  });

  it('never reports negative ages under clock skew', () => {
    assert.equal(wholeDaysBetween(new Date('2026-01-02'), new Date('2026-01-01')), 0);
  });
});
