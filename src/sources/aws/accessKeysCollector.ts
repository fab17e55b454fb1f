import { IAMClient, ListAccountAliasesCommand } from '@aws-sdk/client-iam';
import { OrganizationsClient } from '@aws-sdk/client-organizations';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { fromTemporaryCredentials } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { Pluggable } from '@smithy/types';
import { setMaxListeners } from 'node:events';
import { pMapIterable } from 'p-map';
import {
  raceAbort,
  type Collector,
  type CollectorContext,
  type ReadOutcome,
  type SourceStats,
} from '../../run/collector.js';
import { describeError } from '../../lib/redact.js';
import type { AWSIAMAccessKeysRow } from '../../tables/generated.js';
import {
  abortCallsWith,
  callOptions,
  listAccessKeysWithLastUse,
  type InventoryOptions,
} from './accessKeyInventory.js';
import { toAccessKeyRow, type AccessKeyIdMode } from './accessKeyRow.js';
import { countApiCalls } from './apiCallCounter.js';
import { awsHttp, type AwsHttp } from './awsHttp.js';
import { accountWorkersFor } from './accountWorkers.js';
import { withOwnerTags } from './userTags.js';
import {
  describeAccountTiming,
  finishWatch,
  startWatch,
  timeApiCalls,
  wallClockMs,
  type AccountTiming,
  type AccountWatch,
} from './accountTiming.js';
import {
  leastRecentlyInventoriedFirst,
  listActiveAccounts,
  type AccountFilter,
  type AccountProgress,
  type OrganizationAccount,
} from './organization.js';

export const awsAccessKeysCollectorName = 'aws-access-keys';

export interface OrganizationMode {
  /** Role assumed in each member account from the hub role (role chaining: sessions ≤ 1 h). */
  readonly memberRoleName: string;
  readonly accounts: AccountFilter;
  /** Accounts inventoried at once. */
  readonly accountConcurrency: number;
  /**
   * No account is started once this much of the run has passed (the first always is), so a large
   * organization ends PartiallySucceeded, naming what it left out, instead of hitting the host's
   * timeout with nothing recorded. RUN_TIME_BUDGET_MINUTES. The run's deadline (its signal) also stops
   * starting accounts, and aborts those in flight: their rows are left out, and they are named too.
   */
  readonly budgetMs: number;
  /** Where each account's last full inventory is kept; without it accounts go in ID order. */
  readonly progress?: AccountProgress;
  /** The budget's clock (tests); default Date.now. */
  readonly clock?: () => number;
  /**
   * Told where each account's time went once it is done with (read and delivered, failed, or cut off);
   * every account's timing is logged too. The benchmark adds them up.
   */
  readonly onAccount?: (timing: AccountTiming) => void;
  /**
   * AWS_ACCOUNT_WORKERS: worker threads the accounts are read on (accountWorkers.ts), shared out to the
   * least busy; 0 or absent: on the run's own thread. One thread's CPU bounds how many calls it carries,
   * so more than one pays only on an instance with more than one core.
   */
  readonly workers?: number;
}

export interface AwsAccessKeysCollectorOptions {
  /** Credentials for this run (the session name carries the run ID); undefined = AWS default chain. */
  readonly credentialsFor: (context: CollectorContext) => AwsCredentialIdentityProvider | undefined;
  readonly region: string;
  /** `aws`, `aws-cn`, `aws-us-gov`: member role ARNs are built in it. */
  readonly partition?: string;
  readonly accessKeyIdMode: AccessKeyIdMode;
  readonly concurrency: number;
  /** Without it: the account the credentials belong to. With it: every account of the organization. */
  readonly organization?: OrganizationMode;
  readonly route?: InventoryOptions['route'];
  readonly reportWait?: InventoryOptions['reportWait'];
  /**
   * CREDENTIAL_REPORT_MAX_AGE_MINUTES in ms (default 15 min): a credential report older than this is not
   * trusted to show which users have no key, so ListAccessKeys asks about those users too.
   */
  readonly credentialReportMaxAgeMs?: number;
  /** Throttling is expected at scale: adaptive retry slows down instead of failing. */
  readonly maxAttempts?: number;
  /** AWS_OWNER_TAG_KEYS: OwnerTag from ListUserTags of users with keys (userTags.ts); empty or absent: not read. */
  readonly ownerTagKeys?: readonly string[];
}

/** What a member account's read needs of the options, as data: an account worker thread gets it. */
export type AccountJobOptions = Omit<AwsAccessKeysCollectorOptions, 'credentialsFor' | 'organization'>;

/** One AWSIAMAccessKeys_CL row per access key, all stamped with the run's snapshot. */
export function awsAccessKeysCollector(
  options: AwsAccessKeysCollectorOptions,
): Collector<'AWSIAMAccessKeys_CL'> {
  return {
    name: awsAccessKeysCollectorName,
    table: 'AWSIAMAccessKeys_CL',
    read(context) {
      // Calls in flight listen to the run's signal (their request, and abortCallsWith), in organization
      // mode through their account's signal: either way more than the 10 listeners after which Node warns
      // of a leak. They are removed as each call ends.
      if (context.signal) setMaxListeners(0, context.signal);
      // Every client of the run (Organizations, each member account's STS, IAM) shares one hub session.
      const provided = options.credentialsFor(context);
      const hub = provided && memoizeCredentials(provided);
      const { organization } = options;
      return withRunHttp<AWSIAMAccessKeysRow, ReadOutcome | void>(options, (http) =>
        organization
          ? inventoryOrganization(options, organization, hub, context, http)
          : inventoryAccount(options, hub, undefined, context, http),
      );
    },
    // The accounts read in full (the read's outcome) are recorded once their rows are all accepted.
    async afterAccepted(context, outcome) {
      const progress = options.organization?.progress;
      const delivered = outcome.delivered ?? [];
      if (progress === undefined || delivered.length === 0) return;
      await progress.recordInventoried(delivered, context.startTime, context.runId);
    },
  };
}

/** One HTTP handler for the run's clients (awsHttp.ts), destroyed when the read ends however it ends. */
async function* withRunHttp<Row, Result>(
  options: AwsAccessKeysCollectorOptions,
  read: (http: AwsHttp) => AsyncGenerator<Row, Result, undefined>,
): AsyncGenerator<Row, Result, undefined> {
  const http = awsHttp(maxSocketsFor(options));
  try {
    return yield* read(http);
  } finally {
    http.destroy();
  }
}

/**
 * Sockets per endpoint: every account at once, each listing `concurrency` users (ListAccessKeys, and a
 * GetAccessKeyLastUsed per key the report misses) while as many users' tags are read; never fewer than the
 * SDK's own default (50).
 */
function maxSocketsFor(options: AwsAccessKeysCollectorOptions): number {
  const accounts = options.organization?.accountConcurrency ?? 1;
  return Math.max(50, accounts * options.concurrency * 4);
}

/**
 * Every active account of the organization, a few at a time, least recently inventoried first. One
 * account failing (AccessDenied, no member role, throttling beyond retries) is recorded and the others
 * go on: the run ends PartiallySucceeded, and only when every account tried failed does it fail. Past
 * the time budget no new account is started; those left out are named, and go first next time.
 */
async function* inventoryOrganization(
  options: AwsAccessKeysCollectorOptions,
  organization: OrganizationMode,
  hub: AwsCredentialIdentityProvider | undefined,
  context: CollectorContext,
  http: AwsHttp,
): AsyncGenerator<AWSIAMAccessKeysRow, ReadOutcome, undefined> {
  // Asked for first: a new thread's loading of the SDK overlaps the Organizations listing.
  const workers =
    organization.workers && organization.workers > 0
      ? accountWorkersFor<AccountJobOptions>(organization.workers, {
          maxSockets: maxSocketsFor(options),
        })
      : undefined;
  /** Accounts read in full, and the failures of the others: what the read returns. */
  const inventoried: string[] = [];
  const failures: string[] = [];
  const clock = organization.clock ?? Date.now;
  const started = clock();
  const { signal } = context;
  const organizations = new OrganizationsClient(clientConfig(options, hub, http, signal));
  countApiCalls(organizations, context.stats);
  abortCallsWith(organizations, signal);
  let active: OrganizationAccount[];
  try {
    active = await listActiveAccounts(organizations, organization.accounts, signal);
  } finally {
    organizations.destroy();
  }
  const lastInventoried =
    (await organization.progress?.lastInventoried(active.map((a) => a.id))) ?? new Map();
  const accounts = leastRecentlyInventoriedFirst(active, lastInventoried);
  context.log.info(`organization mode: ${accounts.length} active account(s) to inventory`);
  let attempted = 0;
  let failed = 0;
  const notStarted: OrganizationAccount[] = [];
  const cutOff: OrganizationAccount[] = [];
  const done = (timing: AccountTiming) => {
    context.log.info(describeAccountTiming(timing));
    organization.onAccount?.(timing);
  };
  // An account's rows are gathered before they are passed on, so a failing account adds none, nor one
  // the deadline aborts; those finished before it are still passed on (and delivered) after it. Accounts
  // are passed on as they finish, not in the order they started: in order, an account finished behind a
  // slower one would wait for it, holding one of the `accountConcurrency` places (p-map's backpressure)
  // so that no next account could start meanwhile.
  const perAccount = pMapIterable(
    accounts,
    async (account): Promise<{ rows: AWSIAMAccessKeysRow[]; timing: AccountTiming } | undefined> => {
      if (signal?.aborted || (attempted > 0 && clock() - started >= organization.budgetMs)) {
        notStarted.push(account);
        return undefined;
      }
      attempted += 1;
      const watch = startWatch(account.id);
      let rows: AWSIAMAccessKeysRow[];
      try {
        rows = workers
          ? await workers.read(
              {
                options: jobOptions(options),
                memberRoleName: organization.memberRoleName,
                hub: await raceAbort(hub?.() ?? Promise.resolve(undefined), signal),
                account,
                runId: context.runId,
                startTime: context.startTime,
              },
              watch,
              context,
            )
          : await rowsOf(
              inventoryMemberAccount(
                options,
                organization.memberRoleName,
                hub,
                account,
                context,
                watch,
                http,
              ),
            );
      } catch (error) {
        if (signal?.aborted) {
          cutOff.push(account);
          done(finishWatch(watch, 'cut-off'));
          return undefined;
        }
        failed += 1;
        failures.push(`account ${account.id} (${account.name ?? 'no name'}): ${describeError(error)}`);
        done(finishWatch(watch, 'failed'));
        return undefined;
      }
      inventoried.push(account.id);
      return { rows, timing: finishWatch(watch, 'inventoried') };
    },
    { concurrency: organization.accountConcurrency, preserveOrder: false },
  );
  for await (const read of perAccount) {
    if (read === undefined) continue;
    yield* read.rows;
    done({ ...read.timing, deliveredAt: wallClockMs() });
  }
  if (cutOff.length > 0) failures.push(describeCutOff(cutOff, accounts, organization));
  if (notStarted.length > 0) failures.push(describeNotStarted(notStarted, accounts, organization));
  if (attempted > 0 && failed + cutOff.length === attempted) {
    const of =
      attempted === accounts.length
        ? `the organization's ${accounts.length}`
        : `${attempted} of ${accounts.length}`;
    throw new Error(`none of the ${of} accounts tried could be inventoried:\n${failures.join('\n')}`);
  }
  return { partialFailures: failures, delivered: inventoried };
}

/** Every row of a read, once it has ended. */
export async function rowsOf<Row>(read: AsyncIterable<Row>): Promise<Row[]> {
  const rows: Row[] = [];
  for await (const row of read) rows.push(row);
  return rows;
}

/** The options without their functions (and the organization's, which stay with the run). */
function jobOptions(options: AwsAccessKeysCollectorOptions): AccountJobOptions {
  return {
    region: options.region,
    partition: options.partition,
    accessKeyIdMode: options.accessKeyIdMode,
    concurrency: options.concurrency,
    route: options.route,
    reportWait: options.reportWait,
    credentialReportMaxAgeMs: options.credentialReportMaxAgeMs,
    maxAttempts: options.maxAttempts,
    ownerTagKeys: options.ownerTagKeys,
  };
}

function describeNotStarted(
  notStarted: readonly OrganizationAccount[],
  accounts: readonly OrganizationAccount[],
  organization: OrganizationMode,
): string {
  const shown = notStarted.slice(0, 20).map((account) => account.id);
  const more = notStarted.length > shown.length ? ` and ${notStarted.length - shown.length} more` : '';
  const next = organization.progress
    ? 'They go first in the next run'
    : 'Without a checkpoint store they are left out again next run';
  return (
    `${notStarted.length} of ${accounts.length} accounts not started within the time budget of ` +
    `${Math.round(organization.budgetMs / 60_000)} min (RUN_TIME_BUDGET_MINUTES): ${shown.join(', ')}${more}. ` +
    `${next}; to cover all in one run, raise AWS_ACCOUNT_CONCURRENCY (now ${organization.accountConcurrency}).`
  );
}

function describeCutOff(
  cutOff: readonly OrganizationAccount[],
  accounts: readonly OrganizationAccount[],
  organization: OrganizationMode,
): string {
  const shown = cutOff.slice(0, 20).map((account) => account.id);
  const more = cutOff.length > shown.length ? ` and ${cutOff.length - shown.length} more` : '';
  return (
    `${cutOff.length} of ${accounts.length} accounts were still being inventoried when the time budget ` +
    `(RUN_TIME_BUDGET_MINUTES) ran out, and were aborted, none of their rows sent: ${shown.join(', ')}${more}.` +
    (organization.progress ? ' They go first in the next run.' : '')
  );
}

/**
 * One member account of an organization, read on its own: a session in the account's member role from
 * the hub's credentials (role chaining), then its access keys as rows. This is organization mode's unit
 * of work: the loop above runs `accountConcurrency` of them at a time in one process; fanned out, one
 * Durable Functions activity would run one (docs/SCALING.md). It needs only the hub's credentials, the
 * account, and the run's ID, snapshot time and signal; it throws if the account cannot be read (no member
 * role, access denied, throttled beyond retries, the deadline). `watch` is filled in as it goes. `http`:
 * the run's HTTP handler (awsHttp.ts); without it the account has one of its own.
 */
export async function* inventoryMemberAccount(
  options: AwsAccessKeysCollectorOptions,
  memberRoleName: string,
  hub: AwsCredentialIdentityProvider | undefined,
  account: OrganizationAccount,
  runContext: CollectorContext,
  watch: AccountWatch = startWatch(account.id),
  http?: AwsHttp,
): AsyncGenerator<AWSIAMAccessKeysRow, void, undefined> {
  if (http === undefined) {
    yield* withRunHttp(options, (own) =>
      inventoryMemberAccount(options, memberRoleName, hub, account, runContext, watch, own),
    );
    return;
  }
  // The account's calls listen to a signal of its own, which alone listens to the run's: with every call
  // in flight listening to the run's signal, adding a listener (which walks the list of them) took 2 % of
  // the run's CPU at 8 accounts at a time.
  const scope = accountScope(runContext.signal);
  const context: CollectorContext = { ...runContext, signal: scope.signal };
  try {
    yield* readMemberAccount(options, memberRoleName, hub, account, context, watch, http);
  } finally {
    scope.release();
  }
}

async function* readMemberAccount(
  options: AwsAccessKeysCollectorOptions,
  memberRoleName: string,
  hub: AwsCredentialIdentityProvider | undefined,
  account: OrganizationAccount,
  context: CollectorContext,
  watch: AccountWatch,
  http: AwsHttp,
): AsyncGenerator<AWSIAMAccessKeysRow, void, undefined> {
  const { signal } = context;
  // Memoized (refreshed 6 min before its hour is up) and asked for at once: the account's IAM client
  // reuses it, so there is one AssumeRole per account, and the time it takes is the account's own.
  const credentials = memoizeCredentials(
    fromTemporaryCredentials({
      params: {
        RoleArn: `arn:${options.partition ?? 'aws'}:iam::${account.id}:role/${memberRoleName}`,
        RoleSessionName: `cim-${awsAccessKeysCollectorName}-${context.runId}`,
        DurationSeconds: 3600,
      },
      masterCredentials: hub,
      clientConfig: {
        region: options.region,
        retryMode: 'adaptive',
        maxAttempts: options.maxAttempts ?? 10,
        requestHandler: http.forClient(signal),
      },
      clientPlugins: [apiCallCountingPlugin(context.stats), abortPlugin(signal)],
    }),
  );
  await raceAbort(credentials(), signal);
  watch.credentialsDoneAt = wallClockMs();
  yield* inventoryAccount(options, credentials, account, context, http, watch);
}

/** A signal that aborts with the run's, listened to by one account's calls; released when it is done. */
function accountScope(runSignal: AbortSignal | undefined): {
  signal: AbortSignal | undefined;
  release: () => void;
} {
  if (runSignal === undefined) return { signal: undefined, release: () => {} };
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const abort = () => controller.abort(runSignal.reason);
  if (runSignal.aborted) abort();
  else runSignal.addEventListener('abort', abort, { once: true });
  return { signal: controller.signal, release: () => runSignal.removeEventListener('abort', abort) };
}

/** The access keys of one account; `account` is known in organization mode, looked up otherwise. */
async function* inventoryAccount(
  options: AwsAccessKeysCollectorOptions,
  credentials: AwsCredentialIdentityProvider | undefined,
  account: OrganizationAccount | undefined,
  context: CollectorContext,
  http: AwsHttp,
  watch?: AccountWatch,
): AsyncGenerator<AWSIAMAccessKeysRow, void, undefined> {
  const { signal } = context;
  const iam = new IAMClient(clientConfig(options, credentials, http, signal));
  countApiCalls(iam, context.stats);
  abortCallsWith(iam, signal);
  if (watch) timeApiCalls(iam, watch.tally);
  // Organizations already named the account. Asking STS too would cost a call and, as every client
  // resolves the role-chained credentials on its own, a second AssumeRole per account.
  const sts =
    account === undefined ? new STSClient(clientConfig(options, credentials, http, signal)) : undefined;
  if (sts) countApiCalls(sts, context.stats);
  if (sts) abortCallsWith(sts, signal);
  try {
    const [identity, aliases] = await Promise.all([
      sts?.send(new GetCallerIdentityCommand({}), callOptions(sts, signal)),
      account?.name === undefined
        ? iam.send(new ListAccountAliasesCommand({}), callOptions(iam, signal))
        : undefined,
    ]);
    const snapshot = {
      id: context.runId,
      time: context.startTime,
      accountId: account?.id ?? identity?.Account ?? 'unknown',
      accountName: account?.name ?? aliases?.AccountAliases?.[0],
      accessKeyIdMode: options.accessKeyIdMode,
    };
    context.log.info(
      `inventorying access keys of AWS account ${snapshot.accountId} as ${identity?.Arn ?? `role ${account ? 'in member account' : '?'}`}`,
    );
    const keys = listAccessKeysWithLastUse(iam, {
      concurrency: options.concurrency,
      route: options.route,
      reportWait: options.reportWait,
      reportMaxAgeMs: options.credentialReportMaxAgeMs,
      runStart: context.startTime,
      onWarning: (warning) => context.stats.warnings.push(`account ${snapshot.accountId}: ${warning}`),
      onReportDone: () => {
        if (watch) watch.reportDoneAt = wallClockMs();
      },
      signal,
    });
    const rows = (async function* () {
      for await (const key of keys) {
        if (watch) watch.keys += 1;
        yield toAccessKeyRow(key, snapshot);
      }
    })();
    yield* withOwnerTags(rows, iam, {
      keys: options.ownerTagKeys ?? [],
      concurrency: options.concurrency,
      signal,
      onWarning: (warning) => context.stats.warnings.push(`account ${snapshot.accountId}: ${warning}`),
    });
  } finally {
    iam.destroy();
    sts?.destroy();
  }
}

/**
 * A client of the run: its requests through the run's HTTP handler, stopped by `signal`; its middleware
 * stack resolved once per command rather than once per call (`cacheMiddleware`: calls then pass no
 * options, see `callOptions`), which was about a tenth of the CPU a call costs.
 */
function clientConfig(
  options: AwsAccessKeysCollectorOptions,
  credentials: AwsCredentialIdentityProvider | undefined,
  http: AwsHttp,
  signal: AbortSignal | undefined,
) {
  return {
    region: options.region,
    credentials,
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 10,
    requestHandler: http.forClient(signal),
    cacheMiddleware: true,
  };
}

/** The SDK refreshes its clients' credentials 5 min before they expire; refresh a little earlier. */
const refreshBeforeExpiryMs = 6 * 60_000;

/**
 * One set of credentials for every client of a run, instead of one AssumeRoleWithWebIdentity per
 * client (each member account's role chaining has its own STS client). Refreshed once they are within
 * 6 minutes of expiry; concurrent callers share one request; a failed request is not remembered.
 */
export function memoizeCredentials(
  provider: AwsCredentialIdentityProvider,
  clock: () => number = Date.now,
): AwsCredentialIdentityProvider {
  let current: Promise<AwsCredentialIdentity> | undefined;
  let expiration: number | undefined;
  return async () => {
    if (
      current === undefined ||
      (expiration !== undefined && expiration - clock() <= refreshBeforeExpiryMs)
    ) {
      const request = provider();
      current = request;
      expiration = undefined;
      request.then(
        (identity) => {
          if (current === request) expiration = identity.expiration?.getTime();
        },
        () => {
          if (current === request) current = undefined;
        },
      );
    }
    return current;
  };
}

/** Stops the AssumeRole calls of the SDK's own role-chaining provider at the run's deadline too. */
function abortPlugin(signal: AbortSignal | undefined): Pluggable<object, object> {
  return { applyToStack: (stack) => abortCallsWith({ middlewareStack: stack }, signal) };
}

/** Counts the AssumeRole calls of the SDK's own role-chaining provider like every other call. */
function apiCallCountingPlugin(stats: SourceStats): Pluggable<object, object> {
  return { applyToStack: (stack) => countApiCalls({ middlewareStack: stack }, stats) };
}
