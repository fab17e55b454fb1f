import type { EntraSignInsRow } from '../../tables/generated.js';

/** How often one value (a user, an app, an address) appears among the window's failed sign-ins. */
export interface FailureCount {
  readonly value: string;
  readonly failures: number;
}

export interface SignInSummary {
  readonly signIns: number;
  readonly failed: number;
  /** Worst first, at most `top` each. */
  readonly topUsers: readonly FailureCount[];
  readonly topApps: readonly FailureCount[];
  readonly topIpAddresses: readonly FailureCount[];
}

/**
 * Who fails to sign in, to what, from where: the first questions about a window of sign-ins. A sign-in
 * failed when its ResultType (Graph's status.errorCode) is not "0". Counts are kept per distinct value,
 * so memory grows with distinct users/apps/addresses, not with sign-ins.
 */
export function signInSummarizer(top = 10): {
  add(rows: readonly EntraSignInsRow[]): void;
  result(): SignInSummary;
} {
  let signIns = 0;
  let failed = 0;
  const users = new Map<string, number>();
  const apps = new Map<string, number>();
  const addresses = new Map<string, number>();
  const count = (map: Map<string, number>, value: string | null) => {
    const key = value || '(none)';
    map.set(key, (map.get(key) ?? 0) + 1);
  };
  const worst = (map: Map<string, number>): FailureCount[] =>
    [...map]
      .map(([value, failures]) => ({ value, failures }))
      .sort((a, b) => b.failures - a.failures || a.value.localeCompare(b.value))
      .slice(0, top);
  return {
    add(rows) {
      for (const row of rows) {
        signIns += 1;
        if (row.ResultType === null || row.ResultType === '0') continue;
        failed += 1;
        count(users, row.UserPrincipalName);
        count(apps, row.AppDisplayName);
        count(addresses, row.IPAddress);
      }
    },
    result: () => ({
      signIns,
      failed,
      topUsers: worst(users),
      topApps: worst(apps),
      topIpAddresses: worst(addresses),
    }),
  };
}
