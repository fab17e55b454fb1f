import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { HttpHandlerOptions } from '@smithy/types';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';

type Request = Parameters<NodeHttpHandler['handle']>[0];

/** What a client's `requestHandler` must be: NodeHttpHandler's shape, `destroy` included. */
export type ClientRequestHandler = Pick<
  NodeHttpHandler,
  'metadata' | 'handle' | 'updateHttpClientConfig' | 'httpHandlerConfigs' | 'destroy'
>;

/**
 * One HTTP handler, with one pair of keep-alive agents, for every AWS client of a run: the Organizations
 * client, each member account's STS (AssumeRole) and IAM clients. Without it each client builds its own
 * agents, so every account opens (and, against AWS, TLS-handshakes) its own connections to the same IAM and
 * STS endpoints, and drops them when its client is destroyed; with it, an account reuses the connections
 * the accounts before it left open. Destroyed once, when the run's read ends.
 */
export interface AwsHttp {
  /**
   * The `requestHandler` of one client: requests go through the shared handler, and each stops (its
   * socket closed) when `signal` aborts, without the call passing `{ abortSignal }`: a call passed options
   * resolves the client's middleware stack anew (see `callOptions`). Destroying the client leaves the
   * shared handler alone.
   */
  forClient(signal: AbortSignal | undefined): ClientRequestHandler;
  destroy(): void;
}

/** `maxSockets`: per endpoint, at least the calls a run has in flight at once. */
export function awsHttp(maxSockets: number): AwsHttp {
  // An idle connection is dropped after 4 s, before a server would close it (Node's default keep-alive
  // timeout is 5 s; AWS's are longer): a request never goes out on a socket its server is closing, which
  // would fail it with ECONNRESET and cost a retry.
  const agentOptions = { keepAlive: true, maxSockets, timeout: 4_000 };
  const shared = new NodeHttpHandler({
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
  });
  return {
    forClient: (signal) => ({
      metadata: shared.metadata,
      handle: (request: Request, options?: HttpHandlerOptions) =>
        shared.handle(
          request,
          signal === undefined || options?.abortSignal !== undefined
            ? options
            : { ...options, abortSignal: signal },
        ),
      updateHttpClientConfig: (key, value) => shared.updateHttpClientConfig(key, value),
      httpHandlerConfigs: () => shared.httpHandlerConfigs(),
      destroy: () => {},
    }),
    destroy: () => shared.destroy(),
  };
}
