// Child process for the AWS inventory bench: the old Lambda's algorithm against its own moto and
// latency proxy, seeded with the same account as ours. Reports one message to the parent and exits.
import { startAwsProxy } from '../test/emulators/awsProxy.js';
import { startMoto } from '../test/emulators/moto.js';
import { benchAccount, runOldLambdaBaseline, type AwsBaselineRun } from './awsInventory.bench.js';

const options = JSON.parse(process.argv[2] ?? '{}') as { users: number; latencyMs: number };
const moto = await startMoto();
try {
  const seeded = await moto.seedIam(benchAccount(options.users));
  const proxy = await startAwsProxy(moto.endpoint, { latencyMs: options.latencyMs });
  try {
    const run = await runOldLambdaBaseline(proxy.endpoint);
    const seededKeys = seeded.users.reduce((sum, user) => sum + user.keys.length, 0);
    const message: AwsBaselineRun = { ...run, seededKeys };
    await new Promise<void>((resolve, reject) =>
      process.send?.(message, (error: Error | null) => (error ? reject(error) : resolve())),
    );
  } finally {
    await proxy.stop();
  }
} finally {
  await moto.stop();
}
