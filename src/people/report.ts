// What `crosscloud-identity-monitor people` (and the demo) prints: the people-across-clouds findings by name,
// worst first, 10 of each kind unless --all. Key IDs are always masked here.
import { maskAccessKeyId } from '../lib/redact.js';
import type { AWSIAMAccessKeysRow } from '../tables/generated.js';
import type { EntraPerson, PeopleFindings, PersonKey } from './matchIdentities.js';

export const PEOPLE_LIST_LIMIT = 10;

/** The headings the lists are printed under (the demo's test finds the lists by them). */
export const peopleHeadings = {
  leavers: 'leavers with an active AWS key:',
  orphans: 'orphan keys (IAM user matched to nobody):',
  weakestLinks:
    'weakest links (risky Entra sign-ins: medium or high risk, or confirmed compromised; active AWS keys):',
  mfaInNeither: 'MFA in neither cloud (AWS console password without MFA, single-factor Entra sign-ins):',
} as const;

const day = (value: Date | string | null | undefined): string =>
  value === null || value === undefined ? 'never' : new Date(value).toISOString().slice(0, 10);
const when = (value: Date | null, now: Date): string => {
  if (value === null) return 'unknown';
  const hours = (now.getTime() - value.getTime()) / 3_600_000;
  return `${value.toISOString().replace(/\.\d{3}Z$/, 'Z')} (${hours < 48 ? `${hours.toFixed(1)} h` : `${Math.floor(hours / 24)} days`} ago)`;
};
const maskedKey = (row: AWSIAMAccessKeysRow) => {
  const id = row.AccessKeyId ?? '';
  return id.includes('…') ? id : maskAccessKeyId(id);
};
const account = (row: AWSIAMAccessKeysRow) =>
  row.AccountName ? `${row.AccountName} (${row.AccountId ?? ''})` : (row.AccountId ?? '');
export const personName = (person: EntraPerson): string =>
  `${person.displayName || person.userPrincipalName} <${person.userPrincipalName}>`;
const keyText = (k: PersonKey) =>
  `${account(k.key)}/${k.key.UserName ?? ''} ${maskedKey(k.key)}, ${k.key.KeyAgeDays ?? '?'} days old, last used ${day(k.key.LastUsedDate)}`;

function list<T>(items: readonly T[], all: boolean, line: (item: T) => string): string[] {
  const shown = all ? items : items.slice(0, PEOPLE_LIST_LIMIT);
  const lines = shown.map((item) => `  ${line(item)}`);
  if (shown.length < items.length)
    lines.push(`  … and ${items.length - shown.length} more (--all lists them)`);
  if (items.length === 0) lines.push('  none');
  return lines;
}

export function renderPeopleReport(
  findings: PeopleFindings,
  options: { all?: boolean; now?: Date } = {},
): string {
  const all = options.all ?? false;
  const now = options.now ?? new Date();
  const s = findings.settings;
  const aws = findings.freshness.filter((f) => f.source === 'AWS access keys snapshot');
  const entra = findings.freshness.find((f) => f.source === 'Entra users snapshot');
  const signIns = findings.freshness.find((f) => f.source === 'Entra sign-ins');
  const iamUsers = new Set(
    findings.personKeys.map((k) => `${k.key.AccountId ?? ''}/${k.key.UserName ?? ''}`),
  );
  const matched = new Map<string, string>();
  for (const k of findings.personKeys)
    if (k.matchRule !== '') matched.set(`${k.key.AccountId ?? ''}/${k.key.UserName ?? ''}`, k.matchRule);
  const byRule = new Map<string, number>();
  for (const rule of matched.values()) byRule.set(rule, (byRule.get(rule) ?? 0) + 1);
  const leaverPeople = new Set(findings.leaversWithActiveKey.map((l) => l.personKey));

  const lines = [
    `people across clouds: ${iamUsers.size} IAM users with keys in ${aws.filter((a) => a.fresh).length} fresh AWS account${aws.length === 1 ? '' : 's'}, matched to Entra users by ${'infra/people/matching.json'}`,
    `  Entra users snapshot      ${entra?.snapshotTime ? when(entra.snapshotTime, now) : 'none (no Succeeded entra-users run)'}${entra?.fresh ? '' : `: not judged (older than ${s.snapshotMaxAgeHours} h or missing)`}`,
    `  AWS key snapshots         ${aws.filter((a) => a.fresh).length} account(s) fresh${
      aws.some((a) => !a.fresh)
        ? `, not judged (older than ${s.snapshotMaxAgeHours} h): ${aws
            .filter((a) => !a.fresh)
            .map((a) => a.scope)
            .join(', ')}`
        : ''
    }`,
    `  Entra sign-ins            ${signIns?.snapshotTime ? `read up to ${when(signIns.snapshotTime, now)}` : 'none'}${signIns?.fresh ? '' : ' (MFA in neither cloud not judged)'}`,
    `  IAM users matched         ${matched.size} of ${iamUsers.size}${byRule.size > 0 ? ` (${[...byRule].map(([rule, n]) => `${rule} ${n}`).join(', ')})` : ''}`,
    `  leavers with active keys  ${leaverPeople.size} (${findings.leaversWithActiveKey.length} keys, ${findings.leaversWithActiveKey.filter((l) => l.keyUsedAfterLeave).length} used after leaving)`,
    `  orphan keys               ${findings.orphanKeys.length}`,
    `  weakest links             ${findings.weakestLinks.length}`,
    `  MFA in neither cloud      ${findings.mfaInNeither.length}`,
  ];
  if (!findings.entraFresh) {
    lines.push(
      `No finding is judged: the latest complete Entra users snapshot is missing or older than ${s.snapshotMaxAgeHours} h.`,
    );
    return `${lines.join('\n')}\n`;
  }
  const leavers = [...findings.leaversWithActiveKey].sort(
    (a, b) =>
      Number(b.keyUsedAfterLeave) - Number(a.keyUsedAfterLeave) ||
      (Date.parse(b.key.LastUsedDate ?? '') || 0) - (Date.parse(a.key.LastUsedDate ?? '') || 0),
  );
  lines.push(
    peopleHeadings.leavers,
    ...list(leavers, all, (l) => {
      const reason =
        l.person.leaverReason === 'inactive'
          ? `no sign-in for ${s.inactiveDays}+ days (last ${day(l.person.lastSignIn)})`
          : `${l.person.leaverReason}${l.person.leaveDate ? ` ${day(l.person.leaveDate)} (${l.person.leaveDateSource})` : ''}`;
      const used =
        l.person.leaverReason === 'inactive' ? ' — USED SINCE THEIR LAST SIGN-IN' : ' — USED AFTER LEAVING';
      return `${personName(l.person)}, ${reason}: ${keyText(l)} [${l.matchRule}]${l.keyUsedAfterLeave ? used : ''}`;
    }),
    peopleHeadings.orphans,
    ...list(
      [...findings.orphanKeys].sort(
        (a, b) => (Date.parse(b.key.LastUsedDate ?? '') || 0) - (Date.parse(a.key.LastUsedDate ?? '') || 0),
      ),
      all,
      (k) =>
        `${keyText(k)}${k.ambiguousRules.length > 0 ? ` (ambiguous: ${k.ambiguousRules.join(', ')})` : ''}`,
    ),
    peopleHeadings.weakestLinks,
    ...list(
      [...findings.weakestLinks].sort(
        (a, b) => (b.signIns.lastRiskySignIn?.getTime() ?? 0) - (a.signIns.lastRiskySignIn?.getTime() ?? 0),
      ),
      all,
      (w) =>
        `${personName(w.person)}: ${w.signIns.riskySignIns} risky sign-in(s) (${w.signIns.riskLevels.join('/')}), last ${day(w.signIns.lastRiskySignIn)}; ${w.keys.length} active key(s) on ${[...new Set(w.keys.map((k) => `${account(k.key)}/${k.key.UserName ?? ''}`))].join(', ')}`,
    ),
    peopleHeadings.mfaInNeither,
    ...list(
      [...findings.mfaInNeither].sort((a, b) => personName(a.person).localeCompare(personName(b.person))),
      all,
      (m) =>
        `${personName(m.person)}: AWS ${m.accountName ? `${m.accountName} (${m.accountId})` : m.accountId}/${m.userName} console password, no MFA; ${m.signIns.singleFactorSignIns} single-factor Entra sign-in(s), none with MFA`,
    ),
  );
  return `${lines.join('\n')}\n`;
}
