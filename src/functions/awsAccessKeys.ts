import { app, type InvocationContext, type Timer } from '@azure/functions';
import { runConfiguredCollector } from '../run/configuredRun.js';
import { invocationLogger } from './invocationLogger.js';

/** Daily AWS IAM access-key snapshot (default `0 0 6 * * *`); a failed run rejects so the host records it. */
export async function awsAccessKeysTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  await runConfiguredCollector('aws-access-keys', {
    host: 'function',
    env: process.env,
    log: invocationLogger(context),
  });
}

app.timer('awsAccessKeys', { schedule: '%AWS_ACCESS_KEYS_SCHEDULE%', handler: awsAccessKeysTimer });
