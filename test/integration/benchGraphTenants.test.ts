import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { repoRoot } from '../support/paths.js';

interface Run {
  tenants: number;
  appCapPerWindow: number;
  records: number;
  throttled: number;
  peakRequestsPerWindow: number;
}

// The several-tenants bench at tiny sizes: it must keep running, and what it counts (not time) must hold.
describe('bench/graphTenants.bench.ts (smoke sizes)', () => {
  it('reads every tenant through the assertion exchange, paced under the tenants’ and the app’s limits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cim-bench-'));
    try {
      const out = join(dir, 'graph-tenants.json');
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'bench/graphTenants.bench.ts'], {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 240_000,
        env: { ...process.env, BENCH_SMOKE: '1', BENCH_JSON: out },
      });
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
      const result = JSON.parse(readFileSync(out, 'utf8')) as {
        signInsPerTenant: number;
        runs: Run[];
      };
      assert.deepEqual(
        result.runs.map((r) => r.tenants),
        [1, 3, 3],
      );
      for (const r of result.runs) {
        assert.equal(r.records, r.tenants * result.signInsPerTenant, 'every sign-in of every tenant');
        assert.equal(r.throttled, 0, 'no 429');
        assert.ok(
          r.peakRequestsPerWindow <= Math.min(r.tenants * 5, r.appCapPerWindow),
          `${r.peakRequestsPerWindow} requests in one window, cap ${r.appCapPerWindow}`,
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
