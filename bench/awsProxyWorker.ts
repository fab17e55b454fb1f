// Child process: the AWS latency proxy (test/emulators/awsProxy.ts) in a process of its own, so that its
// work (HTTP in and out, a timer per request, replayed answers) is not done on the event loop of the code
// being measured: on the real network none of it runs on our machine. Driven over IPC by awsProxyProcess.ts.
import { startAwsProxy, type AwsProxyOptions } from '../test/emulators/awsProxy.js';

export type ProxyRequestMessage = { readonly id: number } & (
  | { readonly op: 'takeRequests' }
  | { readonly op: 'forgetReplies' }
  | { readonly op: 'cpuMs' }
  | { readonly op: 'stop' }
);

export type ProxyReplyMessage =
  | { readonly type: 'ready'; readonly endpoint: string }
  | { readonly type: 'reply'; readonly id: number; readonly result?: unknown; readonly error?: string };

const parentGone = () => process.exit(1);
process.on('disconnect', parentGone);

const [target = '', optionsJson = '{}'] = process.argv.slice(2);
const proxy = await startAwsProxy(target, JSON.parse(optionsJson) as AwsProxyOptions);
const send = (message: ProxyReplyMessage) => process.send?.(message);
send({ type: 'ready', endpoint: proxy.endpoint });

process.on('message', (message: ProxyRequestMessage) => {
  void (async () => {
    try {
      switch (message.op) {
        case 'takeRequests':
          send({ type: 'reply', id: message.id, result: proxy.requests.splice(0) });
          return;
        case 'forgetReplies':
          proxy.forgetReplies();
          send({ type: 'reply', id: message.id });
          return;
        case 'cpuMs': {
          const { user, system } = process.cpuUsage();
          send({ type: 'reply', id: message.id, result: (user + system) / 1000 });
          return;
        }
        case 'stop':
          await proxy.stop();
          send({ type: 'reply', id: message.id });
          process.off('disconnect', parentGone);
          process.disconnect();
          return;
      }
    } catch (error) {
      send({ type: 'reply', id: message.id, error: String(error) });
    }
  })();
});
