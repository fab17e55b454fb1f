// `npm run demo`: one collection, end to end, against local peers. Seeds moto with a realistic
// account, starts the Azure emulators, runs the CLI's real path (real SDK clients, federation,
// Key Vault, Logs Ingestion), prints the summary and leaves the accepted records in .local/demo/.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { main } from '../src/cli.js';
import { repoRoot } from './support/paths.js';
import { startLocalCloud } from './support/localCloud.js';
import { realisticAccount } from './support/seedAccount.js';

const users = Number(process.env.DEMO_USERS ?? 300);
const outDir = join(repoRoot, '.local', 'demo');

const cloud = await startLocalCloud();
let exitCode = 1;
try {
  const spec = realisticAccount({ users, seed: 2026, accountAlias: 'acme-demo' });
  const seeded = await cloud.moto.seedIam(spec);
  const keys = seeded.users.reduce((sum, user) => sum + user.keys.length, 0);
  process.stderr.write(
    `seeded moto: ${users} IAM users, ${keys} access keys (account ${seeded.accountId})\n`,
  );

  // The SDKs read their endpoints (IDENTITY_ENDPOINT, AWS_ENDPOINT_URL) from the process environment.
  Object.assign(process.env, cloud.env);
  exitCode = await main(['collect', 'aws-access-keys']);

  await mkdir(outDir, { recursive: true });
  for (const table of ['AWSIAMAccessKeys_CL', 'CollectorRuns_CL']) {
    const records = cloud.ingestion.accepted(table);
    await writeFile(join(outDir, `${table}.ndjson`), records.map((r) => `${JSON.stringify(r)}\n`).join(''));
    process.stderr.write(
      `${records.length} ${table} records accepted by the ingestion emulator → ${join('.local', 'demo', `${table}.ndjson`)}\n`,
    );
  }
} finally {
  await cloud.stop();
}
process.exitCode = exitCode;
