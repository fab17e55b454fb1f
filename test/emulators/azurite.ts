// Starts Azurite's Table service (the `azurite` dev dependency) as a child process on 127.0.0.1 and a free
// port, with in-memory persistence, for tests that use the real @azure/data-tables TableClient.
//
// Azurite quirks that shape this harness (azurite 3.35.0, the newest that runs on Node 20):
// - `--tablePort 0` binds a random port but prints ":0" as its address, so a free port is picked here first
//   (and a few other ports tried if another process takes it before Azurite binds it);
// - `--inMemoryPersistence` cannot be combined with `--location`, and writes nothing to disk;
// - `--skipApiVersionCheck` is not needed: @azure/data-tables 13.x speaks 2019-02-02, which Azurite knows;
// - Azurite has no "exit when the parent dies" switch: a module preloaded with --import exits it when its
//   stdin (a pipe from this process) closes, which covers the test runner itself being SIGKILLed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import net, { type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChildProcess } from './childProcess.js';

export interface AzuriteTables {
  /** Table service endpoint with the account path, e.g. http://127.0.0.1:PORT/devstoreaccount1. */
  readonly tableEndpoint: string;
  /** Full account connection string for the emulator (the SDKs' UseDevelopmentStorage=true pins port 10002). */
  readonly connectionString: string;
  readonly accountName: string;
  readonly accountKey: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** The emulator's well-known development account. */
export const devStorageAccount = {
  accountName: 'devstoreaccount1',
  accountKey: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 30_000;
const OUTPUT_LIMIT = 16_384;
const PORT_ATTEMPTS = 3;
const EXIT_ON_STDIN_EOF =
  'data:text/javascript,process.stdin.on("end",()=>process.exit(0));process.stdin.on("error",()=>process.exit(0));process.stdin.resume();';

// The repository root, from test/emulators/*.ts and dist/test/emulators/*.js alike.
function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && path.basename(dir) !== 'dist') return dir;
    const parent = path.dirname(dir);
    if (parent === dir)
      throw new Error('cannot find the repository root (package.json) above ' + import.meta.url);
    dir = parent;
  }
}

// The script node_modules/.bin/azurite-table points to, run by this very node (not whatever `env node` finds).
function azuriteTableScript(): string {
  const bin = path.join(repoRoot(), 'node_modules', '.bin', 'azurite-table');
  if (!existsSync(bin)) throw new Error(`${bin} not found: run npm install (azurite is a dev dependency)`);
  return realpathSync(bin);
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: HOST, port });
    socket.setTimeout(1_000);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

class PortTaken extends Error {}

interface Started {
  child: ChildProcess;
  exited: Promise<void>;
}

async function startOnce(script: string, port: number, deadline: number): Promise<Started> {
  const args = [
    '--import',
    EXIT_ON_STDIN_EOF,
    script,
    '--tableHost',
    HOST,
    '--tablePort',
    String(port),
    '--inMemoryPersistence',
    '--loose',
    '--silent',
    '--disableTelemetry',
  ];
  const child = spawn(process.execPath, args, { cwd: os.tmpdir(), stdio: ['pipe', 'pipe', 'pipe'] });
  running.add(child);
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-OUTPUT_LIMIT); // keep draining so the pipes never block
  };
  child.stdout.on('data', collect);
  child.stderr.on('data', collect);
  let exitedWith: string | undefined;
  let spawnError: Error | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
    child.once('exit', (code, signal) => {
      exitedWith = String(code ?? signal);
      resolve();
    });
  });
  void exited.then(() => running.delete(child));

  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };

  // Ready = Azurite says it started on our port, and the port accepts connections.
  for (;;) {
    if (spawnError !== undefined) throw new Error(`cannot start Azurite: ${spawnError.message}`);
    if (exitedWith !== undefined) {
      if (/EADDRINUSE/.test(output)) throw new PortTaken(output);
      throw new Error(`Azurite exited (${exitedWith}) before it was ready; output:\n${output}`);
    }
    if (output.includes(`successfully started on ${HOST}:${port}`) && (await portAnswers(port))) break;
    if (Date.now() > deadline) {
      await kill();
      throw new Error(
        `Azurite did not answer on ${HOST}:${port} within ${READY_TIMEOUT_MS / 1000}s; output:\n${output}`,
      );
    }
    await sleep(50);
  }
  return { child, exited };
}

export async function startAzurite(): Promise<AzuriteTables> {
  const script = azuriteTableScript();
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let started: Started | undefined;
  let port = 0;
  for (let attempt = 1; started === undefined; attempt++) {
    port = await freePort();
    try {
      started = await startOnce(script, port, deadline);
    } catch (error) {
      if (!(error instanceof PortTaken) || attempt >= PORT_ATTEMPTS) {
        throw error instanceof PortTaken
          ? new Error(
              `Azurite could not bind a free port in ${PORT_ATTEMPTS} attempts; output:\n${error.message}`,
            )
          : error;
      }
    }
  }
  const { child, exited } = started;
  // A forgotten stop() must not keep the test runner alive.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref();

  const { accountName, accountKey } = devStorageAccount;
  const tableEndpoint = `http://${HOST}:${port}/${accountName}`;
  return {
    tableEndpoint,
    connectionString:
      `DefaultEndpointsProtocol=http;AccountName=${accountName};AccountKey=${accountKey};` +
      `TableEndpoint=${tableEndpoint};`,
    accountName,
    accountKey,
    port,
    stop: () => stopChildProcess(child, exited),
  };
}
