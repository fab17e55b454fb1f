import { AcceptedIds, digestOfId, secondOf } from '../state/acceptedIds.js';
import type { Checkpoint, CheckpointStore } from '../state/checkpointStore.js';
import type { TableName, TableRows } from '../tables/generated.js';
import { abortError } from './collector.js';
import { describeError } from '../lib/redact.js';
import pMap from 'p-map';
import {
  executeRun,
  formatSpan,
  type RunBodyContext,
  type RunOutcome,
  type RunResult,
  type RunBaseOptions,
  type TimeWindow,
} from './runCollector.js';
import {
  scopesOf,
  type EventIdentity,
  type WindowPolicy,
  type WindowedCollector,
  type WindowedScope,
} from './windowedCollector.js';

export interface WindowedRunOptions<Table extends TableName> extends RunBaseOptions<Table> {
  readonly collector: WindowedCollector<Table>;
  readonly checkpoints: CheckpointStore;
  readonly policy: WindowPolicy;
  /** An explicit window (CLI backfill): read it, leave the checkpoint alone. */
  readonly explicitWindow?: { readonly start: Date; readonly end: Date };
}

const hourMs = 3_600_000;
/** No slice is split below this. */
const minSliceMs = 1_000;
/**
 * A split slice is sized to be read in this share of the time left, at the pace the given-up attempt
 * had: that pace is measured on a page or two, and rows skipped as already accepted read faster than
 * rows that are sent, so the margin is wide.
 */
const splitMargin = 0.5;

/** Why a slice's read was aborted before the deadline: it is read again in smaller slices. */
class SliceSplit extends Error {
  override readonly name = 'SliceSplit';
}

/** How an attempt at one slice ended. */
type SliceOutcome =
  | { readonly kind: 'accepted' }
  | { readonly kind: 'split'; readonly sliceMs: number }
  | { readonly kind: 'cut'; readonly shareRead: number };

/**
 * Reads [checkpoint − overlap, now − lag] slice by slice, oldest first. After each slice the sink has
 * accepted in full, the checkpoint moves to the slice's end — never before, so a failure anywhere
 * leaves it where the data is safe and the next run fills the gap.
 *
 * Every slice is read under the run's deadline (see `budgetPhases`). A source that reads newest first
 * (Graph) says after each page how much of the slice it has read; when the pace so far says the slice
 * will not be read by the deadline, its read is aborted early and the run goes on in slices sized to fit
 * (at least half as long), committing each. Progress stays per slice: a slice read newest first cannot
 * be committed in part. At the deadline the slice in flight is aborted and the run is PartiallySucceeded,
 * its run row saying what was left; the next run resumes from the checkpoint, at the policy's slice
 * length again, splitting as it needs to. What the sink accepted of slices given up is not sent again:
 * the smaller slices of the run skip it, and at its end it is remembered with the checkpoint (whose
 * position stays) like the overlap's Ids, for the next run to skip.
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
  const { collector, policy } = options;
  const runOptions = { ...options, budgetMs: options.budgetMs ?? policy.budgetMs };
  return executeRun(collector.name, collector.table, runOptions, async (context) => {
    const scopes = await scopesOf(collector, context);
    const [only] = scopes;
    if (scopes.length === 1 && only !== undefined) {
      return readScope(options, only, context, {
        warnings: context.stats.warnings,
        name: (scope) => `${collector.name} (${scope})`,
        cover: (window) => (context.covered = window),
      });
    }
    if (scopes.length === 0) throw new Error(`${collector.name} has no scope to read`);
    return readScopesSideBySide(options, scopes, context);
  });
}

/** Where one scope's read reports to: the run's warnings (prefixed when there are several) and window. */
interface ScopeReport {
  readonly warnings: string[];
  /** `entra-signins (<tenant ID>)`: how log lines name the scope once it is open. */
  name(scope: string): string;
  cover(window: TimeWindow): void;
}

/**
 * Several scopes (tenants), at most `scopeConcurrency` at once, under the run's one deadline. A scope
 * that fails fails alone: the others' data and checkpoints land, and the run is PartiallySucceeded
 * naming it. Only when every scope failed does the run fail. The run row's window spans what the
 * scopes covered; each scope's own is in the log and its checkpoint.
 */
async function readScopesSideBySide<Table extends TableName>(
  options: WindowedRunOptions<Table>,
  scopes: readonly WindowedScope<Table>[],
  context: RunBodyContext<Table>,
): Promise<RunOutcome> {
  const { collector } = options;
  const covered = new Map<string, TimeWindow>();
  const failures: string[] = [];
  let partial = false;
  await pMap(
    scopes,
    async (scope) => {
      const warnings: string[] = [];
      try {
        if (context.signal.aborted) {
          partial = true;
          warnings.push(`not read: ${describeStop(context)} before its turn; the next run reads it`);
          return;
        }
        const outcome = await readScope(options, scope, context, {
          warnings,
          name: (id) => `${collector.name} (${scope.label === id ? id : `${scope.label}, ${id}`})`,
          cover(window) {
            covered.set(scope.label, window);
            context.covered = spanOf(covered.values());
          },
        });
        if (outcome.status !== 'Succeeded') partial = true;
      } catch (error) {
        failures.push(`${scope.label}: ${describeError(error)}`);
      } finally {
        warnings.push(...warnings.map((warning) => `${scope.label}: ${warning}`));
      }
    },
    { concurrency: Math.max(1, (collector.scopes && collector.scopeConcurrency) || 1) },
  );
  if (failures.length === scopes.length) {
    throw new Error(`every scope failed:\n${failures.join('\n')}`);
  }
  return {
    status: partial || failures.length > 0 ? 'PartiallySucceeded' : 'Succeeded',
    window: context.covered,
    partialFailures: failures,
  };
}

function spanOf(windows: Iterable<TimeWindow>): TimeWindow | undefined {
  let span: TimeWindow | undefined;
  for (const window of windows) {
    span = span
      ? {
          start: window.start < span.start ? window.start : span.start,
          end: window.end > span.end ? window.end : span.end,
        }
      : window;
  }
  return span;
}

function describeStop(context: RunBodyContext<TableName>): string {
  return context.deadline.reached()
    ? context.deadline.describe()
    : `the run was aborted (${describeError(context.signal.reason)})`;
}

/** One scope: its window from its checkpoint, read slice by slice (see runWindowedCollector). */
async function readScope<Table extends TableName>(
  options: WindowedRunOptions<Table>,
  scope: WindowedScope<Table>,
  context: RunBodyContext<Table>,
  scopeReport: ScopeReport,
): Promise<RunOutcome> {
  const { collector, checkpoints, policy } = options;
  const now = options.now ?? (() => new Date());
  const { warnings } = scopeReport;
  let covered: TimeWindow | undefined;
  const source = await scope.open();
  const checkpoint = options.explicitWindow ? undefined : await checkpoints.get(collector.name, source.scope);
  const runStart = context.startTime.getTime();
  const end = options.explicitWindow?.end ?? new Date(runStart - policy.lagMs);
  const start =
    options.explicitWindow?.start ??
    (checkpoint
      ? new Date(checkpoint.position.getTime() - policy.overlapMs)
      : new Date(runStart - policy.initialLookbackMs));

  warnAboutRetention(warnings, checkpoint?.position, start, runStart, policy);
  if (start >= end) {
    context.log.info(
      `${scopeReport.name(source.scope)}: nothing to read yet (window would be ${start.toISOString()} – ${end.toISOString()})`,
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

  const endMs = end.getTime();
  const name = scopeReport.name(source.scope);
  context.log.info(
    `${name}: reading ${start.toISOString()} – ${end.toISOString()} in ${Math.ceil((endMs - start.getTime()) / policy.sliceMs)} slice(s)` +
      (checkpoint ? ` from checkpoint ${checkpoint.position.toISOString()}` : ' (no checkpoint yet)'),
  );
  const identifyRow =
    collector.identify === undefined ? undefined : (row: TableRows[Table]) => collector.identify?.(row);
  // A backfill sends everything of its window and leaves the state alone.
  const remember = identifyRow !== undefined && !options.explicitWindow;
  let accepted = remember ? acceptedIdsOf(checkpoint, warnings) : AcceptedIds.empty;
  // What the sink accepted in this run from slices given up to be read smaller: not sent again.
  const sentThisRun = new Map<string, number>();
  let position = checkpoint?.position.getTime() ?? start.getTime();
  const counts = { skipped: 0, forgotten: 0 };
  let sliceMs = policy.sliceMs;
  let cursor = start.getTime();
  const report = () => {
    if (counts.skipped > 0)
      context.log.info(
        `${name}: ${counts.skipped} event(s) read again (the overlap, slices given up) were already accepted and not sent again`,
      );
    if (counts.forgotten > 0)
      warnings.push(
        `${counts.forgotten} accepted Id(s) in the overlap did not fit the checkpoint (${accepted.size} kept): if read again they are sent again`,
      );
  };

  /** Reads one slice into the sink under the deadline; splits it early when it will not finish. */
  const attempt = async (
    slice: TimeWindow,
    tail: Map<string, number> | undefined,
    cutoffMs: number,
  ): Promise<SliceOutcome> => {
    const lengthMs = slice.end.getTime() - slice.start.getTime();
    const giveUp = new AbortController();
    const signal = AbortSignal.any([context.signal, giveUp.signal]);
    const attemptStart = Date.now();
    let shareRead = 0;
    let splitTo: number | undefined;
    /** The first progress told, the latest, and the longest time between two. */
    let first: { share: number; elapsed: number } | undefined;
    let last = { share: 0, elapsed: 0 };
    let longestStepMs = 0;
    const onProgress = (share: number) => {
      shareRead = Math.max(shareRead, share);
      if (signal.aborted || lengthMs <= minSliceMs || !(share > 0 && share < 1)) return;
      const elapsed = Date.now() - attemptStart;
      if (share > last.share) {
        longestStepMs = Math.max(longestStepMs, elapsed - last.elapsed);
        last = { share, elapsed };
        first ??= last;
      }
      // The pace since the first progress, when slower than the average: what came before it (the token,
      // the pages a rate limiter lets through at once, such as Graph's first 5) says little about the
      // pace to come. Over every step since, so one slow step (a busy machine) does not split alone.
      const average = elapsed / share;
      const sinceFirst =
        first && share > first.share ? (elapsed - first.elapsed) / (share - first.share) : average;
      const msPerShare = Math.max(average, sinceFirst);
      // Progress is told between steps: the step under way when the slice ends is not in the projection,
      // so the longest step seen is kept in reserve. Ending a slice a step short commits nothing of it.
      const projectedEnd = attemptStart + elapsed + (1 - share) * msPerShare + longestStepMs;
      const { workEndsAt } = context.deadline;
      if (projectedEnd <= workEndsAt) return;
      // Sized to be read in half the time left at this attempt's pace, and at least halved.
      const msPerSliceMs = msPerShare / lengthMs;
      const fits = (splitMargin * Math.max(0, workEndsAt - Date.now())) / msPerSliceMs;
      splitTo = Math.max(minSliceMs, Math.min(Math.floor(lengthMs / 2), Math.floor(fits)));
      giveUp.abort(
        new SliceSplit(
          `slice ${slice.start.toISOString()} – ${slice.end.toISOString()} would be read by ${new Date(projectedEnd).toISOString()}, after the deadline`,
        ),
      );
      context.log.info(
        `${name}: slice ${slice.start.toISOString()} – ${slice.end.toISOString()} read ${Math.round(share * 100)} % in ${elapsed} ms would not be read before the deadline (in ${Math.round((projectedEnd - attemptStart) / 1000)} s, ${Math.round((workEndsAt - attemptStart) / 1000)} s left): reading on in slices of ${formatSpan(splitTo)}`,
      );
    };
    const acceptedHere = new Map<string, number>();
    const onAccepted = identifyRow
      ? (rows: readonly TableRows[Table][]) => {
          for (const row of rows) {
            const identity = identifyRow(row);
            const second = identity && secondOf(identity.timeMs);
            if (identity && second !== undefined) acceptedHere.set(digestOfId(identity.id), second);
          }
        }
      : undefined;
    const read = source.read(slice, { signal, onProgress });
    try {
      await context.pump(
        untilAborted(
          identifyRow ? skipAccepted(read, identifyRow, accepted, sentThisRun, tail, cutoffMs, counts) : read,
          signal,
        ),
        { onAccepted },
      );
      return { kind: 'accepted' };
    } catch (error) {
      if (!signal.aborted) throw error;
      for (const [digest, second] of acceptedHere) sentThisRun.set(digest, second);
      if (context.signal.aborted || splitTo === undefined) return { kind: 'cut', shareRead };
      return { kind: 'split', sliceMs: splitTo };
    }
  };

  /**
   * Past the deadline (or the budget on `now`'s clock): say what is left; the next run resumes. What the
   * sink accepted of slices not committed (the one cut, those given up to be split) is remembered with
   * the checkpoint, whose position stays: the next run skips it like the overlap's accepted Ids.
   */
  const stop = async (at: number, cut?: { slice: TimeWindow; shareRead: number }) => {
    const why = context.deadline.reached()
      ? context.deadline.describe()
      : context.signal.aborted
        ? `the run was aborted (${describeError(context.signal.reason)})`
        : `time budget of ${formatSpan(policy.budgetMs)} used up`;
    const resume = options.explicitWindow
      ? `run the backfill again from ${new Date(at).toISOString()}`
      : `the next run resumes from the checkpoint at ${new Date(position).toISOString()}`;
    warnings.push(
      `${why} with ${formatSpan(endMs - at)} of events left to read (${new Date(at).toISOString()} – ${end.toISOString()})` +
        (cut
          ? `; the slice ${cut.slice.start.toISOString()} – ${cut.slice.end.toISOString()} was aborted ${cut.shareRead > 0 ? `with about ${Math.round(cut.shareRead * 100)} % of it read ` : ''}and is read again`
          : '') +
        (sliceMs < policy.sliceMs ? `; slices were cut to ${formatSpan(sliceMs)} to fit the time` : '') +
        `; ${resume}`,
    );
    if (remember && sentThisRun.size > 0) {
      const next = accepted.with(sentThisRun, position - policy.overlapMs);
      accepted = next.ids;
      counts.forgotten += next.dropped;
      try {
        await checkpoints.set({
          collector: collector.name,
          scope: source.scope,
          position: new Date(position),
          runId: context.runId,
          updatedAt: now(),
          acceptedIds: accepted.encode(),
        });
      } catch (error) {
        warnings.push(
          `the ${sentThisRun.size} event(s) accepted beyond the checkpoint could not be remembered (${describeError(error)}): the next run sends them again`,
        );
      }
    }
    return { status: 'PartiallySucceeded' as const, window: covered };
  };

  try {
    while (cursor < endMs) {
      const slice = { start: new Date(cursor), end: new Date(Math.min(cursor + sliceMs, endMs)) };
      if (context.signal.aborted || now().getTime() - runStart > policy.budgetMs) return await stop(cursor);
      // Ids at or after the cutoff may be read again (by the next slice, whose start is this one's end,
      // both inclusive; by the next run, from the checkpoint − overlap): remember those the sink accepts.
      const sliceEnd = slice.end.getTime();
      const cutoffMs = Math.min(sliceEnd, Math.max(position, sliceEnd) - policy.overlapMs);
      const tail = remember ? new Map<string, number>() : undefined;
      const outcome = await attempt(slice, tail, cutoffMs);
      if (outcome.kind === 'split') {
        // The rest of the run goes in slices of the smaller length: the next slices hold as much.
        sliceMs = outcome.sliceMs;
        continue;
      }
      if (outcome.kind === 'cut') return await stop(cursor, { slice, shareRead: outcome.shareRead });
      // The sink accepted every record of the slice: only now may the checkpoint move past it.
      if (!options.explicitWindow) {
        let acceptedIds: Uint8Array | undefined;
        if (tail) {
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
      covered = { start, end: slice.end };
      scopeReport.cover(covered);
      cursor = sliceEnd;
      // Only events at or after the new start can be read again in this run.
      for (const [digest, second] of sentThisRun)
        if ((second + 1) * 1000 <= cursor) sentThisRun.delete(digest);
    }
  } finally {
    report();
  }
  return { status: 'Succeeded', window: { start, end } };
}

/**
 * Passes rows on until the signal aborts, then throws its reason. Also when the source ends quietly
 * after an abort: a read that stopped early has not read its window in full, and must not be committed.
 */
async function* untilAborted<Row>(rows: AsyncIterable<Row>, signal: AbortSignal): AsyncGenerator<Row> {
  for await (const row of rows) {
    if (signal.aborted) throw abortError(signal);
    yield row;
  }
  if (signal.aborted) throw abortError(signal);
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
 * Passes on the rows the sink has not accepted yet: drops those whose Id is remembered, that the sink
 * accepted earlier in this run (from a slice given up to be read smaller), or that came already in this
 * slice (Graph can repeat an event). Rows at or after `cutoffMs` are noted in `tail` (when there is one),
 * for the caller to remember once the sink has accepted the slice. Only rows that can be among the
 * remembered (not later than the newest) or must be noted are digested.
 */
async function* skipAccepted<Row>(
  rows: AsyncIterable<Row>,
  identify: (row: Row) => EventIdentity | undefined,
  accepted: AcceptedIds,
  sentThisRun: ReadonlyMap<string, number>,
  tail: Map<string, number> | undefined,
  cutoffMs: number,
  counts: { skipped: number },
): AsyncIterable<Row> {
  for await (const row of rows) {
    const identity = identify(row);
    if (identity !== undefined) {
      const { timeMs } = identity;
      const second = tail && timeMs >= cutoffMs ? secondOf(timeMs) : undefined;
      if (second !== undefined || timeMs < accepted.untilMs || sentThisRun.size > 0) {
        const digest = digestOfId(identity.id);
        if (accepted.has(digest) || tail?.has(digest)) {
          counts.skipped += 1;
          continue;
        }
        if (second !== undefined) tail?.set(digest, second);
        if (sentThisRun.has(digest)) {
          counts.skipped += 1;
          continue;
        }
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
