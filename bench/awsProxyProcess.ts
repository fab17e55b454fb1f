import { fork } from 'node:child_process';
import type { AwsProxyOptions, RecordedRequest } from '../test/emulators/awsProxy.js';
import type { ProxyReplyMessage, ProxyRequestMessage } from './awsProxyWorker.js';
import { siblingEntry } from './support.js';

/** The AWS latency proxy, run in a child process (see awsProxyWorker.ts). */
export interface AwsProxyProcess {
  readonly endpoint: string;
  readonly pid: number | undefined;
  /** The requests seen since the last call (their times are wall-clock ms, comparable with ours). */
  takeRequests(): Promise<RecordedRequest[]>;
  forgetReplies(): Promise<void>;
  /** CPU time the proxy process has used so far, ms. */
  cpuMs(): Promise<number>;
  stop(): Promise<void>;
}

export async function startAwsProxyProcess(
  target: string,
  options: AwsProxyOptions,
): Promise<AwsProxyProcess> {
  const { entry, execArgv } = siblingEntry(import.meta.url, 'awsProxyWorker');
  const child = fork(entry, [target, JSON.stringify(options)], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const endpoint = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) =>
      reject(new Error(`the proxy process exited (${code ?? 'signal'}) before ready`)),
    );
    child.on('message', (message: ProxyReplyMessage) => {
      if (message.type === 'ready') resolve(message.endpoint);
      else {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        if (message.error !== undefined) waiter?.reject(new Error(message.error));
        else waiter?.resolve(message.result);
      }
    });
  });
  void exited.then(() => {
    for (const waiter of pending.values()) waiter.reject(new Error('the proxy process exited'));
    pending.clear();
  });
  const ask = <T>(op: ProxyRequestMessage['op']): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      child.send({ id, op } satisfies ProxyRequestMessage);
    });
  return {
    endpoint,
    pid: child.pid,
    takeRequests: () => ask<RecordedRequest[]>('takeRequests'),
    forgetReplies: () => ask<void>('forgetReplies'),
    cpuMs: () => ask<number>('cpuMs'),
    stop: async () => {
      if (child.exitCode !== null) return;
      await ask<void>('stop').catch(() => child.kill());
      await exited;
    },
  };
}
