import type { RecordSink, SendOptions } from '../sinks/sink.js';
import type { TableName, TableRows } from '../tables/generated.js';

/** Live counts of a run, readable even when it fails halfway. */
export interface RunProgress {
  recordsRead: number;
  recordsUploaded: number;
}

export interface PumpOptions<Table extends TableName> {
  /** Rows per sink call; the SDK splits each call into ~1 MB requests. */
  readonly batchSize: number;
  /** Sink calls in flight at once: reading goes on while earlier batches upload, memory stays bounded. */
  readonly maxInFlight: number;
  readonly onAccepted?: (rows: readonly TableRows[Table][]) => void;
  /** Told about fields the sink cut to fit its limits, per accepted batch. */
  readonly onTruncated?: SendOptions['onTruncated'];
  /**
   * Aborts the uploads in flight (the run's delivery deadline). It does not stop the pulling: a source
   * stops at its own signal, and what it read before is still delivered until this one aborts.
   */
  readonly signal?: AbortSignal;
}

/**
 * Streams rows into the sink in batches with at most `maxInFlight` uploads pending: the source is
 * pulled only while there is room, so memory is bounded by batchSize × (maxInFlight + 1) rows.
 * Resolves once every row was accepted, with what the read returned (a generator's return value);
 * rejects with the first failure after the others settled.
 */
export async function pumpToSink<Table extends TableName>(
  rows: AsyncIterable<TableRows[Table]>,
  sink: RecordSink,
  table: Table,
  progress: RunProgress,
  options: PumpOptions<Table>,
): Promise<unknown> {
  const inFlight = new Set<Promise<void>>();
  let failure: { error: unknown } | undefined;

  const launch = (batch: TableRows[Table][]): void => {
    const upload = sink.send(table, batch, { onTruncated: options.onTruncated, signal: options.signal }).then(
      () => {
        progress.recordsUploaded += batch.length;
        options.onAccepted?.(batch);
      },
      (error: unknown) => {
        failure ??= { error };
      },
    );
    const tracked = upload.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  // Iterated by hand, not with for await, to keep what a generator returns (its ReadOutcome).
  const iterator = rows[Symbol.asyncIterator]();
  let returned: unknown;
  let finished = false;
  try {
    let batch: TableRows[Table][] = [];
    for (;;) {
      const next: IteratorResult<TableRows[Table], unknown> = await iterator.next();
      if (next.done === true) {
        finished = true;
        returned = next.value;
        break;
      }
      const row = next.value;
      progress.recordsRead += 1;
      batch.push(row);
      if (batch.length < options.batchSize) continue;
      launch(batch);
      batch = [];
      while (inFlight.size >= options.maxInFlight && failure === undefined) await Promise.race(inFlight);
      if (failure !== undefined) break;
    }
    if (batch.length > 0 && failure === undefined) launch(batch);
  } finally {
    // A read left before its end (an upload failed) is closed, as for await would.
    if (!finished) await iterator.return?.().catch(() => undefined);
    // Never leave uploads running behind a failed read: the caller must know what was accepted.
    await Promise.allSettled(inFlight);
  }
  if (failure !== undefined) throw failure.error;
  return returned;
}
