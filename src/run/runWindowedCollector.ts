import { AcceptedIds, digestOfId, secondOf } from '../state/acceptedIds.js';
import type { Checkpoint, CheckpointStore } from '../state/checkpointStore.js';
import type { TableName, TableRows } from '../tables/generated.js';
import { describeError } from './redact.js';
import { executeRun, type RunBaseOptions, type RunResult } from './runCollector.js';
import {
  slicesOf,
  type EventIdentity,
  type WindowPolicy,
  type WindowedCollector,
} from './windowedCollector.js';

export interface WindowedRunOptions<Table extends TableName> extends RunBaseOptions<Table> {
  readonly collector: WindowedCollector<Table>;
  readonly checkpoints: CheckpointStore;
  readonly policy: WindowPolicy;
  /** An explicit window (CLI backfill): read it, leave the checkpoint alone. */
  readonly explicitWindow?: { readonly start: Date; readonly end: Date };
}

const hourMs = 3_600_000;

/**
 * Reads [checkpoint − overlap, now − lag] slice by slice, oldest first. After each slice the sink has
 * accepted in full, the checkpoint moves to the slice's end — never before, so a failure anywhere
 * leaves it where the data is safe and the next run fills the gap. Past the time budget no new slice
 * starts: the run is PartiallySucceeded and the next one resumes.
 *
 * The overlap is read again for late events, but what the sink already accepted there is not sent
 * again (when the collector can `identify` rows): the checkpoint carries the Ids accepted in the
 * overlap before its position, written in the same `set` as the position and only after the sink
 * accepted the slice, so they never run ahead of accepted data. A crash between acceptance and that
 * write leaves the previous checkpoint and its Ids: the slice is sent again (duplicates, never loss).
 */
export async function runWindowedCollector<Table extends TableName>(
  options: WindowedRunOptions<Table>,
): Promise<RunResult> {
  const { collector, checkpoints, policy } = options;
  const now = options.now ?? (() => new Date());
  return executeRun(collector.name, collector.table, options, async (context) => {
    const source = await collector.open(context);
    const checkpoint = options.explicitWindow
      ? undefined
      : await checkpoints.get(collector.name, source.scope);
    const runStart = context.startTime.getTime();
    const end = options.explicitWindow?.end ?? new Date(runStart - policy.lagMs);
    const start =
      options.explicitWindow?.start ??
      (checkpoint
        ? new Date(checkpoint.position.getTime() - policy.overlapMs)
        : new Date(runStart - policy.initialLookbackMs));

    warnAboutRetention(context.stats.warnings, checkpoint?.position, start, runStart, policy);
    if (start >= end) {
      context.log.info(
        `${collector.name}: nothing to read yet (window would be ${start.toISOString()} – ${end.toISOString()})`,
      );
      return { status: 'Succeeded', window: { start, end: start } };
    }

    if (!checkpoint && !options.explicitWindow) {
      // Pin where collection starts before reading anything: if this first run fails, the next
      // one must still start here (minus the overlap), not at its own later now − lookback, or that
      // span is lost. Nothing after `start` is claimed delivered.
      await checkpoints.set({
        collector: collector.name,
        scope: source.scope,
        position: start,
        runId: context.runId,
        updatedAt: now(),
      });
    }

    const slices = slicesOf({ start, end }, policy.sliceMs);
    context.log.info(
      `${collector.name} (${source.scope}): reading ${start.toISOString()} – ${end.toISOString()} in ${slices.length} slice(s)` +
        (checkpoint ? ` from checkpoint ${checkpoint.position.toISOString()}` : ' (no checkpoint yet)'),
    );
    // A backfill sends everything of its window and leaves the state alone.
    const identify =
      options.explicitWindow || collector.identify === undefined
        ? undefined
        : (row: TableRows[Table]) => collector.identify?.(row);
    let accepted = identify ? acceptedIdsOf(checkpoint, context.stats.warnings) : AcceptedIds.empty;
    let position = checkpoint?.position.getTime() ?? start.getTime();
    const counts = { skipped: 0, forgotten: 0 };
    const report = () => {
      if (counts.skipped > 0)
        context.log.info(
          `${collector.name} (${source.scope}): ${counts.skipped} event(s) re-read in the overlap were already accepted and not sent again`,
        );
      if (counts.forgotten > 0)
        context.stats.warnings.push(
          `${counts.forgotten} accepted Id(s) in the overlap did not fit the checkpoint (${accepted.size} kept): if read again they are sent again`,
        );
    };
    try {
      for (const slice of slices) {
        if (now().getTime() - runStart > policy.budgetMs) {
          const remaining = slices.length - slices.indexOf(slice);
          context.stats.warnings.push(
            `time budget of ${Math.round(policy.budgetMs / 60_000)} min used up with ${remaining} slice(s) left before ${end.toISOString()}; the next run resumes from ${slice.start.toISOString()}`,
          );
          return { status: 'PartiallySucceeded', window: context.covered };
        }
        // Ids at or after the cutoff may be read again (by the next slice, whose start is this one's end,
        // both inclusive; by the next run, from the checkpoint − overlap): remember those the sink accepts.
        const sliceEnd = slice.end.getTime();
        const cutoffMs = Math.min(sliceEnd, Math.max(position, sliceEnd) - policy.overlapMs);
        const tail = new Map<string, number>();
        await context.pump(
          identify
            ? skipAccepted(source.read(slice), identify, accepted, tail, cutoffMs, counts)
            : source.read(slice),
        );
        // The sink accepted every record of the slice: only now may the checkpoint move past it.
        if (!options.explicitWindow) {
          let acceptedIds: Uint8Array | undefined;
          if (identify) {
            const next = accepted.with(tail, cutoffMs);
            accepted = next.ids;
            counts.forgotten += next.dropped;
            acceptedIds = accepted.size > 0 ? accepted.encode() : undefined;
          }
          await checkpoints.set({
            collector: collector.name,
            scope: source.scope,
            position: slice.end,
            runId: context.runId,
            updatedAt: now(),
            ...(acceptedIds ? { acceptedIds } : {}),
          });
          position = Math.max(position, sliceEnd);
        }
        context.covered = { start, end: slice.end };
      }
    } finally {
      report();
    }
    return { status: 'Succeeded', window: { start, end } };
  });
}

/** The checkpoint's accepted Ids; unreadable ones are dropped with a warning (duplicates, never loss). */
function acceptedIdsOf(checkpoint: Checkpoint | undefined, warnings: string[]): AcceptedIds {
  if (checkpoint?.acceptedIds === undefined) return AcceptedIds.empty;
  try {
    return AcceptedIds.decode(checkpoint.acceptedIds);
  } catch (error) {
    warnings.push(
      `the checkpoint's accepted Ids cannot be read (${describeError(error)}): events in the overlap may be sent again`,
    );
    return AcceptedIds.empty;
  }
}

/**
 * Passes on the rows the sink has not accepted yet: drops those whose Id is remembered, or that came
 * already in this slice (Graph can repeat an event). Rows at or after `cutoffMs` are noted in `tail`, for
 * the caller to remember once the sink has accepted the slice. Only rows that can be among the
 * remembered (not later than the newest) or must be noted are digested.
 */
async function* skipAccepted<Row>(
  rows: AsyncIterable<Row>,
  identify: (row: Row) => EventIdentity | undefined,
  accepted: AcceptedIds,
  tail: Map<string, number>,
  cutoffMs: number,
  counts: { skipped: number },
): AsyncIterable<Row> {
  for await (const row of rows) {
    const identity = identify(row);
    if (identity !== undefined) {
      const { timeMs } = identity;
      const second = timeMs >= cutoffMs ? secondOf(timeMs) : undefined;
      if (second !== undefined || timeMs < accepted.untilMs) {
        const digest = digestOfId(identity.id);
        if (accepted.has(digest) || tail.has(digest)) {
          counts.skipped += 1;
          continue;
        }
        if (second !== undefined) tail.set(digest, second);
      }
    }
    yield row;
  }
}

function warnAboutRetention(
  warnings: string[],
  checkpoint: Date | undefined,
  start: Date,
  runStart: number,
  policy: WindowPolicy,
): void {
  const oldestAvailable = runStart - policy.retentionMs;
  const days = (ms: number) => (ms / (24 * hourMs)).toFixed(1);
  if (checkpoint && checkpoint.getTime() < oldestAvailable) {
    warnings.push(
      `the checkpoint (${checkpoint.toISOString()}) is older than the source's ${days(policy.retentionMs)}-day retention: events between it and ${new Date(oldestAvailable).toISOString()} are no longer available and were lost`,
    );
  } else if (start.getTime() < oldestAvailable + policy.retentionMs * 0.2) {
    warnings.push(
      `the window starts ${days(runStart - start.getTime())} days back, near the source's ${days(policy.retentionMs)}-day retention: catch up before events expire`,
    );
  }
}
