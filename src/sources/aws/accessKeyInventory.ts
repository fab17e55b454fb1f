import {
  GetAccessKeyLastUsedCommand,
  GetLoginProfileCommand,
  ListMFADevicesCommand,
  paginateListAccessKeys,
  paginateListUsers,
  type AccessKeyMetadata,
  type IAMClient,
  type User,
} from '@aws-sdk/client-iam';
import type { InitializeMiddleware, MiddlewareStack } from '@smithy/types';
import { pMapIterable } from 'p-map';
import { abortError, raceAbort } from '../../run/collector.js';
import { maskAccessKeyId } from '../../lib/redact.js';
import type { AccessKeyFacts } from './accessKeyRow.js';
import { hasAwsErrorCode } from './awsErrors.js';
import {
  CredentialReportUnavailableError,
  fetchCredentialReport,
  rootUserName,
  type CredentialReport,
  type CredentialReportWait,
  type ReportKeySlot,
  type ReportUser,
} from './credentialReport.js';

/** Default of CREDENTIAL_REPORT_MAX_AGE_MINUTES. */
export const defaultCredentialReportMaxAgeMs = 15 * 60_000;
/** A report generated this little before the run started counts as the run's own (clock skew). */
const ownReportToleranceMs = 60_000;

export interface InventoryOptions {
  /** Users whose keys are fetched at once. */
  readonly concurrency: number;
  /** `auto`: credential report joined with ListAccessKeys, per-key calls if the report is unavailable. */
  readonly route?: 'auto' | 'api';
  readonly reportWait?: CredentialReportWait;
  /**
   * A report older than this when read is not trusted to say which users have no key: ListAccessKeys
   * is called for those users too (CREDENTIAL_REPORT_MAX_AGE_MINUTES; default 15 min). Younger, a key
   * created since the report on a user who then had none is missed by this snapshot: this bounds that.
   */
  readonly reportMaxAgeMs?: number;
  /** When the run started: a report generated before it was left by an earlier run or another tool. */
  readonly runStart?: Date;
  /** Now, in ms (tests); default Date.now. */
  readonly clock?: () => number;
  /**
   * Told what the run row should say: why the report route was abandoned, how old a reused report
   * was, which users were deleted while the run read them. Names users, never secrets or full key IDs.
   */
  readonly onWarning?: (warning: string) => void;
  /** Told when the credential report has been read (or given up on): the listing of users starts. */
  readonly onReportDone?: () => void;
  /**
   * The run's deadline: every call stops when it aborts (the request, the SDK's retry waits, the
   * credential report's polling), and the listing throws.
   */
  readonly signal?: AbortSignal;
}

/**
 * Makes every call of `client` stop when `signal` aborts: one already aborted is not made, one in flight
 * (its credentials, retries and their waits included) rejects at once. For calls made by code that takes
 * no signal (the credential report's waiter, the SDK's role-chaining providers); calls that can take
 * `{ abortSignal }` get it too, which also closes their request.
 */
export function abortCallsWith<Input extends object, Output extends object>(
  client: { middlewareStack: MiddlewareStack<Input, Output> },
  signal: AbortSignal | undefined,
): void {
  if (signal === undefined) return;
  stoppedBy.set(client, signal);
  const stop: InitializeMiddleware<Input, Output> = (next) => (args) =>
    signal.aborted ? Promise.reject(abortError(signal)) : raceAbort(next(args), signal);
  client.middlewareStack.add(stop, {
    step: 'initialize',
    priority: 'high',
    name: 'crosscloudAbortOnDeadline',
    override: true,
  });
}

/** Clients whose calls `abortCallsWith` stops, and the signal. */
const stoppedBy = new WeakMap<object, AbortSignal>();

/**
 * The options of one call of `client` that must stop when `signal` aborts: none when `abortCallsWith`
 * already stops its calls at that signal (its request handler, from awsHttp.ts, closes the request too),
 * `{ abortSignal }` otherwise. A call given options resolves the client's middleware stack anew, about a
 * tenth of the CPU a call costs; without them a client built with `cacheMiddleware` reuses it.
 */
export function callOptions(
  client: object,
  signal: AbortSignal | undefined,
): { abortSignal: AbortSignal } | undefined {
  return signal === undefined || stoppedBy.get(client) === signal ? undefined : { abortSignal: signal };
}

/**
 * Every IAM access key of the account with its last use and its user's MFA and password flags,
 * streamed as users are processed (the account is never held in memory as rows).
 *
 * Report route: GenerateCredentialReport/GetCredentialReport + ListUsers (1 call per 1,000 users) +
 * ListAccessKeys for users the report shows with keys ≈ users-with-keys + users/1000 + a few calls;
 * users the report does not know, and (when the report is older than `reportMaxAgeMs`) users it shows
 * without keys, are asked too. Key IDs come from ListAccessKeys, matched to the report's key slots by
 * creation date; a key without a slot gets GetAccessKeyLastUsed.
 * API route (the old Lambda's way, plus MFA and password): ListAccessKeys per user,
 * GetAccessKeyLastUsed per key, ListMFADevices and GetLoginProfile per user with keys.
 * A user (or key) deleted while the run reads it is left out with a warning, not the whole account.
 */
export async function* listAccessKeysWithLastUse(
  iam: IAMClient,
  options: InventoryOptions,
): AsyncGenerator<AccessKeyFacts> {
  const warn = options.onWarning ?? (() => {});
  const { signal } = options;
  let report: CredentialReport | undefined;
  if (options.route !== 'api') {
    try {
      // The report's polling takes no signal: stop waiting for it at the deadline.
      report = await raceAbort(fetchCredentialReport(iam, options.reportWait), signal);
    } catch (error) {
      if (!(error instanceof CredentialReportUnavailableError)) throw error;
      warn(`credential report unavailable, used per-key API calls instead: ${error.message}`);
    }
  }
  options.onReportDone?.();
  const join = report && joinWith(report, options, warn);

  const root = report?.users.get(rootUserName);
  if (root) yield* rootKeys(root, report?.generatedTime);

  const vanished: Vanished[] = [];
  const users = listUsers(iam, signal);
  const perUser = pMapIterable(
    users,
    async (user) => {
      // pMapIterable takes no signal: users it had read ahead are not started past the deadline.
      if (signal?.aborted) throw abortError(signal);
      return keysOfUser(iam, user, join, vanished, signal);
    },
    // As users finish, not in list order: in order, one slow user (a throttled call backing off) would
    // hold back every result behind it, and once `backpressure` of them wait, no next user starts.
    { concurrency: options.concurrency, backpressure: options.concurrency * 2, preserveOrder: false },
  );
  for await (const keys of perUser) yield* keys;
  if (vanished.length > 0) warn(describeVanished(vanished));
}

/** The report, and whether it may be trusted to say who has no key. */
interface ReportJoin {
  readonly report: CredentialReport;
  /** The report is older than the bound: ask ListAccessKeys about users it shows without keys too. */
  readonly askKeyless: boolean;
}

/**
 * IAM serves a report up to 4 h old, maybe generated by another tool: a key created since on a user who
 * had none is not in it. Older than the bound (or of unknown age), users it shows keyless are asked
 * anyway; younger, but older than the run, the run row says how old it was, so the gap is never silent.
 */
function joinWith(
  report: CredentialReport,
  options: InventoryOptions,
  warn: (warning: string) => void,
): ReportJoin {
  const maxAgeMs = options.reportMaxAgeMs ?? defaultCredentialReportMaxAgeMs;
  const bound = `CREDENTIAL_REPORT_MAX_AGE_MINUTES = ${formatMinutes(maxAgeMs)}`;
  const keyless = [...report.users.values()].filter(
    (user) => user.user !== rootUserName && user.keys.length === 0,
  ).length;
  const generated = report.generatedTime;
  if (generated === undefined) {
    warn(
      `the credential report has no generation time: ListAccessKeys asked about the ${keyless} user(s) it shows without keys too`,
    );
    return { report, askKeyless: true };
  }
  const now = (options.clock ?? Date.now)();
  const ageMs = now - generated.getTime();
  const when = `credential report generated ${generated.toISOString()}, ${formatMinutes(ageMs)} min before it was read`;
  if (ageMs > maxAgeMs) {
    warn(
      `${when}, older than ${bound}: ListAccessKeys asked about the ${keyless} user(s) it shows without keys too, so no key created since is missed`,
    );
    return { report, askKeyless: true };
  }
  const runStart = options.runStart?.getTime() ?? now;
  if (generated.getTime() < runStart - ownReportToleranceMs) {
    warn(
      `${when} (by an earlier run or another tool; ${bound}): a key created since then on a user who had none is not in this snapshot but in the next`,
    );
  }
  return { report, askKeyless: false };
}

function formatMinutes(ms: number): string {
  return String(Math.round((ms / 60_000) * 10) / 10);
}

async function* listUsers(iam: IAMClient, signal: AbortSignal | undefined): AsyncGenerator<User> {
  for await (const page of paginateListUsers({ client: iam, pageSize: 1000 }, {}, callOptions(iam, signal))) {
    yield* page.Users ?? [];
  }
}

/** A user, or one of its keys, deleted between ListUsers and a later call about it. */
interface Vanished {
  readonly userName: string;
  /** `deleted (ListMFADevices: NoSuchEntity)`, `access key AKIA…WXYZ deleted (…)`. */
  readonly what: string;
}

/** Thrown inside keysOfUser when IAM no longer knows the user: its keys are left out, the rest goes on. */
class UserVanished extends Error {
  override readonly name = 'UserVanished';
  constructor(readonly call: string) {
    super(`${call}: NoSuchEntity`);
  }
}

async function keysOfUser(
  iam: IAMClient,
  user: User,
  join: ReportJoin | undefined,
  vanished: Vanished[],
  signal: AbortSignal | undefined,
): Promise<AccessKeyFacts[]> {
  const userName = user.UserName ?? '';
  try {
    return await keysOfExistingUser(iam, user, userName, join, vanished, signal);
  } catch (error) {
    if (!(error instanceof UserVanished)) throw error;
    vanished.push({ userName, what: `deleted (${error.message})` });
    return [];
  }
}

async function keysOfExistingUser(
  iam: IAMClient,
  user: User,
  userName: string,
  join: ReportJoin | undefined,
  vanished: Vanished[],
  signal: AbortSignal | undefined,
): Promise<AccessKeyFacts[]> {
  const reported = join?.report.users.get(userName);
  // The report says this user had no key: skip the call, unless the report is too old to trust on it.
  // Users created since the report are not in it and are always asked.
  if (reported && reported.keys.length === 0 && !join?.askKeyless) return [];

  const keys = await listAccessKeys(iam, userName, signal);
  if (keys.length === 0) return [];

  const flags = reported
    ? { mfaActive: reported.mfaActive, passwordEnabled: reported.passwordEnabled }
    : await userSignInFlags(iam, userName, signal);
  const unmatched = new Set(reported?.keys ?? []);
  const facts = await Promise.all(
    keys.map(async (key): Promise<AccessKeyFacts | undefined> => {
      const slot = takeMatchingSlot(unmatched, key.CreateDate);
      const base = {
        userName,
        userArn: user.Arn,
        userCreateDate: user.CreateDate,
        accessKeyId: key.AccessKeyId,
        status: key.Status ?? 'Unknown',
        createDate: key.CreateDate,
        ...flags,
      };
      if (slot) {
        return {
          ...base,
          lastUsedDate: slot.lastUsedDate,
          lastUsedRegion: slot.lastUsedRegion,
          lastUsedService: slot.lastUsedService,
          source: 'credential-report',
          credentialReportTime: join?.report.generatedTime,
        };
      }
      const used = await lastUse(iam, key, signal);
      if (used === undefined) {
        vanished.push({
          userName,
          what: `access key ${maskAccessKeyId(key.AccessKeyId ?? '')} deleted (GetAccessKeyLastUsed: NoSuchEntity)`,
        });
        return undefined;
      }
      return { ...base, ...used, source: 'api', credentialReportTime: undefined };
    }),
  );
  return facts.filter((fact) => fact !== undefined);
}

async function listAccessKeys(
  iam: IAMClient,
  userName: string,
  signal: AbortSignal | undefined,
): Promise<AccessKeyMetadata[]> {
  const keys: AccessKeyMetadata[] = [];
  try {
    for await (const page of paginateListAccessKeys(
      { client: iam },
      { UserName: userName },
      callOptions(iam, signal),
    )) {
      keys.push(...(page.AccessKeyMetadata ?? []));
    }
  } catch (error) {
    // Deleted between ListUsers and now: it has no keys any more.
    if (hasAwsErrorCode(error, 'NoSuchEntity')) throw new UserVanished('ListAccessKeys');
    throw error;
  }
  return keys;
}

/** The report and ListAccessKeys both give the creation time to the second. */
function takeMatchingSlot(
  slots: Set<ReportKeySlot>,
  createDate: Date | undefined,
): ReportKeySlot | undefined {
  if (!createDate) return undefined;
  for (const slot of slots) {
    if (Math.abs(slot.lastRotated.getTime() - createDate.getTime()) < 1000) {
      slots.delete(slot);
      return slot;
    }
  }
  return undefined;
}

/** Undefined when the key no longer exists (deleted since ListAccessKeys). */
async function lastUse(
  iam: IAMClient,
  key: AccessKeyMetadata,
  signal: AbortSignal | undefined,
): Promise<Pick<AccessKeyFacts, 'lastUsedDate' | 'lastUsedRegion' | 'lastUsedService'> | undefined> {
  let used;
  try {
    ({ AccessKeyLastUsed: used } = await iam.send(
      new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId }),
      callOptions(iam, signal),
    ));
  } catch (error) {
    if (hasAwsErrorCode(error, 'NoSuchEntity')) return undefined;
    throw error;
  }
  const known = (value: string | undefined): string | undefined =>
    value && value !== 'N/A' ? value : undefined;
  return {
    lastUsedDate: used?.LastUsedDate,
    lastUsedRegion: known(used?.Region),
    lastUsedService: known(used?.ServiceName),
  };
}

async function userSignInFlags(
  iam: IAMClient,
  userName: string,
  signal: AbortSignal | undefined,
): Promise<Pick<AccessKeyFacts, 'mfaActive' | 'passwordEnabled'>> {
  const [mfa, passwordEnabled] = await Promise.all([
    iam
      .send(new ListMFADevicesCommand({ UserName: userName, MaxItems: 1 }), callOptions(iam, signal))
      .catch((error: unknown) => {
        if (hasAwsErrorCode(error, 'NoSuchEntity')) throw new UserVanished('ListMFADevices');
        throw error;
      }),
    iam.send(new GetLoginProfileCommand({ UserName: userName }), callOptions(iam, signal)).then(
      () => true,
      (error: unknown) => {
        if (!hasAwsErrorCode(error, 'NoSuchEntity')) throw error;
        // The same code says "no console password" and "no such user"; only the message tells them apart.
        if (/\buser with name\b/i.test(error.message)) throw new UserVanished('GetLoginProfile');
        return false;
      },
    ),
  ]);
  return { mfaActive: (mfa.MFADevices?.length ?? 0) > 0, passwordEnabled };
}

/** One warning for all of them; at most 20 named. User names are not secrets; key IDs are masked. */
function describeVanished(vanished: readonly Vanished[]): string {
  const shown = vanished.slice(0, 20).map((v) => `${v.userName}: ${v.what}`);
  const more = vanished.length > shown.length ? `; and ${vanished.length - shown.length} more` : '';
  return (
    `${vanished.length} user(s) or key(s) deleted while the run read them, left out of this snapshot: ` +
    `${shown.join('; ')}${more}`
  );
}

/** Root keys are visible only in the report, without their IDs; they matter most of all. */
function* rootKeys(root: ReportUser, reportTime: Date | undefined): Generator<AccessKeyFacts> {
  for (const slot of root.keys) {
    yield {
      userName: rootUserName,
      userArn: root.arn,
      userCreateDate: root.userCreationTime,
      accessKeyId: undefined,
      status: slot.active ? 'Active' : 'Inactive',
      createDate: slot.lastRotated,
      lastUsedDate: slot.lastUsedDate,
      lastUsedRegion: slot.lastUsedRegion,
      lastUsedService: slot.lastUsedService,
      mfaActive: root.mfaActive,
      passwordEnabled: root.passwordEnabled,
      source: 'credential-report',
      credentialReportTime: reportTime,
    };
  }
}
