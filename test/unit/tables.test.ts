import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { repoRoot } from '../support/paths.js';

interface TableFile {
  name: string;
  stream: string;
  transformKql: string;
  streamColumns?: { name: string; type: string; description: string }[];
  columns: { name: string; type: string; description: string }[];
}

const tablesDir = join(repoRoot, 'infra', 'tables');
const tables = readdirSync(tablesDir)
  .filter((f) => f.endsWith('.json'))
  .map((file) => ({ file, table: JSON.parse(readFileSync(join(tablesDir, file), 'utf8')) as TableFile }));

const types = new Set(['string', 'int', 'long', 'real', 'boolean', 'datetime', 'dynamic']);
// Reserved as spelled (DESIGN §3): `id` is, while `Id` is a native SigninLogs/AuditLogs column we reuse.
const reserved = new Set(['id', 'TenantId', 'Type', '_ResourceId', '_SubscriptionId', 'UniqueId', 'Title']);

describe('table definitions (infra/tables)', () => {
  it('has the baseline tables', () => {
    const names = tables.map((t) => t.table.name);
    for (const name of ['AWSIAMAccessKeys_CL', 'CollectorRuns_CL', 'EntraSignIns_CL', 'EntraAuditLogs_CL'])
      assert.ok(names.includes(name), name);
  });

  for (const { file, table } of tables) {
    it(`${file} is a valid Log Analytics custom table with a matching stream`, () => {
      assert.equal(file, `${table.name}.json`);
      assert.match(table.name, /^[A-Za-z][A-Za-z0-9_]*_CL$/);
      assert.match(table.stream, /^Custom-[A-Za-z0-9_]+$/);
      // Rows go in as they are, unless the stream has its own columns (raw lines) that a transform,
      // kept in <Table>.kql, turns into rows (kql.test.ts checks it, squidTransform.test.ts runs it).
      if (table.streamColumns === undefined) assert.equal(table.transformKql, 'source');
      else {
        assert.notEqual(table.transformKql, 'source');
        for (const column of table.streamColumns) assert.ok(types.has(column.type), column.name);
      }
      assert.equal(table.columns[0]?.name, 'TimeGenerated');
      assert.equal(table.columns[0]?.type, 'datetime');
      const seen = new Set<string>();
      for (const column of table.columns) {
        assert.match(
          column.name,
          /^[A-Za-z][A-Za-z0-9_]{0,44}$/,
          `${column.name}: letter first, at most 45 chars`,
        );
        assert.ok(!reserved.has(column.name), `${column.name} is reserved`);
        assert.ok(types.has(column.type), `${column.name}: unknown type ${column.type}`);
        assert.ok(column.description.length > 0, `${column.name} needs a description`);
        assert.ok(!seen.has(column.name.toLowerCase()), `${column.name} is duplicated`);
        seen.add(column.name.toLowerCase());
      }
    });
  }

  it('src/tables/generated.ts is up to date with the JSON', () => {
    execFileSync(process.execPath, [join(repoRoot, 'scripts', 'generate-table-types.mjs'), '--check'], {
      stdio: 'pipe',
    });
  });
});
