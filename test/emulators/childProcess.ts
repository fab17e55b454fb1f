import type { ChildProcess } from 'node:child_process';

/** Asks an emulator process to stop (SIGTERM), forces it after `graceMs`, and waits until it is gone. */
export async function stopChildProcess(
  child: ChildProcess,
  exited: Promise<void>,
  graceMs = 5_000,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
