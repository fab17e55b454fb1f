/**
 * The items of several async iterables as one, reading at most `concurrency` of them at once (the next
 * starts when one ends), in the order they arrive. Each producer waits until its item was taken (no
 * buffering beyond one item each). A producer that throws ends the merge with its error: a caller that
 * wants one to fail alone catches inside it. Stopping the merge early (`return`, a consumer that throws)
 * stops every producer it started.
 */
export async function* mergeConcurrently<T>(
  producers: readonly (() => AsyncIterable<T>)[],
  concurrency: number,
): AsyncGenerator<T, void, undefined> {
  type Event =
    { kind: 'item'; value: T; taken: () => void } | { kind: 'done' } | { kind: 'error'; error: unknown };
  const events: Event[] = [];
  let wake: (() => void) | undefined;
  let stopped = false;
  const post = (event: Event) => {
    events.push(event);
    wake?.();
    wake = undefined;
  };
  const started: AsyncIterator<T>[] = [];
  let next = 0;
  let running = 0;
  const start = () => {
    const producer = producers[next];
    next += 1;
    if (producer === undefined) return;
    running += 1;
    const iterator = producer()[Symbol.asyncIterator]();
    started.push(iterator);
    void (async () => {
      try {
        for (;;) {
          if (stopped) return;
          const result = await iterator.next();
          if (result.done || stopped) return;
          await new Promise<void>((taken) => post({ kind: 'item', value: result.value, taken }));
        }
      } catch (error) {
        post({ kind: 'error', error });
      } finally {
        post({ kind: 'done' });
      }
    })();
  };
  try {
    while (next < producers.length && running < Math.max(1, concurrency)) start();
    while (running > 0) {
      const event = events.shift();
      if (event === undefined) {
        await new Promise<void>((resolve) => (wake = resolve));
        continue;
      }
      if (event.kind === 'error') throw event.error;
      if (event.kind === 'done') {
        running -= 1;
        if (next < producers.length) start();
        continue;
      }
      yield event.value;
      event.taken();
    }
  } finally {
    stopped = true;
    for (const event of events) if (event.kind === 'item') event.taken();
    await Promise.allSettled(started.map(async (iterator) => iterator.return?.()));
  }
}
