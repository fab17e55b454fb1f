import type { PipelineResponse } from '@azure/core-rest-pipeline';

interface GraphErrorBody {
  error?: { code?: string; message?: string; innerError?: { 'request-id'?: string } };
}

/**
 * A Graph request that failed after the pipeline's retries, with what an operator needs: the
 * status, Graph's error code, and for the causes we know, the fix.
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

  static fromResponse(url: string, response: PipelineResponse): GraphRequestError {
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
    return new GraphRequestError(response.status, code, `${detail}${remedy(response.status, code, path)}`);
  }
}

function remedy(status: number, code: string | undefined, path: string): string {
  if (code === 'Authentication_RequestFromNonPremiumTenantOrB2CTenant') {
    return '. Reading sign-in logs through Graph needs a Microsoft Entra ID P1 or P2 licence in the tenant; without one, disable the entra-signins collector (the audit collector works without it)';
  }
  if (status === 403 || code === 'Authorization_RequestDenied') {
    return `. The managed identity needs the Microsoft Graph application roles AuditLog.Read.All and Directory.Read.All (admin-consented app role assignments) to read ${path}`;
  }
  if (status === 401) return '. The token was refused: check that the managed identity exists in the tenant';
  return '';
}
