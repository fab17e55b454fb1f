// Usage: node scripts/with-dev-ca.mjs <command> [args...]
//
// Runs <command> with the development CA trusted (see scripts/dev-ca.mjs): Node reads NODE_EXTRA_CA_CERTS
// only at process start-up, which is why this wrapper spawns a child instead of setting it in-process.
import { spawn } from 'node:child_process';
import { devTlsEnv, ensureDevTls } from './dev-ca.mjs';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: node scripts/with-dev-ca.mjs <command> [args...]');
  process.exit(2);
}

await ensureDevTls();

// `node` means "the node running this script", so PATH cannot swap in a different version.
const child = spawn(command === 'node' ? process.execPath : command, args, {
  stdio: 'inherit',
  env: { ...process.env, ...devTlsEnv },
});

const forward = (signal) => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
};
process.on('SIGINT', forward);
process.on('SIGTERM', forward);

child.on('error', (err) => {
  console.error(`with-dev-ca: cannot run ${command}: ${err.message}`);
  process.exit(127);
});
child.on('exit', (code, signal) => {
  process.off('SIGINT', forward);
  process.off('SIGTERM', forward);
  // Die of the same signal so callers (npm, CI) see what really happened.
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
