// `npm run demo`: every collector once, end to end, against local peers. Seeds moto with a realistic
// account and the Graph emulator with a day of sign-ins and audits, starts Azurite and the Azure
// emulators, runs the CLI's real path (real SDK clients, federation, Key Vault, Graph, checkpoints,
// Logs Ingestion), prints each summary and leaves the accepted records in .local/demo/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { declaredCollectors } from '../src/app/collectors.generated.js';
import { collectorNames } from '../src/app/configuredRun.js';
import { startAzurite } from './emulators/azurite.js';
import { startGraphEmulator } from './emulators/graph.js';
import { demoPeople, withDemoPeople } from './support/demoPeople.js';
import { repoRoot } from './support/paths.js';
import { startLocalCloud, tenantId } from './support/localCloud.js';
import { pacingWindowForTests } from './support/pacing.js';
import { realisticAccount } from './support/seedAccount.js';
import { proxyLogLines } from './support/proxyLog.js';

const users = Number(process.env.DEMO_USERS ?? 300);
const timeScale = 50; // the Graph emulator's 10 s throttle window lasts 200 ms
// DEMO_OUT_DIR lets the demo's smoke test (test/integration/demo.test.ts) keep .local/demo untouched.
const outDir = process.env.DEMO_OUT_DIR ?? join(repoRoot, '.local', 'demo');
const now = new Date();
// People across clouds (issue 17): leavers and an orphan key seeded in both clouds (test/support/demoPeople.ts).
const people = demoPeople(now);

const cloud = await startLocalCloud();
const azurite = await startAzurite();
const graph = await startGraphEmulator({
  identity: cloud.identity,
  tenantId,
  seed: 2026,
  timeScale,
  signIns: { count: 8000, from: new Date(now.getTime() - 24 * 3_600_000), to: now },
  audits: { count: 1500, from: new Date(now.getTime() - 24 * 3_600_000), to: now },
  users: { extra: people.directoryUsers },
});
let exitCode = 0;
try {
  graph.addLateEvents('directoryAudits', people.audits);
  // Every IAM user named after an active Entra user of the emulator, plus the seeded people's.
  const spec = withDemoPeople(
    realisticAccount({ users, seed: 2026, accountAlias: 'acme-demo' }),
    graph.users,
    now,
  );
  const seeded = await cloud.moto.seedIam(spec);
  const keys = seeded.users.reduce((sum, user) => sum + user.keys.length, 0);
  process.stderr.write(
    `seeded moto: ${spec.users.length} IAM users, ${keys} access keys (account ${seeded.accountId}); seeded leavers: ${people.leavers.join(', ')}; orphan keys: ${people.orphans.join(', ')}\n`,
  );
  process.stderr.write(
    `Graph emulator: ${graph.size('signIns')} sign-ins and ${graph.size('directoryAudits')} audits over the last 24 h, ${graph.users.length} users, throttled at 5 requests per ${10 / timeScale} s\n\n`,
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
  // Shadow IT (issue 15): a day of the Kerberos proxy's access log, written by the directory's own
  // users (on-premises sAMAccountName@REALM), imported as `import squid-log` does it: raw lines to the
  // Logs Ingestion API, parsed there by the table's transform; the summary lists the discovered apps.
  const proxyUsers = graph.users.flatMap((user) =>
    user.accountEnabled && user.onPremisesSamAccountName && user.onPremisesDomainName
      ? [{ samAccountName: user.onPremisesSamAccountName, domain: user.onPremisesDomainName }]
      : [],
  );
  const accessLog = join(outDir, 'squid-access.log');
  const proxyLog = proxyLogLines({
    users: proxyUsers.slice(0, 120),
    lines: 4000,
    from: new Date(now.getTime() - 24 * 3_600_000),
    to: now,
    seed: 2026,
  });
  await writeFile(accessLog, `${proxyLog.join('\n')}\n`);
  process.stdout.write(`\n$ crosscloud-identity-monitor import squid-log ${accessLog}\n`);
  exitCode = Math.max(exitCode, await main(['import', 'squid-log', accessLog]));
  const sessions = cloud.ingestion.accepted('ProxyWebSessions_CL');
  await writeFile(
    join(outDir, 'ProxyWebSessions_CL.ndjson'),
    sessions.map((r) => `${JSON.stringify(r)}\n`).join(''),
  );
  process.stderr.write('\n');
  // Every declared collector's table, and the run rows.
  const tables = [
    ...new Set([...declaredCollectors.map((collector) => collector.table), 'CollectorRuns_CL']),
  ];
  for (const table of tables) {
    const records = cloud.ingestion.accepted(table);
    await writeFile(join(outDir, `${table}.ndjson`), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    process.stderr.write(
      `${records.length} ${table} records accepted by the ingestion emulator → ${join(outDir, `${table}.ndjson`)}\n`,
    );
  }
  // People across clouds (issue 17): the findings of infra/people, from the records the workspace accepted.
  process.stdout.write(`\n$ crosscloud-identity-monitor people --in ${outDir}\n`);
  exitCode = Math.max(exitCode, await main(['people', '--in', outDir]));
} finally {
  await graph.stop();
  await azurite.stop();
  await cloud.stop();
}
process.exitCode = exitCode;
