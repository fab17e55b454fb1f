import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { mergeConcurrently } from '../../src/lib/mergeConcurrently.js';

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('mergeConcurrently', () => {
  it('yields every item of every producer, at most `concurrency` producers running at once', async () => {
    let running = 0;
    let most = 0;
    const producer = (name: string, count: number) =>
      async function* () {
        running += 1;
        most = Math.max(most, running);
        try {
          for (let i = 0; i < count; i += 1) {
            await tick();
            yield `${name}${i}`;
          }
        } finally {
          running -= 1;
        }
      };
    const items: string[] = [];
    for await (const item of mergeConcurrently([producer('a', 3), producer('b', 2), producer('c', 4)], 2))
      items.push(item);
    assert.deepEqual([...items].sort(), ['a0', 'a1', 'a2', 'b0', 'b1', 'c0', 'c1', 'c2', 'c3']);
    assert.equal(most, 2);
    // Interleaved, not one producer after the other: b's first item comes before a's last.
    assert.ok(items.indexOf('b0') < items.indexOf('a2'), items.join(' '));
  });

  it("a producer's error ends the merge with that error, and the others are stopped", async () => {
    let stopped = 0;
    const endless = async function* () {
      try {
        for (;;) {
          await tick();
          yield 1;
        }
      } finally {
        stopped += 1;
      }
    };
    const failing = async function* () {
      await tick();
      yield 2;
      throw new Error('tenant B failed');
    };
    await assert.rejects(async () => {
      for await (const item of mergeConcurrently([endless, failing], 2)) void item;
    }, /tenant B failed/);
    assert.equal(stopped, 1);
  });

  it('stopping early stops every started producer; none is started after', async () => {
    const started: string[] = [];
    const finished: string[] = [];
    const producer = (name: string) =>
      async function* () {
        started.push(name);
        try {
          for (;;) {
            await tick();
            yield name;
          }
        } finally {
          finished.push(name);
        }
      };
    let taken = 0;
    for await (const item of mergeConcurrently([producer('a'), producer('b'), producer('c')], 2)) {
      void item;
      taken += 1;
      if (taken === 5) break;
    }
    assert.deepEqual(started.sort(), ['a', 'b']);
    assert.deepEqual(finished.sort(), ['a', 'b']);
  });

  it('no producers: nothing', async () => {
    const items: unknown[] = [];
    for await (const item of mergeConcurrently([], 4)) items.push(item);
    assert.deepEqual(items, []);
  });
});
