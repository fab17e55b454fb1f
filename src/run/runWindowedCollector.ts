import type { CheckpointStore } from '../state/checkpointStore.js';
import type { TableName } from '../tables/generated.js';
import { executeRun, type RunBaseOptions, type RunResult } from './runCollector.js';
import { slicesOf, type WindowPolicy, type WindowedCollector } from './windowedCollector.js';

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
    for (const slice of slices) {
      if (now().getTime() - runStart > policy.budgetMs) {
        const remaining = slices.length - slices.indexOf(slice);
        context.stats.warnings.push(
          `time budget of ${Math.round(policy.budgetMs / 60_000)} min used up with ${remaining} slice(s) left before ${end.toISOString()}; the next run resumes from ${slice.start.toISOString()}`,
        );
        return { status: 'PartiallySucceeded', window: context.covered };
      }
      await context.pump(source.read(slice));
      // The sink accepted every record of the slice: only now may the checkpoint move past it.
      if (!options.explicitWindow) {
        await checkpoints.set({
          collector: collector.name,
          scope: source.scope,
          position: slice.end,
          runId: context.runId,
          updatedAt: now(),
        });
      }
      context.covered = { start, end: slice.end };
    }
    return { status: 'Succeeded', window: { start, end } };
  });
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
