import type { CollectorContext } from '../../run/collector.js';
import type {
  EventIdentity,
  WindowReadOptions,
  WindowedCollector,
  WindowedScope,
  WindowedSource,
} from '../../run/windowedCollector.js';
import type { TimeWindow } from '../../run/runCollector.js';
import type { EntraAuditLogsRow, EntraSignInsRow } from '../../tables/generated.js';
import type { GraphClient } from './graphClient.js';
import { graphTenants, openTenant, type GraphSourceOptions, type OpenedTenant } from './graphTenants.js';
import type { GraphDirectoryAudit, GraphSignIn } from './graphTypes.js';
import { toAuditRow, toSignInRow, type SignInEventType } from './rows.js';

export const entraSignInsCollectorName = 'entra-signins';
export const entraAuditsCollectorName = 'entra-audits';

export type { GraphSourceOptions } from './graphTenants.js';

/**
 * One windowed scope per tenant (the home tenant, and the customer tenants listed), read side by side up to
 * the tenant concurrency; `source` reads one opened tenant.
 */
function tenantScopes<Table extends 'EntraSignIns_CL' | 'EntraAuditLogs_CL'>(
  options: GraphSourceOptions,
  source: (tenant: OpenedTenant, context: CollectorContext) => WindowedSource<Table>,
) {
  return {
    scopeConcurrency: options.tenantConcurrency ?? 1,
    async scopes(context: CollectorContext): Promise<readonly WindowedScope<Table>[]> {
      const tenants = await graphTenants(options, context.stats.warnings);
      return tenants.map((tenant) => ({
        label: tenant.label,
        open: async () => source(await openTenant(options, tenant, context.stats), context),
      }));
    },
  };
}

/** Graph's `$filter` on a time property, both bounds inclusive as the API documents them. */
function timeFilter(property: string, window: TimeWindow): string {
  return `${property} ge ${window.start.toISOString()} and ${property} le ${window.end.toISOString()}`;
}

function query(filter: string): string {
  return `?$filter=${encodeURIComponent(filter)}&$top=1000`;
}

/** A sign-in is its Graph `id`, at its `createdDateTime` (the time the query filters on). */
export function signInIdentity(row: EntraSignInsRow): EventIdentity | undefined {
  return identity(row.Id, row.CreatedDateTime);
}

/** A directory audit is its Graph `id`, at its `activityDateTime` (the time the query filters on). */
export function auditIdentity(row: EntraAuditLogsRow): EventIdentity | undefined {
  return identity(row.Id, row.ActivityDateTime);
}

function identity(id: string | null, time: string | null): EventIdentity | undefined {
  if (id === null || id === '' || time === null) return undefined;
  const timeMs = Date.parse(time);
  return Number.isNaN(timeMs) ? undefined : { id, timeMs };
}

/**
 * The rows of a Graph audit-log query for one window, page by page under the read's signal. Graph pages
 * newest first, so after each page everything later than its oldest event has been read: that share of
 * the window is told to `onProgress` before the next page is fetched.
 */
async function* readWindow<Item, Row>(
  graph: GraphClient,
  path: string,
  window: TimeWindow,
  options: WindowReadOptions | undefined,
  eventTime: (item: Item) => string | null | undefined,
  toRow: (item: Item) => Row,
): AsyncGenerator<Row> {
  const endMs = window.end.getTime();
  const spanMs = endMs - window.start.getTime();
  let oldestMs = endMs;
  for await (const page of graph.collection<Item>(path, { signal: options?.signal })) {
    for (const item of page.items) {
      const timeMs = Date.parse(eventTime(item) ?? '');
      if (timeMs < oldestMs) oldestMs = timeMs;
      yield toRow(item);
    }
    if (page.hasNext && spanMs > 0)
      options?.onProgress?.(Math.min(1, Math.max(0, (endMs - oldestMs) / spanMs)));
  }
}

/**
 * Sign-ins from /auditLogs/signIns. Interactive only: v1.0. Any other event type: the beta endpoint,
 * filtered on `signInEventTypes`, each row carrying its type.
 */
export function entraSignInsCollector(
  options: GraphSourceOptions & { readonly eventTypes: readonly SignInEventType[] },
): WindowedCollector<'EntraSignIns_CL'> {
  const interactiveOnly = options.eventTypes.length === 1 && options.eventTypes[0] === 'interactiveUser';
  return {
    name: entraSignInsCollectorName,
    table: 'EntraSignIns_CL',
    identify: signInIdentity,
    ...tenantScopes(options, ({ graph, tenantId }, context) => {
      const typeFilter = `(signInEventTypes/any(t: ${options.eventTypes.map((type) => `t eq '${type}'`).join(' or ')}))`;
      return {
        scope: tenantId,
        read(window, readOptions) {
          const path = interactiveOnly
            ? `/v1.0/auditLogs/signIns${query(timeFilter('createdDateTime', window))}`
            : `/beta/auditLogs/signIns${query(`${typeFilter} and ${timeFilter('createdDateTime', window)}`)}`;
          const mapping = {
            tenantId,
            collectedAt: context.startTime,
            defaultEventType: 'interactiveUser' as const,
          };
          return readWindow(
            graph,
            path,
            window,
            readOptions,
            (signIn: GraphSignIn) => signIn.createdDateTime,
            (signIn) => toSignInRow(signIn, mapping),
          );
        },
      };
    }),
  };
}

/** Directory audits from /auditLogs/directoryAudits (v1.0): needs no premium licence. */
export function entraAuditsCollector(options: GraphSourceOptions): WindowedCollector<'EntraAuditLogs_CL'> {
  return {
    name: entraAuditsCollectorName,
    table: 'EntraAuditLogs_CL',
    identify: auditIdentity,
    ...tenantScopes(options, ({ graph, tenantId }, context) => ({
      scope: tenantId,
      read(window, readOptions) {
        const path = `/v1.0/auditLogs/directoryAudits${query(timeFilter('activityDateTime', window))}`;
        return readWindow(
          graph,
          path,
          window,
          readOptions,
          (audit: GraphDirectoryAudit) => audit.activityDateTime,
          (audit) => toAuditRow(audit, { tenantId, collectedAt: context.startTime }),
        );
      },
    })),
  };
}
