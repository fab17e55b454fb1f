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
 * current field; `Status` (deprecated) is read when an older API answers without it.
 */
export async function listActiveAccounts(
  organizations: OrganizationsClient,
  filter: AccountFilter,
): Promise<OrganizationAccount[]> {
  const accounts: OrganizationAccount[] = [];
  for await (const page of paginateListAccounts({ client: organizations }, {})) {
    for (const account of page.Accounts ?? []) {
      if (!account.Id || !isActive(account)) continue;
      if (filter.include.length > 0 && !filter.include.includes(account.Id)) continue;
      if (filter.exclude.includes(account.Id)) continue;
      accounts.push({ id: account.Id, name: account.Name });
    }
  }
  return accounts;
}

const hourMs = 3_600_000;
const goldenRatio = (1 + Math.sqrt(5)) / 2;

/**
 * The accounts in the order one run starts them: sorted by ID, then rotated by an offset that moves
 * with the run's hour in golden-ratio steps. When a time budget ends a run before every account was
 * started, the accounts left out come early in the next runs instead of always last; hourly and
 * daily schedules alike get a different start each run.
 */
export function orderForRun(accounts: readonly OrganizationAccount[], runStart: Date): OrganizationAccount[] {
  const sorted = [...accounts].sort((a, b) => a.id.localeCompare(b.id));
  if (sorted.length === 0) return sorted;
  const hour = Math.floor(runStart.getTime() / hourMs);
  const offset = Math.floor(((hour * goldenRatio) % 1) * sorted.length);
  return [...sorted.slice(offset), ...sorted.slice(0, offset)];
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
