// Organization mode's accounts read on worker threads: one Node.js thread saturates at about 1.2–1.7 ms of
// CPU per IAM call (the SDK's signing, serde and middleware; measured in docs/SCALING.md), so 8 accounts at
// a time wait for the CPU rather than for IAM. On an instance with more than one core (Flex Consumption's
// 4,096 MB has 2), the accounts spread over threads use them all.
import { extname } from 'node:path';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import type { AwsCredentialIdentity } from '@aws-sdk/types';
import { abortError, raceAbort, type CollectorContext, type SourceStats } from '../../run/collector.js';
import { describeError } from '../../lib/redact.js';
import type { AWSIAMAccessKeysRow } from '../../tables/generated.js';
import type { AccountWatch } from './accountTiming.js';
import type { OrganizationAccount } from './organization.js';

/** One account to read: everything inventoryMemberAccount needs, as data (it crosses to a thread). */
export interface AccountJob<Options> {
  /** The collector's options, without their functions. */
  readonly options: Options;
  readonly memberRoleName: string;
  /** The hub session, resolved by the run's thread (undefined: the AWS default chain, in the thread too). */
  readonly hub: AwsCredentialIdentity | undefined;
  readonly account: OrganizationAccount;
  readonly runId: string;
  readonly startTime: Date;
}

/** What a thread is started with. */
export interface AccountWorkerData {
  /** Sockets per endpoint of the thread's one HTTP handler (awsHttp.ts). */
  readonly maxSockets: number;
}

export type ToAccountWorker<Options> =
  | { readonly kind: 'read'; readonly id: number; readonly job: AccountJob<Options> }
  | { readonly kind: 'abort'; readonly id: number; readonly reason: string };

/**
 * The watch as data: what the thread measured of the account. Not when it started: the account's time
 * runs from when the run gave it out, waiting for a thread (or for one to start) included.
 */
export type WatchState = Omit<AccountWatch, 'accountId' | 'startedAt'>;

export type FromAccountWorker =
  | {
      readonly kind: 'log';
      readonly id: number;
      readonly level: 'info' | 'warn' | 'error';
      readonly message: string;
    }
  | {
      readonly kind: 'read';
      readonly id: number;
      readonly rows: AWSIAMAccessKeysRow[];
      readonly stats: SourceStats;
      readonly watch: WatchState;
    }
  | {
      readonly kind: 'failed';
      readonly id: number;
      /** Already redacted (describeError), as the run row would show it. */
      readonly message: string;
      readonly stats: SourceStats;
      readonly watch: WatchState;
    };

/** The accounts' threads of one run. */
export interface AccountWorkers<Options> {
  /**
   * Reads one account on the least busy thread: its rows once all are read. Its calls, throttles and
   * warnings are added to `context.stats`, its log lines go to `context.log` and `watch` gets its timing.
   * Rejects with the account's error (redacted), or at once when `context.signal` aborts (the thread is
   * told to stop its calls).
   */
  read(
    job: AccountJob<Options>,
    watch: AccountWatch,
    context: Pick<CollectorContext, 'stats' | 'log' | 'signal'>,
  ): Promise<AWSIAMAccessKeysRow[]>;
}

interface Pending {
  readonly watch: AccountWatch;
  readonly context: Pick<CollectorContext, 'stats' | 'log' | 'signal'>;
  readonly resolve: (rows: AWSIAMAccessKeysRow[]) => void;
  readonly reject: (error: Error) => void;
}

interface Thread {
  readonly worker: Worker;
  readonly pending: Map<number, Pending>;
}

/**
 * The process's pool of `size` account threads: started at its first run (loading the SDK takes a moment,
 * which overlaps that run's Organizations listing) and kept for the runs after it, so that a later run on
 * a warm instance finds their code compiled and optimized, as the run's own thread does. A thread holds
 * the process only while it reads an account: idle, it never keeps a CLI or a host from exiting. Each
 * thread reads the accounts given to it concurrently, through one HTTP handler of its own, and sees the
 * process's environment as it is when it reads (AWS_ENDPOINT_URL, AWS_REGION, …).
 */
export function accountWorkersFor<Options>(size: number, data: AccountWorkerData): AccountWorkers<Options> {
  if (!Number.isInteger(size) || size < 1)
    throw new RangeError(`account workers must be a positive integer: ${size}`);
  // One pool per size: a run asking for the same threads gets the warm ones (`data` is the first run's;
  // settings, and so the sockets a run needs, do not change within a host's life).
  let pool = pools.get(size);
  if (pool === undefined) {
    pool = startPool(size, data);
    pools.set(size, pool);
  }
  return pool;
}

const pools = new Map<number, AccountWorkers<unknown>>();

function startPool(size: number, data: AccountWorkerData): AccountWorkers<unknown> {
  let nextId = 0;
  const threads: Thread[] = [];

  const start = (): Thread => {
    const thread: Thread = { worker: spawnAccountWorker(data), pending: new Map() };
    thread.worker.unref();
    const fail = (error: Error) => {
      const index = threads.indexOf(thread);
      if (index >= 0) threads.splice(index, 1);
      for (const pending of thread.pending.values()) pending.reject(error);
      thread.pending.clear();
    };
    thread.worker.on('message', (message: FromAccountWorker) => onMessage(thread, message));
    thread.worker.on('error', (error) =>
      fail(new Error(`the account worker thread failed: ${describeError(error)}`)),
    );
    thread.worker.on('exit', (code) =>
      fail(new Error(`the account worker thread exited (code ${code}) while reading accounts`)),
    );
    threads.push(thread);
    return thread;
  };

  const onMessage = (thread: Thread, message: FromAccountWorker) => {
    const pending = thread.pending.get(message.id);
    if (pending === undefined) return;
    if (message.kind === 'log') {
      pending.context.log[message.level](message.message);
      return;
    }
    thread.pending.delete(message.id);
    if (thread.pending.size === 0) thread.worker.unref();
    addStats(pending.context.stats, message.stats);
    Object.assign(pending.watch, message.watch);
    if (message.kind === 'read') pending.resolve(message.rows);
    else pending.reject(new Error(message.message));
  };

  for (let i = 0; i < size; i += 1) start();

  return {
    read(job, watch, context) {
      const { signal } = context;
      if (signal?.aborted) return Promise.reject(abortError(signal));
      // A thread that died is replaced, so one crash costs the accounts it held, not the rest of the run.
      while (threads.length < size) start();
      const thread = threads.reduce((least, t) => (t.pending.size < least.pending.size ? t : least));
      const id = (nextId += 1);
      const read = new Promise<AWSIAMAccessKeysRow[]>((resolve, reject) => {
        thread.pending.set(id, { watch, context, resolve, reject });
      });
      thread.worker.ref();
      const message: ToAccountWorker<unknown> = { kind: 'read', id, job };
      thread.worker.postMessage(message);
      if (signal === undefined) return read;
      const abort = () => {
        const stop: ToAccountWorker<unknown> = {
          kind: 'abort',
          id,
          reason: describeError(signal.reason),
        };
        thread.worker.postMessage(stop);
      };
      signal.addEventListener('abort', abort, { once: true });
      // At the deadline the read rejects at once; the thread stops the account's calls meanwhile (and
      // its answer, when it comes, finds nobody waiting).
      return raceAbort(read, signal).finally(() => signal.removeEventListener('abort', abort));
    },
  };
}

function addStats(into: SourceStats, from: SourceStats): void {
  into.apiCalls += from.apiCalls;
  into.throttled += from.throttled;
  into.warnings.push(...from.warnings);
}

/**
 * The thread runs accountWorker.js beside this file; from the TypeScript sources (tests, the CLI through
 * tsx) it is accountWorker.ts, loaded through tsx's loader, which a thread does not inherit from its process.
 */
function spawnAccountWorker(data: AccountWorkerData): Worker {
  const ownUrl = import.meta.url;
  const script = new URL(`./accountWorker${extname(new URL(ownUrl).pathname)}`, ownUrl);
  if (!script.pathname.endsWith('.ts')) return new Worker(script, { workerData: data, env: SHARE_ENV });
  const tsx = import.meta.resolve('tsx/esm/api');
  const bootstrap =
    `import(${JSON.stringify(tsx)})` +
    `.then((api) => { api.register(); return import(${JSON.stringify(script.href)}); })`;
  return new Worker(bootstrap, { eval: true, workerData: data, env: SHARE_ENV });
}
