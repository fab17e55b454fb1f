import type { AWSIAMAccessKeysRow } from '../../tables/generated.js';
import { maskAccessKeyId } from '../../lib/redact.js';

export type AccessKeyDataSource = 'credential-report' | 'api';

/** ACCESS_KEY_ID_MODE: key IDs in records are masked (`AKIA…WXYZ`) unless an operator asks for them whole. */
export type AccessKeyIdMode = 'masked' | 'full';

/** Everything known about one access key, whichever route it came from. */
export interface AccessKeyFacts {
  readonly userName: string;
  readonly userArn: string | undefined;
  readonly userCreateDate: Date | undefined;
  /** Undefined for root keys: IAM does not list them to a role. */
  readonly accessKeyId: string | undefined;
  readonly status: string;
  readonly createDate: Date | undefined;
  readonly lastUsedDate: Date | undefined;
  readonly lastUsedRegion: string | undefined;
  readonly lastUsedService: string | undefined;
  readonly mfaActive: boolean | undefined;
  readonly passwordEnabled: boolean | undefined;
  readonly source: AccessKeyDataSource;
  /** When IAM generated the credential report the last use came from; undefined for `api`. */
  readonly credentialReportTime?: Date;
}

export interface Snapshot {
  readonly id: string;
  readonly time: Date;
  readonly accountId: string;
  readonly accountName: string | undefined;
  readonly accessKeyIdMode: AccessKeyIdMode;
}

const dayMs = 86_400_000;

export function toAccessKeyRow(key: AccessKeyFacts, snapshot: Snapshot): AWSIAMAccessKeysRow {
  return {
    TimeGenerated: snapshot.time.toISOString(),
    SnapshotId: snapshot.id,
    AccountId: snapshot.accountId,
    AccountName: snapshot.accountName ?? null,
    UserName: key.userName,
    UserArn: key.userArn ?? null,
    UserCreateDate: key.userCreateDate?.toISOString() ?? null,
    AccessKeyId:
      key.accessKeyId === undefined
        ? null
        : snapshot.accessKeyIdMode === 'full'
          ? key.accessKeyId
          : maskAccessKeyId(key.accessKeyId),
    Status: key.status,
    CreateDate: key.createDate?.toISOString() ?? null,
    KeyAgeDays: key.createDate ? wholeDaysBetween(key.createDate, snapshot.time) : null,
    LastUsedDate: key.lastUsedDate?.toISOString() ?? null,
    LastUsedRegion: key.lastUsedDate ? (key.lastUsedRegion ?? null) : null,
    LastUsedService: key.lastUsedDate ? (key.lastUsedService ?? null) : null,
    DaysSinceLastUse: key.lastUsedDate ? wholeDaysBetween(key.lastUsedDate, snapshot.time) : null,
    MfaActive: key.mfaActive ?? null,
    PasswordEnabled: key.passwordEnabled ?? null,
    DataSource: key.source,
    CredentialReportTime:
      key.source === 'credential-report' ? (key.credentialReportTime?.toISOString() ?? null) : null,
    // Filled by withOwnerTags (userTags.ts) when tags are read.
    OwnerTag: null,
  };
}

/** Whole days elapsed; clock skew between AWS and us must not produce negative ages. */
export function wholeDaysBetween(earlier: Date, later: Date): number {
  return Math.max(0, Math.floor((later.getTime() - earlier.getTime()) / dayMs));
}
