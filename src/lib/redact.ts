// Scrubs credentials out of any text bound for a log line, an error message or a run row.
// SDK errors sometimes echo request headers or bodies, so everything leaving the process passes here.

const patterns: readonly [RegExp, string | ((match: string) => string)][] = [
  // JWTs (Entra access tokens, web identity tokens).
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g, '[redacted-token]'],
  [/\b(Bearer)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted-token]'],
  // SAS signatures and other signed query strings.
  [/\b(sig|signature|X-Amz-Signature|X-Amz-Security-Token|code)=[^&\s"']+/gi, '$1=[redacted]'],
  // AWS key IDs: keep the masked form analysts can still correlate.
  [/\b((?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16})\b/g, (id) => maskAccessKeyId(id)],
  // AWS secret access keys and session tokens: long base64 runs with no place in a log line.
  [/(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])/g, '[redacted-secret]'],
  [/[A-Za-z0-9/+]{100,}={0,2}/g, '[redacted-secret]'],
];

/** `AKIAIOSFODNN7EXAMPLE` → `AKIA…MPLE`: enough to find the key in the console, too little to use it. */
export function maskAccessKeyId(accessKeyId: string): string {
  if (accessKeyId.length <= 8) return '…';
  return `${accessKeyId.slice(0, 4)}…${accessKeyId.slice(-4)}`;
}

export function redact(text: string): string {
  let result = text;
  for (const [pattern, replacement] of patterns) {
    result =
      typeof replacement === 'string'
        ? result.replace(pattern, replacement)
        : result.replace(pattern, replacement);
  }
  return result;
}

/** The message of anything thrown, scrubbed; for errors that carry an AWS/Azure error code, the code too. */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    // Azure SDK errors carry `code`; AWS SDK errors their code as `name` (with `$metadata`).
    const code = (error as { code?: unknown }).code ?? ('$metadata' in error ? error.name : undefined);
    const prefix = typeof code === 'string' && !error.message.includes(code) ? `${code}: ` : '';
    return redact(`${prefix}${error.message}${innerReasons(error)}`);
  }
  return redact(String(error));
}

/**
 * Credential chains and aggregate errors hide the useful part in `errors`: surface it, each reason once
 * (ChainedTokenCredential already lists its credentials' reasons in its message).
 */
function innerReasons(error: Error): string {
  const inner = (error as { errors?: unknown }).errors;
  if (!Array.isArray(inner) || inner.length === 0) return '';
  const reasons = inner
    .map((e: unknown) => (e instanceof Error ? e.message.split('\n')[0] : String(e)))
    .filter((reason) => reason !== undefined && reason !== '' && !error.message.includes(reason));
  return reasons.length === 0 ? '' : ` (${[...new Set(reasons)].join('; ')})`;
}
