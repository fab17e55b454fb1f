// One Graph host for several tenants, as Microsoft Graph is: a front that sends each request to the emulator of
// the tenant its bearer token was issued in (the token's tid), and streams the answer back as it comes, faults
// included (a dropped connection drops the client's, a body cut mid-way is cut for the client too). Each tenant
// is a Graph emulator of its own: its data, its throttle (Graph counts per app and tenant), its faults.

import https from 'node:https';
import { ARRIVED_AT_HEADER, startGraphEmulator } from './server.js';
import type { GraphEmulator, GraphEmulatorOptions } from './types.js';
import { listenHttpsOnLoopback, loadDevTls } from '../tls.js';

export interface GraphTenants {
  /** The one Graph endpoint (GRAPH_ENDPOINT) for every tenant. */
  readonly endpoint: string;
  /** Each tenant's emulator, by tenant ID. */
  readonly tenants: ReadonlyMap<string, GraphEmulator>;
  stop(): Promise<void>;
}

/** The tenant a bearer token names (its tid claim), read without verifying: the tenant's emulator verifies. */
function tenantOf(authorization: string | undefined): string | undefined {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  const payload = token?.split('.')[1];
  if (!payload) return undefined;
  try {
    const { tid } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { tid?: unknown };
    return typeof tid === 'string' ? tid : undefined;
  } catch {
    return undefined;
  }
}

export async function startGraphTenants(
  options: Omit<GraphEmulatorOptions, 'tenantId' | 'publicEndpoint'>,
  tenants: readonly (Partial<GraphEmulatorOptions> & { tenantId: string })[],
): Promise<GraphTenants> {
  const byTenant = new Map<string, GraphEmulator>();
  const { ca } = loadDevTls();
  const agent = new https.Agent({ keepAlive: true, ca });
  const front = await listenHttpsOnLoopback(async (req, res) => {
    const arrivedAt = performance.now();
    const emulator = byTenant.get(tenantOf(req.headers.authorization) ?? '');
    if (!emulator) {
      req.resume();
      const body = JSON.stringify({
        error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' },
      });
      res.writeHead(401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    await new Promise<void>((resolve) => {
      const upstream = https.request(
        `${emulator.origin}${req.url ?? '/'}`,
        {
          method: req.method,
          headers: {
            ...req.headers,
            host: new URL(emulator.origin).host,
            [ARRIVED_AT_HEADER]: String(arrivedAt),
          },
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          // A body the tenant's emulator cut short is cut short for the client too.
          answer.on('aborted', () => res.destroy());
          answer.on('error', () => res.destroy());
          answer.on('end', resolve);
          res.on('close', resolve);
        },
      );
      upstream.on('error', () => {
        // The tenant's emulator dropped the connection before answering: so does the front.
        res.destroy();
        resolve();
      });
      req.pipe(upstream);
    });
  });
  for (const tenant of tenants) {
    byTenant.set(
      tenant.tenantId,
      await startGraphEmulator({ ...options, ...tenant, publicEndpoint: front.origin }),
    );
  }
  return {
    endpoint: front.origin,
    tenants: byTenant,
    async stop() {
      await Promise.allSettled([...byTenant.values()].map((emulator) => emulator.stop()));
      agent.destroy();
      await new Promise<void>((resolve) => {
        front.server.close(() => resolve());
        front.server.closeAllConnections();
      });
    },
  };
}
