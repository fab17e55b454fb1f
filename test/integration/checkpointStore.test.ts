// The table checkpoint store against Azurite, through the real @azure/data-tables TableClient.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { TokenCredential } from '@azure/core-auth';
import { AzureNamedKeyCredential, TableClient, TableServiceClient } from '@azure/data-tables';
import { silentLogger } from '../../src/lib/logger.js';
import { runWindowedCollector } from '../../src/run/runWindowedCollector.js';
import type { WindowPolicy, WindowedCollector } from '../../src/run/windowedCollector.js';
import { signInIdentity } from '../../src/sources/entra/auditLogCollectors.js';
import { AcceptedIds, maxAcceptedIdsBytes } from '../../src/state/acceptedIds.js';
import type { Checkpoint, CheckpointStore } from '../../src/state/checkpointStore.js';
import type { EntraSignInsRow } from '../../src/tables/generated.js';
import type { CheckpointStorageSettings } from '../../src/config/checkpointSettings.js';
import {
  createCheckpointTableClient,
  createTableCheckpointStore,
  tableCheckpointStore,
} from '../../src/state/tableCheckpointStore.js';
import { startAzurite, type AzuriteTables } from '../emulators/azurite.js';
import { memorySink } from '../support/memorySink.js';

let azurite: AzuriteTables;
let service: TableServiceClient;

beforeAll(async () => {
  azurite = await startAzurite();
  service = new TableServiceClient(
    azurite.tableEndpoint,
    new AzureNamedKeyCredential(azurite.accountName, azurite.accountKey),
    { allowInsecureConnection: true },
  );
});
afterAll(() => azurite?.stop());

/** A fresh table per test: 3–63 alphanumerics starting with a letter. */
function tableName(): string {
  return `cp${randomBytes(8).toString('hex')}`;
}

function settings(table: string): CheckpointStorageSettings {
  return { kind: 'connection-string', connectionString: azurite.connectionString, tableName: table };
}

function storeFor(table: string): CheckpointStore {
  return createTableCheckpointStore(settings(table), { clientOptions: { retryOptions: { maxRetries: 0 } } });
}

async function tableExists(table: string): Promise<boolean> {
  for await (const item of service.listTables()) if (item.name === table) return true;
  return false;
}

function checkpoint(position: string, overrides: Partial<Checkpoint> = {}): Checkpoint {
  return {
    collector: 'entra-signins',
    scope: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    position: new Date(position),
    runId: randomUUID(),
    updatedAt: new Date(),
    ...overrides,
  };
}

describe('tableCheckpointStore (Azurite)', () => {
  it('creates its table on first use', async () => {
    const table = tableName();
    const store = storeFor(table);
    assert.equal(await tableExists(table), false);
    assert.equal(await store.get('entra-signins', 'tenant'), undefined);
    assert.equal(await tableExists(table), true);
  });

  it('uses an existing table', async () => {
    const table = tableName();
    await service.createTable(table);
    const store = storeFor(table);
    await store.set(checkpoint('2024-01-01T00:00:00Z'));
    assert.ok(await store.get('entra-signins', '72f988bf-86f1-41af-91ab-2d7cd011db47'));
  });

  it('returns undefined for a checkpoint never written', async () => {
    const store = storeFor(tableName());
    await store.set(checkpoint('2024-01-01T00:00:00Z'));
    assert.equal(await store.get('entra-signins', 'another-tenant'), undefined);
    assert.equal(await store.get('entra-audit', '72f988bf-86f1-41af-91ab-2d7cd011db47'), undefined);
  });

  it('round-trips every field, dates to the millisecond', async () => {
    const store = storeFor(tableName());
    const written = checkpoint('2024-05-06T07:08:09.123Z', {
      updatedAt: new Date('2024-05-06T07:10:00.987Z'),
    });
    await store.set(written);
    const read = await store.get(written.collector, written.scope);
    assert.ok(read);
    assert.equal(read.position.getTime(), written.position.getTime());
    assert.equal(read.updatedAt.getTime(), written.updatedAt.getTime());
    assert.deepEqual(read, written);
  });

  it('stores one entity per (collector, scope) with the documented properties', async () => {
    const table = tableName();
    const store = storeFor(table);
    const written = checkpoint('2024-05-06T07:08:09.001Z');
    await store.set(written);
    await store.set(checkpoint('2024-05-06T08:00:00.000Z'));
    const client = createCheckpointTableClient(settings(table));
    const entities: Record<string, unknown>[] = [];
    for await (const entity of client.listEntities()) entities.push(entity);
    assert.equal(entities.length, 1);
    const [entity] = entities;
    assert.equal(entity?.['partitionKey'], written.collector);
    assert.equal(entity?.['rowKey'], written.scope);
    assert.ok(entity?.['Position'] instanceof Date);
    assert.equal(entity['Position'].toISOString(), '2024-05-06T08:00:00.000Z');
    assert.equal(typeof entity['RunId'], 'string');
    assert.ok(entity['UpdatedAt'] instanceof Date);
  });

  it('reads a Position stored as an ISO string', async () => {
    const table = tableName();
    const store = storeFor(table);
    await store.get('c', 's'); // creates the table
    const client = createCheckpointTableClient(settings(table));
    await client.createEntity({
      partitionKey: 'c',
      rowKey: 's',
      Position: '2024-02-03T04:05:06.789Z',
      RunId: 'run-1',
      UpdatedAt: '2024-02-03T04:06:00.000Z',
    });
    const read = await store.get('c', 's');
    assert.equal(read?.position.toISOString(), '2024-02-03T04:05:06.789Z');
    await store.set(checkpoint('2024-02-03T04:05:06.788Z', { collector: 'c', scope: 's' }));
    assert.equal(
      (await store.get('c', 's'))?.runId,
      'run-1',
      'an earlier Date must not replace a later string',
    );
  });

  it('round-trips the accepted Ids at their largest, in binary properties of 64,000 bytes, and replaces them', async () => {
    const table = tableName();
    const store = storeFor(table);
    // The largest encoding the runner writes (≈79,000 Ids), in random bytes: nothing compresses it.
    const largest = new Uint8Array(randomBytes(maxAcceptedIdsBytes));
    const written = checkpoint('2024-05-06T07:08:09.123Z', { acceptedIds: largest });
    await store.set(written);
    assert.deepEqual(await storeFor(table).get(written.collector, written.scope), written);
    assert.deepEqual(await store.list(written.collector), [written]);

    const client = createCheckpointTableClient(settings(table));
    const entity = await client.getEntity<Record<string, unknown>>(written.collector, written.scope);
    const parts = Object.keys(entity).filter((key) => key.startsWith('AcceptedIds'));
    assert.deepEqual(
      parts,
      Array.from({ length: 10 }, (_, i) => `AcceptedIds${i}`),
    );
    for (const part of parts) assert.ok(entity[part] instanceof Uint8Array && entity[part].length <= 64_000);

    // A later, smaller set replaces the whole: no part of the larger one survives.
    const smaller = checkpoint('2024-05-06T07:23:09.123Z', {
      acceptedIds: new Uint8Array(randomBytes(70_000)),
    });
    await store.set(smaller);
    assert.deepEqual(await store.get(written.collector, written.scope), smaller);
    const after = await client.getEntity<Record<string, unknown>>(written.collector, written.scope);
    assert.deepEqual(
      Object.keys(after).filter((key) => key.startsWith('AcceptedIds')),
      ['AcceptedIds0', 'AcceptedIds1'],
    );

    // Monotonic: an earlier checkpoint leaves position and Ids; a later one without Ids clears them.
    await store.set(checkpoint('2024-05-06T07:00:00Z', { acceptedIds: new Uint8Array([1]) }));
    assert.deepEqual(await store.get(written.collector, written.scope), smaller);
    const none = checkpoint('2024-05-06T07:38:09.123Z');
    await store.set(none);
    assert.deepEqual(await store.get(written.collector, written.scope), none);

    await assert.rejects(
      store.set(checkpoint('2024-05-06T08:00:00Z', { acceptedIds: new Uint8Array(maxAcceptedIdsBytes + 1) })),
      /exceed the 640000 bytes a table entity can hold/,
    );
  });

  it('carries the accepted Ids from run to run: 15-min runs re-read the overlap and send each event once', async () => {
    const table = tableName();
    const minute = 60_000;
    const t0 = Date.parse('2026-11-23T12:00:00Z');
    const policy: WindowPolicy = {
      overlapMs: 10 * minute,
      lagMs: 15 * minute,
      initialLookbackMs: 60 * minute,
      sliceMs: 60 * minute,
      budgetMs: 20 * minute,
      retentionMs: 30 * 24 * 60 * minute,
    };
    // A sign-in every 5 s, each 0 to 4 min late, as Graph answers a window: arrived ones, bounds inclusive.
    const events = Array.from({ length: (3 * 60 * minute) / 5000 }, (_, i) => ({
      id: randomUUID(),
      timeMs: t0 - 60 * minute + i * 5000,
      delayMs: ((i * 7919) % 240) * 1000,
    }));
    let clock = t0;
    const collector: WindowedCollector<'EntraSignIns_CL'> = {
      name: 'entra-signins',
      table: 'EntraSignIns_CL',
      identify: signInIdentity,
      open: () =>
        Promise.resolve({
          scope: '72f988bf-86f1-41af-91ab-2d7cd011db47',
          async *read(window) {
            await Promise.resolve();
            for (const e of events) {
              if (e.timeMs < window.start.getTime() || e.timeMs > window.end.getTime()) continue;
              if (e.timeMs + e.delayMs > clock) continue;
              const iso = new Date(e.timeMs).toISOString();
              yield { TimeGenerated: iso, CreatedDateTime: iso, Id: e.id } as EntraSignInsRow;
            }
          },
        }),
    };
    const { sink, rowsOf } = memorySink();
    let end = 0;
    for (let run = 0; run < 8; run++, clock += 15 * minute) {
      const now = new Date(clock);
      // A new store each run, as each timer invocation builds one.
      const result = await runWindowedCollector({
        collector,
        checkpoints: storeFor(table),
        sink,
        log: silentLogger,
        policy,
        now: () => now,
      });
      end = result.window?.end.getTime() ?? end;
    }
    const sent = rowsOf('EntraSignIns_CL').map((row) => row.Id ?? '');
    assert.equal(new Set(sent).size, sent.length, 'no sign-in sent twice');
    const due = events.filter((e) => e.timeMs >= t0 - 60 * minute && e.timeMs <= end);
    assert.equal(sent.length, due.length, 'every sign-in of the covered span sent');
    const stored = await storeFor(table).get('entra-signins', '72f988bf-86f1-41af-91ab-2d7cd011db47');
    assert.ok(stored?.acceptedIds);
    assert.equal(
      AcceptedIds.decode(stored.acceptedIds).size,
      10 * 12 + 1,
      '10 min of sign-ins, bounds included',
    );
  });

  it('is monotonic: an earlier position leaves the later one, a later one replaces it', async () => {
    const store = storeFor(tableName());
    const later = checkpoint('2024-03-01T12:00:00.500Z');
    await store.set(later);
    await store.set(checkpoint('2024-03-01T12:00:00.499Z'));
    await store.set(checkpoint('2023-01-01T00:00:00Z'));
    assert.deepEqual(await store.get(later.collector, later.scope), later);

    const same = checkpoint('2024-03-01T12:00:00.500Z');
    await store.set(same);
    assert.equal(
      (await store.get(later.collector, later.scope))?.runId,
      same.runId,
      'equal position rewrites',
    );

    const latest = checkpoint('2024-03-02T00:00:00Z');
    await store.set(latest);
    assert.deepEqual(await store.get(later.collector, later.scope), latest);
  });

  it('ends with the maximum position when stores race', async () => {
    const table = tableName();
    const stores = [storeFor(table), storeFor(table), storeFor(table)];
    for (let round = 0; round < 3; round++) {
      const base = Date.UTC(2024, 0, 1 + round);
      const positions = Array.from({ length: 12 }, (_, i) => base + i * 1_000 + round);
      // Shuffled so the maximum is not always written last.
      positions.sort(() => Math.random() - 0.5);
      const max = Math.max(...positions);
      await Promise.all(
        positions.map((ms, i) => {
          const store = stores[i % stores.length];
          assert.ok(store);
          return store.set(checkpoint(new Date(ms).toISOString(), { runId: `run-${ms}` }));
        }),
      );
      for (const store of stores) {
        const read = await store.get('entra-signins', '72f988bf-86f1-41af-91ab-2d7cd011db47');
        assert.equal(read?.position.getTime(), max, `round ${round}`);
        assert.equal(read?.runId, `run-${max}`);
      }
    }
  });

  it('creates the table once when first calls race', async () => {
    const table = tableName();
    const store = storeFor(table);
    const other = storeFor(table);
    await Promise.all([
      store.set(checkpoint('2024-01-01T00:00:00Z')),
      other.set(checkpoint('2024-01-02T00:00:00Z')),
      store.get('x', 'y'),
      other.get('x', 'y'),
    ]);
    assert.equal(
      (await store.get('entra-signins', '72f988bf-86f1-41af-91ab-2d7cd011db47'))?.position.toISOString(),
      '2024-01-02T00:00:00.000Z',
    );
  });

  it('keeps scopes and collectors independent', async () => {
    const store = storeFor(tableName());
    const a = checkpoint('2024-04-01T00:00:00Z', { collector: 'entra-signins', scope: 'tenant-a' });
    const b = checkpoint('2024-03-01T00:00:00Z', { collector: 'entra-signins', scope: 'tenant-b' });
    const c = checkpoint('2024-02-01T00:00:00Z', { collector: 'entra-audit', scope: 'tenant-a' });
    await Promise.all([store.set(a), store.set(b), store.set(c)]);
    await store.set(checkpoint('2024-01-01T00:00:00Z', { collector: 'entra-audit', scope: 'tenant-b' }));
    assert.deepEqual(await store.get('entra-signins', 'tenant-a'), a);
    assert.deepEqual(await store.get('entra-signins', 'tenant-b'), b);
    assert.deepEqual(await store.get('entra-audit', 'tenant-a'), c);
    assert.equal(
      (await store.get('entra-audit', 'tenant-b'))?.position.toISOString(),
      '2024-01-01T00:00:00.000Z',
    );
  });

  it('lists every checkpoint of one collector, and only of that one', async () => {
    const store = storeFor(tableName());
    const mine = ['111111111111', '222222222222', '333333333333'].map((scope, i) =>
      checkpoint(`2024-0${i + 1}-01T00:00:00Z`, { collector: 'aws-access-keys', scope }),
    );
    await Promise.all(
      [...mine, checkpoint('2024-05-01T00:00:00Z', { scope: '111111111111' })].map((c) => store.set(c)),
    );
    const listed = (await store.list('aws-access-keys')).sort((a, b) => a.scope.localeCompare(b.scope));
    assert.deepEqual(listed, mine);
    assert.deepEqual(await store.list('nobody'), []);
  });

  it('fails loudly, not with "no checkpoint", when the table disappears', async () => {
    const table = tableName();
    const store = storeFor(table);
    await store.set(checkpoint('2024-01-01T00:00:00Z'));
    await service.deleteTable(table);
    await assert.rejects(store.get('entra-signins', '72f988bf-86f1-41af-91ab-2d7cd011db47'), /cannot read/);
  });

  it('rejects keys the table service cannot store', async () => {
    const store = storeFor(tableName());
    await assert.rejects(store.get('a/b', 'scope'), /collector "a\/b" cannot be a table key/);
    await assert.rejects(store.set(checkpoint('2024-01-01T00:00:00Z', { scope: 'x#y' })), /scope "x#y"/);
    await assert.rejects(store.set(checkpoint('not a date')), /position is not a valid Date/);
  });

  it('describes itself without secrets', () => {
    const store = storeFor('checkpoints');
    assert.match(store.description, /checkpoints/);
    assert.match(store.description, new RegExp(azurite.tableEndpoint.replace(/[.]/g, '\\.')));
    assert.doesNotMatch(store.description, new RegExp(azurite.accountKey.slice(0, 12)));
  });

  it('works from a TableClient built by the caller', async () => {
    const client = new TableClient(
      azurite.tableEndpoint,
      tableName(),
      new AzureNamedKeyCredential(azurite.accountName, azurite.accountKey),
      { allowInsecureConnection: true },
    );
    const store = tableCheckpointStore(client);
    await store.set(checkpoint('2024-06-01T00:00:00.042Z'));
    assert.equal(
      (await store.get('entra-signins', '72f988bf-86f1-41af-91ab-2d7cd011db47'))?.position.getTime(),
      Date.parse('2024-06-01T00:00:00.042Z'),
    );
  });
});

describe('createCheckpointTableClient', () => {
  const credential: TokenCredential = { getToken: () => Promise.resolve(null) };

  it('needs a credential for identity-based storage', () => {
    assert.throws(
      () =>
        createCheckpointTableClient({
          kind: 'identity',
          tableServiceUri: 'https://acct.table.core.windows.net',
          clientId: '11111111-2222-3333-4444-555555555555',
          tableName: 'checkpoints',
        }),
      /needs a credential for the managed identity 11111111-2222-3333-4444-555555555555/,
    );
  });

  it('builds an identity-based client on the table endpoint', () => {
    const client = createCheckpointTableClient(
      { kind: 'identity', tableServiceUri: 'https://acct.table.core.windows.net/', tableName: 'checkpoints' },
      { credential },
    );
    assert.equal(client.url, 'https://acct.table.core.windows.net');
    assert.equal(client.tableName, 'checkpoints');
  });

  it('allows plain http only for loopback endpoints', () => {
    const key = azurite.accountKey;
    const remote = `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${key};TableEndpoint=http://storage.example.com/acct`;
    assert.throws(
      () =>
        createCheckpointTableClient({
          kind: 'connection-string',
          connectionString: remote,
          tableName: 't1x',
        }),
      /not https/,
    );
    assert.throws(
      () =>
        createCheckpointTableClient(
          { kind: 'identity', tableServiceUri: 'http://acct.table.core.windows.net', tableName: 'abc' },
          { credential },
        ),
      /must use https/,
    );
    for (const host of ['127.0.0.1:10002', 'localhost:10002', '[::1]:10002']) {
      const local = `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${key};TableEndpoint=http://${host}/acct`;
      const client = createCheckpointTableClient({
        kind: 'connection-string',
        connectionString: local,
        tableName: 'abc',
      });
      assert.equal(client.url, `http://${host}/acct`);
    }
  });

  it('understands UseDevelopmentStorage=true and account connection strings', () => {
    const dev = createCheckpointTableClient({
      kind: 'connection-string',
      connectionString: 'UseDevelopmentStorage=true',
      tableName: 'abc',
    });
    assert.equal(dev.url, 'http://127.0.0.1:10002/devstoreaccount1');
    const cloud = createCheckpointTableClient({
      kind: 'connection-string',
      connectionString: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${azurite.accountKey};EndpointSuffix=core.windows.net`,
      tableName: 'abc',
    });
    assert.equal(cloud.url, 'https://acct.table.core.windows.net');
  });
});
