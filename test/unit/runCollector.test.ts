import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'vitest';
import { RunDeadlineError, type Collector, type CollectorContext } from '../../src/run/collector.js';
import type { Logger } from '../../src/lib/logger.js';
import { budgetPhases, CollectorRunError, runCollector } from '../../src/run/runCollector.js';
import { SinkRejectedError, type RecordSink } from '../../src/sinks/sink.js';
import type { AWSIAMAccessKeysRow, CollectorRunsRow, TableName } from '../../src/tables/generated.js';
import { memorySink as keepingSink } from '../support/memorySink.js';

function memorySink(rejectTable?: TableName, rejectAfterRows = 0) {
  return keepingSink({
    reject: (table, batch, stored) =>
      table === rejectTable && stored + batch.length > rejectAfterRows
        ? new SinkRejectedError(table, batch.length, batch.length, 'HTTP 503')
        : undefined,
  });
}

function row(i: number): AWSIAMAccessKeysRow {
  return { TimeGenerated: new Date(0).toISOString(), UserName: `u${i}` } as AWSIAMAccessKeysRow;
}

function collector(count: number, failAt?: number): Collector<'AWSIAMAccessKeys_CL'> {
  return {
    name: 'test-collector',
    table: 'AWSIAMAccessKeys_CL',
    async *read(context) {
      for (let i = 0; i < count; i += 1) {
        if (i === failAt) throw new Error(`source broke at ${i} with token eyJhbGciOi.eyJzdWIiOiJ4In0.c2ln`);
        context.stats.apiCalls += 1;
        await Promise.resolve();
        yield row(i);
      }
    },
  };
}

const lines: string[] = [];
const log: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

describe('runCollector', () => {
  it("ends as the read's outcome says: partial failures make it PartiallySucceeded, delivered reaches afterAccepted", async () => {
    const told: (readonly string[] | undefined)[] = [];
    const partial: Collector<'AWSIAMAccessKeys_CL'> = {
      name: 'test-collector',
      table: 'AWSIAMAccessKeys_CL',
      async *read() {
        yield row(1);
        await Promise.resolve();
        return { partialFailures: ['account 2: AccessDenied'], delivered: ['1'] };
      },
      afterAccepted: (_context, outcome) => {
        told.push(outcome.delivered);
        return Promise.resolve();
      },
    };
    const sink = memorySink();
    const result = await runCollector({ collector: partial, sink: sink.sink, log });
    assert.equal(result.status, 'PartiallySucceeded');
    assert.deepEqual(told, [['1']]);
    const runRow = sink.rows.get('CollectorRuns_CL')?.[0] as CollectorRunsRow | undefined;
    assert.equal(runRow?.Status, 'PartiallySucceeded');
    assert.match(runRow?.Error ?? '', /account 2: AccessDenied/);

    const whole = { ...partial, read: (context: CollectorContext) => collector(3).read(context) };
    assert.equal(
      (await runCollector({ collector: whole, sink: memorySink().sink, log })).status,
      'Succeeded',
    );
  });

  it("closes a read it leaves early (a rejected upload): the source's finally blocks run", async () => {
    let closed = false;
    const endless: Collector<'AWSIAMAccessKeys_CL'> = {
      name: 'test-collector',
      table: 'AWSIAMAccessKeys_CL',
      async *read() {
        try {
          for (let i = 0; ; i += 1) {
            await Promise.resolve();
            yield row(i);
          }
        } finally {
          closed = true;
        }
      },
    };
    const rejecting = memorySink('AWSIAMAccessKeys_CL', 0);
    await assert.rejects(runCollector({ collector: endless, sink: rejecting.sink, log, batchSize: 5 }));
    assert.equal(closed, true);
  });

  it('calls afterAccepted once every row was accepted, and never after a failed upload', async () => {
    const seen: number[] = [];
    const withHook = (sink: ReturnType<typeof memorySink>) => ({
      ...collector(25),
      afterAccepted: () => {
        seen.push(sink.rows.get('AWSIAMAccessKeys_CL')?.length ?? 0);
        return Promise.resolve();
      },
    });
    const accepting = memorySink();
    await runCollector({ collector: withHook(accepting), sink: accepting.sink, log, batchSize: 10 });
    assert.deepEqual(seen, [25], 'after all 25 rows were accepted');

    const rejecting = memorySink('AWSIAMAccessKeys_CL', 10);
    await assert.rejects(
      runCollector({ collector: withHook(rejecting), sink: rejecting.sink, log, batchSize: 10 }),
      CollectorRunError,
    );
    assert.deepEqual(seen, [25], 'not called for the failed run');
  });

  it('fails the run when afterAccepted fails', async () => {
    const { sink, rows } = memorySink();
    const failingHook = {
      ...collector(3),
      afterAccepted: () => Promise.reject(new Error('cannot write checkpoint aws-access-keys/111111111111')),
    };
    await assert.rejects(runCollector({ collector: failingHook, sink, log }), (error: unknown) => {
      assert.ok(error instanceof CollectorRunError);
      assert.match(error.message, /cannot write checkpoint/);
      // The SDK error itself travels on, with whatever status and request ID it carries.
      assert.ok(error.cause instanceof Error && /cannot write checkpoint/.test(error.cause.message));
      return true;
    });
    const [runRow] = rows.get('CollectorRuns_CL') as CollectorRunsRow[];
    assert.equal(runRow?.Status, 'Failed');
    assert.equal(runRow?.RecordsUploaded, 3);
  });

  it('uploads every row in batches and writes a Succeeded run row with the counts', async () => {
    const { sink, rows } = memorySink();
    const result = await runCollector({ collector: collector(25), sink, log, batchSize: 10 });
    assert.equal(rows.get('AWSIAMAccessKeys_CL')?.length, 25);
    const [runRow] = rows.get('CollectorRuns_CL') as CollectorRunsRow[];
    assert.equal(runRow?.Status, 'Succeeded');
    assert.equal(runRow?.RecordsRead, 25);
    assert.equal(runRow?.RecordsUploaded, 25);
    assert.equal(runRow?.ApiCalls, 25);
    assert.equal(runRow?.RunId, result.runId);
    assert.equal(runRow?.Error, null);
  });

  it('on a source failure writes a Failed row with a scrubbed error and rethrows', async () => {
    const { sink, rows } = memorySink();
    await assert.rejects(
      runCollector({ collector: collector(25, 12), sink, log, batchSize: 10 }),
      (error: unknown) => {
        assert.ok(error instanceof CollectorRunError);
        assert.match(error.message, /failed after 10 of 12 records were uploaded: source broke at 12/);
        assert.ok(!error.message.includes('eyJ'), 'token scrubbed from the thrown error');
        return true;
      },
    );
    const [runRow] = rows.get('CollectorRuns_CL') as CollectorRunsRow[];
    assert.equal(runRow?.Status, 'Failed');
    assert.equal(runRow?.RecordsUploaded, 10);
    assert.match(runRow?.Error ?? '', /source broke at 12 with token \[redacted-token\]/);
  });

  it('fails with the number of records the sink did not accept', async () => {
    const { sink, rows } = memorySink('AWSIAMAccessKeys_CL', 10);
    await assert.rejects(
      runCollector({ collector: collector(25), sink, log, batchSize: 10 }),
      /10 of 10 AWSIAMAccessKeys_CL records were not accepted/,
    );
    assert.equal((rows.get('CollectorRuns_CL') as CollectorRunsRow[])[0]?.Status, 'Failed');
  });

  it('fails loudly when even the run row cannot be written', async () => {
    const { sink } = memorySink('CollectorRuns_CL', 0);
    await assert.rejects(
      runCollector({ collector: collector(3), sink, log }),
      /uploaded its 3 records but not its run row/,
    );
  });
});

describe('the run deadline', () => {
  // budgetPhases(1000): reading stops at 750 ms, uploads at 850 ms, the run row by 1000 ms.
  const budgetMs = 1_000;

  /** Yields `count` rows, then waits `waitMs` (under the run's signal unless told to ignore it). */
  function slowCollector(count: number, waitMs: number, seen: { aborted?: unknown }, honourSignal = true) {
    return {
      name: 'slow-source',
      table: 'AWSIAMAccessKeys_CL' as const,
      async *read(context: CollectorContext) {
        for (let i = 0; i < count; i += 1) yield row(i);
        try {
          await sleep(waitMs, undefined, honourSignal ? { signal: context.signal } : {});
        } catch (error) {
          seen.aborted = error;
          throw error;
        }
        yield row(count);
      },
    };
  }

  it('aborts the source in flight at the deadline and still writes the run row: Failed, the snapshot named incomplete', async () => {
    const seen: { aborted?: unknown } = {};
    const { sink, rows } = memorySink();
    const started = Date.now();
    await assert.rejects(
      runCollector({ collector: slowCollector(5, 5_000, seen), sink, log, batchSize: 1, budgetMs }),
      (error: unknown) => {
        assert.ok(error instanceof CollectorRunError);
        assert.match(error.message, /time budget of .* ran out after 5 of the snapshot's rows were uploaded/);
        return true;
      },
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < budgetMs + 1_000, `the run ended after ${elapsed} ms, within its budget`);
    // node:timers rejects with an AbortError whose cause is the signal's reason.
    assert.ok(
      (seen.aborted as { cause?: unknown } | undefined)?.cause instanceof RunDeadlineError,
      'the wait in flight was aborted by the deadline',
    );
    assert.equal(
      rows.get('AWSIAMAccessKeys_CL')?.length,
      5,
      'what was read before the deadline was delivered',
    );
    const [runRow] = rows.get('CollectorRuns_CL') as CollectorRunsRow[];
    assert.equal(runRow?.Status, 'Failed');
    assert.equal(runRow?.RecordsUploaded, 5);
    assert.match(runRow?.Error ?? '', /RUN_TIME_BUDGET_MINUTES.*snapshot \(SnapshotId .*\) is incomplete/);
  });

  it('leaves behind a source that ignores the signal, and writes the run row before the budget ends', async () => {
    const seen: { aborted?: unknown } = {};
    const { sink, rows } = memorySink();
    const started = Date.now();
    await assert.rejects(
      runCollector({ collector: slowCollector(3, 3_000, seen, false), sink, log, budgetMs }),
      /did not stop when its work was aborted/,
    );
    const elapsed = Date.now() - started;
    assert.ok(elapsed < budgetMs + 1_000, `the run ended after ${elapsed} ms, within its budget`);
    assert.equal((rows.get('CollectorRuns_CL') as CollectorRunsRow[])[0]?.Status, 'Failed');
  });

  it('aborts uploads still in flight when the time to deliver is up', async () => {
    const rows: unknown[] = [];
    let abortedUploads = 0;
    const sink: RecordSink = {
      description: 'a sink that takes 5 s unless aborted',
      async send(table, batch, options) {
        if (table !== 'CollectorRuns_CL') {
          try {
            await sleep(5_000, undefined, { signal: options?.signal });
          } catch (error) {
            abortedUploads += 1;
            throw error;
          }
        }
        rows.push(...batch);
      },
    };
    const started = Date.now();
    await assert.rejects(runCollector({ collector: collector(3), sink, log, budgetMs }), CollectorRunError);
    const elapsed = Date.now() - started;
    assert.ok(elapsed < budgetMs + 1_000, `the run ended after ${elapsed} ms, within its budget`);
    assert.equal(abortedUploads, 1);
    assert.equal((rows.at(-1) as CollectorRunsRow | undefined)?.Status, 'Failed', 'the run row was written');
  });

  it('splits the budget into reading, delivering and the run row, inside the host timeout', () => {
    assert.deepEqual(budgetPhases(20 * 60_000), {
      workMs: 17 * 60_000,
      deliveryMs: 19 * 60_000,
      endMs: 20 * 60_000,
    });
    const small = budgetPhases(60_000);
    assert.ok(small.workMs >= 50_000 && small.deliveryMs < small.endMs && small.endMs === 60_000);
  });
});
