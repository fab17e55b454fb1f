// Recording / fault-injecting reverse proxy in front of moto. Point AWS SDK clients at
// `proxy.endpoint` to see which API calls the code under test makes and to simulate
// AccessDenied, throttling and latency without touching moto.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface RecordedRequest {
  action: string; // Query "Action" param, or the X-Amz-Target operation for JSON services
  params: Record<string, string>; // decoded form/query params (empty for JSON bodies)
  status: number; // 0 while in flight, 502 when moto is unreachable
  injected: boolean; // answered by the proxy (fault or throttle), never reached moto
  /** Answered from the proxy's memory of an earlier identical read (`replayReads`), not by moto. */
  replayed: boolean;
  /**
   * The AWS account the request is made as: the account of the role whose AssumeRole handed out its
   * access key, as seen through this proxy; `default` for other keys (moto's 123456789012).
   */
  account: string;
  /** Wall-clock times in ms since the epoch (fractional; comparable across processes on one machine). */
  receivedAt: number; // the request had arrived in full
  forwardedAt?: number; // sent on to moto, after the injected latency (undefined if it never was)
  upstreamAt?: number; // moto's answer had arrived in full
  answeredAt?: number; // the answer had been sent back in full
}

export interface FaultSpec {
  status?: number; // default 400
  code: string; // becomes the SDK error's `name`
  message?: string;
  type?: 'Sender' | 'Receiver';
  times?: number; // default: until clearFaults()
  /** Only requests with these parameter values (e.g. `{ UserName: 'bob' }`); others pass. */
  when?: Readonly<Record<string, string>>;
}

export interface AwsProxyOptions {
  latencyMs?: number; // added before every forwarded request
  maxRequestsPerSecond?: number; // above this rate answer Throttling (token bucket)
  /**
   * Answer a read-only IAM call (ListUsers, ListAccessKeys, …) that moto already answered for the same
   * account and parameters from memory, after the same injected latency, instead of asking moto again.
   * For benchmarks: moto is one Python process (one core at most, whatever its threads) spending several
   * ms of CPU per call, so on a small machine it, not the code measured, would set the pace once tens of
   * calls are in flight. Real IAM does that work on AWS's machines; a replayed answer is the same bytes.
   * Calls that change or depend on state moto keeps per run (AssumeRole, GenerateCredentialReport,
   * GetCredentialReport, Organizations) always go to moto. Forget what was seen with `forgetReplies()`
   * whenever moto's data changes.
   */
  replayReads?: boolean;
}

/** Read-only IAM actions whose answer depends only on the account's users and keys (see replayReads). */
export const replayableActions: ReadonlySet<string> = new Set([
  'ListUsers',
  'ListAccessKeys',
  'GetAccessKeyLastUsed',
  'ListMFADevices',
  'GetLoginProfile',
  'ListAccountAliases',
  'ListUserTags',
]);

/** Wall-clock ms since the epoch, sub-ms precision, comparable between processes. */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

/**
 * A response's headers less those that concern one connection only (RFC 9110 §7.6.1). moto (werkzeug)
 * answers `Connection: close` to every request; passed on, it would make the SDK open a new TCP
 * connection for every call, which real AWS does not, and which costs the client CPU per call.
 */
function withoutHopByHop(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const kept: http.OutgoingHttpHeaders = { ...headers };
  for (const name of ['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade']) {
    delete kept[name];
  }
  for (const name of String(headers.connection ?? '').split(',')) delete kept[name.trim().toLowerCase()];
  return kept;
}

/** `Credential=AKID/date/region/service/aws4_request` of a SigV4 Authorization header. */
function accessKeyOf(req: http.IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  return typeof auth === 'string' ? /Credential=([^/,\s]+)\//.exec(auth)?.[1] : undefined;
}

export interface AwsProxy {
  endpoint: string;
  requests: RecordedRequest[];
  countByAction(): Record<string, number>;
  failAction(action: string, fault: FaultSpec): void;
  throttle(action: string, times?: number): void;
  clearFaults(): void;
  clearRequests(): void;
  /** Forgets the answers kept for `replayReads` (call it whenever moto's data changes). */
  forgetReplies(): void;
  stop(): Promise<void>;
}

const THROTTLING: FaultSpec = { status: 400, code: 'Throttling', message: 'Rate exceeded' };

const xmlEscape = (s: string): string => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Query protocol (IAM, STS) errors are XML; JSON protocol (Organizations) errors use __type.
function sendError(res: http.ServerResponse, fault: FaultSpec, json: boolean): number {
  const status = fault.status ?? 400;
  const requestId = randomUUID();
  const message = fault.message ?? fault.code;
  const headers = { 'x-amzn-requestid': requestId, 'x-amzn-errortype': fault.code };
  if (json) {
    res.writeHead(status, { ...headers, 'content-type': 'application/x-amz-json-1.1' });
    res.end(JSON.stringify({ __type: fault.code, message }));
  } else {
    res.writeHead(status, { ...headers, 'content-type': 'text/xml' });
    res.end(
      `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>${fault.type ?? 'Sender'}</Type>` +
        `<Code>${xmlEscape(fault.code)}</Code><Message>${xmlEscape(message)}</Message></Error>` +
        `<RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  }
  return status;
}

function describe(
  req: http.IncomingMessage,
  body: string,
): { action: string; params: Record<string, string> } {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') {
    return { action: target.slice(target.lastIndexOf('.') + 1), params: {} };
  }
  const url = new URL(req.url ?? '/', 'http://proxy');
  const params: Record<string, string> = Object.fromEntries(url.searchParams);
  if (String(req.headers['content-type'] ?? '').includes('x-www-form-urlencoded')) {
    Object.assign(params, Object.fromEntries(new URLSearchParams(body)));
  }
  return { action: params['Action'] ?? `${req.method ?? 'GET'} ${url.pathname}`, params };
}

function tokenBucket(ratePerSecond: number): () => boolean {
  let tokens = ratePerSecond;
  let last = performance.now();
  return () => {
    const now = performance.now();
    tokens = Math.min(ratePerSecond, tokens + ((now - last) / 1000) * ratePerSecond);
    last = now;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };
}

export async function startAwsProxy(target: string, options: AwsProxyOptions = {}): Promise<AwsProxy> {
  const upstream = new URL(target);
  // Keyed by action, plus the `when` condition: one unconditional fault per action (a new one replaces
  // it) and any number of conditional ones, which win over it for the requests they match.
  const faults = new Map<string, FaultSpec>();
  const faultKey = (action: string, when: FaultSpec['when']): string =>
    when === undefined ? action : `${action}?${JSON.stringify(Object.entries(when).sort())}`;
  const faultFor = (entry: RecordedRequest): [string, FaultSpec] | undefined => {
    let unconditional: [string, FaultSpec] | undefined;
    for (const [key, fault] of faults) {
      if (key !== entry.action && !key.startsWith(`${entry.action}?`)) continue;
      if (fault.when === undefined) unconditional = [key, fault];
      else if (Object.entries(fault.when).every(([name, value]) => entry.params[name] === value))
        return [key, fault];
    }
    return unconditional;
  };
  const requests: RecordedRequest[] = [];
  const admit = options.maxRequestsPerSecond ? tokenBucket(options.maxRequestsPerSecond) : () => true;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => void handle(req, res, Buffer.concat(chunks)));
  });

  // Access key → account, learned from AssumeRole answers passing through (replayReads, accounting).
  const accountOfKey = new Map<string, string>();
  const replies = new Map<string, { status: number; headers: http.OutgoingHttpHeaders; body: Buffer }>();
  const replyKey = (entry: RecordedRequest): string | undefined => {
    if (!options.replayReads || !replayableActions.has(entry.action)) return undefined;
    const params = Object.entries(entry.params)
      .filter(([name]) => name !== 'Action' && name !== 'Version')
      .sort(([a], [b]) => a.localeCompare(b));
    return `${entry.account}|${entry.action}|${JSON.stringify(params)}`;
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const accessKey = accessKeyOf(req);
    const entry: RecordedRequest = {
      ...describe(req, body.toString()),
      status: 0,
      injected: false,
      replayed: false,
      account: (accessKey && accountOfKey.get(accessKey)) ?? 'default',
      receivedAt: wallClockMs(),
    };
    res.once('finish', () => {
      entry.answeredAt = wallClockMs();
    });
    requests.push(entry);
    const json = typeof req.headers['x-amz-target'] === 'string';
    const [key, fault] = faultFor(entry) ?? [];
    if (key !== undefined && fault) {
      if (fault.times !== undefined && --fault.times <= 0) faults.delete(key);
      entry.injected = true;
      entry.status = sendError(res, fault, json);
      return;
    }
    if (!admit()) {
      entry.injected = true;
      entry.status = sendError(res, THROTTLING, json);
      return;
    }
    // Every request sleeps on its own timer: concurrent requests wait their latency at the same time,
    // as they would on the network, and none waits behind another's.
    if (options.latencyMs) await sleep(options.latencyMs);
    const cacheKey = replyKey(entry);
    const kept = cacheKey === undefined ? undefined : replies.get(cacheKey);
    if (kept) {
      entry.replayed = true;
      entry.status = kept.status;
      res.writeHead(kept.status, { ...kept.headers, 'x-amzn-requestid': randomUUID() });
      res.end(kept.body);
      return;
    }
    entry.forwardedAt = wallClockMs();
    const forward = http.request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, 'content-length': String(body.length) },
      },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (chunk: Buffer) => chunks.push(chunk));
        up.on('end', () => {
          entry.upstreamAt = wallClockMs();
          entry.status = up.statusCode ?? 0;
          const answer = Buffer.concat(chunks);
          const headers = withoutHopByHop(up.headers);
          headers['content-length'] = String(answer.length);
          if (entry.status === 200) learn(entry, answer);
          if (cacheKey !== undefined && entry.status === 200) {
            replies.set(cacheKey, { status: entry.status, headers, body: answer });
          }
          res.writeHead(entry.status, headers);
          res.end(answer);
        });
      },
    );
    forward.on('error', (err) => {
      entry.status = 502;
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`aws proxy: upstream error: ${err.message}`);
    });
    forward.end(body);
  }

  /** An AssumeRole answer: its access key acts in the account of the role assumed. */
  function learn(entry: RecordedRequest, answer: Buffer): void {
    if (entry.action !== 'AssumeRole' && entry.action !== 'AssumeRoleWithWebIdentity') return;
    const account = /^arn:[^:]+:iam::(\d{12}):/.exec(entry.params.RoleArn ?? '')?.[1];
    const key = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(answer.toString('utf8'))?.[1];
    if (account && key) accountOfKey.set(key, account);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    countByAction: () => {
      const counts: Record<string, number> = {};
      for (const r of requests) counts[r.action] = (counts[r.action] ?? 0) + 1;
      return counts;
    },
    failAction: (action, fault) => void faults.set(faultKey(action, fault.when), { ...fault }),
    throttle: (action, times) => void faults.set(action, { ...THROTTLING, times }),
    clearFaults: () => faults.clear(),
    clearRequests: () => void requests.splice(0),
    forgetReplies: () => replies.clear(),
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections(); // SDK keep-alive sockets would otherwise hold close() open
      }),
  };
}
