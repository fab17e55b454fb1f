import type { DeserializeMiddleware, MiddlewareStack } from '@smithy/types';
import type { SourceStats } from '../../run/collector.js';

const throttlingCodes = new Set([
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
]);

export function isThrottlingError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return throttlingCodes.has(error.name) || status === 429;
}

/**
 * Counts every HTTP attempt a client makes (retries included: they cost quota too) and the throttled
 * ones. The deserialize step sits inside the retry loop, so each attempt passes here once.
 */
export function countApiCalls<Input extends object, Output extends object>(
  client: { middlewareStack: MiddlewareStack<Input, Output> },
  stats: SourceStats,
): void {
  const counter: DeserializeMiddleware<Input, Output> = (next) => async (args) => {
    stats.apiCalls += 1;
    try {
      return await next(args);
    } catch (error) {
      if (isThrottlingError(error)) stats.throttled += 1;
      throw error;
    }
  };
  // High priority: outside the deserializer, so a throttling answer arrives here as its named error.
  client.middlewareStack.add(counter, {
    step: 'deserialize',
    priority: 'high',
    name: 'crosscloudCountApiCalls',
    override: true,
  });
}
