import { app, type InvocationContext, type Timer } from '@azure/functions';
import { declaredCollectors } from '../app/collectors.generated.js';
import { runConfiguredCollector } from '../app/configuredRun.js';
import { invocationLogger } from './invocationLogger.js';

/** The timer handler of collector `name`: a failed run rejects, so the host records the failure. */
export function collectorTimer(name: string): (timer: Timer, context: InvocationContext) => Promise<void> {
  return async (_timer, context) => {
    await runConfiguredCollector(name, {
      host: 'function',
      env: process.env,
      log: invocationLogger(context),
    });
  };
}

// One timer per declared collector, on the schedule its app setting names (the host resolves %…%).
for (const { name, timer } of declaredCollectors) {
  app.timer(timer.functionName, { schedule: `%${timer.scheduleSetting}%`, handler: collectorTimer(name) });
}
