import pMap from 'p-map';
import type { AccountProgress } from './organization.js';
import type { CheckpointStore } from '../../state/checkpointStore.js';

/** Checkpoint writes at once: enough to hide Table storage latency for thousands of accounts. */
const concurrency = 16;

/**
 * Organization progress kept as checkpoints: one per account (scope = account ID), its position the
 * snapshot time of the account's last inventory whose rows were all accepted. Monotonic like every
 * checkpoint, so an older run finishing late cannot move an account back.
 */
export function accountProgressIn(store: CheckpointStore, collector: string): AccountProgress {
  return {
    description: store.description,
    async lastInventoried(accountIds) {
      const wanted = new Set(accountIds);
      const stored = await store.list(collector);
      return new Map(stored.filter((c) => wanted.has(c.scope)).map((c) => [c.scope, c.position] as const));
    },
    async recordInventoried(accountIds, snapshotTime, runId) {
      await pMap(
        accountIds,
        (id) => store.set({ collector, scope: id, position: snapshotTime, runId, updatedAt: new Date() }),
        { concurrency },
      );
    },
  };
}
