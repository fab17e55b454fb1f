// Runs once in vitest's main process, before it forks any worker (see vitest.config.ts).
import { ensureDevTls } from '../../scripts/dev-ca.mjs';

export default async function setup(): Promise<void> {
  await ensureDevTls();
}
