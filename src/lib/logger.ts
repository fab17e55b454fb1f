import { redact } from './redact.js';

/** The only logging surface below functions/ and cli: adapters wrap InvocationContext or stderr. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Every line is scrubbed before it reaches the sink, whoever wrote it. */
export function redactingLogger(inner: Logger): Logger {
  return {
    info: (message) => inner.info(redact(message)),
    warn: (message) => inner.warn(redact(message)),
    error: (message) => inner.error(redact(message)),
  };
}

export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };
