import type { InitializeMiddleware, MiddlewareStack } from '@smithy/types';

/**
 * Where one account's inventory spent its time, as it went: logged once per account (so an operator can
 * size AWS_ACCOUNT_CONCURRENCY and RUN_TIME_BUDGET_MINUTES from real per-call rates, see docs/SCALING.md)
 * and handed to `OrganizationMode.onAccount` (the benchmark). Times are wall-clock ms since the epoch
 * (sub-ms precision) or durations in ms.
 */
export interface AccountTiming {
  readonly accountId: string;
  /** `inventoried`: every row read; `failed`: an error (named in the run row); `cut-off`: the deadline. */
  readonly outcome: 'inventoried' | 'failed' | 'cut-off';
  readonly keys: number;
  /** IAM calls the account made, retries and credential-report polls included. */
  readonly calls: number;
  /** Sum of their round trips as the SDK saw them (retries and their waits included). */
  readonly callMs: number;
  /** GenerateCredentialReport calls: 1 when a report was ready, more while one is being generated. */
  readonly reportPolls: number;
  /** Of `callMs`, the report's calls (its polls and its download): `reportMs` less this was waiting. */
  readonly reportCallMs: number;
  readonly startedAt: number;
  /** The member account's session: AssumeRole from the hub role (role chaining). */
  readonly credentialsMs: number;
  /** The credential report: generation (its polls and the waits between them), download and parsing. */
  readonly reportMs: number;
  /** Users and keys (ListUsers, ListAccessKeys, …), after the report, until the last row was read. */
  readonly listingMs: number;
  /** When every row had been read (or the account failed). */
  readonly readAt: number;
  /**
   * When the run had taken the last of its rows (organization mode: the rows are passed on once the
   * account is read, at the pace the sink takes them). Undefined for an account that delivered none.
   */
  readonly deliveredAt?: number;
}

/** Wall-clock ms since the epoch with sub-ms precision (comparable across processes on one machine). */
export const wallClockMs = (): number => performance.timeOrigin + performance.now();

/** What an account's IAM client tallies while it runs (see `timeApiCalls`). */
export interface CallTally {
  calls: number;
  callMs: number;
  reportPolls: number;
  reportCallMs: number;
}

export const newCallTally = (): CallTally => ({ calls: 0, callMs: 0, reportPolls: 0, reportCallMs: 0 });

const reportCommands = new Set(['GenerateCredentialReportCommand', 'GetCredentialReportCommand']);

/**
 * Times every call of `client` from the SDK's side (initialize step: credentials, retries and their
 * backoff included) into `tally`. Costs one clock read per call.
 */
export function timeApiCalls<Input extends object, Output extends object>(
  client: { middlewareStack: MiddlewareStack<Input, Output> },
  tally: CallTally,
): void {
  const timer: InitializeMiddleware<Input, Output> = (next, context) => async (args) => {
    const started = performance.now();
    try {
      return await next(args);
    } finally {
      const ms = performance.now() - started;
      tally.calls += 1;
      tally.callMs += ms;
      if (reportCommands.has(context.commandName ?? '')) tally.reportCallMs += ms;
      if (context.commandName === 'GenerateCredentialReportCommand') tally.reportPolls += 1;
    }
  };
  client.middlewareStack.add(timer, {
    step: 'initialize',
    priority: 'low',
    name: 'crosscloudTimeApiCalls',
    override: true,
  });
}

/** `account 111122223333: 230 keys, 205 IAM calls in 1.6 s (member session 0.05 s, …)`. */
export function describeAccountTiming(timing: AccountTiming): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  const took = timing.readAt - timing.startedAt;
  const perCall = timing.calls > 0 ? `, ${(timing.callMs / timing.calls).toFixed(0)} ms per call` : '';
  return (
    `account ${timing.accountId}: ${timing.outcome === 'inventoried' ? '' : `${timing.outcome}, `}` +
    `${timing.keys} keys, ${timing.calls} IAM calls in ${s(took)} (member session ${s(timing.credentialsMs)}, ` +
    `credential report ${s(timing.reportMs)} over ${timing.reportPolls} poll(s), users and keys ${s(timing.listingMs)}${perCall})`
  );
}

/** An account's timing as it is being read (see AccountTiming). */
export interface AccountWatch {
  readonly accountId: string;
  readonly startedAt: number;
  credentialsDoneAt: number | undefined;
  reportDoneAt: number | undefined;
  keys: number;
  readonly tally: CallTally;
}

export function startWatch(accountId: string): AccountWatch {
  return {
    accountId,
    startedAt: wallClockMs(),
    credentialsDoneAt: undefined,
    reportDoneAt: undefined,
    keys: 0,
    tally: newCallTally(),
  };
}

/** The phases partition the account's time: session, then report, then users and keys. */
export function finishWatch(watch: AccountWatch, outcome: AccountTiming['outcome']): AccountTiming {
  const readAt = wallClockMs();
  const credentialsDoneAt = watch.credentialsDoneAt ?? readAt;
  const reportDoneAt = watch.reportDoneAt ?? readAt;
  return {
    accountId: watch.accountId,
    outcome,
    keys: watch.keys,
    calls: watch.tally.calls,
    callMs: watch.tally.callMs,
    reportPolls: watch.tally.reportPolls,
    reportCallMs: watch.tally.reportCallMs,
    startedAt: watch.startedAt,
    credentialsMs: credentialsDoneAt - watch.startedAt,
    reportMs: Math.max(0, reportDoneAt - credentialsDoneAt),
    listingMs: Math.max(0, readAt - reportDoneAt),
    readAt,
  };
}
