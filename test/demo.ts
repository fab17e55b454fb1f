// `npm run demo`: every collector once, end to end, against local peers. Seeds moto with a realistic
// account and the Graph emulator with a day of sign-ins and audits, starts Azurite and the Azure
// emulators, runs the CLI's real path (real SDK clients, federation, Key Vault, Graph, checkpoints,
// Logs Ingestion), prints each summary and leaves the accepted records in .local/demo/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { collectorNames } from '../src/app/configuredRun.js';
import { startAzurite } from './emulators/azurite.js';
import { startGraphEmulator } from './emulators/graph.js';
import { repoRoot } from './support/paths.js';
import { startLocalCloud, tenantId } from './support/localCloud.js';
import { pacingWindowForTests } from './support/pacing.js';
import { realisticAccount } from './support/seedAccount.js';

const users = Number(process.env.DEMO_USERS ?? 300);
const timeScale = 50; // the Graph emulator's 10 s throttle window lasts 200 ms
// DEMO_OUT_DIR lets the demo's smoke test (test/integration/demo.test.ts) keep .local/demo untouched.
const outDir = process.env.DEMO_OUT_DIR ?? join(repoRoot, '.local', 'demo');
const now = new Date();

const cloud = await startLocalCloud();
const azurite = await startAzurite();
const graph = await startGraphEmulator({
  identity: cloud.identity,
  tenantId,
  seed: 2026,
  timeScale,
  signIns: { count: 8000, from: new Date(now.getTime() - 24 * 3_600_000), to: now },
  audits: { count: 1500, from: new Date(now.getTime() - 24 * 3_600_000), to: now },
});
let exitCode = 0;
try {
  const spec = realisticAccount({ users, seed: 2026, accountAlias: 'acme-demo' });
  const seeded = await cloud.moto.seedIam(spec);
  const keys = seeded.users.reduce((sum, user) => sum + user.keys.length, 0);
  process.stderr.write(
    `seeded moto: ${users} IAM users, ${keys} access keys (account ${seeded.accountId})\n`,
  );
  process.stderr.write(
    `Graph emulator: ${graph.size('signIns')} sign-ins and ${graph.size('directoryAudits')} audits over the last 24 h, throttled at 5 requests per ${10 / timeScale} s\n\n`,
  );

  // The SDKs read their endpoints (IDENTITY_ENDPOINT, AWS_ENDPOINT_URL) from the process environment.
  Object.assign(process.env, cloud.env, {
    AzureWebJobsStorage: azurite.connectionString,
    GRAPH_ENDPOINT: graph.endpoint,
    GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(timeScale)),
    ENTRA_SIGNIN_EVENT_TYPES: 'interactiveUser,nonInteractiveUser,servicePrincipal,managedIdentity',
    ENTRA_LAG_MINUTES: '0',
    ENTRA_INITIAL_LOOKBACK_HOURS: '25',
  });
  for (const collector of collectorNames) {
    process.stdout.write(`\n$ crosscloud-identity-monitor collect ${collector}\n`);
    exitCode = Math.max(exitCode, await main(['collect', collector]));
  }

  await mkdir(outDir, { recursive: true });
  process.stderr.write('\n');
  for (const table of ['AWSIAMAccessKeys_CL', 'EntraSignIns_CL', 'EntraAuditLogs_CL', 'CollectorRuns_CL']) {
    const records = cloud.ingestion.accepted(table);
    await writeFile(join(outDir, `${table}.ndjson`), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    process.stderr.write(
      `${records.length} ${table} records accepted by the ingestion emulator → ${join(outDir, `${table}.ndjson`)}\n`,
    );
  }
} finally {
  await graph.stop();
  await azurite.stop();
  await cloud.stop();
}
process.exitCode = exitCode;
