// Baseline, kept under bench/ only: a faithful TypeScript port of the old AWS Lambda's algorithm.
// Sequential ListUsers pages (IAM's default page size), then ListAccessKeys for every user, then
// GetAccessKeyLastUsed for every key, one call at a time: 1 page per 100 users + users + keys calls.
import {
  GetAccessKeyLastUsedCommand,
  paginateListAccessKeys,
  paginateListUsers,
  type IAMClient,
} from '@aws-sdk/client-iam';

export interface OldLambdaKeyRecord {
  UserName: string;
  AccessKeyId: string;
  Status: string;
  CreateDate: string;
  KeyAgeDays: number;
  LastUsedDate: string | null;
  LastUsedService: string | null;
  LastUsedRegion: string | null;
}

export async function* oldLambdaInventory(
  iam: IAMClient,
  now = new Date(),
): AsyncGenerator<OldLambdaKeyRecord> {
  for await (const page of paginateListUsers({ client: iam }, {})) {
    for (const user of page.Users ?? []) {
      for await (const keys of paginateListAccessKeys({ client: iam }, { UserName: user.UserName })) {
        for (const key of keys.AccessKeyMetadata ?? []) {
          const lastUsed = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKeyId }));
          const created = key.CreateDate ?? now;
          yield {
            UserName: user.UserName ?? '',
            AccessKeyId: key.AccessKeyId ?? '',
            Status: key.Status ?? '',
            CreateDate: created.toISOString(),
            KeyAgeDays: Math.floor((now.getTime() - created.getTime()) / 86_400_000),
            LastUsedDate: lastUsed.AccessKeyLastUsed?.LastUsedDate?.toISOString() ?? null,
            LastUsedService: lastUsed.AccessKeyLastUsed?.ServiceName ?? null,
            LastUsedRegion: lastUsed.AccessKeyLastUsed?.Region ?? null,
          };
        }
      }
    }
  }
}
