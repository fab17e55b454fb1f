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
import { pMapIterable } from 'p-map';
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

export interface InventoryOptions {
  /** Users whose keys are fetched at once. */
  readonly concurrency: number;
  /** `auto`: credential report joined with ListAccessKeys, per-key calls if the report is unavailable. */
  readonly route?: 'auto' | 'api';
  readonly reportWait?: CredentialReportWait;
  /** Told why the report route was abandoned (it ends up in the run row). */
  readonly onFallback?: (reason: string) => void;
}

/**
 * Every IAM access key of the account with its last use and its user's MFA and password flags,
 * streamed as users are processed (the account is never held in memory as rows).
 *
 * Report route: GenerateCredentialReport/GetCredentialReport + ListUsers (1 call per 1,000 users) +
 * ListAccessKeys for users the report shows with keys ≈ users-with-keys + users/1000 + a few calls.
 * Key IDs come from ListAccessKeys, matched to the report's key slots by creation date.
 * API route (the old Lambda's way, plus MFA and password): ListAccessKeys per user,
 * GetAccessKeyLastUsed per key, ListMFADevices and GetLoginProfile per user with keys.
 */
export async function* listAccessKeysWithLastUse(
  iam: IAMClient,
  options: InventoryOptions,
): AsyncGenerator<AccessKeyFacts> {
  let report: CredentialReport | undefined;
  if (options.route !== 'api') {
    try {
      report = await fetchCredentialReport(iam, options.reportWait);
    } catch (error) {
      if (!(error instanceof CredentialReportUnavailableError)) throw error;
      options.onFallback?.(`credential report unavailable, used per-key API calls instead: ${error.message}`);
    }
  }

  const root = report?.users.get(rootUserName);
  if (root) yield* rootKeys(root);

  const users = listUsers(iam);
  const perUser = pMapIterable(users, (user) => keysOfUser(iam, user, report), {
    concurrency: options.concurrency,
    backpressure: options.concurrency * 2,
  });
  for await (const keys of perUser) yield* keys;
}

async function* listUsers(iam: IAMClient): AsyncGenerator<User> {
  for await (const page of paginateListUsers({ client: iam, pageSize: 1000 }, {})) {
    yield* page.Users ?? [];
  }
}

async function keysOfUser(
  iam: IAMClient,
  user: User,
  report: CredentialReport | undefined,
): Promise<AccessKeyFacts[]> {
  const userName = user.UserName ?? '';
  const reported = report?.users.get(userName);
  // The report (at most 4 h old) says this user had no key: skip the call. A key created since then
  // appears in the next run; users created since then are not in the report and are listed below.
  if (reported && reported.keys.length === 0) return [];

  const keys = await listAccessKeys(iam, userName);
  if (keys.length === 0) return [];

  const flags = reported
    ? { mfaActive: reported.mfaActive, passwordEnabled: reported.passwordEnabled }
    : await userSignInFlags(iam, userName);
  const unmatched = new Set(reported?.keys ?? []);
  return Promise.all(
    keys.map(async (key): Promise<AccessKeyFacts> => {
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
        };
      }
      return { ...base, ...(await lastUse(iam, key)), source: 'api' };
    }),
  );
}

async function listAccessKeys(iam: IAMClient, userName: string): Promise<AccessKeyMetadata[]> {
  const keys: AccessKeyMetadata[] = [];
  try {
    for await (const page of paginateListAccessKeys({ client: iam }, { UserName: userName })) {
      keys.push(...(page.AccessKeyMetadata ?? []));
    }
  } catch (error) {
    // Deleted between ListUsers and now: it has no keys any more.
    if (hasAwsErrorCode(error, 'NoSuchEntity')) return [];
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

async function lastUse(
  iam: IAMClient,
  key: AccessKeyMetadata,
): Promise<Pick<AccessKeyFacts, 'lastUsedDate' | 'lastUsedRegion' | 'lastUsedService'>> {
  const { AccessKeyLastUsed: used } = await iam.send(
    new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId }),
  );
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
): Promise<Pick<AccessKeyFacts, 'mfaActive' | 'passwordEnabled'>> {
  const [mfa, passwordEnabled] = await Promise.all([
    iam.send(new ListMFADevicesCommand({ UserName: userName, MaxItems: 1 })),
    iam.send(new GetLoginProfileCommand({ UserName: userName })).then(
      () => true,
      (error: unknown) => {
        if (hasAwsErrorCode(error, 'NoSuchEntity')) return false;
        throw error;
      },
    ),
  ]);
  return { mfaActive: (mfa.MFADevices?.length ?? 0) > 0, passwordEnabled };
}

/** Root keys are visible only in the report, without their IDs; they matter most of all. */
function* rootKeys(root: ReportUser): Generator<AccessKeyFacts> {
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
    };
  }
}
