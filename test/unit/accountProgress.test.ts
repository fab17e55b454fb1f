import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { accountProgressIn } from '../../src/sources/aws/accountProgress.js';
import { fileCheckpointStore } from '../../src/state/fileCheckpointStore.js';

const dir = await mkdtemp(path.join(tmpdir(), 'account-progress-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('account progress kept as checkpoints', () => {
  it('records accounts per collector and reads back only those recorded', async () => {
    const store = fileCheckpointStore(path.join(dir, 'a.json'));
    const progress = accountProgressIn(store, 'aws-access-keys');
    const first = new Date('2026-11-20T06:00:00Z');
    await progress.recordInventoried(['111111111111', '222222222222'], first, 'run-1');

    const read = await progress.lastInventoried(['111111111111', '222222222222', '333333333333']);
    assert.deepEqual([...read.keys()].sort(), ['111111111111', '222222222222']);
    assert.equal(read.get('111111111111')?.toISOString(), first.toISOString());
    assert.equal((await store.get('aws-access-keys', '222222222222'))?.runId, 'run-1');
    const other = accountProgressIn(store, 'another-collector');
    assert.equal((await other.lastInventoried(['111111111111'])).size, 0, 'scoped by collector');
  });

  it('never moves an account back when an older run records late', async () => {
    const progress = accountProgressIn(fileCheckpointStore(path.join(dir, 'b.json')), 'aws-access-keys');
    const newer = new Date('2026-11-21T06:00:00Z');
    await progress.recordInventoried(['111111111111'], newer, 'run-2');
    await progress.recordInventoried(['111111111111'], new Date('2026-11-20T06:00:00Z'), 'run-1');
    assert.equal(
      (await progress.lastInventoried(['111111111111'])).get('111111111111')?.toISOString(),
      newer.toISOString(),
    );
  });
});
