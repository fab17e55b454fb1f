/**
 * GRAPH_PACING_WINDOW_MS for a Graph emulator whose 10 s throttle window runs on a clock sped up
 * `timeScale` times.
 *
 * The pacer times when our process sends; the emulator times when requests arrive. Between the two sit
 * the event loop and TLS, whose jitter on a loaded 2-core machine reaches tens of milliseconds. In
 * production the 10.2 s pacing window leaves 200 ms for that; scaled down 100 times it would leave 2 ms,
 * and "no 429" would hold only on an idle machine. So tests keep an absolute allowance instead.
 */
export function pacingWindowForTests(timeScale: number): number {
  const JITTER_ALLOWANCE_MS = 50;
  return Math.ceil(10_000 / timeScale) + JITTER_ALLOWANCE_MS;
}
