import type { TokenCredential } from '@azure/core-auth';

/**
 * The tenant the identity's Graph token was issued in (its `tid` claim): it scopes checkpoints and
 * stamps every row. Read from the token's payload; the token itself is neither kept nor logged.
 */
export async function tenantOfToken(credential: TokenCredential, scope: string): Promise<string> {
  const token = await credential.getToken(scope);
  if (!token) throw new Error(`No token for ${scope}: the identity cannot reach Microsoft Graph`);
  const payload = token.token.split('.')[1];
  let tid: unknown;
  try {
    tid = (JSON.parse(Buffer.from(payload ?? '', 'base64url').toString('utf8')) as { tid?: unknown }).tid;
  } catch {
    tid = undefined;
  }
  if (typeof tid !== 'string' || tid.length === 0) {
    throw new Error(`The Graph token for ${scope} carries no tenant ID (tid claim)`);
  }
  return tid;
}
