// Child process for the AWS inventory bench: the old Lambda's algorithm against its own moto and
// latency proxy, seeded with the same account as ours. Reports one message to the parent and exits.
import { startAwsProxy } from '../test/emulators/awsProxy.js';
import { startMoto } from '../test/emulators/moto.js';
import { benchAccount, runOldLambdaBaseline, type AwsBaselineRun } from './awsInventory.bench.js';

// The parent gone (killed, timed out) means nobody wants the result: stop rather than run on for minutes.
// moto exits with us (it watches its stdin).
const parentGone = () => process.exit(1);
process.on('disconnect', parentGone);

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
  // The listener keeps the IPC channel, and so this process, alive: let go of both.
  process.off('disconnect', parentGone);
  process.disconnect();
}
