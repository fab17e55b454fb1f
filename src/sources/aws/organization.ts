import { OrganizationsClient, paginateListAccounts, type Account } from '@aws-sdk/client-organizations';

/** `aws-accounts`: which accounts of the organization to inventory. */
export interface AccountFilter {
  /** Only these (all active accounts when empty). */
  readonly include: readonly string[];
  /** Never these. */
  readonly exclude: readonly string[];
}

export interface OrganizationAccount {
  readonly id: string;
  readonly name: string | undefined;
}

/**
 * Active accounts of the organization, page by page until there is no NextToken. `State` is the
 * current field; `Status` (deprecated) is read when an older API answers without it. `signal` (the
 * run's deadline) aborts the listing.
 */
export async function listActiveAccounts(
  organizations: OrganizationsClient,
  filter: AccountFilter,
  signal?: AbortSignal,
): Promise<OrganizationAccount[]> {
  const accounts: OrganizationAccount[] = [];
  for await (const page of paginateListAccounts({ client: organizations }, {}, { abortSignal: signal })) {
    for (const account of page.Accounts ?? []) {
      if (!account.Id || !isActive(account)) continue;
      if (filter.include.length > 0 && !filter.include.includes(account.Id)) continue;
      if (filter.exclude.includes(account.Id)) continue;
      accounts.push({ id: account.Id, name: account.Name });
    }
  }
  return accounts;
}

/**
 * When each account of the organization was last inventoried with every row accepted. With it, a run
 * cut short by its time budget is followed by runs that start with the accounts it left out.
 */
export interface AccountProgress {
  readonly description: string;
  /** The accounts among `accountIds` inventoried before, and when (the snapshot time). */
  lastInventoried(accountIds: readonly string[]): Promise<ReadonlyMap<string, Date>>;
  recordInventoried(accountIds: readonly string[], snapshotTime: Date, runId: string): Promise<void>;
}

/** Never inventoried first, then the least recently inventoried; account ID breaks ties. */
export function leastRecentlyInventoriedFirst(
  accounts: readonly OrganizationAccount[],
  lastInventoried: ReadonlyMap<string, Date>,
): OrganizationAccount[] {
  const time = (account: OrganizationAccount) =>
    lastInventoried.get(account.id)?.getTime() ?? Number.NEGATIVE_INFINITY;
  return [...accounts].sort((a, b) => time(a) - time(b) || a.id.localeCompare(b.id));
}

function isActive(account: Account): boolean {
  const state = (account as { State?: string }).State ?? account.Status;
  return state === 'ACTIVE';
}

/** Parses `aws-accounts`: 12-digit IDs separated by commas or spaces; `!` before an ID excludes it. */
export function parseAccountFilter(text: string | undefined): AccountFilter | string {
  const include: string[] = [];
  const exclude: string[] = [];
  for (const entry of (text ?? '').split(/[\s,]+/).filter(Boolean)) {
    const match = /^(!?)(\d{12})$/.exec(entry);
    if (!match) return `"${entry}" is neither a 12-digit account ID nor !<12-digit account ID>`;
    (match[1] ? exclude : include).push(match[2] ?? '');
  }
  return { include, exclude };
}
