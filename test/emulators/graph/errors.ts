// A Graph error answer in the making: the server writes it as { "error": { code, message, innerError } } with
// its status and extra headers (Retry-After, WWW-Authenticate).
import type http from 'node:http';

export class GraphError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: http.OutgoingHttpHeaders = {},
    readonly innerExtra: Record<string, string> = {},
  ) {
    super(message);
  }
}
