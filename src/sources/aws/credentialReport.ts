import {
  GenerateCredentialReportCommand,
  GetCredentialReportCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { WaiterState, checkExceptions, createWaiter } from '@smithy/util-waiter';
import { CsvError, parse } from 'csv-parse';
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
      const format: string | undefined = response.ReportFormat;
      if (format !== undefined && format !== 'text/csv') {
        throw new CredentialReportUnavailableError(
          `the credential report is in format ${format.slice(0, 40)}, not text/csv`,
        );
      }
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

/**
 * Parses the report CSV (real CSV parser: user names may contain commas) into rows by user name. A
 * report that is not CSV, lacks a column we read, has rows of another width than its header, or holds a
 * value that would decide wrongly whether a user has keys, is refused with
 * CredentialReportUnavailableError: the run then falls back to per-key calls rather than miss keys.
 */
export async function parseCredentialReport(csv: string): Promise<Map<string, ReportUser>> {
  const users = new Map<string, ReportUser>();
  let header: readonly string[] | undefined;
  const parser = parse(csv, {
    bom: true,
    columns: (names: string[]) => {
      header = names;
      return names;
    },
    skip_empty_lines: true,
    trim: true,
  });
  let row = 0;
  try {
    for await (const record of parser as AsyncIterable<Record<string, string | undefined>>) {
      if (row === 0) checkHeader(header);
      row += 1;
      const user = reportUser(record, row);
      users.set(user.user, user);
    }
  } catch (error) {
    if (error instanceof CsvError) {
      // csv-parse messages name the line and the widths; the report holds no secrets.
      throw new CredentialReportUnavailableError(
        `the credential report is not a CSV we can read (${error.code}: ${error.message.split('\n')[0]?.slice(0, 200) ?? ''})`,
      );
    }
    throw error;
  }
  if (row === 0) checkHeader(header);
  return users;
}

function checkHeader(header: readonly string[] | undefined): void {
  if (header === undefined) throw new CredentialReportUnavailableError('the credential report is empty');
  const missing = requiredColumns.filter((column) => !header.includes(column));
  if (missing.length > 0) {
    const shown = missing.slice(0, 5).join(', ');
    const more = missing.length > 5 ? ` and ${missing.length - 5} more` : '';
    throw new CredentialReportUnavailableError(`the credential report lacks columns ${shown}${more}`);
  }
}

function reportUser(record: Record<string, string | undefined>, row: number): ReportUser {
  const user = record.user ?? '';
  if (user === '')
    throw new CredentialReportUnavailableError(`row ${row} of the credential report has no user`);
  const keys: ReportKeySlot[] = [];
  for (const slot of [1, 2] as const) {
    // A slot exists when the key does: it has a rotation date (active or not). A value that is neither a
    // date nor a no-value marker would make a user with a key look keyless, so it makes the report unusable.
    const rotated = `access_key_${slot}_last_rotated`;
    const lastRotated = reportDate(record[rotated]);
    if (lastRotated === undefined && reportText(record[rotated]) !== undefined) {
      throw new CredentialReportUnavailableError(
        `row ${row} of the credential report has ${rotated} neither a date nor N/A`,
      );
    }
    if (lastRotated === undefined) continue;
    keys.push({
      slot,
      active: reportFlag(record, `access_key_${slot}_active`, row),
      lastRotated,
      lastUsedDate: reportDate(record[`access_key_${slot}_last_used_date`]),
      lastUsedRegion: reportText(record[`access_key_${slot}_last_used_region`]),
      lastUsedService: reportText(record[`access_key_${slot}_last_used_service`]),
    });
  }
  const password = record.password_enabled;
  return {
    user,
    arn: record.arn ?? '',
    userCreationTime: reportDate(record.user_creation_time),
    passwordEnabled: password === 'true' ? true : password === 'false' ? false : undefined,
    mfaActive: reportFlag(record, 'mfa_active', row),
    keys,
  };
}

function reportFlag(record: Record<string, string | undefined>, column: string, row: number): boolean {
  const value = record[column];
  if (value === 'true' || value === 'false') return value === 'true';
  throw new CredentialReportUnavailableError(
    `row ${row} of the credential report has ${column} neither true nor false`,
  );
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
