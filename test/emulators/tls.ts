// Server key and certificate for the HTTPS emulators. They are created by scripts/dev-ca.mjs, whose callers
// (vitest's global setup, scripts/with-dev-ca.mjs) also set NODE_EXTRA_CA_CERTS so that the unmodified Azure SDK clients trust them.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

export interface DevTls {
  key: string;
  cert: string;
  ca: string;
}

let cached: DevTls | undefined;

export function loadDevTls(): DevTls {
  if (cached) return cached;
  const dir = process.env['DEV_TLS_DIR'];
  if (!dir) {
    throw new Error(
      'DEV_TLS_DIR is not set: run tests with vitest (npm test), or anything else through ' +
        'scripts/with-dev-ca.mjs, which create the dev CA and set NODE_EXTRA_CA_CERTS so the SDK ' +
        'clients trust the emulators',
    );
  }
  const read = (file: string): string => {
    try {
      return readFileSync(path.join(dir, file), 'utf8');
    } catch (err) {
      throw new Error(`cannot read ${file} in DEV_TLS_DIR=${dir}; run through scripts/with-dev-ca.mjs`, {
        cause: err,
      });
    }
  };
  cached = { key: read('server-key.pem'), cert: read('server-cert.pem'), ca: read('ca.pem') };
  return cached;
}

/**
 * An HTTPS emulator on a free loopback port with the dev certificate, named `https://localhost:<port>`
 * (the name the certificate carries). A handler that throws just loses its socket, as when a client
 * goes away mid-request. The server does not keep the process alive.
 */
export async function listenHttpsOnLoopback(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> | void,
): Promise<{ server: https.Server; origin: string }> {
  const { key, cert } = loadDevTls();
  const server = https.createServer({ key, cert }, (req, res) => {
    Promise.resolve(handler(req, res)).catch(() => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.unref();
  return { server, origin: `https://localhost:${(server.address() as AddressInfo).port}` };
}
