import type { Logger } from '../lib/logger.js';
import type { CheckpointStore } from './checkpointStore.js';

/**
 * A dry run's view of the checkpoints: it reads the real ones (so a preview reads what the timer would
 * read next) and writes none, saying in the log what it would have written. An operator who previews
 * with the production storage account must not make the deployed timer skip a window.
 */
export function readOnlyCheckpointStore(store: CheckpointStore, log: Logger): CheckpointStore {
  return {
    description: `${store.description} (read-only: dry run)`,
    get: (collector, scope) => store.get(collector, scope),
    list: (collector) => store.list(collector),
    set(checkpoint) {
      log.info(
        `dry run: ${checkpoint.collector} (${checkpoint.scope}) checkpoint left as it is; ` +
          `a real run would move it to ${checkpoint.position.toISOString()}`,
      );
      return Promise.resolve();
    },
  };
}
