import {
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { WaiterState, checkExceptions, createWaiter } from '@smithy/util-waiter';
import { parse } from 'csv-parse';
import { hasAwsErrorCode } from './awsErrors.js';

/** One access-key slot of a report row; IAM users have at most two. */
export interface ReportKeySlot {
  readonly slot: 1 | 2;
  readonly active: boolean;
  readonly lastRotated: Date;
  readonly lastUsedDate: Date | undefined;
  readonly lastUsedRegion: string | undefined;
  readonly lastUsedService: string | undefined;
}

export interface ReportUser {
  readonly user: string;
  readonly arn: string;
  readonly userCreationTime: Date | undefined;
  readonly passwordEnabled: boolean | undefined;
  readonly mfaActive: boolean;
  readonly keys: readonly ReportKeySlot[];
}

export interface CredentialReport {
  readonly generatedTime: Date | undefined;
  readonly users: ReadonlyMap<string, ReportUser>;
}

export interface CredentialReportWait {
  /** Give up waiting for generation after this many seconds. */
  readonly maxWaitSeconds?: number;
  readonly minDelaySeconds?: number;
  readonly maxDelaySeconds?: number;
}

/** The role may not read the report, or it is unusable: the caller falls back to per-key calls. */
export class CredentialReportUnavailableError extends Error {
  override readonly name = 'CredentialReportUnavailableError';
}

export const rootUserName = '<root_account>';

const requiredColumns = [
  'user',
  'arn',
  'user_creation_time',
  'password_enabled',
  'mfa_active',
  ...([1, 2] as const).flatMap((n) =>
    ['active', 'last_rotated', 'last_used_date', 'last_used_region', 'last_used_service'].map(
      (field) => `access_key_${n}_${field}`,
    ),
  ),
];

const deniedCodes = ['AccessDenied', 'UnauthorizedOperation'] as const;
// Wire codes; the SDK's exception names are CredentialReport{NotPresent,Expired,NotReady}Exception.
const regenerateCodes = ['ReportNotPresent', 'ReportExpired', 'ReportInProgress'] as const;

/**
 * Asks IAM to (re)generate the credential report, waits until it is COMPLETE (IAM reuses a report
 * younger than 4 hours), downloads and parses it. `LimitExceeded` and not-ready states are polled
 * with the SDK waiter's backoff; a report that expired or vanished between the calls is regenerated.
 */
export async function fetchCredentialReport(
  iam: IAMClient,
  wait: CredentialReportWait = {},
): Promise<CredentialReport> {
  for (let attempt = 1; ; attempt += 1) {
    await waitForReport(iam, wait);
    try {
      const response = await iam.send(new GetCredentialReportCommand({}));
      if (!response.Content)
        throw new CredentialReportUnavailableError('GetCredentialReport returned no content');
      const users = await parseCredentialReport(Buffer.from(response.Content).toString('utf8'));
      return { generatedTime: response.GeneratedTime, users };
    } catch (error) {
      if (hasAwsErrorCode(error, ...regenerateCodes) && attempt < 3) continue;
      throw unavailableIfDenied(error);
    }
  }
}

async function waitForReport(iam: IAMClient, wait: CredentialReportWait): Promise<void> {
  const result = await createWaiter(
    {
      client: iam,
      maxWaitTime: wait.maxWaitSeconds ?? 300,
      minDelay: wait.minDelaySeconds ?? 2,
      maxDelay: wait.maxDelaySeconds ?? 20,
    },
    {},
    async (client) => {
      try {
        const { State } = await client.send(new GenerateCredentialReportCommand({}));
        return { state: State === 'COMPLETE' ? WaiterState.SUCCESS : WaiterState.RETRY, reason: State };
      } catch (error) {
        // Too many generation requests at once: wait and ask again.
        if (
          error instanceof Error &&
          (error.name === 'LimitExceeded' || error.name === 'LimitExceededException')
        ) {
          return { state: WaiterState.RETRY, reason: error.name };
        }
        throw unavailableIfDenied(error);
      }
    },
  );
  try {
    checkExceptions(result);
  } catch {
    throw new CredentialReportUnavailableError(
      `the credential report was not ready after ${wait.maxWaitSeconds ?? 300} s (state ${result.state})`,
    );
  }
}

function unavailableIfDenied(error: unknown): unknown {
  if (hasAwsErrorCode(error, ...deniedCodes)) {
    return new CredentialReportUnavailableError(
      `the role may not read the credential report (${error.name}); grant iam:GenerateCredentialReport and iam:GetCredentialReport to cut API calls`,
    );
  }
  return error;
}

/** Parses the report CSV (real CSV parser: user names may contain commas) into rows by user name. */
export async function parseCredentialReport(csv: string): Promise<Map<string, ReportUser>> {
  const users = new Map<string, ReportUser>();
  const parser = parse(csv, { columns: true, skip_empty_lines: true, trim: true });
  let checkedHeader = false;
  for await (const record of parser as AsyncIterable<Record<string, string | undefined>>) {
    if (!checkedHeader) {
      const missing = requiredColumns.filter((column) => !(column in record));
      if (missing.length > 0) {
        throw new CredentialReportUnavailableError(
          `the credential report lacks columns ${missing.join(', ')}`,
        );
      }
      checkedHeader = true;
    }
    const user = reportUser(record);
    users.set(user.user, user);
  }
  return users;
}

function reportUser(record: Record<string, string | undefined>): ReportUser {
  const keys: ReportKeySlot[] = [];
  for (const slot of [1, 2] as const) {
    const lastRotated = reportDate(record[`access_key_${slot}_last_rotated`]);
    // A slot exists when the key does: it has a rotation date (active or not).
    if (lastRotated === undefined) continue;
    keys.push({
      slot,
      active: record[`access_key_${slot}_active`] === 'true',
      lastRotated,
      lastUsedDate: reportDate(record[`access_key_${slot}_last_used_date`]),
      lastUsedRegion: reportText(record[`access_key_${slot}_last_used_region`]),
      lastUsedService: reportText(record[`access_key_${slot}_last_used_service`]),
    });
  }
  const password = record.password_enabled;
  return {
    user: record.user ?? '',
    arn: record.arn ?? '',
    userCreationTime: reportDate(record.user_creation_time),
    passwordEnabled: password === 'true' ? true : password === 'false' ? false : undefined,
    mfaActive: record.mfa_active === 'true',
    keys,
  };
}

/** `N/A`, `no_information`, `not_supported` and blanks all mean "no value". */
function reportText(value: string | undefined): string | undefined {
  if (!value || value === 'N/A' || value === 'no_information' || value === 'not_supported') return undefined;
  return value;
}

function reportDate(value: string | undefined): Date | undefined {
  const text = reportText(value);
  if (text === undefined) return undefined;
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
