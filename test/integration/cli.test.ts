import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { promisify } from 'node:util';
import type { AWSIAMAccessKeysRow, CollectorRunsRow } from '../../src/tables/generated.js';
import { startGraphEmulator, type GraphEmulator } from '../emulators/graph.js';
import { startManagedIdentityEmulator, type ManagedIdentityEmulator } from '../emulators/managedIdentity.js';
import { startMoto, type MotoServer } from '../emulators/moto.js';
import { pacingWindowForTests } from '../support/pacing.js';
import { repoRoot } from '../support/paths.js';
import { expectedKeys, realisticAccount, type ExpectedKey } from '../support/seedAccount.js';

const run = promisify(execFile);
// From its TypeScript source through tsx: the same program `npm run build` compiles into the bin.
const cli = ['--import', 'tsx', join(repoRoot, 'src', 'cli.ts')];
let moto: MotoServer;
let expected: ExpectedKey[];
let identity: ManagedIdentityEmulator;
let graph: GraphEmulator;
const graphDay = { from: new Date('2026-11-01T00:00:00Z'), to: new Date('2026-11-02T00:00:00Z') };

/** Runs the installed bin the way a user would, with a terminal's environment: the AWS default chain. */
function crosscloud(args: string[], extraEnv: Record<string, string> = {}) {
  return run(process.execPath, [...cli, ...args], {
    env: {
      PATH: process.env.PATH,
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_ENDPOINT_URL: moto.endpoint,
      ...extraEnv,
    },
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

beforeAll(async () => {
  identity = await startManagedIdentityEmulator({
    tenantId: '11111111-1111-4111-8111-111111111111',
    clientId: '22222222-2222-4222-8222-222222222222',
    principalId: '33333333-3333-4333-8333-333333333333',
  });
  graph = await startGraphEmulator({
    identity,
    tenantId: identity.tenantId,
    timeScale: 1000,
    audits: { count: 300, ...graphDay },
  });
  moto = await startMoto();
  const spec = realisticAccount({ users: 80, seed: 5 });
  expected = expectedKeys(spec, await moto.seedIam(spec));
});

afterAll(async () => {
  await moto?.stop();
  await graph?.stop();
  await identity?.stop();
});

describe('crosscloud-identity-monitor CLI', () => {
  it('collect aws-access-keys --dry-run writes NDJSON files and ends with the summary', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cim-cli-'));
    const result = await crosscloud(['collect', 'aws-access-keys', '--dry-run', '--out', out]);
    assert.equal(result.code, 0, result.stderr);

    const rows = (await readFile(join(out, 'AWSIAMAccessKeys_CL.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AWSIAMAccessKeysRow);
    assert.equal(rows.length, expected.length);
    const [runRow] = (await readFile(join(out, 'CollectorRuns_CL.ndjson'), 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as CollectorRunsRow);
    assert.equal(runRow?.Status, 'Succeeded');

    const active90 = rows.filter((r) => r.Status === 'Active' && (r.KeyAgeDays ?? 0) > 90).length;
    const neverUsed = expected.filter((k) => k.lastUsedDate === null).length;
    const noMfaUsers = new Set(expected.filter((k) => !k.mfaActive).map((k) => k.userName)).size;
    assert.match(result.stdout, new RegExp(`access keys +${expected.length} `));
    assert.match(result.stdout, new RegExp(`active keys > 90 days +${active90}\\n`));
    assert.match(result.stdout, new RegExp(`never-used keys +${neverUsed}\\n`));
    assert.match(result.stdout, new RegExp(`users with keys, no MFA +${noMfaUsers}\\n`));
    assert.match(result.stderr, /aws-access-keys run .* succeeded/, 'progress on stderr');
  });

  it('without --dry-run, names the missing ingestion settings and exits 1', async () => {
    const result = await crosscloud(['collect', 'aws-access-keys']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /LOGS_INGESTION_ENDPOINT is missing/);
    assert.match(result.stderr, /LOGS_INGESTION_DCR_ID is missing/);
  });

  it('refuses unknown commands, collectors and options with usage and exit code 2', async () => {
    for (const args of [
      ['inventory'],
      ['collect', 'gcp-keys'],
      ['collect', 'aws-access-keys', '--verbose'],
    ]) {
      const result = await crosscloud(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, /Usage: crosscloud-identity-monitor collect <collector>/);
    }
  });

  it('collect entra-audits --dry-run --since --until backfills exactly that window', async () => {
    const out = await mkdtemp(join(tmpdir(), 'cim-cli-'));
    const since = '2026-11-01T06:00:00Z';
    const until = '2026-11-01T18:00:00Z';
    const result = await crosscloud(
      ['collect', 'entra-audits', '--dry-run', '--out', out, '--since', since, '--until', until],
      {
        ...identity.env(),
        GRAPH_ENDPOINT: graph.endpoint,
        GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(1000)),
      },
    );
    assert.equal(result.code, 0, result.stderr);
    const ids = new Set(
      (await readFile(join(out, 'EntraAuditLogs_CL.ndjson'), 'utf8'))
        .trim()
        .split('\n')
        .map((line) => (JSON.parse(line) as { Id: string }).Id),
    );
    const expectedIds = graph.ids('directoryAudits', new Date(since), new Date(until));
    assert.ok(expectedIds.size > 100);
    assert.deepEqual([...ids].sort(), [...expectedIds].sort());
    assert.match(result.stdout, /window +2026-11-01T06:00:00.000Z – 2026-11-01T18:00:00.000Z/);
  });

  it('refuses --since on the AWS collector and times that are not ISO 8601', async () => {
    for (const args of [
      ['collect', 'aws-access-keys', '--since', '2026-11-01T00:00:00Z'],
      ['collect', 'entra-audits', '--since', 'yesterday'],
      ['collect', 'entra-audits', '--until', '2026-11-01T00:00:00Z'],
    ]) {
      const result = await crosscloud(args);
      assert.equal(result.code, 2, args.join(' '));
    }
  });
});
