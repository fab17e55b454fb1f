import { app, type InvocationContext, type Timer } from '@azure/functions';
import { runConfiguredCollector } from '../run/configuredRun.js';
import { invocationLogger } from './invocationLogger.js';

/** Entra sign-ins since the checkpoint (default every 15 min); a failed run rejects so the host records it. */
export async function entraSignInsTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  await runConfiguredCollector('entra-signins', {
    host: 'function',
    env: process.env,
    log: invocationLogger(context),
  });
}

app.timer('entraSignIns', { schedule: '%ENTRA_SIGNINS_SCHEDULE%', handler: entraSignInsTimer });
