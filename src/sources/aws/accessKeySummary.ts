import type { AWSIAMAccessKeysRow } from '../../tables/generated.js';

export interface AccessKeySummary {
  keys: number;
  activeKeys: number;
  activeOlderThan90Days: number;
  neverUsed: number;
  usersWithKeysWithoutMfa: number;
}

/** Accumulates what a security engineer asks first about a snapshot, batch by batch. */
export function accessKeySummarizer(): {
  add(rows: readonly AWSIAMAccessKeysRow[]): void;
  result(): AccessKeySummary;
} {
  const summary: AccessKeySummary = {
    keys: 0,
    activeKeys: 0,
    activeOlderThan90Days: 0,
    neverUsed: 0,
    usersWithKeysWithoutMfa: 0,
  };
  const usersWithoutMfa = new Set<string>();
  return {
    add(rows) {
      for (const row of rows) {
        summary.keys += 1;
        const active = row.Status === 'Active';
        if (active) summary.activeKeys += 1;
        if (active && (row.KeyAgeDays ?? 0) > 90) summary.activeOlderThan90Days += 1;
        if (row.LastUsedDate === null) summary.neverUsed += 1;
        if (row.MfaActive === false) usersWithoutMfa.add(`${row.AccountId ?? ''}/${row.UserName ?? ''}`);
      }
      summary.usersWithKeysWithoutMfa = usersWithoutMfa.size;
    },
    result: () => ({ ...summary }),
  };
}
