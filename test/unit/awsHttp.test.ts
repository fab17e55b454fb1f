import { IAMClient, ListAccessKeysCommand } from '@aws-sdk/client-iam';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { abortCallsWith, callOptions } from '../../src/sources/aws/accessKeyInventory.js';
import { awsHttp } from '../../src/sources/aws/awsHttp.js';

const answer = `<ListAccessKeysResponse><ListAccessKeysResult><AccessKeyMetadata/><IsTruncated>false</IsTruncated></ListAccessKeysResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></ListAccessKeysResponse>`;

// A tiny IAM: answers ListAccessKeys at once, or never when the user is `hang`; counts connections.
let server: Server;
let endpoint = '';
let connections = 0;
let hanging: IncomingMessage[] = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      if (body.includes('UserName=hang')) {
        hanging.push(req);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/xml' });
      res.end(answer);
    });
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const credentials = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const client = (handler: ReturnType<ReturnType<typeof awsHttp>['forClient']>) =>
  new IAMClient({
    region: 'us-east-1',
    endpoint,
    credentials,
    requestHandler: handler,
    cacheMiddleware: true,
  });

describe('awsHttp: one HTTP handler for the clients of a run', () => {
  it('lets clients reuse each other’s connections, and a destroyed client leaves it working', async () => {
    const http = awsHttp(8);
    try {
      const before = connections;
      for (let i = 0; i < 3; i += 1) {
        const iam = client(http.forClient(undefined));
        await iam.send(new ListAccessKeysCommand({ UserName: 'alice' }));
        iam.destroy();
      }
      assert.equal(
        connections - before,
        1,
        'three clients, one after the other, on one kept-alive connection',
      );
    } finally {
      http.destroy();
    }
  });

  it('stops a client’s requests when its signal aborts, though the call passed no options', async () => {
    const http = awsHttp(8);
    const controller = new AbortController();
    const iam = client(http.forClient(controller.signal));
    abortCallsWith(iam, controller.signal);
    hanging = [];
    try {
      assert.equal(callOptions(iam, controller.signal), undefined, 'wired: no per-call options');
      const call = iam.send(
        new ListAccessKeysCommand({ UserName: 'hang' }),
        callOptions(iam, controller.signal),
      );
      while (hanging.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      const closed = new Promise<void>((resolve) => hanging[0]?.socket.once('close', () => resolve()));
      controller.abort(new Error('deadline'));
      await assert.rejects(call, /deadline/);
      await closed;
    } finally {
      iam.destroy();
      http.destroy();
    }
  });

  it('callOptions passes the signal to clients not wired to it', () => {
    const signal = new AbortController().signal;
    const other = new AbortController().signal;
    const iam = new IAMClient({ region: 'us-east-1', endpoint, credentials });
    assert.deepEqual(callOptions(iam, signal), { abortSignal: signal });
    abortCallsWith(iam, other);
    assert.deepEqual(callOptions(iam, signal), { abortSignal: signal }, 'wired to another signal');
    assert.equal(callOptions(iam, undefined), undefined);
    iam.destroy();
  });
});
