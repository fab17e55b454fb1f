// Several Entra tenants from one deployment, without a secret: the managed identity's token for the exchange
// audience is the client assertion of a multi-tenant app (issue 16, items 1-4). The token endpoint emulator
// performs the exchange as Entra does and refuses an assertion whose audience, issuer or subject the app's
// federated credential does not name; one Graph host fronts a Graph emulator per tenant, each with its own data,
// throttle and faults.
import assert from 'node:assert/strict';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { ManagedIdentityCredential } from '@azure/identity';
import { runConfiguredCollector } from '../../src/app/configuredRun.js';
import { customerTenantCredential, type MultiTenantAccess } from '../../src/sources/entra/tenants.js';
import { createTableCheckpointStore } from '../../src/state/tableCheckpointStore.js';
import type { CollectorRunsRow } from '../../src/tables/generated.js';
import { startAzurite, type AzuriteTables } from '../emulators/azurite.js';
import { startEntraTokenEndpoint, type EntraTokenEndpoint } from '../emulators/entraTokenEndpoint.js';
import { startGraphTenants, type GraphTenants } from '../emulators/graph.js';
import {
  identityClientId,
  identityPrincipalId,
  startLocalCloud,
  tenantId as homeTenantId,
  withEnv,
  type LocalCloud,
} from '../support/localCloud.js';
import { pacingWindowForTests } from '../support/pacing.js';
import { freshCheckpointTables, lastRunRow as lastRunRowOf } from '../support/runRows.js';

const appClientId = '5e0c1c7a-9a3b-4d52-8f0e-2b6f1d7c4a11';
const contoso = '11111111-2222-4333-8444-555555555555';
const fabrikam = '66666666-7777-4888-9999-aaaaaaaaaaaa';
const timeScale = 100;
const sourceEnd = new Date(Math.floor(Date.now() / 1000) * 1000);
const sourceStart = new Date(sourceEnd.getTime() - 3 * 3_600_000);
const rightCredential = {
  issuer: `https://login.microsoftonline.com/${homeTenantId}/v2.0`,
  subject: identityPrincipalId,
  audience: 'api://AzureADTokenExchange',
};
const graphRoles = ['AuditLog.Read.All', 'Directory.Read.All'];

let cloud: LocalCloud;
let azurite: AzuriteTables;
let login: EntraTokenEndpoint;
let graph: GraphTenants;
const log = { info: () => {}, warn: () => {}, error: () => {} };

beforeAll(async () => {
  cloud = await startLocalCloud({ aws: false, tokenLifetimeSeconds: 240 });
  azurite = await startAzurite();
  login = await startEntraTokenEndpoint({
    identity: cloud.identity,
    tenants: [homeTenantId, contoso, fabrikam],
    apps: [
      {
        clientId: appClientId,
        homeTenantId,
        federatedCredentials: [{ ...rightCredential }],
        consentedIn: new Map([[contoso, graphRoles]]),
      },
    ],
  });
  const window = (count: number) => ({ count, from: sourceStart, to: sourceEnd });
  graph = await startGraphTenants({ identity: login, timeScale }, [
    { tenantId: homeTenantId, seed: 11, signIns: window(600), audits: window(300), users: { count: 40 } },
    { tenantId: contoso, seed: 12, signIns: window(900), audits: window(200), users: { count: 70 } },
    { tenantId: fabrikam, seed: 13, signIns: window(500), audits: window(100), users: { count: 30 } },
  ]);
  Object.assign(process.env, cloud.env, {
    AzureWebJobsStorage: azurite.connectionString,
    GRAPH_ENDPOINT: graph.endpoint,
    GRAPH_PACING_WINDOW_MS: String(pacingWindowForTests(timeScale)),
    AZURE_AUTHORITY_HOST: login.authorityHost,
    ENTRA_MULTITENANT_APP_ID: appClientId,
    ENTRA_TENANT_CONCURRENCY: '3',
    ENTRA_LAG_MINUTES: '0',
    ENTRA_INITIAL_LOOKBACK_HOURS: '4',
    ENTRA_SLICE_MINUTES: '60',
  });
  cloud.keyVault.setSecret('entra-tenants', `${contoso}=Contoso\n${fabrikam}=Fabrikam`);
});

afterAll(async () => {
  await graph?.stop();
  await login?.stop();
  await azurite?.stop();
  await cloud?.stop();
});

/** Each test gets its own checkpoint table: its runs start from no checkpoint. */
const freshCheckpoints = freshCheckpointTables('tenants');

function run(name: string) {
  return runConfiguredCollector(name, {
    host: 'function',
    env: process.env,
    log,
    tuning: { retry: { maxRetries: 2, retryDelayInMs: 10, maxRetryDelayInMs: 50 } },
  });
}

function lastRunRow(collector: string): CollectorRunsRow {
  return lastRunRowOf(cloud.ingestion, collector);
}

/** Sign-in Ids accepted per tenant (AADTenantId), from row `from` on. */
function signInIdsByTenant(from = 0): Map<string, Set<string>> {
  const byTenant = new Map<string, Set<string>>();
  for (const row of cloud.ingestion.accepted('EntraSignIns_CL').slice(from)) {
    const tenant = String(row.AADTenantId);
    const ids = byTenant.get(tenant) ?? new Set<string>();
    ids.add(String(row.Id));
    byTenant.set(tenant, ids);
  }
  return byTenant;
}

function emulatorOf(tenant: string) {
  const emulator = graph.tenants.get(tenant);
  assert.ok(emulator);
  return emulator;
}

function access(overrides: Partial<MultiTenantAccess> = {}): MultiTenantAccess {
  return {
    appClientId,
    authorityHost: login.authorityHost,
    exchangeAudience: 'api://AzureADTokenExchange',
    tenants: [{ tenantId: contoso }],
    ...overrides,
  };
}

async function tokenFor(tenant: string, overrides: Partial<MultiTenantAccess> = {}) {
  const identity = new ManagedIdentityCredential({ clientId: identityClientId });
  const credential = customerTenantCredential(identity, access(overrides), { tenantId: tenant });
  return credential.getToken('https://graph.microsoft.com/.default');
}

describe('the client-assertion exchange (token endpoint emulator)', () => {
  it("exchanges the identity's v2 token for the exchange audience for a Graph token of the customer tenant", async () => {
    const before = cloud.identity.issued.length;
    const token = await tokenFor(contoso);
    assert.ok(token);
    const issued = login.lookup(token.token);
    assert.ok(issued, 'a token of the token endpoint');
    assert.equal(issued.claims.tid, contoso);
    assert.equal(issued.claims.appid, appClientId);
    assert.equal(issued.claims.aud, 'https://graph.microsoft.com');
    // The assertion: the identity's own token, for the exchange audience, v2 (aud = the exchange app's ID).
    const assertion = cloud.identity.issued
      .slice(before)
      .find((t) => t.resource === 'api://AzureADTokenExchange');
    assert.ok(assertion, 'the identity was asked for a token for api://AzureADTokenExchange');
    assert.equal(assertion.claims.aud, 'fb60f99c-7a34-4190-8149-302f77469936');
    assert.equal(assertion.claims.iss, rightCredential.issuer);
    assert.equal(assertion.claims.sub, identityPrincipalId);
  });

  const app = () => {
    const registered = login.apps.get(appClientId);
    assert.ok(registered);
    return registered;
  };
  async function refusedWith(credential: Partial<typeof rightCredential>, code: RegExp): Promise<void> {
    app().federatedCredentials = [{ ...rightCredential, ...credential }];
    try {
      await assert.rejects(tokenFor(contoso), code);
    } finally {
      app().federatedCredentials = [{ ...rightCredential }];
    }
  }

  it('is refused when the federated credential names another audience', async () => {
    await refusedWith({ audience: 'api://AzureADTokenExchangeUSGov' }, /AADSTS700212/);
  });

  it('is refused when the federated credential names another issuer', async () => {
    await refusedWith({ issuer: `https://login.microsoftonline.com/${contoso}/v2.0` }, /AADSTS700211/);
  });

  it('is refused when the federated credential names another subject', async () => {
    await refusedWith({ subject: '00000000-0000-4000-8000-000000000000' }, /AADSTS700213/);
  });

  it('is refused in a tenant whose admin never consented to the app', async () => {
    await assert.rejects(tokenFor(fabrikam), /AADSTS700016/);
  });

  it('the identity asks for the audience the setting names: a wrong one gets no matching credential', async () => {
    await assert.rejects(
      tokenFor(contoso, { exchangeAudience: 'api://AzureADTokenExchangeChina' }),
      /AADSTS7002\d\d: No matching federated identity record/,
    );
  });
});

describe('Entra collectors over several tenants', () => {
  it('reads every tenant side by side; one without consent fails alone and the run names it', async () => {
    await withEnv(freshCheckpoints(), async () => {
      const from = cloud.ingestion.accepted('EntraSignIns_CL').length;
      const requestsBefore = new Map(
        [...graph.tenants].map(([id, emulator]) => [id, emulator.requests.length]),
      );
      // The home tenant's first page takes 1.5 s: read one after the other, Contoso would come after it.
      emulatorOf(homeTenantId).delayNext(1_500);
      const result = await run('entra-signins');
      assert.equal(result.status, 'PartiallySucceeded');
      const row = lastRunRow('entra-signins');
      assert.equal(row.Status, 'PartiallySucceeded');
      assert.match(row.Error ?? '', new RegExp(`tenant Fabrikam \\(${fabrikam}\\).*AADSTS700016`));
      assert.doesNotMatch(row.Error ?? '', /Contoso|home tenant/);

      // Every sign-in of the two readable tenants, each row saying whose it is; none of Fabrikam's.
      const ids = signInIdsByTenant(from);
      for (const tenant of [homeTenantId, contoso]) {
        const expected = emulatorOf(tenant).ids('signIns', sourceStart, sourceEnd, ['interactiveUser']);
        assert.deepEqual(ids.get(tenant)?.size, expected.size, `sign-ins of ${tenant}`);
        assert.ok(expected.size > 0);
      }
      assert.equal(ids.get(fabrikam), undefined);
      for (const tenant of graph.tenants.values()) assert.equal(tenant.throttledCount, 0, 'paced per tenant');

      // A checkpoint per tenant read, none for the one that failed.
      const store = createTableCheckpointStore({
        kind: 'connection-string',
        connectionString: azurite.connectionString,
        tableName: process.env.CHECKPOINT_TABLE ?? '',
      });
      assert.ok(await store.get('entra-signins', homeTenantId));
      assert.ok(await store.get('entra-signins', contoso));
      assert.equal(await store.get('entra-signins', fabrikam), undefined);

      // The tenants were read side by side, not one after the other.
      const times = (tenant: string) =>
        emulatorOf(tenant)
          .requests.slice(requestsBefore.get(tenant))
          .filter((r) => r.kind === 'signIns')
          .map((r) => r.at.getTime());
      assert.ok(Math.min(...times(contoso)) < Math.max(...times(homeTenantId)), 'tenants overlap');

      // Fabrikam's admin consents: the next run reads it from its first window; the others go on from
      // their checkpoints and send nothing twice.
      login.apps.get(appClientId)?.consentedIn.set(fabrikam, graphRoles);
      try {
        const next = cloud.ingestion.accepted('EntraSignIns_CL').length;
        const second = await run('entra-signins');
        assert.equal(second.status, 'Succeeded');
        const again = signInIdsByTenant(next);
        const fabrikamExpected = emulatorOf(fabrikam).ids('signIns', sourceStart, sourceEnd, [
          'interactiveUser',
        ]);
        assert.equal(again.get(fabrikam)?.size, fabrikamExpected.size);
        for (const tenant of [homeTenantId, contoso])
          for (const id of again.get(tenant) ?? []) assert.ok(!ids.get(tenant)?.has(id), `${id} sent twice`);
      } finally {
        login.apps.get(appClientId)?.consentedIn.delete(fabrikam);
      }
    });
  });

  it('a tenant throttled beyond retries leaves the others whole; every tenant failing fails the run', async () => {
    await withEnv(freshCheckpoints(), async () => {
      const from = cloud.ingestion.accepted('EntraAuditLogs_CL').length;
      emulatorOf(contoso).failNext({ status: 503, times: 10, path: '/v1.0/auditLogs/directoryAudits' });
      try {
        const result = await run('entra-audits');
        assert.equal(result.status, 'PartiallySucceeded');
        assert.match(lastRunRow('entra-audits').Error ?? '', /tenant Contoso .*503/s);
        const tenants = new Set(
          cloud.ingestion
            .accepted('EntraAuditLogs_CL')
            .slice(from)
            .map((r) => String(r.AADTenantId)),
        );
        assert.deepEqual([...tenants], [homeTenantId]);
      } finally {
        emulatorOf(contoso).clearFaults();
      }
      // Every tenant failing (Fabrikam never consented) is the run failing, each named.
      for (const tenant of [homeTenantId, contoso])
        emulatorOf(tenant).failNext({ status: 503, times: 10, path: '/v1.0/auditLogs/directoryAudits' });
      try {
        await assert.rejects(run('entra-audits'), /every scope failed/);
        const row = lastRunRow('entra-audits');
        assert.equal(row.Status, 'Failed');
        for (const name of ['home tenant', 'tenant Contoso', 'tenant Fabrikam'])
          assert.ok(row.Error?.includes(name), `${name} in ${row.Error}`);
      } finally {
        for (const tenant of [homeTenantId, contoso]) emulatorOf(tenant).clearFaults();
      }
    });
  });

  it('the users snapshot takes every readable tenant, each row with its tenant; the one without consent is named', async () => {
    const from = cloud.ingestion.accepted('EntraUsers_CL').length;
    const result = await run('entra-users');
    assert.equal(result.status, 'PartiallySucceeded');
    assert.match(lastRunRow('entra-users').Error ?? '', /tenant Fabrikam .*AADSTS700016/s);
    const counts = new Map<string, number>();
    for (const row of cloud.ingestion.accepted('EntraUsers_CL').slice(from))
      counts.set(String(row.AADTenantId), (counts.get(String(row.AADTenantId)) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(counts), {
      [homeTenantId]: emulatorOf(homeTenantId).users.length,
      [contoso]: emulatorOf(contoso).users.length,
    });
  });

  it('a malformed tenant list fails the run naming entra-tenants and what is expected', async () => {
    await withEnv({ ENTRA_TENANTS: `${contoso}, not-a-tenant` }, async () => {
      const error = await run('entra-audits').then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof Error);
      assert.match(error.message, /entra-tenants.*"not-a-tenant" is not a tenant ID/s);
    });
  });
});
