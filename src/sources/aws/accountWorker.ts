// The body of an account worker thread (accountWorkers.ts): reads the member accounts it is given, each
// exactly as the run's own thread would (inventoryMemberAccount), and sends back its rows, counts, log
// lines and timing. Several accounts at once, through one HTTP handler kept for the thread's life.
import { parentPort, workerData } from 'node:worker_threads';
import { newSourceStats } from '../../run/collector.js';
import type { Logger } from '../../lib/logger.js';
import { describeError } from '../../lib/redact.js';
import { inventoryMemberAccount, rowsOf, type AccountJobOptions } from './accessKeysCollector.js';
import { startWatch, type AccountWatch } from './accountTiming.js';
import type {
  AccountJob,
  AccountWorkerData,
  FromAccountWorker,
  ToAccountWorker,
  WatchState,
} from './accountWorkers.js';
import { awsHttp } from './awsHttp.js';

const port = parentPort;
if (port === null) throw new Error('accountWorker.ts runs as a worker thread (accountWorkers.ts)');
const data = workerData as AccountWorkerData;
const http = awsHttp(data.maxSockets);
const running = new Map<number, AbortController>();

const send = (message: FromAccountWorker) => port.postMessage(message);

port.on('message', (message: ToAccountWorker<AccountJobOptions>) => {
  if (message.kind === 'abort') running.get(message.id)?.abort(new Error(message.reason));
  else void readAccount(message.id, message.job);
});

async function readAccount(id: number, job: AccountJob<AccountJobOptions>): Promise<void> {
  const controller = new AbortController();
  running.set(id, controller);
  const stats = newSourceStats();
  const log: Logger = {
    info: (message) => send({ kind: 'log', id, level: 'info', message }),
    warn: (message) => send({ kind: 'log', id, level: 'warn', message }),
    error: (message) => send({ kind: 'log', id, level: 'error', message }),
  };
  const watch = startWatch(job.account.id);
  const { hub } = job;
  try {
    const rows = await rowsOf(
      inventoryMemberAccount(
        { ...job.options, credentialsFor: () => undefined },
        job.memberRoleName,
        hub && (() => Promise.resolve(hub)),
        job.account,
        { runId: job.runId, startTime: job.startTime, stats, log, signal: controller.signal },
        watch,
        http,
      ),
    );
    send({ kind: 'read', id, rows, stats, watch: stateOf(watch) });
  } catch (error) {
    send({ kind: 'failed', id, message: describeError(error), stats, watch: stateOf(watch) });
  } finally {
    running.delete(id);
  }
}

function stateOf(watch: AccountWatch): WatchState {
  return {
    credentialsDoneAt: watch.credentialsDoneAt,
    reportDoneAt: watch.reportDoneAt,
    keys: watch.keys,
    tally: watch.tally,
  };
}
