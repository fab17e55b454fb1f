import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import type { Checkpoint, CheckpointStore } from './checkpointStore.js';
import { serializedPerFile } from '../lib/serializedPerFile.js';

/** On-disk shape: a list, not a map keyed by collector, so no name can collide with an object's own keys. */
interface CheckpointFile {
  readonly version: 1;
  readonly checkpoints: readonly StoredCheckpoint[];
}

interface StoredCheckpoint {
  readonly collector: string;
  readonly scope: string;
  /** ISO-8601, millisecond precision. */
  readonly position: string;
  readonly runId: string;
  readonly updatedAt: string;
  /** Checkpoint.acceptedIds in base64, when there are any. */
  readonly acceptedIds?: string;
}

// Writes to a file are serialized for the whole process, so two stores on the same path do not overwrite
// each other.

/**
 * Checkpoints in one JSON file, for CLI runs. Writes go to a temporary file in the same directory that is
 * then renamed over the original, so a crash leaves the old or the new file, never half of one. `set` is
 * monotonic like the table store. Writers in one process are serialized; separate processes are not
 * coordinated beyond the atomic rename (the CLI runs one collector at a time).
 */
export function fileCheckpointStore(file: string): CheckpointStore {
  const absolute = path.resolve(file);

  return {
    description: `checkpoint file ${absolute}`,

    async get(collector, scope) {
      const entries = await load(absolute);
      const found = entries.find((entry) => entry.collector === collector && entry.scope === scope);
      return found === undefined ? undefined : toCheckpoint(found);
    },

    async list(collector) {
      return (await load(absolute)).filter((entry) => entry.collector === collector).map(toCheckpoint);
    },

    async set(checkpoint) {
      const stored = toStored(checkpoint);
      await serializedPerFile(absolute, async () => {
        const entries = await load(absolute);
        const index = entries.findIndex(
          (entry) => entry.collector === stored.collector && entry.scope === stored.scope,
        );
        const current = index >= 0 ? entries[index] : undefined;
        if (current !== undefined && Date.parse(current.position) > Date.parse(stored.position)) return;
        const next = index >= 0 ? entries.with(index, stored) : [...entries, stored];
        next.sort((a, b) => compare(a.collector, b.collector) || compare(a.scope, b.scope));
        await writeAtomically(absolute, `${JSON.stringify({ version: 1, checkpoints: next }, null, 2)}\n`);
      });
    },
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

async function load(file: string): Promise<StoredCheckpoint[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`checkpoint file ${file} is not valid JSON; fix or delete it`, { cause: error });
  }
  return parseFile(parsed, file);
}

function parseFile(value: unknown, file: string): StoredCheckpoint[] {
  const invalid = (what: string): Error =>
    new Error(`checkpoint file ${file} is invalid (${what}); fix or delete it`);
  if (typeof value !== 'object' || value === null) throw invalid('not an object');
  const { version, checkpoints } = value as Partial<Record<keyof CheckpointFile, unknown>>;
  if (version !== 1) throw invalid(`version ${JSON.stringify(version)}, expected 1`);
  if (!Array.isArray(checkpoints)) throw invalid('checkpoints is not a list');
  return checkpoints.map((entry: unknown, index) => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Partial<
      Record<keyof StoredCheckpoint, unknown>
    >;
    const strings = ['collector', 'scope', 'position', 'runId', 'updatedAt'] as const;
    for (const key of strings) {
      if (typeof e[key] !== 'string') throw invalid(`checkpoints[${index}].${key} is not a string`);
    }
    const stored = e as StoredCheckpoint;
    for (const key of ['position', 'updatedAt'] as const) {
      if (Number.isNaN(Date.parse(stored[key]))) throw invalid(`checkpoints[${index}].${key} is not a date`);
    }
    if (e.acceptedIds !== undefined && (typeof e.acceptedIds !== 'string' || !base64.test(e.acceptedIds)))
      throw invalid(`checkpoints[${index}].acceptedIds is not base64`);
    return {
      collector: stored.collector,
      scope: stored.scope,
      position: stored.position,
      runId: stored.runId,
      updatedAt: stored.updatedAt,
      ...(stored.acceptedIds === undefined ? {} : { acceptedIds: stored.acceptedIds }),
    };
  });
}

const base64 = /^[A-Za-z0-9+/]*={0,2}$/;

function toCheckpoint(stored: StoredCheckpoint): Checkpoint {
  return {
    collector: stored.collector,
    scope: stored.scope,
    position: new Date(stored.position),
    runId: stored.runId,
    updatedAt: new Date(stored.updatedAt),
    ...(stored.acceptedIds === undefined
      ? {}
      : { acceptedIds: new Uint8Array(Buffer.from(stored.acceptedIds, 'base64')) }),
  };
}

function toStored(checkpoint: Checkpoint): StoredCheckpoint {
  const iso = (value: Date, label: string): string => {
    if (!(value instanceof Date) || Number.isNaN(value.getTime()))
      throw new Error(`checkpoint ${label} is not a valid Date`);
    return value.toISOString();
  };
  return {
    collector: checkpoint.collector,
    scope: checkpoint.scope,
    position: iso(checkpoint.position, 'position'),
    runId: checkpoint.runId,
    updatedAt: iso(checkpoint.updatedAt, 'updatedAt'),
    ...(checkpoint.acceptedIds === undefined || checkpoint.acceptedIds.length === 0
      ? {}
      : { acceptedIds: Buffer.from(acceptedIdsBytes(checkpoint.acceptedIds)).toString('base64') }),
  };
}

function acceptedIdsBytes(value: unknown): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new Error('checkpoint acceptedIds is not a Uint8Array');
  return value;
}

/** Temp file in the same directory (same file system), flushed, then renamed over the target. */
async function writeAtomically(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'w', 0o600);
    try {
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}
