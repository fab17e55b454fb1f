import type { CollectorSettingsReader } from '../../config/collectorSettings.js';
import type { SettingsReader } from '../../config/parse.js';
import type { WindowPolicy } from '../../run/windowedCollector.js';
import { signInEventTypes, type SignInEventType } from './rows.js';
import { parseTenantList, tenantListExpected, type MultiTenantAccess } from './tenants.js';

/** What every Entra collector reads: where Graph is and how fast to ask it (GRAPH_*). */
export interface GraphSettings {
  readonly graphEndpoint: string;
  /** Token audience for Graph; like LogsIngestionClient's `audience`, it differs by cloud, not by host. */
  readonly graphAudience: string;
  /** Requests per interval to each tenant (Graph allows 5 per 10 s per app and tenant for audit logs). */
  readonly pacing: { readonly limit: number; readonly intervalMs: number };
  /**
   * Requests per interval across all tenants (Graph allows the identity and access reports 122 per 10 s per
   * app over all tenants): only a deployment reading many tenants comes near it.
   */
  readonly appPacing: { readonly limit: number; readonly intervalMs: number };
  /** Customer tenants read besides the home tenant (Key Vault secret entra-tenants), when there are any. */
  readonly multiTenant: MultiTenantAccess | undefined;
  /** Tenants read at once (ENTRA_TENANT_CONCURRENCY). */
  readonly tenantConcurrency: number;
}

/** The Key Vault secret listing customer tenants: optional, the home tenant alone when absent. */
export const tenantListSecret = 'entra-tenants';

/** What both audit-log collectors read: Graph, and which windows to read. */
export interface EntraSettings extends GraphSettings {
  readonly window: WindowPolicy;
}

export interface EntraSignInsSettings extends EntraSettings {
  readonly signInEventTypes: readonly SignInEventType[];
}

const minuteMs = 60_000;
const defaultGraph = 'https://graph.microsoft.com';

/** GRAPH_* and ENTRA_* (except the sign-in event types), and the optional secret entra-tenants. */
export const readEntraSettings: CollectorSettingsReader<EntraSettings> = (read, context) => {
  const window = windowPolicy(read, context.runBudgetMs);
  return withGraph(read, (graph) => ({ ...graph, window }));
};

/** The shared Entra settings and ENTRA_SIGNIN_EVENT_TYPES, which only the sign-in collector reads. */
export const readEntraSignInsSettings: CollectorSettingsReader<EntraSignInsSettings> = (read, context) => {
  const window = windowPolicy(read, context.runBudgetMs);
  const signInEventTypes = eventTypes(read);
  return withGraph(read, (graph) => ({ ...graph, window, signInEventTypes }));
};

/** GRAPH_* and the tenants only: the users snapshot reads no window and no event types. */
export const readEntraUsersSettings: CollectorSettingsReader<GraphSettings> = (read) =>
  withGraph(read, (graph) => graph);

/**
 * The Graph settings every Entra collector reads, completed with the tenant list once Key Vault was read:
 * the list needs ENTRA_MULTITENANT_APP_ID, checked then (a problem names the setting).
 */
function withGraph<Settings>(read: SettingsReader, complete: (graph: GraphSettings) => Settings) {
  // Where customer tenants' tokens come from: only part of the settings once the list names tenants.
  const { access, ...graph } = graphSettings(read);
  const appExpected =
    'the client ID (GUID) of the multi-tenant app whose federated credential trusts the managed identity (azd deploys it when ENTRA_TENANTS is set)';
  const appClientId = read.matching(
    'ENTRA_MULTITENANT_APP_ID',
    read.raw('ENTRA_MULTITENANT_APP_ID'),
    guid,
    appExpected,
  );
  return {
    secrets: { required: [], optional: [tenantListSecret] },
    complete: (secrets: SettingsReader): Settings => {
      const listed = secrets.raw(tenantListSecret);
      const parsed = listed === undefined ? { tenants: [] } : parseTenantList(listed);
      if ('problems' in parsed) {
        secrets.problems.push({
          setting: tenantListSecret,
          problem: parsed.problems.join('; '),
          expected: tenantListExpected,
        });
        return complete(graph);
      }
      if (parsed.tenants.length === 0) return complete(graph);
      if (appClientId === undefined) {
        if (!read.isSet('ENTRA_MULTITENANT_APP_ID'))
          secrets.problems.push({
            setting: 'ENTRA_MULTITENANT_APP_ID',
            problem: `is missing (needed to read the ${parsed.tenants.length} tenant(s) in ${tenantListSecret})`,
            expected: appExpected,
          });
        return complete(graph);
      }
      return complete({
        ...graph,
        multiTenant: { ...access, appClientId, tenants: parsed.tenants },
      });
    },
  };
}

const guid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const defaultAuthorityHost = 'https://login.microsoftonline.com';
const defaultExchangeAudience = 'api://AzureADTokenExchange';

/**
 * GRAPH_* and the multi-tenant app settings, with their defaults: every Entra collector reads them through
 * this one function, so a setting has one default whichever collector asks (infra deploys it once).
 */
export function graphSettings(
  read: SettingsReader,
): GraphSettings & { readonly access: Omit<MultiTenantAccess, 'appClientId' | 'tenants'> } {
  const endpointExpected =
    'the Microsoft Graph endpoint, e.g. https://graph.microsoft.com (national clouds differ)';
  const graphEndpoint =
    read.httpsUrl('GRAPH_ENDPOINT', read.withDefault('GRAPH_ENDPOINT', defaultGraph), endpointExpected) ??
    defaultGraph;
  const audienceExpected = 'the Microsoft Graph token audience, e.g. https://graph.microsoft.com (default)';
  const graphAudience =
    read.httpsUrl('GRAPH_AUDIENCE', read.withDefault('GRAPH_AUDIENCE', defaultGraph), audienceExpected) ??
    defaultGraph;
  const authorityHost =
    read.httpsUrl(
      'AZURE_AUTHORITY_HOST',
      read.withDefault('AZURE_AUTHORITY_HOST', defaultAuthorityHost),
      'the Entra ID authority host, e.g. https://login.microsoftonline.com (national clouds differ)',
    ) ?? defaultAuthorityHost;
  const exchangeAudience = read.withDefault('ENTRA_TOKEN_EXCHANGE_AUDIENCE', defaultExchangeAudience);
  if (!/^api:\/\/AzureADTokenExchange[A-Za-z]*$/.test(exchangeAudience)) {
    read.problems.push({
      setting: 'ENTRA_TOKEN_EXCHANGE_AUDIENCE',
      problem: `is "${exchangeAudience}"`,
      expected:
        'the audience of the federated identity credential: api://AzureADTokenExchange (public cloud, default), api://AzureADTokenExchangeUSGov or api://AzureADTokenExchangeChina',
    });
  }
  // Graph's windows are 10 s; 2% more absorbs network jitter between our clock and its counter.
  const intervalMs = read.integer('GRAPH_PACING_WINDOW_MS', { min: 1, max: 600_000 }, 10_200);
  return {
    graphEndpoint,
    graphAudience,
    pacing: { limit: read.integer('GRAPH_REQUESTS_PER_WINDOW', { min: 1, max: 1000 }, 5), intervalMs },
    // 122 per 10 s is Graph's cap for the reports per app over all tenants; 120 leaves the margin.
    appPacing: {
      limit: read.integer('GRAPH_APP_REQUESTS_PER_WINDOW', { min: 1, max: 10_000 }, 120),
      intervalMs,
    },
    multiTenant: undefined,
    tenantConcurrency: read.integer('ENTRA_TENANT_CONCURRENCY', { min: 1, max: 32 }, 4),
    access: { authorityHost: authorityHost.replace(/\/+$/, ''), exchangeAudience },
  };
}

function windowPolicy(read: SettingsReader, budgetMs: number): WindowPolicy {
  return {
    overlapMs: read.integer('ENTRA_OVERLAP_MINUTES', { min: 0, max: 1440 }, 10) * minuteMs,
    lagMs: read.integer('ENTRA_LAG_MINUTES', { min: 0, max: 1440 }, 15) * minuteMs,
    initialLookbackMs: read.integer('ENTRA_INITIAL_LOOKBACK_HOURS', { min: 1, max: 720 }, 24) * 60 * minuteMs,
    sliceMs: read.integer('ENTRA_SLICE_MINUTES', { min: 1, max: 1440 }, 60) * minuteMs,
    retentionMs: read.integer('ENTRA_RETENTION_DAYS', { min: 1, max: 730 }, 30) * 24 * 60 * minuteMs,
    budgetMs,
  };
}

function eventTypes(read: SettingsReader): readonly SignInEventType[] {
  const typesRaw = read.withDefault('ENTRA_SIGNIN_EVENT_TYPES', 'interactiveUser');
  const types = typesRaw
    .split(',')
    .map((type) => type.trim())
    .filter(Boolean);
  const known = (type: string): type is SignInEventType =>
    (signInEventTypes as readonly string[]).includes(type);
  if (types.some((type) => !known(type)) || types.length === 0) {
    read.problems.push({
      setting: 'ENTRA_SIGNIN_EVENT_TYPES',
      problem: `is "${typesRaw}"`,
      expected: `a comma-separated list of ${signInEventTypes.join(', ')} (default interactiveUser)`,
    });
  }
  const valid = types.filter(known);
  return valid.length > 0 ? [...new Set(valid)] : ['interactiveUser'];
}
