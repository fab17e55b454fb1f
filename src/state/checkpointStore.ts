/**
 * Where a windowed collector has read up to. A checkpoint is the end of the last window whose records
 * the sink accepted in full; it never moves past data the sink has not accepted.
 */
export interface Checkpoint {
  /** Collector name, e.g. `entra-signins`. */
  readonly collector: string;
  /** Scope of the checkpoint: the Entra tenant ID (one collector may serve several tenants). */
  readonly scope: string;
  /** Exclusive upper bound of event time already delivered. */
  readonly position: Date;
  /** Run that wrote it, for tracing. */
  readonly runId: string;
  readonly updatedAt: Date;
  /**
   * The Ids the sink accepted whose event time lies in the overlap before `position` (AcceptedIds,
   * encoded; at most maxAcceptedIdsBytes): the next run re-reads that overlap and skips them. Opaque to
   * the store, which keeps it with the position and replaces it with it; absent = none remembered.
   */
  readonly acceptedIds?: Uint8Array;
}

export interface CheckpointStore {
  readonly description: string;
  get(collector: string, scope: string): Promise<Checkpoint | undefined>;
  /** Every checkpoint of a collector, whatever its scope (one read, not one per scope). */
  list(collector: string): Promise<Checkpoint[]>;
  /**
   * Persists a new position with its accepted Ids (all state goes through here, so a read-only wrapper
   * for dry runs covers it). Monotonic: a position earlier than the stored one leaves the stored one.
   */
  set(checkpoint: Checkpoint): Promise<void>;
}
