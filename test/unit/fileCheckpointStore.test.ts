import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { Checkpoint } from '../../src/state/checkpointStore.js';
import { fileCheckpointStore } from '../../src/state/fileCheckpointStore.js';

let dir: string;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'checkpoints-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A fresh file in a directory that does not exist yet. */
function freshFile(): string {
  counter += 1;
  return path.join(dir, `case-${counter}`, 'nested', 'checkpoints.json');
}

function checkpoint(position: string, overrides: Partial<Checkpoint> = {}): Checkpoint {
  return {
    collector: 'entra-signins',
    scope: 'tenant-a',
    position: new Date(position),
    runId: `run-${position}`,
    updatedAt: new Date('2024-06-01T00:00:00.321Z'),
    ...overrides,
  };
}

describe('fileCheckpointStore', () => {
  it('returns undefined when the file does not exist, without creating it', async () => {
    const file = freshFile();
    const store = fileCheckpointStore(file);
    assert.equal(await store.get('entra-signins', 'tenant-a'), undefined);
    await assert.rejects(readFile(file), { code: 'ENOENT' });
  });

  it('creates the directory and round-trips every field to the millisecond', async () => {
    const file = freshFile();
    const store = fileCheckpointStore(file);
    const written = checkpoint('2024-05-06T07:08:09.123Z');
    await store.set(written);
    assert.deepEqual(await store.get(written.collector, written.scope), written);
    // A new store (a later CLI run) reads the same.
    assert.deepEqual(await fileCheckpointStore(file).get(written.collector, written.scope), written);
    assert.equal(await store.get(written.collector, 'tenant-b'), undefined);
    assert.match(store.description, /checkpoints\.json/);
  });

  it('writes readable JSON and leaves no temporary files', async () => {
    const file = freshFile();
    const store = fileCheckpointStore(file);
    await store.set(checkpoint('2024-01-01T00:00:00Z'));
    await store.set(checkpoint('2024-01-02T00:00:00Z', { scope: 'tenant-b' }));
    assert.deepEqual(await readdir(path.dirname(file)), ['checkpoints.json']);
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    assert.deepEqual(parsed, {
      version: 1,
      checkpoints: [
        {
          collector: 'entra-signins',
          scope: 'tenant-a',
          position: '2024-01-01T00:00:00.000Z',
          runId: 'run-2024-01-01T00:00:00Z',
          updatedAt: '2024-06-01T00:00:00.321Z',
        },
        {
          collector: 'entra-signins',
          scope: 'tenant-b',
          position: '2024-01-02T00:00:00.000Z',
          runId: 'run-2024-01-02T00:00:00Z',
          updatedAt: '2024-06-01T00:00:00.321Z',
        },
      ],
    });
  });

  it('is monotonic: an earlier position leaves the later one', async () => {
    const store = fileCheckpointStore(freshFile());
    const later = checkpoint('2024-03-01T12:00:00.500Z');
    await store.set(later);
    await store.set(checkpoint('2024-03-01T12:00:00.499Z'));
    assert.deepEqual(await store.get('entra-signins', 'tenant-a'), later);
    const latest = checkpoint('2024-03-01T12:00:00.501Z');
    await store.set(latest);
    assert.deepEqual(await store.get('entra-signins', 'tenant-a'), latest);
  });

  it('keeps scopes and collectors independent, including awkward names', async () => {
    const store = fileCheckpointStore(freshFile());
    const entries = [
      checkpoint('2024-04-01T00:00:00Z', { collector: 'entra-signins', scope: 'tenant-a' }),
      checkpoint('2024-03-01T00:00:00Z', { collector: 'entra-signins', scope: 'tenant-b' }),
      checkpoint('2024-02-01T00:00:00Z', { collector: 'entra-audit', scope: 'tenant-a' }),
      checkpoint('2024-01-01T00:00:00Z', { collector: '__proto__', scope: 'constructor' }),
    ];
    for (const entry of entries) await store.set(entry);
    for (const entry of entries) assert.deepEqual(await store.get(entry.collector, entry.scope), entry);
    assert.equal(await store.get('entra-audit', 'tenant-b'), undefined);
  });

  it('ends with the maximum when sets race, across stores on the same file', async () => {
    const file = freshFile();
    const stores = [fileCheckpointStore(file), fileCheckpointStore(file)];
    const positions = Array.from({ length: 20 }, (_, i) => Date.UTC(2024, 0, 1, 0, 0, i));
    positions.sort(() => Math.random() - 0.5);
    await Promise.all(
      positions.map((ms, i) => {
        const store = stores[i % 2];
        assert.ok(store);
        return store.set(checkpoint(new Date(ms).toISOString(), { scope: `tenant-${i % 3}` }));
      }),
    );
    for (let s = 0; s < 3; s++) {
      const max = Math.max(...positions.filter((_, i) => i % 3 === s));
      assert.equal((await stores[0]?.get('entra-signins', `tenant-${s}`))?.position.getTime(), max);
    }
  });

  it('names the file when it is corrupt, and does not overwrite it', async () => {
    const corruptFile = freshFile();
    await mkdir(path.dirname(corruptFile), { recursive: true });
    const corrupt = fileCheckpointStore(corruptFile);

    await writeFile(corruptFile, '{ not json');
    await assert.rejects(corrupt.get('a', 'b'), /checkpoint file .*checkpoints\.json is not valid JSON/);
    await assert.rejects(corrupt.set(checkpoint('2024-01-01T00:00:00Z')), /not valid JSON/);
    assert.equal(await readFile(corruptFile, 'utf8'), '{ not json');

    for (const [content, message] of [
      ['[]', /version undefined/],
      ['{"version":2,"checkpoints":[]}', /version 2, expected 1/],
      ['{"version":1}', /checkpoints is not a list/],
      ['{"version":1,"checkpoints":[{"collector":"a"}]}', /checkpoints\[0\]\.scope is not a string/],
      [
        '{"version":1,"checkpoints":[{"collector":"a","scope":"b","position":"soon","runId":"r","updatedAt":"2024-01-01T00:00:00Z"}]}',
        /checkpoints\[0\]\.position is not a date/,
      ],
    ] as const) {
      await writeFile(corruptFile, content);
      await assert.rejects(corrupt.get('a', 'b'), message);
    }
  });

  it('keeps the accepted Ids with the position, replaces them with it, and drops them when a set has none', async () => {
    const file = freshFile();
    const store = fileCheckpointStore(file);
    const acceptedIds = new Uint8Array(Array.from({ length: 1001 }, (_, i) => (i * 37) % 256));
    const written = checkpoint('2024-05-06T07:08:09.123Z', { acceptedIds });
    await store.set(written);
    assert.deepEqual(await fileCheckpointStore(file).get(written.collector, written.scope), written);
    const stored = JSON.parse(await readFile(file, 'utf8')) as { checkpoints: { acceptedIds?: string }[] };
    assert.equal(stored.checkpoints[0]?.acceptedIds, Buffer.from(acceptedIds).toString('base64'));
    assert.deepEqual(await store.list(written.collector), [written]);

    // Monotonic like the position: an earlier checkpoint leaves both.
    await store.set(checkpoint('2024-05-06T07:00:00Z', { acceptedIds: new Uint8Array([1]) }));
    assert.deepEqual(await store.get(written.collector, written.scope), written);

    const later = checkpoint('2024-05-06T07:30:00Z');
    await store.set(later);
    assert.deepEqual(await store.get(written.collector, written.scope), later, 'no Ids: none kept');
    assert.doesNotMatch(await readFile(file, 'utf8'), /acceptedIds/);

    await writeFile(
      file,
      '{"version":1,"checkpoints":[{"collector":"a","scope":"b","position":"2024-01-01T00:00:00Z","runId":"r","updatedAt":"2024-01-01T00:00:00Z","acceptedIds":7}]}',
    );
    await assert.rejects(store.get('a', 'b'), /checkpoints\[0\]\.acceptedIds is not base64/);
  });

  it('rejects invalid dates', async () => {
    const store = fileCheckpointStore(freshFile());
    await assert.rejects(store.set(checkpoint('not a date')), /position is not a valid Date/);
    await assert.rejects(
      store.set(checkpoint('2024-01-01T00:00:00Z', { updatedAt: new Date(Number.NaN) })),
      /updatedAt is not a valid Date/,
    );
  });
});
