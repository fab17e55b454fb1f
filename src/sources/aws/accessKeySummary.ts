import { maskAccessKeyId } from '../../lib/redact.js';
import type { AWSIAMAccessKeysRow } from '../../tables/generated.js';
import { rootUserName } from './credentialReport.js';

/** Keys older than this are "old" in the summary, as in the workbooks and the README. */
export const oldKeyDays = 90;

export interface AccessKeySummary {
  keys: number;
  activeKeys: number;
  activeOlderThan90Days: number;
  neverUsed: number;
  usersWithKeysWithoutMfa: number;
  readonly findings: AccessKeyFindings;
}

/** One key a security engineer acts on: whose it is, which (masked), how old, when last used. */
export interface KeyFinding {
  readonly accountId: string;
  readonly userName: string;
  /** Always masked here, whatever ACCESS_KEY_ID_MODE says: this goes to a terminal. */
  readonly accessKeyId: string;
  readonly ageDays: number | null;
  readonly lastUsedDate: string | null;
}

/** A person-like IAM user who can sign in to the console without MFA and holds keys. */
export interface UserFinding {
  readonly accountId: string;
  readonly userName: string;
  readonly activeKeys: number;
  readonly oldestKeyAgeDays: number | null;
}

/** Each list sorted worst first: oldest keys first, users with the oldest keys first. */
export interface AccessKeyFindings {
  readonly activeRootKeys: readonly KeyFinding[];
  readonly activeOldKeys: readonly KeyFinding[];
  readonly consoleWithoutMfa: readonly UserFinding[];
  readonly activeNeverUsed: readonly KeyFinding[];
}

/** Accumulates what a security engineer asks first about a snapshot, batch by batch. */
export function accessKeySummarizer(): {
  add(rows: readonly AWSIAMAccessKeysRow[]): void;
  result(): AccessKeySummary;
} {
  const counts = { keys: 0, activeKeys: 0, activeOlderThan90Days: 0, neverUsed: 0 };
  const usersWithoutMfa = new Set<string>();
  const rootKeys: KeyFinding[] = [];
  const oldKeys: KeyFinding[] = [];
  const neverUsedKeys: KeyFinding[] = [];
  const consoleUsers = new Map<string, UserFinding>();

  return {
    add(rows) {
      for (const row of rows) {
        counts.keys += 1;
        const active = row.Status === 'Active';
        const age = row.KeyAgeDays ?? null;
        if (row.LastUsedDate === null) counts.neverUsed += 1;
        const user = `${row.AccountId ?? ''}/${row.UserName ?? ''}`;
        if (row.MfaActive === false) usersWithoutMfa.add(user);
        if (!active) continue;
        counts.activeKeys += 1;
        const finding = keyFinding(row);
        if (row.UserName === rootUserName) rootKeys.push(finding);
        if ((age ?? 0) > oldKeyDays) {
          counts.activeOlderThan90Days += 1;
          oldKeys.push(finding);
        }
        if (row.LastUsedDate === null) neverUsedKeys.push(finding);
        if (row.PasswordEnabled === true && row.MfaActive === false && row.UserName !== rootUserName) {
          const seen = consoleUsers.get(user);
          const oldest = Math.max(seen?.oldestKeyAgeDays ?? -1, age ?? -1);
          consoleUsers.set(user, {
            accountId: row.AccountId ?? '',
            userName: row.UserName ?? '',
            activeKeys: (seen?.activeKeys ?? 0) + 1,
            oldestKeyAgeDays: oldest < 0 ? null : oldest,
          });
        }
      }
    },
    result: () => ({
      ...counts,
      usersWithKeysWithoutMfa: usersWithoutMfa.size,
      findings: {
        activeRootKeys: [...rootKeys].sort(oldestFirst),
        activeOldKeys: [...oldKeys].sort(oldestFirst),
        consoleWithoutMfa: [...consoleUsers.values()].sort(
          (a, b) =>
            (b.oldestKeyAgeDays ?? -1) - (a.oldestKeyAgeDays ?? -1) || a.userName.localeCompare(b.userName),
        ),
        activeNeverUsed: [...neverUsedKeys].sort(oldestFirst),
      },
    }),
  };
}

function keyFinding(row: AWSIAMAccessKeysRow): KeyFinding {
  const id = row.AccessKeyId ?? '';
  return {
    accountId: row.AccountId ?? '',
    userName: row.UserName ?? '',
    // Already masked unless ACCESS_KEY_ID_MODE=full; a full ID has no business on a terminal either.
    accessKeyId: id.includes('…') ? id : maskAccessKeyId(id),
    ageDays: row.KeyAgeDays ?? null,
    lastUsedDate: row.LastUsedDate ?? null,
  };
}

function oldestFirst(a: KeyFinding, b: KeyFinding): number {
  return (b.ageDays ?? -1) - (a.ageDays ?? -1) || a.userName.localeCompare(b.userName);
}
