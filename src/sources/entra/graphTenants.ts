import type { TokenCredential } from '@azure/core-auth';
import type { SourceStats } from '../../run/collector.js';
import { createGraphClient, type GraphClient, type GraphClientOptions } from './graphClient.js';
import { tenantOfToken } from './tenant.js';
import { customerTenantCredential, tenantLabel, type MultiTenantAccess } from './tenants.js';

/** What every Entra collector is built from: where Graph is, who asks, how fast, and which tenants. */
export interface GraphSourceOptions {
  readonly endpoint: string;
  readonly audience: string;
  /** The app's own identity: reads the home tenant, and signs the assertions for customer tenants. */
  readonly credential: TokenCredential;
  readonly pacing: GraphClientOptions['pacing'];
  readonly appPacing?: GraphClientOptions['appPacing'];
  readonly retryOptions?: GraphClientOptions['retryOptions'];
  /** Customer tenants, read through the multi-tenant app besides the home tenant. */
  readonly multiTenant?: MultiTenantAccess;
  /** Tenants read at once. */
  readonly tenantConcurrency?: number;
}

/** One tenant a run reads: the home tenant through the managed identity, or a customer tenant. */
export interface GraphTenant {
  /** `home tenant`, `tenant Contoso (<id>)`: names it in logs, warnings and the run row. */
  readonly label: string;
  /** A customer tenant's ID, known from the list; the home tenant's is read from its token. */
  readonly tenantId?: string;
  readonly credential: TokenCredential;
}

/** A tenant's Graph client, and the tenant ID its tokens carry (the checkpoint scope, every row's AADTenantId). */
export interface OpenedTenant {
  readonly graph: GraphClient;
  readonly tenantId: string;
}

export const homeTenantLabel = 'home tenant';

/**
 * The tenants to read: the home tenant, then every listed customer tenant except the home tenant itself
 * (read once, through the managed identity, and said so).
 */
export async function graphTenants(
  options: GraphSourceOptions,
  warnings: string[],
): Promise<readonly GraphTenant[]> {
  const home: GraphTenant = { label: homeTenantLabel, credential: options.credential };
  const listed = options.multiTenant?.tenants ?? [];
  if (options.multiTenant === undefined || listed.length === 0) return [home];
  const access = options.multiTenant;
  const homeId = await tenantOfToken(options.credential, graphScope(options.audience));
  const customers = listed.filter((tenant) => tenant.tenantId !== homeId.toLowerCase());
  if (customers.length < listed.length)
    warnings.push(
      `the home tenant ${homeId} is also listed in entra-tenants: it is read once, through the managed identity`,
    );
  return [
    home,
    ...customers.map((tenant) => ({
      label: tenantLabel(tenant),
      tenantId: tenant.tenantId,
      credential: customerTenantCredential(options.credential, access, tenant),
    })),
  ];
}

/**
 * A client for one tenant, paced to that tenant's allowance and the app's across tenants, and the tenant ID
 * its token carries — for a customer tenant, checked against the list, so rows never carry another's.
 */
export async function openTenant(
  options: GraphSourceOptions,
  tenant: GraphTenant,
  stats: SourceStats,
): Promise<OpenedTenant> {
  const graph = createGraphClient({
    ...options,
    credential: tenant.credential,
    tenantKey: tenant.tenantId ?? 'home',
    stats,
  });
  const tenantId = await tenantOfToken(tenant.credential, graph.scope);
  if (tenant.tenantId !== undefined && tenantId.toLowerCase() !== tenant.tenantId)
    throw new Error(`the Graph token for ${tenant.label} was issued in tenant ${tenantId}`);
  return { graph, tenantId };
}

function graphScope(audience: string): string {
  return `${audience.replace(/\/+$/, '')}/.default`;
}
