import { availableParallelism } from 'node:os';
import type { CollectorSettingsReader } from '../../config/collectorSettings.js';
import { SettingsReader } from '../../config/parse.js';
import type { AccessKeyIdMode } from './accessKeyRow.js';
import type { OrganizationMode } from './accessKeysCollector.js';
import { parseAccountFilter } from './organization.js';
import { defaultOwnerTagKeys } from './userTags.js';

export type AwsAuth =
  /** Managed identity token → STS AssumeRoleWithWebIdentity: the only mode of the deployed app. */
  | { readonly kind: 'federation'; readonly audience: string; readonly roleArn: string }
  /** The AWS SDK's default credential chain (profiles, SSO, env): local runs only. */
  | { readonly kind: 'default-chain' };

/** What the aws-access-keys collector reads: app settings, then Key Vault secrets. */
export interface AwsAccessKeysSettings {
  readonly auth: AwsAuth;
  /** Organization mode (`aws-member-role-name` set): every active account through a member role. */
  readonly organization: Omit<OrganizationMode, 'progress'> | undefined;
  /** Concurrent per-user IAM calls: enough to hide latency, few enough not to be throttled. */
  readonly concurrency: number;
  /**
   * A credential report older than this is not trusted to show who has no key: those users are asked
   * with ListAccessKeys too (IAM regenerates the report at most every 4 h).
   */
  readonly credentialReportMaxAgeMinutes: number;
  readonly accessKeyIdMode: AccessKeyIdMode;
  /** Tag keys naming an IAM user's owner (AWS_OWNER_TAG_KEYS), in order; empty: tags are not read. */
  readonly ownerTagKeys: readonly string[];
}

const expected = {
  audience: 'the Application ID URI of the Entra app AWS trusts, e.g. api://crosscloud-identity-monitor-aws',
  roleArn: 'the ARN of the IAM role to assume, arn:aws:iam::<12-digit account>:role/<name>',
  memberRole:
    'the name of the role to assume in each member account, e.g. crosscloud-identity-monitor-member',
} as const;

const audienceUri = /^(api|https):\/\/\S+$/;
const roleArnPattern = /^arn:aws(-cn|-us-gov|-iso|-iso-b)?:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/;

/**
 * Locally the AWS default chain is fine; the deployed app only ever federates (AWS_FEDERATION_AUDIENCE
 * and the secret aws-role-arn). Organization mode is switched on by the optional secret
 * aws-member-role-name, narrowed by the optional aws-accounts.
 */
export const readAwsAccessKeysSettings: CollectorSettingsReader<AwsAccessKeysSettings> = (read, context) => {
  const isFunction = context.host === 'function';
  const audienceRaw = isFunction
    ? read.required('AWS_FEDERATION_AUDIENCE', expected.audience)
    : read.raw('AWS_FEDERATION_AUDIENCE');
  const audience = read.matching('AWS_FEDERATION_AUDIENCE', audienceRaw, audienceUri, expected.audience);
  const federate = isFunction || audienceRaw !== undefined;
  if (!federate && read.isSet('AWS_ROLE_ARN')) {
    read.notices.push(
      'AWS_ROLE_ARN is ignored: it names the role to assume through Entra federation, which is used only ' +
        'when AWS_FEDERATION_AUDIENCE is set too. This run uses the AWS default credential chain (profile, SSO, environment).',
    );
  }
  const accessKeyIdMode = read.oneOf<AccessKeyIdMode>('ACCESS_KEY_ID_MODE', ['masked', 'full'], 'masked');
  const concurrency = read.integer('AWS_CONCURRENCY', { min: 1, max: 64 }, 8);
  const credentialReportMaxAgeMinutes = read.integer(
    'CREDENTIAL_REPORT_MAX_AGE_MINUTES',
    { min: 0, max: 240 },
    15,
  );
  const accountConcurrency = read.integer('AWS_ACCOUNT_CONCURRENCY', { min: 1, max: 32 }, 4);
  const workers = readAccountWorkers(read, accountConcurrency);
  const ownerTagKeys = readOwnerTagKeys(read);
  return {
    secrets: {
      required: federate ? ['aws-role-arn'] : [],
      optional: ['aws-member-role-name', 'aws-accounts'],
    },
    complete(secrets) {
      let auth: AwsAuth = { kind: 'default-chain' };
      if (federate) {
        const roleArn = secrets.matching(
          'aws-role-arn',
          secrets.required('aws-role-arn', expected.roleArn),
          roleArnPattern,
          expected.roleArn,
        );
        if (roleArn !== undefined && audience !== undefined) auth = { kind: 'federation', audience, roleArn };
      }
      const organization = readOrganizationMode(secrets, {
        accountConcurrency,
        budgetMs: context.runBudgetMs,
        workers,
      });
      return {
        auth,
        organization,
        concurrency,
        credentialReportMaxAgeMinutes,
        accessKeyIdMode,
        ownerTagKeys,
      };
    },
  };
};

/** AWS_OWNER_TAG_KEYS: tag keys (IAM's characters, up to 128 each), comma-separated, or `none`. */
function readOwnerTagKeys(read: SettingsReader): readonly string[] {
  const text = read.matching(
    'AWS_OWNER_TAG_KEYS',
    read.withDefault('AWS_OWNER_TAG_KEYS', defaultOwnerTagKeys.join(',')),
    /^(none|[\p{L}\p{N}_.:/=+@ -]{1,128}(,[\p{L}\p{N}_.:/=+@ -]{1,128})*)$/u,
    'tag keys naming an IAM user\'s owner, comma-separated (e.g. "email,owner"), or none to read no tags',
  );
  if (text === undefined || text === 'none') return text === 'none' ? [] : defaultOwnerTagKeys;
  return text.split(',').map((key) => key.trim());
}

/**
 * AWS_ACCOUNT_WORKERS: threads the accounts of an organization are read on, 0 (the run's own thread) to 16,
 * or `auto` (the default): one per core when there is more than one (Flex Consumption's 4,096 MB instance
 * has 2), never more than accounts at a time; on one core, none (a thread only adds its start-up there).
 */
function readAccountWorkers(read: SettingsReader, accountConcurrency: number): number {
  const text = read.matching(
    'AWS_ACCOUNT_WORKERS',
    read.withDefault('AWS_ACCOUNT_WORKERS', 'auto'),
    /^(auto|\d{1,2})$/i,
    "auto, or an integer from 0 to 16: threads the accounts are read on (0: the run's own)",
  );
  if (text === undefined || text.toLowerCase() === 'auto') return autoAccountWorkers(accountConcurrency);
  const workers = Number(text);
  if (workers <= 16) return workers;
  read.problems.push({
    setting: 'AWS_ACCOUNT_WORKERS',
    problem: `is "${text}"`,
    expected: 'auto, or an integer from 0 to 16',
  });
  return 0;
}

/** AWS_ACCOUNT_WORKERS=auto: one thread per core when there is more than one, at most one per account. */
export function autoAccountWorkers(accountConcurrency: number, cores = availableParallelism()): number {
  return cores > 1 ? Math.min(cores, accountConcurrency) : 0;
}

function readOrganizationMode(
  read: SettingsReader,
  limits: Pick<OrganizationMode, 'accountConcurrency' | 'budgetMs' | 'workers'>,
): AwsAccessKeysSettings['organization'] {
  const memberRoleName = read.matching(
    'aws-member-role-name',
    read.raw('aws-member-role-name'),
    /^[\w+=,.@-]{1,64}$/,
    expected.memberRole,
  );
  const filterText = read.raw('aws-accounts');
  const accounts = parseAccountFilter(filterText);
  if (typeof accounts === 'string') {
    read.problems.push({
      setting: 'aws-accounts',
      problem: `is malformed: ${accounts}`,
      expected:
        'account IDs to include, and !<account ID> to exclude, separated by commas (e.g. "!111122223333")',
    });
  } else if (filterText !== undefined && read.raw('aws-member-role-name') === undefined) {
    read.problems.push({
      setting: 'aws-accounts',
      problem: 'is set but aws-member-role-name is not',
      expected: 'aws-member-role-name too: the account list applies to organization mode only',
    });
  }
  if (memberRoleName === undefined || typeof accounts === 'string') return undefined;
  return { memberRoleName, accounts, ...limits };
}
