import pMap from 'p-map';
import type { AccountProgress } from '../sources/aws/organization.js';
import type { CheckpointStore } from '../state/checkpointStore.js';

/** Checkpoint-store reads and writes at once: enough to hide Table storage latency for thousands of accounts. */
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
      const found = await pMap(
        accountIds,
        async (id) => [id, (await store.get(collector, id))?.position] as const,
        { concurrency },
      );
      return new Map(found.flatMap(([id, at]) => (at === undefined ? [] : [[id, at] as const])));
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
