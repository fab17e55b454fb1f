import { RestError, type PipelineResponse } from '@azure/core-rest-pipeline';

interface GraphErrorBody {
  error?: { code?: string; message?: string; innerError?: { 'request-id'?: string } };
}

/**
 * A Graph request that failed after the pipeline's retries, with what an operator needs: the
 * status (0 when no whole answer came), Graph's error code, how many attempts were made, and for
 * the causes we know, the fix.
 */
export class GraphRequestError extends Error {
  override readonly name = 'GraphRequestError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }

  /** `attempts`: how often the request was sent, retries included. */
  static fromResponse(url: string, response: PipelineResponse, attempts = 1): GraphRequestError {
    let body: GraphErrorBody = {};
    try {
      body = JSON.parse(response.bodyAsText ?? '{}') as GraphErrorBody;
    } catch {
      // Not JSON (a proxy's HTML page): the status says enough.
    }
    const code = body.error?.code;
    const path = new URL(url).pathname;
    const requestId = body.error?.innerError?.['request-id'] ?? response.headers.get('request-id');
    const detail = `Graph ${path} answered HTTP ${response.status}${code ? ` ${code}` : ''}: ${body.error?.message ?? 'no message'}${requestId ? ` (request-id ${requestId})` : ''}`;
    return new GraphRequestError(
      response.status,
      code,
      `${detail}${retried(response, attempts)}${remedy(response.status, code, path)}`,
    );
  }

  /**
   * No whole answer after the retries: the connection failed before a response, or the body broke off (or was
   * not JSON) every time. The request and its headers are left out: they carry the token.
   */
  static fromTransportError(url: string, error: RestError, attempts: number): GraphRequestError {
    const path = new URL(url).pathname;
    const what =
      error.code === RestError.PARSE_ERROR
        ? 'broke off before the end of its body or was not JSON'
        : 'got no answer: the connection failed';
    const code = error.code && !error.message.includes(error.code) ? ` (${error.code})` : '';
    return new GraphRequestError(
      error.statusCode ?? 0,
      error.code,
      `Graph ${path}: no complete answer after ${attempts} attempt${attempts === 1 ? '' : 's'}; the last ${what}: ${error.message}${code}`,
    );
  }
}

function retried(response: PipelineResponse, attempts: number): string {
  if (attempts <= 1) return '';
  if (response.status !== 429) return `. The last of ${attempts} attempts`;
  return response.headers.has('retry-after')
    ? `. Still throttled after ${attempts} attempts, retries waiting as long as Graph's Retry-After asked`
    : `. Still throttled after ${attempts} attempts; this 429 came with no Retry-After, so the retries backed off exponentially`;
}

function remedy(status: number, code: string | undefined, path: string): string {
  if (status === 403 && /\/users$/i.test(path)) return usersRemedy(code);
  if (code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant') {
    return '. Reading sign-in logs through Graph needs a Microsoft Entra ID P1 or P2 licence in the tenant; without one, disable the entra-signins collector (the audit collector works without it)';
  }
  if (status === 403 || code === 'Authorization_RequestDenied') {
    return `. The managed identity needs the Microsoft Graph application roles AuditLog.Read.All and Directory.Read.All (admin-consented app role assignments) to read ${path}`;
  }
  if (status === 401) return '. The token was refused: check that the managed identity exists in the tenant';
  if (status === 429) {
    return '. Graph limits requests per app and tenant, and this client paces itself under that limit: anything else calling Graph as this managed identity in the tenant shares it';
  }
  return '';
}

/**
 * /users needs User.Read.All or Directory.Read.All; its signInActivity also AuditLog.Read.All and Entra ID P1/P2
 * (https://learn.microsoft.com/en-us/graph/api/user-list?view=graph-rest-1.0). The entra-users collector reads
 * on without signInActivity when the first page refuses it: these are what is left.
 */
function usersRemedy(code: string | undefined): string {
  if (code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant')
    return '. Reading signInActivity needs a Microsoft Entra ID P1 or P2 licence in the tenant';
  if (code === 'Authentication_MSGraphPermissionMissing')
    return '. Reading signInActivity needs the Microsoft Graph application role AuditLog.Read.All';
  return '. The managed identity needs the Microsoft Graph application role User.Read.All or Directory.Read.All (an admin-consented app role assignment) to list users';
}
