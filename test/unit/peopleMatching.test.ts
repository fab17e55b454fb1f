// People across clouds (issue 17): an independent set of snapshots — names in other cases and domains, deleted vs
// disabled vs inactive, ambiguous names, stale, failed and missing snapshots — through the TypeScript matcher
// (src/people/matchIdentities.ts), and the generated KQL (infra/people, infra/analytics/people-*, the workbook)
// held to the same definition (infra/people/matching.json) and checked with the Kusto language service.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { matchingRules, peopleSettingDefaults } from '../../src/people/matching.generated.js';
import {
  entraMatchKey,
  iamMatchKey,
  matchIdentities,
  type PeopleFindings,
  type PeopleInput,
} from '../../src/people/matchIdentities.js';
import { renderPeopleReport } from '../../src/people/report.js';
import type {
  AWSIAMAccessKeysRow,
  CollectorRunsRow,
  EntraAuditLogsRow,
  EntraSignInsRow,
  EntraUsersRow,
} from '../../src/tables/generated.js';
import { assertValidKql, kqlResultColumns } from '../support/kusto.js';
import { repoRoot } from '../support/paths.js';

const now = new Date('2026-12-10T12:00:00Z');
const at = (hoursAgo: number) => new Date(now.getTime() - hoursAgo * 3_600_000).toISOString();
const daysAgo = (days: number) => at(days * 24);

function run(
  collector: string,
  runId: string,
  startHoursAgo: number,
  status = 'Succeeded',
): CollectorRunsRow {
  return {
    TimeGenerated: at(startHoursAgo - 0.1),
    RunId: runId,
    Collector: collector,
    Status: status,
    StartTime: at(startHoursAgo),
    EndTime: at(startHoursAgo - 0.1),
    DurationMs: 360_000,
    RecordsRead: 0,
    RecordsUploaded: 0,
    ApiCalls: 0,
    Throttled: 0,
    WindowStart: collector === 'entra-signins' ? at(startHoursAgo + 1) : null,
    WindowEnd: collector === 'entra-signins' ? at(startHoursAgo) : null,
    Error: '',
    Warnings: '',
    Version: 'test',
  };
}

function user(snapshot: { id: string; hoursAgo: number }, u: Partial<EntraUsersRow>): EntraUsersRow {
  return {
    TimeGenerated: at(snapshot.hoursAgo),
    SnapshotId: snapshot.id,
    UserId: 'id-?',
    UserPrincipalName: null,
    UserDisplayName: null,
    Mail: null,
    AccountEnabled: true,
    UserType: 'Member',
    Department: 'Engineering',
    JobTitle: null,
    OnPremisesSamAccountName: null,
    OnPremisesDomainName: null,
    OnPremisesUserPrincipalName: null,
    OnPremisesSyncEnabled: null,
    CreatedDateTime: daysAgo(1000),
    LastSignInDateTime: daysAgo(1),
    LastNonInteractiveSignInDateTime: null,
    LastSuccessfulSignInDateTime: daysAgo(1),
    SignInActivityCollected: true,
    AADTenantId: 'tenant',
    ...u,
  };
}

function key(
  snapshot: { id: string; hoursAgo: number },
  k: Partial<AWSIAMAccessKeysRow>,
): AWSIAMAccessKeysRow {
  return {
    TimeGenerated: at(snapshot.hoursAgo),
    SnapshotId: snapshot.id,
    AccountId: '111111111111',
    AccountName: 'prod',
    UserName: 'someone',
    UserArn: `arn:aws:iam::111111111111:user/${k.UserName ?? 'someone'}`,
    UserCreateDate: daysAgo(800),
    AccessKeyId: `AKIA…${(k.UserName ?? 'none').slice(0, 4).toUpperCase().padEnd(4, 'X')}`,
    Status: 'Active',
    CreateDate: daysAgo(700),
    KeyAgeDays: 700,
    LastUsedDate: daysAgo(2),
    LastUsedRegion: 'eu-west-1',
    LastUsedService: 's3',
    DaysSinceLastUse: 2,
    MfaActive: true,
    PasswordEnabled: false,
    DataSource: 'credential-report',
    CredentialReportTime: at(snapshot.hoursAgo),
    OwnerTag: '',
    ...k,
  };
}

function signIn(id: string, userId: string, s: Partial<EntraSignInsRow>): EntraSignInsRow {
  const base: Record<string, unknown> = {
    TimeGenerated: at(5),
    CreatedDateTime: at(5),
    Id: id,
    UserId: userId,
    ResultType: '0',
    IsInteractive: true,
    SignInEventType: 'interactiveUser',
    RiskLevelDuringSignIn: 'none',
    RiskState: 'none',
    AuthenticationRequirement: 'multiFactorAuthentication',
  };
  return { ...base, ...s } as unknown as EntraSignInsRow;
}

function audit(id: string, operation: string, userId: string, hoursAgo: number): EntraAuditLogsRow {
  return {
    TimeGenerated: at(hoursAgo),
    ActivityDateTime: at(hoursAgo),
    Id: id,
    Category: 'UserManagement',
    OperationName: operation,
    ActivityDisplayName: operation,
    AADOperationType: 'Update',
    Result: 'success',
    ResultReason: '',
    LoggedByService: 'Core Directory',
    CorrelationId: id,
    InitiatedBy: {},
    TargetResources: [{ id: userId, type: 'User', userPrincipalName: null }],
    AdditionalDetails: [],
    AADTenantId: 'tenant',
  };
}

// Three complete Entra snapshots (3 days, 2 days, 3 hours ago) and a newer one whose run failed (partial rows).
const e1 = { id: 'users-1', hoursAgo: 72 };
const e2 = { id: 'users-2', hoursAgo: 48 };
const e3 = { id: 'users-3', hoursAgo: 3 };
const eFailed = { id: 'users-4', hoursAgo: 1 };
// AWS: account 111 fresh (2 h), a newer failed run with part of its keys; account 222 only 3 days old.
const a1 = { id: 'keys-1', hoursAgo: 2 };
const aFailed = { id: 'keys-2', hoursAgo: 0.5 };
const a2 = { id: 'keys-old', hoursAgo: 72 };

const alice = {
  UserId: 'alice',
  UserPrincipalName: 'alice.smith@contoso.com',
  UserDisplayName: 'Alice Smith',
  Mail: 'alice.smith@contoso.com',
};
const bob = {
  UserId: 'bob',
  UserPrincipalName: 'bob.jones@contoso.onmicrosoft.com',
  UserDisplayName: 'Bob Jones',
  Mail: 'Bob@contoso.com',
};
const carol = {
  UserId: 'carol',
  UserPrincipalName: 'carol.white@contoso.com',
  UserDisplayName: 'Carol White',
  Mail: 'carol.white@contoso.com',
};
const dan = {
  UserId: 'dan',
  UserPrincipalName: 'dan.keller@contoso.com',
  UserDisplayName: 'Dan Keller',
  OnPremisesSamAccountName: 'dkeller',
  OnPremisesDomainName: 'corp.contoso.com',
  OnPremisesUserPrincipalName: 'dkeller@corp.contoso.com',
  LastSignInDateTime: daysAgo(200),
  LastSuccessfulSignInDateTime: daysAgo(200),
};
const erin = {
  UserId: 'erin',
  UserPrincipalName: 'erin@contoso.com',
  UserDisplayName: 'Erin',
  LastSignInDateTime: null,
  LastSuccessfulSignInDateTime: null,
};
const frank = {
  UserId: 'frank',
  UserPrincipalName: 'frank@contoso.com',
  UserDisplayName: 'Frank',
  CreatedDateTime: daysAgo(10),
  LastSignInDateTime: null,
  LastSuccessfulSignInDateTime: null,
};
const jsmith1 = {
  UserId: 'js1',
  UserPrincipalName: 'john.smith@contoso.com',
  OnPremisesSamAccountName: 'jsmith',
  OnPremisesDomainName: 'corp.contoso.com',
};
const jsmith2 = {
  UserId: 'js2',
  UserPrincipalName: 'jane.smith@contoso.com',
  OnPremisesSamAccountName: 'JSmith',
  OnPremisesDomainName: 'emea.contoso.com',
};
const gina = {
  UserId: 'gina',
  UserPrincipalName: 'gina@contoso.com',
  UserDisplayName: 'Gina',
  AccountEnabled: false,
};
const guest = {
  UserId: 'guest',
  UserPrincipalName: 'pat_fabrikam.com#EXT#@contoso.onmicrosoft.com',
  Mail: 'pat@fabrikam.com',
  UserType: 'Guest',
};

function world(): PeopleInput & {
  users: EntraUsersRow[];
  keys: AWSIAMAccessKeysRow[];
  runs: CollectorRunsRow[];
} {
  const everyone = [alice, bob, carol, dan, erin, frank, jsmith1, jsmith2, gina, guest];
  const users: EntraUsersRow[] = [
    ...everyone.filter((p) => p !== frank).map((p) => user(e1, p)),
    ...everyone.filter((p) => p !== frank).map((p) => user(e2, p)),
    // Latest complete snapshot: Bob disabled, Carol gone, Erin without sign-in activity read.
    ...everyone
      .filter((p) => p !== carol)
      .map((p) =>
        user(e3, {
          ...p,
          ...(p === bob ? { AccountEnabled: false } : {}),
          ...(p === erin ? { SignInActivityCollected: false } : {}),
        }),
      ),
    // The failed run's rows: only part of the users (Alice): no status is judged from it.
    user(eFailed, alice),
    // A row delivered twice.
    user(e3, alice),
  ];
  const keys: AWSIAMAccessKeysRow[] = [
    key(a1, { UserName: 'Alice.Smith@Contoso.com', PasswordEnabled: true, MfaActive: false }), // name-upn
    key(a1, { UserName: 'alice', Status: 'Inactive', AccessKeyId: 'AKIA…ALI2' }), // no one: inactive key
    key(a1, { UserName: 'BOB', LastUsedDate: at(1), AccessKeyId: 'AKIA…BOB1' }), // name-mail-bare; used after leaving
    key(a1, { UserName: 'BOB', Status: 'Inactive', AccessKeyId: 'AKIA…BOB2' }),
    key(a1, { UserName: 'carol.white', LastUsedDate: at(40) }), // name-upn-bare; deleted (audit) 30 h ago
    key(a1, { UserName: 'CORP\\dkeller' }), // name-sam-any-domain; inactive 200 days
    key(a1, { UserName: 'erin' }), // not judged inactive: sign-in activity not read
    key(a1, { UserName: 'frank' }), // too new to be inactive
    key(a1, { UserName: 'jsmith' }), // two sAMAccountNames jsmith: ambiguous → orphan
    key(a1, { UserName: 'ci-deploy', UserCreateDate: daysAgo(365) }), // orphan
    key(a1, { UserName: 'new-hire-svc', UserCreateDate: at(1) }), // newer than the Entra snapshot: not yet
    key(a1, { UserName: '<root_account>', AccessKeyId: '' }), // root keys have a rule of their own
    key(a1, { UserName: 'pat@fabrikam.com' }), // the guest, by mail
    key(a1, { UserName: 'ci-deploy', UserCreateDate: daysAgo(365) }), // delivered twice
    key(aFailed, { UserName: 'ci-deploy', UserCreateDate: daysAgo(365) }), // failed run: not the latest
    key(a2, { AccountId: '222222222222', UserName: 'gina' }), // disabled, but the account's snapshot is stale
  ];
  const runs = [
    run('entra-users', e1.id, e1.hoursAgo),
    run('entra-users', e2.id, e2.hoursAgo),
    run('entra-users', e3.id, e3.hoursAgo),
    run('entra-users', eFailed.id, eFailed.hoursAgo, 'Failed'),
    run('aws-access-keys', a1.id, a1.hoursAgo),
    run('aws-access-keys', aFailed.id, aFailed.hoursAgo, 'Failed'),
    run('aws-access-keys', a2.id, a2.hoursAgo),
    run('entra-signins', 'signins-1', 1),
  ];
  const signIns = [
    signIn('s1', 'alice', {
      RiskLevelDuringSignIn: 'high',
      RiskState: 'atRisk',
      AuthenticationRequirement: 'singleFactorAuthentication',
    }),
    signIn('s2', 'alice', { AuthenticationRequirement: 'singleFactorAuthentication' }),
    signIn('s2', 'alice', { AuthenticationRequirement: 'singleFactorAuthentication' }), // twice
    signIn('s3', 'dan', { RiskLevelDuringSignIn: 'medium', RiskState: 'remediated', ResultType: '50126' }),
    signIn('s4', 'bob', { AuthenticationRequirement: 'singleFactorAuthentication', IsInteractive: false }),
  ];
  const audits = [audit('a1', 'Delete user', 'carol', 30), audit('a2', 'Update user', 'alice', 10)];
  return { keys, users, runs, signIns, audits };
}

const names = (findings: PeopleFindings) => ({
  leavers: findings.leaversWithActiveKey
    .map((l) => `${l.person.userId}:${l.person.leaverReason}:${l.key.UserName}`)
    .sort(),
  orphans: findings.orphanKeys.map((k) => k.key.UserName).sort(),
  weakest: findings.weakestLinks.map((w) => w.person.userId).sort(),
  mfa: findings.mfaInNeither.map((m) => `${m.person.userId}:${m.userName}`).sort(),
});

describe('people across clouds: matching rules (infra/people/matching.json)', () => {
  const rule = (name: string) => matchingRules.find((r) => r.name === name) ?? assert.fail(name);

  it('compares case-insensitively, with or without the domain, as each rule says', () => {
    assert.equal(iamMatchKey(rule('name-upn'), ' Alice.Smith@Contoso.COM '), 'alice.smith@contoso.com');
    assert.equal(entraMatchKey(rule('name-upn'), 'alice.smith@contoso.com'), 'alice.smith@contoso.com');
    // bare-name: only an IAM name without a domain, against the Entra value's part before @
    assert.equal(iamMatchKey(rule('name-upn-bare'), 'Alice.Smith'), 'alice.smith');
    assert.equal(iamMatchKey(rule('name-upn-bare'), 'alice.smith@contoso.com'), '');
    assert.equal(iamMatchKey(rule('name-upn-bare'), 'CORP\\asmith'), '');
    assert.equal(entraMatchKey(rule('name-upn-bare'), 'Alice.Smith@contoso.com'), 'alice.smith');
    // any-domain: parts before @, after DOMAIN\
    assert.equal(iamMatchKey(rule('name-any-domain'), 'CORP\\ASmith'), 'asmith');
    assert.equal(iamMatchKey(rule('name-any-domain'), 'alice@partner.example'), 'alice');
  });

  it('the generated TypeScript rules are matching.json, in order', () => {
    const json = JSON.parse(readFileSync(join(repoRoot, 'infra/people/matching.json'), 'utf8')) as {
      rules: { name: string; iam: string; entra: string; compare: string }[];
      settings: { name: string; default: number }[];
    };
    assert.deepEqual(
      matchingRules.map((r) => [r.name, r.iam, r.entra, r.compare]),
      json.rules.map((r) => [r.name, r.iam, r.entra, r.compare]),
    );
    assert.deepEqual(
      peopleSettingDefaults,
      Object.fromEntries(json.settings.map((s) => [s.name, s.default])),
    );
  });
});

describe('people across clouds: findings from an independent set of snapshots', () => {
  const findings = matchIdentities(world(), { now });

  it('matches IAM users to people by the first rule that names exactly one', () => {
    const rules: Record<string, string> = Object.fromEntries(
      findings.personKeys
        .filter((k) => k.key.Status === 'Active')
        .map((k): [string, string] => [k.key.UserName ?? '', k.matchRule]),
    );
    assert.deepEqual(rules, {
      'Alice.Smith@Contoso.com': 'name-upn',
      BOB: 'name-mail-bare',
      'carol.white': 'name-upn-bare',
      'CORP\\dkeller': 'name-sam-any-domain',
      erin: 'name-upn-bare',
      frank: 'name-upn-bare',
      jsmith: '',
      'ci-deploy': '',
      'new-hire-svc': '',
      'pat@fabrikam.com': 'name-mail',
    });
    const jsmith = findings.personKeys.find((k) => k.key.UserName === 'jsmith');
    assert.deepEqual(jsmith?.ambiguousRules, ['name-sam', 'name-sam-any-domain']);
  });

  it('finds the disabled, the deleted and the inactive leaver with an active key, and nobody else', () => {
    assert.deepEqual(names(findings).leavers, [
      'bob:disabled:BOB',
      'carol:deleted:carol.white',
      'dan:inactive:CORP\\dkeller',
    ]);
    const bobKey = findings.leaversWithActiveKey.find((l) => l.person.userId === 'bob');
    // Disabled between the snapshots of 48 h and 3 h ago: the later one is the leave date; the key was used 1 h ago.
    assert.equal(bobKey?.person.leaveDate?.toISOString(), at(3));
    assert.equal(bobKey?.person.leaveDateSource, 'snapshots');
    assert.equal(bobKey?.keyUsedAfterLeave, true);
    const carolKey = findings.leaversWithActiveKey.find((l) => l.person.userId === 'carol');
    assert.equal(carolKey?.person.leaveDate?.toISOString(), at(30), 'the Delete user audit event');
    assert.equal(carolKey?.person.leaveDateSource, 'audit log');
    assert.equal(carolKey?.keyUsedAfterLeave, false, 'last used 40 h ago, before the deletion');
    const danKey = findings.leaversWithActiveKey.find((l) => l.person.userId === 'dan');
    assert.equal(danKey?.person.leaveDateSource, 'last sign-in');
    assert.equal(danKey?.keyUsedAfterLeave, true, 'used 2 days ago, last signed in 200 days ago');
  });

  it('finds orphan keys: matched to nobody, ambiguous included, an IAM user newer than the Entra snapshot not yet', () => {
    assert.deepEqual(names(findings).orphans, ['ci-deploy', 'jsmith']);
  });

  it('finds the weakest link and MFA in neither cloud', () => {
    assert.deepEqual(names(findings).weakest, ['alice'], 'remediated risk is no risk');
    assert.deepEqual(names(findings).mfa, ['alice:Alice.Smith@Contoso.com']);
  });

  it('has one row per person with the findings as flags', () => {
    const row = (key: string) => findings.people.find((p) => p.personKey === key);
    assert.equal(row('bob')?.leaver, 'disabled');
    assert.equal(row('bob')?.keyUsedAfterLeave, true);
    assert.equal(row('bob')?.keys.length, 2);
    assert.equal(row('aws:111111111111/ci-deploy')?.orphan, true);
    assert.equal(row('alice')?.weakestLink, true);
    assert.equal(row('alice')?.mfaInNeither, true);
    assert.equal(row('erin')?.leaver, '');
    assert.equal(row('aws:222222222222/gina'), undefined, 'the stale account is not judged');
  });

  it('says what it judged', () => {
    const fresh = Object.fromEntries(findings.freshness.map((f) => [`${f.source} ${f.scope}`, f.fresh]));
    assert.deepEqual(fresh, {
      'Entra users snapshot tenant': true,
      'Entra sign-ins entra-signins': true,
      'AWS access keys snapshot 111111111111': true,
      'AWS access keys snapshot 222222222222': false,
    });
    assert.equal(findings.freshness[0]?.snapshotId, e3.id);
    const text = renderPeopleReport(findings, { now });
    assert.match(text, /leavers with active keys {2}3 \(3 keys, 2 used after leaving\)/);
    assert.match(
      text,
      /Bob Jones <bob\.jones@contoso\.onmicrosoft\.com>, disabled 2026-12-10 \(snapshots\): prod \(111111111111\)\/BOB AKIA…BOB1, 700 days old, last used 2026-12-10 \[name-mail-bare\] — USED AFTER LEAVING/,
    );
  });
});

describe('people across clouds: a finding never fires because a snapshot is missing or late', () => {
  const none = { leavers: [], orphans: [], weakest: [], mfa: [] };

  it('no Entra users run row (the snapshot still arriving): nothing is judged', () => {
    const input = world();
    const findings = matchIdentities(
      { ...input, runs: input.runs.filter((r) => r.Collector !== 'entra-users') },
      { now },
    );
    assert.deepEqual(names(findings), none);
    assert.match(renderPeopleReport(findings, { now }), /No finding is judged/);
  });

  it('no Entra users snapshot at all: nothing is judged, not everyone an orphan', () => {
    assert.deepEqual(names(matchIdentities({ ...world(), users: [] }, { now })), none);
  });

  it('the latest complete Entra snapshot older than snapshotMaxAgeHours: nothing is judged', () => {
    assert.deepEqual(
      names(matchIdentities(world(), { now: new Date(now.getTime() + 24 * 3_600_000) })),
      none,
    );
    // …and a newer failed run does not make it fresh
    const input = world();
    const runs = input.runs.filter((r) => r.RunId !== e3.id);
    const users = input.users.filter((u) => u.SnapshotId !== e3.id);
    assert.deepEqual(names(matchIdentities({ ...input, runs, users }, { now })), none);
  });

  it('a failed latest users run: the complete one before it is judged, its partial rows make nobody deleted', () => {
    // Only Alice is in the failed run's rows: were it taken for the latest snapshot, everyone else would be deleted.
    const findings = matchIdentities(world(), { now });
    assert.equal(findings.freshness[0]?.snapshotId, e3.id);
    assert.ok(
      !findings.leaversWithActiveKey.some(
        (l) => l.person.leaverReason === 'deleted' && l.person.userId !== 'carol',
      ),
    );
  });

  it('an AWS account whose latest complete snapshot is stale: its keys are not judged', () => {
    const input = world();
    const stale = matchIdentities({ ...input, runs: input.runs.filter((r) => r.RunId !== a1.id) }, { now });
    assert.deepEqual(names(stale).leavers, []);
    assert.deepEqual(names(stale).orphans, []);
  });

  it('the sign-ins not up to date: MFA in neither cloud is not judged; risky sign-ins still count', () => {
    const input = world();
    const findings = matchIdentities(
      { ...input, runs: input.runs.filter((r) => r.Collector !== 'entra-signins') },
      { now },
    );
    assert.deepEqual(names(findings).mfa, []);
    assert.deepEqual(names(findings).weakest, ['alice']);
  });

  it('sign-in activity not read: nobody is inactive', () => {
    const input = world();
    const users = input.users.map((u) => ({
      ...u,
      SignInActivityCollected: false,
      LastSignInDateTime: null,
      LastSuccessfulSignInDateTime: null,
    }));
    assert.ok(
      !matchIdentities({ ...input, users }, { now }).leaversWithActiveKey.some(
        (l) => l.person.leaverReason === 'inactive',
      ),
    );
  });

  it('a user absent from the latest snapshot past the lookback is no longer deleted: the key becomes an orphan', () => {
    const later = new Date(now.getTime() + (peopleSettingDefaults.lookbackDays * 24 - 46) * 3_600_000);
    const input = world();
    // A fresh snapshot and fresh keys at that later time, Carol still absent.
    const e5 = { id: 'users-5', hoursAgo: 0 };
    const lateAt = (iso: string) =>
      new Date(Date.parse(iso) + (later.getTime() - now.getTime())).toISOString();
    const users = [
      ...input.users,
      ...input.users
        .filter((u) => u.SnapshotId === e3.id)
        .map((u) => ({ ...u, SnapshotId: e5.id, TimeGenerated: lateAt(at(0)) })),
    ];
    const keys = input.keys
      .filter((k) => k.SnapshotId === a1.id)
      .map((k) => ({ ...k, SnapshotId: 'keys-5', TimeGenerated: lateAt(at(0)) }));
    const runs = [
      ...input.runs,
      { ...run('entra-users', e5.id, 0), TimeGenerated: lateAt(at(0)) },
      { ...run('aws-access-keys', 'keys-5', 0), TimeGenerated: lateAt(at(0)) },
    ];
    const findings = matchIdentities({ ...input, users, keys, runs }, { now: later });
    assert.ok(names(findings).orphans.includes('carol.white'));
    assert.ok(!names(findings).leavers.some((l) => l.startsWith('carol')));
  });
});

describe('people across clouds: the generated KQL', () => {
  const peopleDir = join(repoRoot, 'infra', 'people');
  const analyticsDir = join(repoRoot, 'infra', 'analytics');
  const peopleFiles = readdirSync(peopleDir).filter((f) => f.endsWith('.kql'));
  const analyticsFiles = readdirSync(analyticsDir).filter(
    (f) => f.startsWith('people-') && f.endsWith('.kql'),
  );
  const workbook = JSON.parse(
    readFileSync(join(repoRoot, 'infra', 'workbooks', 'people-across-clouds.workbook.json'), 'utf8'),
  ) as { items: { type: number; name: string; content: { query?: string; items?: unknown[] } }[] };
  const consumers: [string, string][] = [
    ...peopleFiles.map((f): [string, string] => [
      `infra/people/${f}`,
      readFileSync(join(peopleDir, f), 'utf8'),
    ]),
    ...analyticsFiles.map((f): [string, string] => [
      `infra/analytics/${f}`,
      readFileSync(join(analyticsDir, f), 'utf8'),
    ]),
  ];

  it('is up to date with matching.json and block.kql.tmpl (npm run generate)', () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-people.ts', '--check'], {
      cwd: repoRoot,
      stdio: 'pipe',
    });
  });

  it('every finding has a query file, a Sentinel rule and a workbook panel', () => {
    for (const finding of [
      'leavers-with-active-key',
      'orphan-keys',
      'weakest-links',
      'mfa-in-neither-cloud',
    ]) {
      assert.ok(peopleFiles.includes(`${finding}.kql`), finding);
      assert.ok(
        workbook.items.some((item) => item.type === 3 && item.name === finding),
        `${finding} panel`,
      );
    }
    assert.deepEqual(analyticsFiles.sort(), [
      'people-leaver-with-active-key.kql',
      'people-mfa-in-neither-cloud.kql',
      'people-orphan-access-key.kql',
      'people-weakest-link.kql',
    ]);
  });

  it('carries the rules of matching.json, in order, wherever it matches identities', () => {
    const expected = matchingRules.map(
      (r, i) => `${i + 1}, '${r.name}', '${r.iam}', '${r.entra}', '${r.compare}'`,
    );
    for (const [file, text] of consumers) {
      if (!text.includes('let matchRules')) continue;
      const rows = [...text.matchAll(/^\s*(\d+, '[^']*', '[^']*', '[^']*', '[^']*'),?$/gm)].map((m) => m[1]);
      assert.deepEqual(rows, expected, file);
    }
  });

  it('judges only fresh, complete snapshots (the freshness rules are in every finding)', () => {
    for (const [file, text] of consumers) {
      if (!/orphanKeys|leaversWithActiveKey|weakestLinks|mfaInNeither/.test(text)) continue;
      assert.match(text, /Collector == 'entra-users' and Status == 'Succeeded'/, file);
      assert.match(text, /entraSnapshotTime > ago\(snapshotMaxAgeHours \* 1h\)/, file);
      assert.match(text, /Collector == 'aws-access-keys' and Status != 'Failed'/, file);
      assert.match(text, /\| where Fresh\)/, file);
    }
    const block = (name: string) => consumers.find(([file]) => file.endsWith(name))?.[1] ?? '';
    assert.match(block('orphan-keys.kql'), /where entraFresh and Status == 'Active' and isempty\(PersonId\)/);
    assert.match(block('orphan-keys.kql'), /UserCreateDate < entraSnapshotTime/);
    assert.match(
      block('leavers-with-active-key.kql'),
      /where entraFresh and Status == 'Active' and isnotempty\(LeaverReason\)/,
    );
    assert.match(block('mfa-in-neither-cloud.kql'), /where entraFresh and signInsFresh/);
  });

  it('parses and analyses against the tables (Kusto language service), workbook panels included', () => {
    for (const [file, text] of consumers) assertValidKql(text, file);
    for (const item of workbook.items.filter((i) => i.type === 3)) {
      const query = (item.content.query ?? '')
        .replaceAll('{InactiveDays}', '90')
        .replaceAll('{SnapshotMaxAgeHours}', '26')
        .replaceAll('{SignInsMaxAgeHours}', '6')
        .replaceAll('{SignInDays}', '14')
        .replaceAll('{Person}', 'alice');
      assertValidKql(query, item.name);
    }
  });

  it('fits a Sentinel rule (at most 10,000 characters of query)', () => {
    for (const file of analyticsFiles) {
      const text = readFileSync(join(analyticsDir, file), 'utf8');
      assert.ok(text.length <= 10_000, `${file}: ${text.length} characters`);
    }
  });

  it("deploys with the settings of matching.json: the workbook's parameters, the rules' inactiveDays", () => {
    const text = readFileSync(
      join(repoRoot, 'infra', 'workbooks', 'people-across-clouds.workbook.json'),
      'utf8',
    );
    assert.ok(text.length <= 131_072, `loadTextContent takes at most 131,072 characters: ${text.length}`);
    const json = JSON.parse(readFileSync(join(repoRoot, 'infra/people/matching.json'), 'utf8')) as {
      settings: { name: string; default: number; workbookParameter?: string }[];
    };
    const parameters = new Map(
      workbook.items
        .filter((item) => item.type === 9)
        .flatMap((item) => (item.content as { parameters: { name: string; value: unknown }[] }).parameters)
        .map((parameter) => [parameter.name, parameter.value]),
    );
    for (const setting of json.settings.filter((s) => s.workbookParameter !== undefined))
      assert.equal(parameters.get(setting.workbookParameter ?? ''), String(setting.default), setting.name);
    const bicep = readFileSync(join(repoRoot, 'infra', 'modules', 'analytics.bicep'), 'utf8');
    const inactiveDays = peopleSettingDefaults.inactiveDays;
    assert.ok(
      bicep.includes(`'let inactiveDays = ${inactiveDays};'`),
      'analytics.bicep replaces the line as generated',
    );
    assert.match(bicep, new RegExp(`param peopleInactiveDays int = ${inactiveDays}\\n`));
    for (const file of analyticsFiles)
      assert.equal(
        readFileSync(join(analyticsDir, file), 'utf8').split(`let inactiveDays = ${inactiveDays};`).length,
        2,
        file,
      );
  });

  it('returns what the workbook and the rules show', () => {
    const columns = (file: string) =>
      kqlResultColumns(readFileSync(join(peopleDir, file), 'utf8')).map((c) => c.split(':')[0]);
    for (const column of [
      'Person',
      'LeaverReason',
      'LeaveDate',
      'KeyUsedAfterLeave',
      'AccountId',
      'UserName',
      'AccessKeyId',
      'LastUsedDate',
    ])
      assert.ok(columns('leavers-with-active-key.kql').includes(column), column);
    for (const column of [
      'PersonKey',
      'Person',
      'EntraStatus',
      'LastSignIn',
      'Department',
      'AwsAccounts',
      'IamUsers',
      'ActiveKeys',
      'OldestActiveKeyAgeDays',
      'LastKeyUse',
      'Leaver',
      'Orphan',
      'WeakestLink',
      'MfaInNeither',
    ])
      assert.ok(columns('people-across-clouds.kql').includes(column), column);
  });
});
