import type { AccessToken, TokenCredential } from '@azure/core-auth';
import { ClientAssertionCredential } from '@azure/identity';

/** A customer tenant read through the multi-tenant app (Key Vault secret `entra-tenants`). */
export interface CustomerTenant {
  readonly tenantId: string;
  /** What logs and the run row call it; the tenant ID when none was given. */
  readonly displayName?: string;
}

/**
 * How the collectors reach customer tenants without a secret: the managed identity's token for the token
 * exchange audience is the client assertion of a multi-tenant app registered in the home tenant, whose
 * federated identity credential trusts that identity. Each customer tenant's admin consents to the app once.
 * https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity
 */
export interface MultiTenantAccess {
  /** Client (application) ID of the multi-tenant app (ENTRA_MULTITENANT_APP_ID). */
  readonly appClientId: string;
  /** `https://login.microsoftonline.com` or a national cloud's (AZURE_AUTHORITY_HOST). */
  readonly authorityHost: string;
  /** `api://AzureADTokenExchange` in the public cloud (ENTRA_TOKEN_EXCHANGE_AUDIENCE). */
  readonly exchangeAudience: string;
  readonly tenants: readonly CustomerTenant[];
}

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** What `entra-tenants` must look like, for error messages. */
export const tenantListExpected =
  'tenant IDs (GUIDs), each optionally followed by =<display name>, separated by commas or new lines, ' +
  'e.g. "00000000-0000-0000-0000-000000000001=Contoso, 00000000-0000-0000-0000-000000000002"';

/**
 * Parses `entra-tenants`: `<tenant ID>[=<display name>]`, separated by commas, semicolons or new lines.
 * Returns the problems (an entry that is no GUID, a tenant listed twice) instead of the tenants, all at once.
 */
export function parseTenantList(
  text: string,
): { readonly tenants: readonly CustomerTenant[] } | { readonly problems: readonly string[] } {
  const tenants: CustomerTenant[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const entry of text.split(/[,;\n\r]+/)) {
    const trimmed = entry.trim();
    if (trimmed === '') continue;
    const separator = trimmed.indexOf('=');
    const id = (separator < 0 ? trimmed : trimmed.slice(0, separator)).trim();
    const displayName = separator < 0 ? '' : trimmed.slice(separator + 1).trim();
    if (!guid.test(id)) {
      problems.push(`"${id.length > 60 ? `${id.slice(0, 60)}…` : id}" is not a tenant ID`);
      continue;
    }
    const tenantId = id.toLowerCase();
    if (seen.has(tenantId)) {
      problems.push(`${tenantId} is listed twice`);
      continue;
    }
    seen.add(tenantId);
    tenants.push(displayName === '' ? { tenantId } : { tenantId, displayName });
  }
  return problems.length > 0 ? { problems } : { tenants };
}

/** `tenant Contoso (<id>)`, or `tenant <id>`: how logs, warnings and the run row name a customer tenant. */
export function tenantLabel(tenant: CustomerTenant): string {
  return tenant.displayName
    ? `tenant ${tenant.displayName} (${tenant.tenantId})`
    : `tenant ${tenant.tenantId}`;
}

/** Hosts MSAL knows without instance discovery; any other (Azure Stack, a local emulator) skips it. */
const knownAuthorityHosts = new Set([
  'login.microsoftonline.com',
  'login.microsoftonline.us',
  'login.chinacloudapi.cn',
  'login.partner.microsoftonline.cn',
]);

/**
 * The credential for one customer tenant: Entra exchanges the identity's token for the exchange audience
 * (the client assertion, fetched fresh when MSAL needs one) for a Graph token issued in that tenant to the
 * multi-tenant app. Nothing here is a secret that outlives an hour.
 */
export function customerTenantCredential(
  identity: TokenCredential,
  access: MultiTenantAccess,
  tenant: CustomerTenant,
): TokenCredential {
  const exchangeScope = `${access.exchangeAudience.replace(/\/+$/, '')}/.default`;
  const assertion = async (): Promise<string> => {
    const token: AccessToken | null = await identity.getToken(exchangeScope);
    if (!token) throw new Error(`the managed identity got no token for ${exchangeScope}`);
    return token.token;
  };
  return new ClientAssertionCredential(tenant.tenantId, access.appClientId, assertion, {
    authorityHost: access.authorityHost,
    disableInstanceDiscovery: !knownAuthorityHosts.has(new URL(access.authorityHost).hostname),
  });
}
