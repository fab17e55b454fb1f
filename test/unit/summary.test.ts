// What the CLI tells a security engineer after a run: who is at risk, worst first, bounded.
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { collectorNamed } from '../../src/app/configuredRun.js';
import { renderSummary } from '../../src/cli.js';
import type { RunResult } from '../../src/run/runCollector.js';
import { accessKeySummarizer } from '../../src/sources/aws/accessKeySummary.js';
import { rootUserName } from '../../src/sources/aws/credentialReport.js';
import { signInSummarizer } from '../../src/sources/entra/signInSummary.js';
import type { AWSIAMAccessKeysRow, EntraSignInsRow } from '../../src/tables/generated.js';

function key(overrides: Partial<AWSIAMAccessKeysRow>): AWSIAMAccessKeysRow {
  return {
    TimeGenerated: '2026-12-01T06:00:00Z',
    SnapshotId: 's',
    AccountId: '111122223333',
    AccountName: 'prod',
    UserName: 'alice',
    UserArn: 'arn:aws:iam::111122223333:user/alice',
    UserCreateDate: '2020-01-01T00:00:00Z',
    AccessKeyId: 'AKIA…WXYZ',
    Status: 'Active',
    CreateDate: '2025-01-01T00:00:00Z',
    KeyAgeDays: 10,
    LastUsedDate: '2026-11-30T00:00:00Z',
    LastUsedRegion: 'us-east-1',
    LastUsedService: 's3',
    DaysSinceLastUse: 1,
    MfaActive: true,
    PasswordEnabled: false,
    DataSource: 'credential-report',
    ...overrides,
  } as AWSIAMAccessKeysRow;
}

const run: RunResult = {
  runId: 'r',
  collector: 'aws-access-keys',
  status: 'Succeeded',
  recordsRead: 0,
  recordsUploaded: 0,
  apiCalls: 0,
  throttled: 0,
  durationMs: 1000,
  warnings: [],
} as unknown as RunResult;

describe('access-key findings', () => {
  const rows = [
    key({ UserName: rootUserName, AccessKeyId: 'AKIAROOTROOTROOT1234', KeyAgeDays: 400 }),
    key({ UserName: 'old-inactive', Status: 'Inactive', KeyAgeDays: 3000 }),
    ...Array.from({ length: 14 }, (_, i) => key({ UserName: `u${i}`, KeyAgeDays: 100 + i * 10 })),
    key({ UserName: 'console', KeyAgeDays: 500, PasswordEnabled: true, MfaActive: false }),
    key({ UserName: 'console', KeyAgeDays: 20, PasswordEnabled: true, MfaActive: false, LastUsedDate: null }),
    key({ UserName: 'keys-only', MfaActive: false, PasswordEnabled: false }),
  ];
  const summarizer = accessKeySummarizer();
  summarizer.add(rows);
  const summary = summarizer.result();
  /** The CLI's summary of the aws-access-keys declaration, fed the same rows. */
  const cliSummary = collectorNamed('aws-access-keys')?.summary?.();
  assert.ok(cliSummary);
  cliSummary.add(rows);

  it('counts and lists each kind of finding, worst first', () => {
    assert.equal(summary.keys, 19);
    assert.equal(summary.activeKeys, 18);
    assert.equal(summary.activeOlderThan90Days, 16); // root (400), 14 × u (100–230), console (500)
    assert.deepEqual(
      summary.findings.activeRootKeys.map((k) => k.accessKeyId),
      ['AKIA…1234'],
      'a full key ID never reaches the terminal',
    );
    const ages = summary.findings.activeOldKeys.map((k) => k.ageDays);
    assert.deepEqual(
      ages,
      [...ages].sort((a, b) => (b ?? 0) - (a ?? 0)),
    );
    assert.equal(summary.findings.activeOldKeys[0]?.userName, 'console');
    // The riskier subset: a console password and no MFA; 'keys-only' has no password.
    assert.deepEqual(summary.findings.consoleWithoutMfa, [
      { accountId: '111122223333', userName: 'console', activeKeys: 2, oldestKeyAgeDays: 500 },
    ]);
    assert.equal(summary.usersWithKeysWithoutMfa, 2);
    assert.deepEqual(
      summary.findings.activeNeverUsed.map((k) => k.userName),
      ['console'],
    );
  });

  it('prints at most 10 of each kind unless told to print all', () => {
    const bounded = renderSummary(run, cliSummary.render({ all: false }));
    assert.match(bounded, /^Active root-account access keys: 1$/m);
    assert.match(bounded, /^Active keys older than 90 days: 16$/m);
    assert.match(bounded, /^ {2}… and 6 more \(--all lists them\)$/m);
    assert.match(bounded, /^ {2}111122223333 {2}console {2}2 active keys, oldest 500 days$/m);
    assert.doesNotMatch(bounded, /old-inactive/, 'inactive keys are no finding');
    const all = renderSummary(run, cliSummary.render({ all: true }));
    assert.doesNotMatch(all, /more \(--all/);
    assert.equal(all.match(/ days old, /g)?.length, 1 + 16 + 1);
  });
});

describe('sign-in summary', () => {
  const signIn = (upn: string, app: string, ip: string, result: string) =>
    ({ UserPrincipalName: upn, AppDisplayName: app, IPAddress: ip, ResultType: result }) as EntraSignInsRow;

  it('ranks users, apps and addresses by failed sign-ins, bounded', () => {
    const summarizer = signInSummarizer(2);
    summarizer.add([
      signIn('a@x', 'Teams', '10.0.0.1', '50126'),
      signIn('a@x', 'Teams', '10.0.0.1', '50126'),
      signIn('a@x', 'Portal', '10.0.0.2', '0'),
      signIn('b@x', 'Portal', '10.0.0.2', '50053'),
      signIn('c@x', 'Outlook', '10.0.0.3', '50074'),
    ]);
    const summary = summarizer.result();
    assert.equal(summary.signIns, 5);
    assert.equal(summary.failed, 4);
    assert.deepEqual(summary.topUsers, [
      { value: 'a@x', failures: 2 },
      { value: 'b@x', failures: 1 },
    ]);
    assert.deepEqual(summary.topApps[0], { value: 'Teams', failures: 2 });
    const cli = collectorNamed('entra-signins')?.summary?.();
    assert.ok(cli);
    cli.add([
      signIn('a@x', 'Teams', '10.0.0.1', '50126'),
      signIn('a@x', 'Teams', '10.0.0.1', '50126'),
      ...Array.from({ length: 6 }, (_, i) => signIn(`u${i}@x`, 'Portal', '10.0.0.2', '50053')),
    ]);
    const text = renderSummary({ ...run, collector: 'entra-signins' }, cli.render({ all: false }));
    assert.match(text, /failed sign-ins +8 of 8/);
    assert.match(text, /Users failing most \(failed sign-ins each\):\n +2 {2}a@x\n +1 {2}u0@x/);
    assert.equal(text.match(/@x$/gm)?.length, 5, 'the worst 5 users unless --all');
    const all = renderSummary({ ...run, collector: 'entra-signins' }, cli.render({ all: true }));
    assert.equal(all.match(/@x$/gm)?.length, 7);
  });
});
