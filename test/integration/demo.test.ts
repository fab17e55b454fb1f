// `npm run demo`, as a user runs it: its exit code, and that what it prints agrees with the records the
// ingestion emulator accepted (counted here independently of the CLI's own summary code).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { AWSIAMAccessKeysRow, CollectorRunsRow } from '../../src/tables/generated.js';
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
    assert.equal(Number(seeded?.[1]), USERS);
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
    assert.equal(figure(section('entra-audits'), 'records uploaded'), 1500);
    assert.equal((await ndjson('EntraAuditLogs_CL')).length, 1500);
    const runs = await ndjson<CollectorRunsRow>('CollectorRuns_CL');
    assert.deepEqual(runs.map((r) => [r.Collector, r.Status]).sort(), [
      ['aws-access-keys', 'Succeeded'],
      ['entra-audits', 'Succeeded'],
      ['entra-signins', 'Succeeded'],
    ]);
  });
});
