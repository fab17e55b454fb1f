import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { renderMarkdown, runBenchmarks, smokeSizes } from '../../bench/run.js';

// The benchmarks at tiny sizes: they must keep running, and what they count (not time) must hold.
describe('benchmarks (smoke sizes)', () => {
  it('run end to end and report consistent figures', async () => {
    const results = await runBenchmarks(smokeSizes);
    const { aws, organization, graph, pipeline, duplicates } = results;

    assert.equal(aws.baseline.keys, aws.keys, 'the baseline (own process, own moto) sees every key');
    assert.equal(
      aws.baseline.apiCalls,
      Math.ceil(aws.users / 100) + aws.users + aws.keys,
      'the old Lambda: ListUsers pages of 100, ListAccessKeys per user, GetAccessKeyLastUsed per key',
    );
    assert.equal(aws.ours.keys, aws.keys, 'ours sees every key');
    assert.equal(aws.oursThrottled.failed, null, 'no failed run in throttling mode');
    assert.equal(aws.oursThrottled.keys, aws.keys);
    assert.ok(
      aws.ours.apiCalls < aws.baseline.apiCalls,
      `${aws.ours.apiCalls} vs ${aws.baseline.apiCalls} calls`,
    );

    assert.equal(organization.sequential.keys, organization.keys, 'every account, one at a time');
    assert.equal(organization.concurrent.keys, organization.keys, 'every account, several at a time');
    assert.equal(organization.concurrent.failures, 0);
    assert.deepEqual(
      organization.runs.map((run) => run.accountConcurrency),
      [...smokeSizes.orgAccountConcurrencies],
      '1, 4 and 8 at a time, measured in the same run',
    );
    for (const run of organization.runs) {
      assert.equal(run.keys, organization.keys, `${run.accountConcurrency} at a time: every key`);
      assert.equal(run.failures, 0);
      const parts = (Object.values(run.parts) as number[]).reduce((sum, ms) => sum + ms, 0);
      assert.ok(
        Math.abs(parts - run.wallMs) <= run.wallMs * 0.05 + 20,
        `${run.accountConcurrency} at a time: the parts (${parts} ms) add up to the wall time (${run.wallMs} ms)`,
      );
      assert.ok(run.call.replayed > 0 && run.call.replayed < run.call.total, 'repeated reads replayed');
      assert.ok(run.account.reportPolls >= 1);
    }
    assert.ok(organization.live.calls > 0 && organization.live.motoCpuMs > 0, "moto's own CPU measured");

    assert.equal(graph.ours.records, graph.signIns);
    assert.equal(graph.baseline.records, graph.signIns);
    assert.equal(graph.ours.throttled, 0, 'paced: no 429');

    assert.equal(pipeline.records, smokeSizes.pipelineRecords);
    assert.ok(pipeline.floor.gzipBytes > 0);
    assert.ok(pipeline.uploaded.requests > 0, 'the emulator accepted requests');
    assert.equal(pipeline.uploaded.records, pipeline.records, 'the emulator parsed and counted every record');
    assert.ok(pipeline.uploaded.gzipBytes < pipeline.uploaded.jsonBytes, 'sent gzip');
    assert.ok(results.suiteMs > pipeline.pipeline.wallMs);

    const { today, remembered, rememberedLongOverlap } = duplicates;
    assert.ok(duplicates.events > 0 && today.runs === smokeSizes.duplicatesHours * 4, 'a run every 15 min');
    assert.ok(today.duplicateFraction > 0.2, `before: ${today.duplicateFraction} of records were duplicates`);
    assert.ok(remembered.duplicateFraction <= 0.01, `ours: ${remembered.duplicateFraction} duplicates`);
    assert.equal(rememberedLongOverlap.duplicates, 0);
    for (const run of [today, remembered, rememberedLongOverlap]) {
      assert.equal(run.lostWithinGuarantee, 0, 'nothing at most lag + overlap late is lost');
    }
    assert.equal(
      remembered.lostBeyondGuarantee,
      today.lostBeyondGuarantee,
      'the same windows: the same tolerance',
    );
    assert.equal(remembered.graphRequests, today.graphRequests, 'and the same Graph requests');

    const markdown = renderMarkdown(results);
    assert.match(markdown, /fewer API calls/);
    assert.match(markdown, /### Where the wall time goes/);
    assert.match(
      markdown,
      /\| 8 \| \d+ \| [\d.]+ s \| [\d.]+× \|/,
      '8 at a time: its threads, wall time and speedup',
    );
    assert.match(markdown, new RegExp(`on ${results.machine.cores} cores`));
    assert.match(markdown, /\*\*Duplicates \d+\.\d% → 0\.0% of records sent\*\*/);
  });
});
