import { app, type InvocationContext, type Timer } from '@azure/functions';
import { runConfiguredCollector } from '../run/configuredRun.js';
import { invocationLogger } from './invocationLogger.js';

/** Entra directory audits since the checkpoint (default every 15 min, 5 min after sign-ins). */
export async function entraAuditLogsTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  await runConfiguredCollector('entra-audits', {
    host: 'function',
    env: process.env,
    log: invocationLogger(context),
  });
}

app.timer('entraAuditLogs', { schedule: '%ENTRA_AUDITS_SCHEDULE%', handler: entraAuditLogsTimer });
