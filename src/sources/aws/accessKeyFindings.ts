import { oldKeyDays, type AccessKeySummary, type KeyFinding } from './accessKeySummary.js';

/** The findings a security engineer acts on, worst first, at most `limit` of each kind. */
export function renderAccessKeyFindings(keys: AccessKeySummary, limit: number): string[] {
  const { findings } = keys;
  const lines: string[] = [];
  const section = <T>(title: string, items: readonly T[], line: (item: T) => string) => {
    if (items.length === 0) return;
    lines.push('', `${title}: ${items.length}`);
    for (const item of items.slice(0, limit)) lines.push(`  ${line(item)}`);
    if (items.length > limit) lines.push(`  … and ${items.length - limit} more (--all lists them)`);
  };
  const key = (k: KeyFinding) =>
    `${k.accountId}  ${k.userName}  ${k.accessKeyId}  ${k.ageDays ?? '?'} days old, ` +
    (k.lastUsedDate === null ? 'never used' : `last used ${k.lastUsedDate.slice(0, 10)}`);
  section('Active root-account access keys', findings.activeRootKeys, key);
  section(`Active keys older than ${oldKeyDays} days`, findings.activeOldKeys, key);
  section('Console password without MFA, holding active keys', findings.consoleWithoutMfa, (u) => {
    const plural = u.activeKeys === 1 ? 'key' : 'keys';
    return `${u.accountId}  ${u.userName}  ${u.activeKeys} active ${plural}, oldest ${u.oldestKeyAgeDays ?? '?'} days`;
  });
  section('Active keys never used', findings.activeNeverUsed, key);
  return lines;
}
