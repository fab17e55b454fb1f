// People across clouds (issue 17), offline: the findings of infra/people/*.kql computed from table rows (the
// NDJSON files of dry runs, the demo's accepted records), for the CLI (`people`) and the demo. The rules and
// settings are infra/people/matching.json's, through the generated matching.generated.ts; the logic is the
// KQL of infra/people/block.kql.tmpl statement by statement (same names), so the two can be read side by side.
// Kusto semantics kept: a null string is '', string comparisons with =~ / in~ ignore case, ago() is `now`
// minus the span, a rows' duplicate (a retried upload) is removed by arg_max(TimeGenerated).
import type {
  AWSIAMAccessKeysRow,
  CollectorRunsRow,
  EntraAuditLogsRow,
  EntraSignInsRow,
  EntraUsersRow,
} from '../tables/generated.js';
import {
  matchingRules,
  peopleSettingDefaults,
  type MatchingRule,
  type PeopleSettings,
} from './matching.generated.js';

export interface PeopleInput {
  readonly keys: readonly AWSIAMAccessKeysRow[];
  readonly users: readonly EntraUsersRow[];
  readonly runs: readonly CollectorRunsRow[];
  readonly signIns?: readonly EntraSignInsRow[];
  readonly audits?: readonly EntraAuditLogsRow[];
}

export interface PeopleOptions {
  /** What ago() counts from. Default: now. */
  readonly now?: Date;
  readonly settings?: Partial<PeopleSettings>;
  /** Default: the rules of infra/people/matching.json. */
  readonly rules?: readonly MatchingRule[];
}

export type EntraStatus = 'Enabled' | 'Disabled' | 'Deleted' | 'Unknown';
export type LeaverReason = 'deleted' | 'disabled' | 'inactive' | '';

export interface EntraPerson {
  readonly userId: string;
  readonly userPrincipalName: string;
  readonly displayName: string;
  readonly mail: string;
  readonly department: string;
  readonly onPremisesSamAccountName: string;
  readonly onPremisesUserPrincipalName: string;
  readonly status: EntraStatus;
  readonly lastSeen: Date;
  readonly lastSignIn: Date | null;
  readonly leaverReason: LeaverReason;
  readonly leaveDate: Date | null;
  readonly leaveDateSource: 'audit log' | 'snapshots' | 'last sign-in' | '';
}

/** One access key of a fresh account, with the person its IAM user is matched to (person null: nobody). */
export interface PersonKey {
  readonly key: AWSIAMAccessKeysRow;
  readonly personKey: string;
  readonly person: EntraPerson | null;
  readonly matchRule: string;
  readonly ambiguousRules: readonly string[];
}

export interface SignInFacts {
  readonly lastSuccessfulSignIn: Date | null;
  readonly riskySignIns: number;
  readonly lastRiskySignIn: Date | null;
  readonly riskLevels: readonly string[];
  readonly riskStates: readonly string[];
  readonly singleFactorSignIns: number;
  readonly mfaSignIns: number;
}

export interface Leaver extends PersonKey {
  readonly person: EntraPerson;
  readonly keyUsedAfterLeave: boolean;
}

export interface WeakestLink {
  readonly person: EntraPerson;
  readonly keys: readonly PersonKey[];
  readonly signIns: SignInFacts;
}

export interface MfaInNeither {
  readonly person: EntraPerson;
  readonly accountId: string;
  readonly accountName: string;
  readonly userName: string;
  readonly activeKeys: number;
  readonly signIns: SignInFacts;
}

export interface CrossCloudPerson {
  readonly personKey: string;
  readonly person: EntraPerson | null;
  readonly keys: readonly PersonKey[];
  readonly leaver: LeaverReason;
  readonly keyUsedAfterLeave: boolean;
  readonly orphan: boolean;
  readonly weakestLink: boolean;
  readonly mfaInNeither: boolean;
}

export interface Freshness {
  readonly source: 'Entra users snapshot' | 'Entra sign-ins' | 'AWS access keys snapshot';
  readonly scope: string;
  readonly snapshotId: string;
  readonly snapshotTime: Date | null;
  readonly fresh: boolean;
}

export interface PeopleFindings {
  readonly settings: PeopleSettings;
  readonly freshness: readonly Freshness[];
  readonly entraFresh: boolean;
  readonly signInsFresh: boolean;
  readonly entraSnapshotTime: Date | null;
  readonly personKeys: readonly PersonKey[];
  readonly leaversWithActiveKey: readonly Leaver[];
  readonly orphanKeys: readonly PersonKey[];
  readonly weakestLinks: readonly WeakestLink[];
  readonly mfaInNeither: readonly MfaInNeither[];
  readonly people: readonly CrossCloudPerson[];
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const EPOCH = 0;

const time = (value: string | null | undefined): number | null => {
  if (value === null || value === undefined || value === '') return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
};
const date = (ms: number | null): Date | null => (ms === null ? null : new Date(ms));
const str = (value: string | null | undefined): string => value ?? '';
const lower = (value: string | null | undefined): string => str(value).toLowerCase();
const maxOf = (...values: (number | null)[]): number | null =>
  values.reduce<number | null>((max, v) => (v !== null && (max === null || v > max) ? v : max), null);

/** Kusto `tolower(trim(@'\s+', value))`: RE2's \s is [\t\n\f\r ]. */
export function normalizeIdentity(value: string | null | undefined): string {
  return str(value)
    .replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '')
    .toLowerCase();
}

/** Kusto `extract(@'^(?:[^\\]*\\)?([^@]*)', 1, value)`: the name without a DOMAIN\ prefix and an @domain. */
export function localPart(value: string): string {
  return /^(?:[^\\]*\\)?([^@]*)/.exec(value)?.[1] ?? '';
}

/** The key a rule compares on the IAM side ('' = the rule does not apply). */
export function iamMatchKey(rule: MatchingRule, value: string | null | undefined): string {
  const normalized = normalizeIdentity(value);
  switch (rule.compare) {
    case 'exact':
      return normalized;
    case 'bare-name':
      return normalized.includes('@') || normalized.includes('\\') ? '' : normalized;
    case 'any-domain':
      return localPart(normalized);
  }
}

/** The key a rule compares on the Entra side. */
export function entraMatchKey(rule: MatchingRule, value: string | null | undefined): string {
  const normalized = normalizeIdentity(value);
  return rule.compare === 'exact' ? normalized : localPart(normalized);
}

/** arg_max(TimeGenerated, *) by key. */
function latestBy<T extends { TimeGenerated: string }>(rows: Iterable<T>, key: (row: T) => string): T[] {
  const out = new Map<string, T>();
  for (const row of rows) {
    const k = key(row);
    const seen = out.get(k);
    if (seen === undefined || (time(row.TimeGenerated) ?? 0) > (time(seen.TimeGenerated) ?? 0))
      out.set(k, row);
  }
  return [...out.values()];
}

function groupBy<T>(rows: Iterable<T>, key: (row: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

interface UserTarget {
  id?: unknown;
}

/** Every finding of infra/people, from rows. */
export function matchIdentities(input: PeopleInput, options: PeopleOptions = {}): PeopleFindings {
  const settings: PeopleSettings = { ...peopleSettingDefaults, ...options.settings };
  const rules = options.rules ?? matchingRules;
  const now = (options.now ?? new Date()).getTime();
  const ago = (ms: number) => now - ms;
  const inLookback = (row: { TimeGenerated: string }) =>
    (time(row.TimeGenerated) ?? -Infinity) > ago(settings.lookbackDays * DAY);

  // peopleRuns
  const runs = latestBy(input.runs.filter(inLookback), (r) => `${str(r.RunId)}\u0000${str(r.Collector)}`);
  const runIds = (predicate: (run: CollectorRunsRow) => boolean) =>
    new Set(runs.filter(predicate).map((run) => str(run.RunId)));

  // entraRows, entraSnapshots, entraSnapshotTime, entraSnapshotId, entraFresh
  const entraRows = latestBy(
    input.users.filter(inLookback),
    (r) => `${str(r.SnapshotId)}\u0000${str(r.UserId)}`,
  );
  const usersRuns = runIds((run) => run.Collector === 'entra-users' && run.Status === 'Succeeded');
  const entraSnapshots = new Map<string, number>();
  for (const row of entraRows) {
    const id = str(row.SnapshotId);
    if (!usersRuns.has(id)) continue;
    const t = time(row.TimeGenerated) ?? 0;
    entraSnapshots.set(id, Math.min(entraSnapshots.get(id) ?? Infinity, t));
  }
  let entraSnapshotTime: number | null = null;
  let entraSnapshotId = '';
  for (const [id, t] of entraSnapshots)
    if (entraSnapshotTime === null || t > entraSnapshotTime) [entraSnapshotTime, entraSnapshotId] = [t, id];
  const entraFresh =
    entraSnapshotTime !== null && entraSnapshotTime > ago(settings.snapshotMaxAgeHours * HOUR);

  // signInsWindowEnd, signInsFresh
  const signInsWindowEnd = maxOf(
    ...runs
      .filter((run) => run.Collector === 'entra-signins' && run.Status === 'Succeeded')
      .map((run) => time(run.WindowEnd)),
  );
  const signInsFresh =
    signInsWindowEnd !== null && signInsWindowEnd > ago(settings.signInsMaxAgeHours * HOUR);

  // leaveEvents
  const leaveEvents = new Map<string, { disabled: number | null; deleted: number | null }>();
  const audits = latestBy(
    (input.audits ?? [])
      .filter(inLookback)
      .filter(
        (a) =>
          ['Disable account', 'Delete user'].includes(str(a.OperationName)) && lower(a.Result) === 'success',
      ),
    (a) => str(a.Id),
  );
  for (const audit of audits) {
    const targets = Array.isArray(audit.TargetResources) ? (audit.TargetResources as UserTarget[]) : [];
    for (const target of targets) {
      const userId = typeof target?.id === 'string' ? target.id : '';
      if (userId === '') continue;
      const event = leaveEvents.get(userId) ?? { disabled: null, deleted: null };
      const at = time(audit.ActivityDateTime);
      if (audit.OperationName === 'Disable account') event.disabled = maxOf(event.disabled, at);
      else event.deleted = maxOf(event.deleted, at);
      leaveEvents.set(userId, event);
    }
  }

  // disabledSeen, deletedSeen
  const rowsByUser = groupBy(entraRows, (row) => str(row.UserId));
  const disabledSeen = new Map<string, number>();
  const deletedSeen = new Map<string, number>();
  for (const [userId, rows] of rowsByUser) {
    const lastEnabled = maxOf(
      ...rows.filter((r) => r.AccountEnabled === true).map((r) => time(r.TimeGenerated)),
    );
    if (lastEnabled !== null) {
      const after = rows
        .filter((r) => r.AccountEnabled === false)
        .map((r) => time(r.TimeGenerated) ?? 0)
        .filter((t) => t > lastEnabled);
      if (after.length > 0) disabledSeen.set(userId, Math.min(...after));
    }
    const lastSeen = maxOf(...rows.map((r) => time(r.TimeGenerated))) ?? 0;
    if (entraSnapshotTime !== null && lastSeen < entraSnapshotTime) {
      const later = [...entraSnapshots.values()].filter((t) => t > lastSeen);
      if (later.length > 0) deletedSeen.set(userId, Math.min(...later));
    }
  }

  // signInFacts
  const signInFacts = new Map<string, SignInFacts>();
  const signIns = latestBy(
    (input.signIns ?? []).filter(
      (s) => (time(s.TimeGenerated) ?? -Infinity) > ago(settings.signInDays * DAY),
    ),
    (s) => str(s.Id),
  ).filter((s) => str(s.UserId) !== '');
  for (const [userId, rows] of groupBy(signIns, (s) => str(s.UserId))) {
    const facts = {
      lastSuccessfulSignIn: null as number | null,
      riskySignIns: 0,
      lastRiskySignIn: null as number | null,
      riskLevels: new Set<string>(),
      riskStates: new Set<string>(),
      singleFactorSignIns: 0,
      mfaSignIns: 0,
    };
    for (const s of rows) {
      const succeeded = s.ResultType === '0';
      const risky =
        lower(s.RiskState) === 'confirmedcompromised' ||
        ((['medium', 'high'].includes(lower(s.RiskLevelDuringSignIn)) ||
          ['medium', 'high'].includes(lower(s.RiskLevelAggregated))) &&
          !['remediated', 'dismissed'].includes(lower(s.RiskState)));
      const created = time(s.CreatedDateTime);
      if (succeeded) facts.lastSuccessfulSignIn = maxOf(facts.lastSuccessfulSignIn, created);
      if (risky) {
        facts.riskySignIns += 1;
        facts.lastRiskySignIn = maxOf(facts.lastRiskySignIn, created);
        if (facts.riskLevels.size < 5) facts.riskLevels.add(str(s.RiskLevelDuringSignIn));
        if (facts.riskStates.size < 5) facts.riskStates.add(str(s.RiskState));
      }
      if (succeeded && s.IsInteractive === true) {
        if (lower(s.AuthenticationRequirement) === 'singlefactorauthentication')
          facts.singleFactorSignIns += 1;
        if (lower(s.AuthenticationRequirement) === 'multifactorauthentication') facts.mfaSignIns += 1;
      }
    }
    signInFacts.set(userId, {
      ...facts,
      lastSuccessfulSignIn: date(facts.lastSuccessfulSignIn),
      lastRiskySignIn: date(facts.lastRiskySignIn),
      riskLevels: [...facts.riskLevels],
      riskStates: [...facts.riskStates],
    });
  }

  // entraPeople
  const people = new Map<string, EntraPerson>();
  for (const [userId, rows] of rowsByUser) {
    const last = latestBy(rows, () => '')[0] as EntraUsersRow;
    const lastSeen = time(last.TimeGenerated) ?? 0;
    const current = rows.find((r) => str(r.SnapshotId) === entraSnapshotId && entraSnapshotId !== '');
    const status: EntraStatus =
      current !== undefined
        ? current.AccountEnabled === false
          ? 'Disabled'
          : 'Enabled'
        : entraSnapshotTime !== null && lastSeen < entraSnapshotTime
          ? 'Deleted'
          : 'Unknown';
    const snapshotSignIn =
      current === undefined
        ? null
        : (time(current.LastSuccessfulSignInDateTime) ??
          maxOf(time(current.LastSignInDateTime), time(current.LastNonInteractiveSignInDateTime)) ??
          EPOCH);
    const signInOrEpoch =
      maxOf(snapshotSignIn ?? EPOCH, signInFacts.get(userId)?.lastSuccessfulSignIn?.getTime() ?? EPOCH) ??
      EPOCH;
    const lastSignIn = signInOrEpoch === EPOCH ? null : signInOrEpoch;
    const inactive =
      status === 'Enabled' &&
      current?.SignInActivityCollected === true &&
      signInOrEpoch < ago(settings.inactiveDays * DAY) &&
      (time(last.CreatedDateTime) ?? EPOCH) < ago(settings.inactiveDays * DAY);
    const leaverReason: LeaverReason =
      status === 'Deleted' ? 'deleted' : status === 'Disabled' ? 'disabled' : inactive ? 'inactive' : '';
    const events = leaveEvents.get(userId);
    const eventTime =
      leaverReason === 'deleted'
        ? (events?.deleted ?? null)
        : leaverReason === 'disabled'
          ? (events?.disabled ?? null)
          : null;
    const seenTime =
      leaverReason === 'deleted'
        ? (deletedSeen.get(userId) ?? null)
        : leaverReason === 'disabled'
          ? (disabledSeen.get(userId) ?? null)
          : null;
    const leaveDate = leaverReason === 'inactive' ? lastSignIn : (eventTime ?? seenTime);
    people.set(userId, {
      userId,
      userPrincipalName: str(last.UserPrincipalName),
      displayName: str(last.UserDisplayName),
      mail: str(last.Mail),
      department: str(last.Department),
      onPremisesSamAccountName: str(last.OnPremisesSamAccountName),
      onPremisesUserPrincipalName: str(last.OnPremisesUserPrincipalName),
      status,
      lastSeen: new Date(lastSeen),
      lastSignIn: date(lastSignIn),
      leaverReason,
      leaveDate: date(leaveDate),
      leaveDateSource:
        leaveDate === null
          ? ''
          : leaverReason === 'inactive'
            ? 'last sign-in'
            : eventTime !== null
              ? 'audit log'
              : 'snapshots',
    });
  }

  // awsSnapshots, awsKeys
  const awsRuns = runIds((run) => run.Collector === 'aws-access-keys' && run.Status !== 'Failed');
  const keyRows = input.keys.filter(inLookback);
  const snapshotTimes = new Map<string, { accountId: string; snapshotId: string; time: number }>();
  for (const row of keyRows) {
    if (!awsRuns.has(str(row.SnapshotId))) continue;
    const k = `${str(row.AccountId)}\u0000${str(row.SnapshotId)}`;
    const t = time(row.TimeGenerated) ?? 0;
    const seen = snapshotTimes.get(k);
    if (seen === undefined || t < seen.time)
      snapshotTimes.set(k, { accountId: str(row.AccountId), snapshotId: str(row.SnapshotId), time: t });
  }
  const awsSnapshots = new Map<string, { snapshotId: string; time: number; fresh: boolean }>();
  for (const s of snapshotTimes.values()) {
    const seen = awsSnapshots.get(s.accountId);
    if (seen === undefined || s.time > seen.time)
      awsSnapshots.set(s.accountId, {
        snapshotId: s.snapshotId,
        time: s.time,
        fresh: s.time > ago(settings.snapshotMaxAgeHours * HOUR),
      });
  }
  const awsKeys = latestBy(
    keyRows.filter((row) => {
      const snapshot = awsSnapshots.get(str(row.AccountId));
      return (
        row.UserName !== '<root_account>' &&
        snapshot?.fresh === true &&
        snapshot.snapshotId === str(row.SnapshotId)
      );
    }),
    (row) =>
      [row.AccountId, row.SnapshotId, row.UserName, row.AccessKeyId, time(row.CreateDate) ?? '']
        .map(String)
        .join('\u0000'),
  );

  // iamUsers, matching (ruleMatches, identityMatches, ambiguousMatches)
  const iamUserKey = (row: AWSIAMAccessKeysRow) => `${str(row.AccountId)}\u0000${str(row.UserName)}`;
  const iamUsers = latestBy(awsKeys, iamUserKey);
  const entraKeys = rules.map((rule) => {
    const byKey = new Map<string, Set<string>>();
    for (const person of people.values()) {
      const value = {
        UserPrincipalName: person.userPrincipalName,
        Mail: person.mail,
        OnPremisesSamAccountName: person.onPremisesSamAccountName,
        OnPremisesUserPrincipalName: person.onPremisesUserPrincipalName,
      }[rule.entra];
      const key = entraMatchKey(rule, value);
      if (key === '') continue;
      const set = byKey.get(key) ?? new Set<string>();
      set.add(person.userId);
      byKey.set(key, set);
    }
    return byKey;
  });
  const matches = new Map<string, { rule: string; personId: string | null; ambiguous: string[] }>();
  for (const user of iamUsers) {
    let found: { rule: string; personId: string } | undefined;
    const ambiguous: string[] = [];
    for (const [i, rule] of rules.entries()) {
      const value = rule.iam === 'UserName' ? user.UserName : user.OwnerTag;
      const key = iamMatchKey(rule, value);
      if (key === '') continue;
      const candidates = entraKeys[i]?.get(key);
      if (candidates === undefined) continue;
      if (candidates.size > 1) ambiguous.push(rule.name);
      else if (found === undefined) found = { rule: rule.name, personId: [...candidates][0] as string };
    }
    matches.set(iamUserKey(user), { rule: found?.rule ?? '', personId: found?.personId ?? null, ambiguous });
  }

  // personKeys
  const personKeys: PersonKey[] = awsKeys.map((key) => {
    const match = matches.get(iamUserKey(key));
    const person = match?.personId ? (people.get(match.personId) ?? null) : null;
    return {
      key,
      person,
      personKey: person ? person.userId : `aws:${str(key.AccountId)}/${str(key.UserName)}`,
      matchRule: match?.rule ?? '',
      ambiguousRules: match?.ambiguous ?? [],
    };
  });

  // leaversWithActiveKey, orphanKeys
  const active = (k: PersonKey) => k.key.Status === 'Active';
  const leaversWithActiveKey: Leaver[] = entraFresh
    ? personKeys
        .filter(
          (k): k is PersonKey & { person: EntraPerson } => active(k) && (k.person?.leaverReason ?? '') !== '',
        )
        .map((k) => {
          const used = time(k.key.LastUsedDate);
          const left = k.person.leaveDate?.getTime() ?? null;
          return { ...k, keyUsedAfterLeave: left !== null && used !== null && used > left };
        })
    : [];
  const orphanKeys = entraFresh
    ? personKeys.filter((k) => {
        const created = time(k.key.UserCreateDate);
        return active(k) && k.person === null && created !== null && created < (entraSnapshotTime ?? 0);
      })
    : [];

  // weakestLinks, mfaInNeither
  const byPerson = groupBy(
    personKeys.filter((k) => k.person !== null),
    (k) => k.personKey,
  );
  const weakestLinks: WeakestLink[] = [];
  const mfaInNeither: MfaInNeither[] = [];
  if (entraFresh) {
    for (const keys of byPerson.values()) {
      const person = keys[0]?.person as EntraPerson;
      const facts = signInFacts.get(person.userId);
      const activeKeys = keys.filter(active);
      if (facts !== undefined && facts.riskySignIns > 0 && activeKeys.length > 0)
        weakestLinks.push({ person, keys: activeKeys, signIns: facts });
      if (!signInsFresh || facts === undefined || facts.singleFactorSignIns === 0 || facts.mfaSignIns > 0)
        continue;
      for (const userKeys of groupBy(
        keys.filter((k) => k.key.PasswordEnabled === true && k.key.MfaActive === false),
        (k) => iamUserKey(k.key),
      ).values()) {
        const first = (userKeys[0] as PersonKey).key;
        mfaInNeither.push({
          person,
          accountId: str(first.AccountId),
          accountName: str(first.AccountName),
          userName: str(first.UserName),
          activeKeys: userKeys.filter(active).length,
          signIns: facts,
        });
      }
    }
  }

  // crossCloudPeople
  const leaverOf = new Map(leaversWithActiveKey.map((l) => [l.personKey, l]));
  const orphans = new Set(orphanKeys.map((k) => k.personKey));
  const weak = new Set(weakestLinks.map((w) => w.person.userId));
  const mfa = new Set(mfaInNeither.map((m) => m.person.userId));
  const crossCloudPeople: CrossCloudPerson[] = [...groupBy(personKeys, (k) => k.personKey)].map(
    ([personKey, keys]) => {
      const person = keys[0]?.person ?? null;
      return {
        personKey,
        person,
        keys,
        leaver: person ? (leaverOf.get(personKey)?.person.leaverReason ?? '') : '',
        keyUsedAfterLeave: leaversWithActiveKey.some((l) => l.personKey === personKey && l.keyUsedAfterLeave),
        orphan: orphans.has(personKey),
        weakestLink: person !== null && weak.has(person.userId),
        mfaInNeither: person !== null && mfa.has(person.userId),
      };
    },
  );

  // peopleFreshness
  const freshness: Freshness[] = [
    {
      source: 'Entra users snapshot',
      scope: 'tenant',
      snapshotId: entraSnapshotId,
      snapshotTime: date(entraSnapshotTime),
      fresh: entraFresh,
    },
    {
      source: 'Entra sign-ins',
      scope: 'entra-signins',
      snapshotId: '',
      snapshotTime: date(signInsWindowEnd),
      fresh: signInsFresh,
    },
    ...[...awsSnapshots].map(([accountId, s]): Freshness => ({
      source: 'AWS access keys snapshot',
      scope: accountId,
      snapshotId: s.snapshotId,
      snapshotTime: new Date(s.time),
      fresh: s.fresh,
    })),
  ];

  return {
    settings,
    freshness,
    entraFresh,
    signInsFresh,
    entraSnapshotTime: date(entraSnapshotTime),
    personKeys,
    leaversWithActiveKey,
    orphanKeys,
    weakestLinks,
    mfaInNeither,
    people: crossCloudPeople,
  };
}
