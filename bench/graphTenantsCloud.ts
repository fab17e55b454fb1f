// Child process for bench/graphTenants.bench.ts: the Entra side of the cloud in its own process, so the
// bench measures the collector, not the emulators' work of generating and serving pages. It holds the
// managed-identity emulator and the token endpoint for the whole bench (MSAL keeps the identity endpoint
// process-wide) and, per measurement, a Graph host over one emulator per tenant. One JSON command per stdin
// line, one JSON answer per stdout line:
//   {"start": {tenants, signInsPerTenant, timeScale, from, to}} → {graphEndpoint}
//   {"stats": true} → {requestTimes (ms, sorted), throttled}, and the Graph host is stopped
// The first line out is {identityEnv, authorityHost, appClientId, home, customers}.
import { createInterface } from 'node:readline';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startEntraTokenEndpoint } from '../test/emulators/entraTokenEndpoint.js';
import { startGraphTenants, type GraphTenants } from '../test/emulators/graph.js';
import { startManagedIdentityEmulator } from '../test/emulators/managedIdentity.js';

const maxTenants = Number(process.argv[2] ?? '10');
const home = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const appClientId = '5e0c1c7a-9a3b-4d52-8f0e-2b6f1d7c4a11';
const customers = Array.from(
  { length: maxTenants - 1 },
  (_, i) => `00000000-0000-4000-8000-${String(i + 1).padStart(12, '0')}`,
);
const identity = await startManagedIdentityEmulator({
  tenantId: home,
  clientId: '0c5a3b1e-7f3d-4b8e-9a51-3e2f6d8c9b10',
  principalId: 'a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d',
});
const login = await startEntraTokenEndpoint({
  identity,
  tenants: [home, ...customers],
  apps: [
    {
      clientId: appClientId,
      homeTenantId: home,
      federatedCredentials: [
        {
          issuer: `https://login.microsoftonline.com/${home}/v2.0`,
          subject: identity.principalId,
          audience: 'api://AzureADTokenExchange',
        },
      ],
      consentedIn: new Map(customers.map((tenant) => [tenant, ['AuditLog.Read.All', 'Directory.Read.All']])),
    },
  ],
});
const say = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
say({ identityEnv: identity.env(), authorityHost: login.authorityHost, appClientId, home, customers });

interface Start {
  tenants: number;
  signInsPerTenant: number;
  timeScale: number;
  from: string;
  to: string;
}

let graph: GraphTenants | undefined;
// How late this process's event loop got to what was waiting: a request reaching the front while the loop
// serves other pages is stamped late, so its tenant's window looks to start later than Graph's would.
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { start?: Start; stats?: true };
  if (command.start) {
    const { tenants, signInsPerTenant, timeScale, from, to } = command.start;
    graph = await startGraphTenants(
      { identity: login, timeScale },
      [home, ...customers.slice(0, tenants - 1)].map((tenantId, i) => ({
        tenantId,
        seed: 100 + i,
        signIns: { count: signInsPerTenant, from: new Date(from), to: new Date(to) },
      })),
    );
    loopDelay.reset();
    loopDelay.enable();
    say({ graphEndpoint: graph.endpoint });
  } else if (command.stats && graph) {
    const emulators = [...graph.tenants.values()];
    say({
      requestTimes: emulators
        .flatMap((emulator) => emulator.requests.map((request) => request.at.getTime()))
        .sort((a, b) => a - b),
      throttled: emulators.reduce((sum, emulator) => sum + emulator.throttledCount, 0),
      loopDelayMs: { p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
    });
    loopDelay.disable();
    await graph.stop();
    graph = undefined;
  }
}
await graph?.stop();
await login.stop();
await identity.stop();
process.exit(0);
