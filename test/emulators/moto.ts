// Starts test/emulators/moto_server.py (moto with all services + a /_seed/iam endpoint)
// as a child process on a free port. See the docstring of moto_server.py for moto quirks.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChildProcess } from './childProcess.js';

export interface SeedKeyLastUsed {
  date: string; // ISO-8601
  region: string;
  service: string;
}

export interface SeedAccessKey {
  createDate?: string; // ISO-8601; default "now"
  status?: 'Active' | 'Inactive';
  lastUsed?: SeedKeyLastUsed | null;
}

export interface SeedUser {
  name: string;
  path?: string;
  createDate?: string; // ISO-8601; default "now"
  passwordEnabled?: boolean;
  passwordLastUsed?: string; // ISO-8601; only meaningful with passwordEnabled
  mfaActive?: boolean;
  keys?: SeedAccessKey[]; // at most 2, like IAM
  /** IAM user tags (ListUserTags), e.g. { key: 'owner', value: 'alice@contoso.com' }. */
  tags?: { key: string; value: string }[];
}

export interface SeedRole {
  name: string;
  path?: string;
  description?: string;
  assumeRolePolicyDocument?: Record<string, unknown>;
}

export interface SeedIamSpec {
  accountId?: string; // default moto's 123456789012
  accountAlias?: string;
  roles?: SeedRole[];
  users: SeedUser[];
}

export interface SeededAccessKey {
  accessKeyId: string;
  secretAccessKey: string;
  createDate: string; // normalised: UTC, whole seconds, "YYYY-MM-DDTHH:MM:SSZ"
}

export interface SeedResult {
  accountId: string;
  roles: { name: string; arn: string }[];
  users: { name: string; arn: string; keys: SeededAccessKey[] }[];
}

/** A credential report left by another tool or an earlier run (see moto_server.py). */
export interface SeedCredentialReport {
  accountId?: string; // default moto's 123456789012
  generatedAt?: string; // ISO-8601; default "now"
  /** Served verbatim instead of the account's CSV as of now (broken reports). */
  content?: string;
}

export interface MotoServer {
  endpoint: string;
  port: number;
  /** The moto process: one Python interpreter, so one core at most (the GIL) however many threads. */
  pid: number | undefined;
  /**
   * CPU time (user + system) the moto process has used so far, in ms, or undefined where it cannot be
   * read (no /proc). Benchmarks subtract two readings to say how much of a run the emulator's own CPU was.
   */
  cpuMs(): Promise<number | undefined>;
  seedIam(spec: SeedIamSpec): Promise<SeedResult>;
  /** Freezes the account's credential report: keys created afterwards are not in it, as in IAM. */
  seedCredentialReport(spec: SeedCredentialReport): Promise<{ accountId: string; generatedAt: string }>;
  /**
   * Every account's credential report is gone (as when the last is over 4 h old): the next
   * GenerateCredentialReport answers STARTED and generates one. Benchmarks call it before each run.
   */
  forgetCredentialReports(): Promise<void>;
  reset(): Promise<void>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STDERR_LIMIT = 16_384;
const MOTO_MISSING = "moto is not installed: pip install 'moto[server]'";

// Works from test/emulators/*.ts and from dist/test/emulators/*.js alike.
function findServerScript(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'test', 'emulators', 'moto_server.py');
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cannot find test/emulators/moto_server.py above ' + import.meta.url);
    dir = parent;
  }
}

// Children still alive when the test process exits are killed synchronously here;
// --exit-on-stdin-eof covers the case where node itself is SIGKILLed.
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function waitForReady(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    const cleanup = (): void => {
      clearTimeout(timer);
      child.off('error', onError);
      child.off('exit', onExit);
      child.stdout?.off('data', onData);
      child.stdout?.resume(); // keep draining (and discarding) anything printed later
    };
    const fail = (message: string): void => {
      cleanup();
      child.kill('SIGKILL');
      reject(new Error(message));
    };
    const onError = (err: NodeJS.ErrnoException): void =>
      fail(
        err.code === 'ENOENT' ? `python3 not found on PATH (set MOTO_PYTHON): ${err.message}` : err.message,
      );
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      const err = stderr();
      const missing = /MOTO_IMPORT_ERROR|No module named '?(moto|flask|werkzeug)/.test(err);
      fail(
        missing ? `${MOTO_MISSING}\n${err}` : `moto exited (${code ?? signal}) before ready; stderr:\n${err}`,
      );
    };
    const onData = (chunk: Buffer): void => {
      stdout += chunk.toString();
      const match = /^READY (\d+)$/m.exec(stdout);
      if (!match?.[1]) return;
      cleanup();
      resolve(Number(match[1]));
    };
    const timer = setTimeout(
      () => fail(`moto did not become ready within ${READY_TIMEOUT_MS / 1000}s; stderr:\n${stderr()}`),
      READY_TIMEOUT_MS,
    );
    child.on('error', onError);
    child.on('exit', onExit);
    child.stdout?.on('data', onData);
  });
}

async function postJson<T>(url: string, body: unknown): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${url} -> ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

/** utime + stime of a process from /proc/<pid>/stat (Linux), in ms; undefined elsewhere. */
export async function processCpuMs(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces), counted from 3: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? (ticks * 1000) / clockTicksPerSecond : undefined;
  } catch {
    return undefined;
  }
}

/** USER_HZ: 100 on every Linux Node supports (sysconf(_SC_CLK_TCK) is not exposed to Node). */
const clockTicksPerSecond = 100;

export async function startMoto(): Promise<MotoServer> {
  const python = process.env['MOTO_PYTHON'] ?? 'python3';
  const child = spawn(python, [findServerScript(), '--port', '0', '--exit-on-stdin-eof'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  running.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-STDERR_LIMIT); // keep draining so the pipe never blocks
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));

  const port = await waitForReady(child, () => stderr);
  // A forgotten stop() must not keep the test runner alive.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref();

  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    port,
    pid: child.pid,
    cpuMs: () => processCpuMs(child.pid),
    seedIam: (spec) => postJson<SeedResult>(`${endpoint}/_seed/iam`, spec),
    seedCredentialReport: (spec) => postJson(`${endpoint}/_seed/credential-report`, spec),
    forgetCredentialReports: async () => {
      await postJson<unknown>(`${endpoint}/_seed/credential-report/forget`, {});
    },
    reset: async () => {
      await postJson<unknown>(`${endpoint}/_seed/reset`, {});
    },
    stop: () => stopChildProcess(child, exited),
  };
}
