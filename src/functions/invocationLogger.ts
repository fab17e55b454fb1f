import type { InvocationContext } from '@azure/functions';
import { redactingLogger, type Logger } from '../lib/logger.js';

/** Routes run logs to the invocation's log (Application Insights traces), scrubbed. */
export function invocationLogger(context: InvocationContext): Logger {
  return redactingLogger({
    info: (message) => context.log(message),
    warn: (message) => context.warn(message),
    error: (message) => context.error(message),
  });
}
