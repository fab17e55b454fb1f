// `npm run demo`, as a user runs it: its exit code, and that what it prints agrees with the records the
// ingestion emulator accepted (counted here independently of the CLI's own summary code).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { collectorNames } from '../../src/app/configuredRun.js';
import { peopleHeadings } from '../../src/people/report.js';
import type {
  AWSIAMAccessKeysRow,
  CollectorRunsRow,
  EntraAuditLogsRow,
  EntraUsersRow,
} from '../../src/tables/generated.js';
import { demoPeople } from '../support/demoPeople.js';
import { repoRoot } from '../support/paths.js';

const USERS = 40;
let outDir: string;
let stdout: string;
let stderr: string;

async function ndjson<T>(table: string): Promise<T[]> {
  const text = await readFile(join(outDir, `${table}.ndjson`), 'utf8');
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as T);
}

/** The number printed after `label` in a summary block, e.g. `  never-used keys           9`. */
function figure(section: string, label: string): number {
  const match = new RegExp(`^  ${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s+(\\d+)`, 'm').exec(section);
  assert.ok(match?.[1], `"${label}" is printed:\n${section}`);
  return Number(match[1]);
}

function section(collector: string): string {
  const start = stdout.indexOf(`$ crosscloud-identity-monitor collect ${collector}\n`);
  assert.ok(start >= 0, `the demo runs ${collector}`);
  const end = stdout.indexOf('\n$ ', start + 1);
  return stdout.slice(start, end < 0 ? undefined : end);
}

beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'cim-demo-'));
  const result = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'test', 'demo.ts')],
    { cwd: repoRoot, env: { ...process.env, DEMO_USERS: String(USERS), DEMO_OUT_DIR: outDir } },
  );
  ({ stdout, stderr } = result);
});
afterAll(() => rm(outDir, { recursive: true, force: true }));

describe('npm run demo', () => {
  it('prints the four AWS figures that the accepted key rows bear out', async () => {
    const rows = await ndjson<AWSIAMAccessKeysRow>('AWSIAMAccessKeys_CL');
    const seeded = /seeded moto: (\d+) IAM users, (\d+) access keys/.exec(stderr);
    // The realistic account's users and the people of test/support/demoPeople.ts (one IAM user each).
    const people = demoPeople(new Date());
    assert.equal(
      Number(seeded?.[1]),
      USERS + people.leavers.length + people.orphans.length + people.tagged.length,
    );
    assert.equal(rows.length, Number(seeded?.[2]), 'every seeded key was accepted');

    const aws = section('aws-access-keys');
    const active = rows.filter((r) => r.Status === 'Active');
    assert.match(aws, new RegExp(`^  access keys\\s+${rows.length} \\(${active.length} active\\)$`, 'm'));
    assert.equal(figure(aws, 'active keys > 90 days'), active.filter((r) => (r.KeyAgeDays ?? 0) > 90).length);
    assert.equal(figure(aws, 'never-used keys'), rows.filter((r) => r.LastUsedDate === null).length);
    const withoutMfa = new Set(rows.filter((r) => r.MfaActive === false).map((r) => r.UserName));
    assert.equal(figure(aws, 'users with keys, no MFA'), withoutMfa.size);
    // The seeded account is realistic: each figure is a real finding, not an empty category.
    for (const label of ['active keys > 90 days', 'never-used keys', 'users with keys, no MFA'])
      assert.ok(figure(aws, label) > 0, label);
  });

  it('prints the Entra counts that were accepted, and a successful run row for each collector', async () => {
    assert.equal(figure(section('entra-signins'), 'records uploaded'), 8000);
    assert.equal((await ndjson('EntraSignIns_CL')).length, 8000);
    // A day of generated audits and the seeded people's (test/support/demoPeople.ts: Dana Whitfield disabled).
    const audits = 1500 + demoPeople(new Date()).audits.length;
    assert.equal(figure(section('entra-audits'), 'records uploaded'), audits);
    assert.equal((await ndjson('EntraAuditLogs_CL')).length, audits);
    const runs = await ndjson<CollectorRunsRow>('CollectorRuns_CL');
    assert.deepEqual(
      runs.map((r) => [r.Collector, r.Status]).sort(),
      collectorNames.map((name) => [name, 'Succeeded']).sort(),
      'one successful run of every declared collector',
    );
  });

  it('prints the Entra users figures of the snapshot it accepted', async () => {
    const rows = await ndjson<EntraUsersRow>('EntraUsers_CL');
    const users = /(\d+) users, throttled/.exec(stderr);
    assert.equal(rows.length, Number(users?.[1]), 'every user of the emulator');
    const run = (await ndjson<CollectorRunsRow>('CollectorRuns_CL')).find(
      (r) => r.Collector === 'entra-users',
    );
    assert.ok(rows.every((r) => r.SnapshotId === run?.RunId && r.SignInActivityCollected === true));
    const text = section('entra-users');
    assert.equal(figure(text, 'users'), rows.length);
    assert.equal(
      figure(text, 'synced from on-prem AD'),
      rows.filter((r) => r.OnPremisesSyncEnabled === true).length,
    );
    const never = rows.filter(
      (r) =>
        r.LastSignInDateTime === null &&
        r.LastNonInteractiveSignInDateTime === null &&
        r.LastSuccessfulSignInDateTime === null,
    );
    assert.equal(figure(text, 'no sign-in recorded'), never.length);
    assert.ok(never.length > 0 && never.length < rows.length);
  });

  it('prints the seeded leavers and orphan keys by name under the summaries, and nothing else as leavers', async () => {
    const start = stdout.indexOf('$ crosscloud-identity-monitor people --in ');
    assert.ok(
      start > stdout.indexOf('$ crosscloud-identity-monitor collect entra-users'),
      'after the summaries',
    );
    const text = stdout.slice(start);
    /** The lines printed under a heading, up to the next unindented line. */
    const listed = (heading: string): string[] => {
      const at = text.indexOf(`\n${heading}\n`);
      assert.ok(at >= 0, `"${heading}" is printed:\n${text}`);
      const lines: string[] = [];
      for (const line of text.slice(at + heading.length + 2).split('\n')) {
        if (!line.startsWith('  ')) break;
        lines.push(line.trim());
      }
      return lines;
    };
    const seeded = demoPeople(new Date());
    const leavers = listed(peopleHeadings.leavers);
    assert.deepEqual(
      leavers.map((line) => line.slice(0, line.indexOf(' <'))).sort(),
      [...seeded.leavers].sort(),
    );
    const orphans = listed(peopleHeadings.orphans);
    assert.deepEqual(
      orphans.map((line) => /\/([^/ ]+) AKIA/.exec(line)?.[1]).sort(),
      [...seeded.orphans].sort(),
    );
    assert.match(text, /^ {2}leavers with active keys {2}2 \(/m);
    // svc-reporting names nobody, its owner tag does: matched by a tag rule, through ListUserTags.
    assert.match(text, /^ {2}IAM users matched .*\btag-(mail|upn) 1\b/m);
    const tagged = (await ndjson<AWSIAMAccessKeysRow>('AWSIAMAccessKeys_CL')).find(
      (r) => r.UserName === 'svc-reporting',
    );
    assert.match(tagged?.OwnerTag ?? '', /@contoso\.(com|onmicrosoft\.com)$/);

    // What the lines claim, against the records the workspace accepted: Dana Whitfield is disabled in the
    // users snapshot, the audit log says when, and her IAM user's active key was used after that.
    const dana = leavers.find((line) => line.startsWith('Dana Whitfield')) ?? '';
    assert.match(
      dana,
      /disabled \d{4}-\d{2}-\d{2} \(audit log\): .*\/dana\.whitfield AKIA…\w{4}, 900 days old.* — USED AFTER LEAVING$/,
    );
    const user = (await ndjson<EntraUsersRow>('EntraUsers_CL')).find(
      (r) => r.UserDisplayName === 'Dana Whitfield',
    );
    assert.equal(user?.AccountEnabled, false);
    const disabled = (await ndjson<EntraAuditLogsRow>('EntraAuditLogs_CL')).find(
      (r) =>
        r.OperationName === 'Disable account' &&
        JSON.stringify(r.TargetResources).includes(user?.UserId ?? 'none'),
    );
    const key = (await ndjson<AWSIAMAccessKeysRow>('AWSIAMAccessKeys_CL')).find(
      (r) => r.UserName === 'dana.whitfield',
    );
    assert.equal(key?.Status, 'Active');
    assert.ok(
      Date.parse(key?.LastUsedDate ?? '') > Date.parse(disabled?.ActivityDateTime ?? ''),
      'used after',
    );
    // Ravi Okafor: enabled, no sign-in for 90 days; matched by his sAMAccountName.
    assert.match(
      leavers.find((line) => line.startsWith('Ravi Okafor')) ?? '',
      /no sign-in for 90\+ days .*\/rokafor .*\[name-sam\]/,
    );
  });
});
