/**
 * AWS SDK v3 names modelled errors after their exception class (`NoSuchEntityException`) and keeps
 * the wire code in `Code` (`NoSuchEntity`); unmodelled ones carry the code as `name`. Match either.
 */
export function hasAwsErrorCode(error: unknown, ...codes: readonly string[]): error is Error {
  if (!(error instanceof Error)) return false;
  const wireCode = (error as { Code?: unknown }).Code;
  return codes.some((code) => error.name === code || error.name === `${code}Exception` || wireCode === code);
}
