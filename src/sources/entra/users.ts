import type { Collector, CollectorContext, ReadOutcome } from '../../run/collector.js';
import { describeError } from '../../lib/redact.js';
import { mergeConcurrently } from '../../lib/mergeConcurrently.js';
import type { EntraUsersRow } from '../../tables/generated.js';
import type { GraphClient, GraphPage } from './graphClient.js';
import { GraphRequestError } from './graphErrors.js';
import { graphTenants, openTenant, type GraphSourceOptions, type GraphTenant } from './graphTenants.js';
import { toUserRow, userSelect, type GraphUser, type UserSnapshot } from './userRows.js';

export const entraUsersCollectorName = 'entra-users';

/**
 * `$top` of the listing: /users serves at most 999 users a page (default 100); with signInActivity selected
 * at most 500, whatever `$top` asks, and the rest follows through @odata.nextLink as usual.
 * https://learn.microsoft.com/en-us/graph/api/user-list?view=graph-rest-1.0 ("Optional query parameters")
 */
export const usersPageSize = 999;

/** The snapshot's query: every user, the columns' properties, signInActivity when it may be read. */
export function usersQuery(withSignInActivity: boolean): string {
  const select = withSignInActivity ? [...userSelect, 'signInActivity'] : userSelect;
  return `/v1.0/users?$select=${select.join(',')}&$top=${usersPageSize}`;
}

/**
 * Why Graph refuses signInActivity, by the error code of its 403 (the rest of /users needs neither):
 * - no Entra ID P1/P2 in the tenant: `Authentication_RequestFromNonPremiumTenantOrB2CTenant`, "Neither tenant is
 *   B2C or tenant doesn't have premium license" (https://github.com/microsoftgraph/microsoft-graph-docs/issues/12772,
 *   https://github.com/MicrosoftDocs/azure-docs/pull/77948);
 * - no AuditLog.Read.All: `Authentication_MSGraphPermissionMissing`, "Calling principal does not have required
 *   MSGraph permissions AuditLog.Read.All"
 *   (https://github.com/microsoftgraph/microsoft-graph-explorer-v4/issues/2731).
 * Both requirements: https://learn.microsoft.com/en-us/graph/api/resources/user?view=graph-rest-1.0 (signInActivity).
 */
const signInActivityRefusals: Readonly<Record<string, string>> = {
  Authentication_RequestFromNonPremiumTenantOrB2CTenant:
    'the tenant has no Microsoft Entra ID P1 or P2 licence',
  Authentication_MSGraphPermissionMissing:
    'the managed identity lacks the Microsoft Graph application role AuditLog.Read.All',
};

/**
 * The run warning for a snapshot read without signInActivity, when Graph answered 403 to the query with it.
 * Any 403 counts, not only the two codes we know: the query without signInActivity then tells whether the
 * directory itself may be read (if not, that error fails the run, naming the roles to grant).
 */
function refusalWarning(error: unknown): string | undefined {
  if (!(error instanceof GraphRequestError) || error.status !== 403) return undefined;
  const known = error.code === undefined ? undefined : signInActivityRefusals[error.code];
  const reason = known ?? 'it needs a Microsoft Entra ID P1 or P2 licence and the AuditLog.Read.All app role';
  return (
    `signInActivity not collected: Graph refused it (HTTP 403${error.code ? ` ${error.code}` : ''}): ${reason}. ` +
    'Every other column of this snapshot was collected; its LastSignInDateTime, LastNonInteractiveSignInDateTime ' +
    'and LastSuccessfulSignInDateTime are null and SignInActivityCollected is false.'
  );
}

/**
 * A snapshot of the tenant's users from Microsoft Graph /v1.0/users (User.Read.All or Directory.Read.All), with
 * their sign-in activity where the tenant's licence and the identity's roles allow (Entra ID P1/P2 and
 * AuditLog.Read.All): without them, the snapshot is taken without it and says so in a run warning. Every row
 * carries the run's start (TimeGenerated) and ID (SnapshotId), so KQL can pick the latest complete snapshot.
 */
export function entraUsersCollector(options: GraphSourceOptions): Collector<'EntraUsers_CL'> {
  return {
    name: entraUsersCollectorName,
    table: 'EntraUsers_CL',
    async *read(context: CollectorContext): AsyncGenerator<EntraUsersRow, ReadOutcome, undefined> {
      const tenants = await graphTenants(options, context.stats.warnings);
      const [home] = tenants;
      // One tenant: its failure is the run's, as always.
      if (tenants.length === 1 && home !== undefined) {
        yield* tenantUsers(options, home, context, context.stats.warnings);
        return {};
      }
      // Several: each tenant's users arrive as they are read; a tenant that fails leaves the others' rows.
      const failures: string[] = [];
      const producers = tenants.map(
        (tenant) =>
          async function* (): AsyncGenerator<EntraUsersRow> {
            const warnings: string[] = [];
            try {
              yield* tenantUsers(options, tenant, context, warnings);
            } catch (error) {
              if (context.signal?.aborted) throw error;
              failures.push(`${tenant.label}: ${describeError(error)}`);
            } finally {
              context.stats.warnings.push(...warnings.map((warning) => `${tenant.label}: ${warning}`));
            }
          },
      );
      yield* mergeConcurrently(producers, options.tenantConcurrency ?? 1);
      if (failures.length === tenants.length) throw new Error(`every tenant failed:\n${failures.join('\n')}`);
      return { partialFailures: failures };
    },
  };
}

/** One tenant's users, every row stamped with its tenant ID and the run's snapshot. */
async function* tenantUsers(
  options: GraphSourceOptions,
  tenant: GraphTenant,
  context: CollectorContext,
  warnings: string[],
): AsyncGenerator<EntraUsersRow, void, undefined> {
  const { graph, tenantId } = await openTenant(options, tenant, context.stats);
  const { pages, signInActivityCollected } = await openListing(graph, context, warnings);
  const snapshot: UserSnapshot = {
    id: context.runId,
    time: context.startTime,
    tenantId,
    signInActivityCollected,
  };
  for await (const page of pages) for (const user of page.items) yield toUserRow(user, snapshot);
}

/**
 * The listing, its first page already read: with signInActivity, or, when Graph refuses that, without it
 * (and a warning). Graph checks licence and permission on the request, so the first page decides; a refusal
 * on a later page (not expected) fails the run like any other error, as its rows would otherwise mix.
 */
async function openListing(
  graph: GraphClient,
  context: CollectorContext,
  warnings: string[],
): Promise<{ pages: AsyncIterable<GraphPage<GraphUser>>; signInActivityCollected: boolean }> {
  const withSignIns = graph.collection<GraphUser>(usersQuery(true), { signal: context.signal });
  try {
    const first = await withSignIns.next();
    return { pages: prepend(first, withSignIns), signInActivityCollected: true };
  } catch (error) {
    const warning = refusalWarning(error);
    if (warning === undefined) throw error;
    warnings.push(warning);
    return {
      pages: graph.collection<GraphUser>(usersQuery(false), { signal: context.signal }),
      signInActivityCollected: false,
    };
  }
}

async function* prepend<T>(
  first: IteratorResult<T, unknown>,
  rest: AsyncIterator<T, unknown, undefined>,
): AsyncGenerator<T, void, undefined> {
  if (first.done) return;
  try {
    yield first.value;
    for (;;) {
      const next = await rest.next();
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Stopped early (the run's deadline, a failed sink): the listing stops too.
    await rest.return?.();
  }
}
