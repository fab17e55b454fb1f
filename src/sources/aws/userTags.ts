// The owner tag of IAM users (issue 17): one ListUserTags call per IAM user that holds keys (the rows the
// inventory yields; users without keys are not in the snapshot and cost nothing), made through the account's
// IAM client, so the calls are counted in the run row's ApiCalls and stop at the run's deadline. The value of
// the first tag whose key is one of AWS_OWNER_TAG_KEYS (case-insensitive: Email, email) goes to OwnerTag,
// which the people-across-clouds rules (infra/people/matching.json) match to Entra users.
import { ListUserTagsCommand, type IAMClient, type Tag } from '@aws-sdk/client-iam';
import { pMapIterable } from 'p-map';
import type { AWSIAMAccessKeysRow } from '../../tables/generated.js';
import { callOptions } from './accessKeyInventory.js';
import { hasAwsErrorCode } from './awsErrors.js';
import { rootUserName } from './credentialReport.js';

/** Default of AWS_OWNER_TAG_KEYS. */
export const defaultOwnerTagKeys: readonly string[] = ['email', 'owner'];

/** The IAM action the tags need (iamActions.ts lists it for the CloudFormation policies). */
export const listUserTagsAction = 'iam:ListUserTags';

/** The value of the first of `keys` (in that order) among `tags`; '' when none. */
export function ownerTagValue(tags: readonly Tag[], keys: readonly string[]): string {
  for (const key of keys) {
    const tag = tags.find((t) => (t.Key ?? '').toLowerCase() === key.toLowerCase());
    if (tag !== undefined) return (tag.Value ?? '').trim();
  }
  return '';
}

/** All of a user's tags (IAM allows 50; pages of 100 by default, followed anyway). */
export async function listUserTags(iam: IAMClient, userName: string, signal?: AbortSignal): Promise<Tag[]> {
  const tags: Tag[] = [];
  let marker: string | undefined;
  do {
    const page = await iam.send(
      new ListUserTagsCommand({ UserName: userName, Marker: marker }),
      callOptions(iam, signal),
    );
    tags.push(...(page.Tags ?? []));
    marker = page.IsTruncated ? page.Marker : undefined;
  } while (marker !== undefined);
  return tags;
}

export interface OwnerTagOptions {
  /** Tag keys naming the owner, in order of preference; empty: tags are not read (OwnerTag null). */
  readonly keys: readonly string[];
  /** Users asked at once. */
  readonly concurrency: number;
  readonly signal?: AbortSignal;
  /** Told once when the role may not read tags: the snapshot goes on without them. */
  readonly onWarning?: (warning: string) => void;
}

/**
 * The rows with OwnerTag filled: each user's tags are read once (the rows of a user arrive together; a
 * cache covers those that do not), up to `concurrency` users at a time, rows in their order. Root keys keep
 * null (the root user has no tags API). A user deleted meanwhile gets '' (the inventory warns about it);
 * AccessDenied (a role deployed before iam:ListUserTags was added) stops reading tags for the rest of the
 * account with a warning, and the run still succeeds: matching by name works without tags.
 */
export async function* withOwnerTags(
  rows: AsyncIterable<AWSIAMAccessKeysRow>,
  iam: IAMClient,
  options: OwnerTagOptions,
): AsyncGenerator<AWSIAMAccessKeysRow> {
  if (options.keys.length === 0) {
    yield* rows;
    return;
  }
  const cache = new Map<string, Promise<string | null>>();
  let denied = false;
  const ownerOf = (userName: string): Promise<string | null> => {
    const known = cache.get(userName);
    if (known) return known;
    const asked = (async () => {
      if (denied) return null;
      try {
        return ownerTagValue(await listUserTags(iam, userName, options.signal), options.keys);
      } catch (error) {
        if (hasAwsErrorCode(error, 'NoSuchEntity')) return '';
        if (hasAwsErrorCode(error, 'AccessDenied') || hasAwsErrorCode(error, 'AccessDeniedException')) {
          if (!denied)
            options.onWarning?.(
              `${listUserTagsAction} was denied: OwnerTag is null in this snapshot (grant it to match IAM users to people by their owner tag)`,
            );
          denied = true;
          return null;
        }
        throw error;
      }
    })();
    cache.set(userName, asked);
    return asked;
  };
  const groups = pMapIterable(
    groupedByUser(rows),
    async (group) => {
      const userName = group[0]?.UserName ?? '';
      if (userName === rootUserName || userName === '') return group;
      const owner = await ownerOf(userName);
      return group.map((row) => ({ ...row, OwnerTag: owner }));
    },
    { concurrency: options.concurrency },
  );
  for await (const group of groups) yield* group;
}

/** Consecutive rows of the same user, together. */
async function* groupedByUser(
  rows: AsyncIterable<AWSIAMAccessKeysRow>,
): AsyncGenerator<AWSIAMAccessKeysRow[]> {
  let group: AWSIAMAccessKeysRow[] = [];
  for await (const row of rows) {
    if (group.length > 0 && group[0]?.UserName !== row.UserName) {
      yield group;
      group = [];
    }
    group.push(row);
  }
  if (group.length > 0) yield group;
}
