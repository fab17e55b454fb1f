import { IAMClient, ListAccountAliasesCommand } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@aws-sdk/types';
import type { AccessKeyIdMode } from '../../config/settings.js';
import type { Collector, CollectorContext } from '../../run/collector.js';
import { listAccessKeysWithLastUse, type InventoryOptions } from './accessKeyInventory.js';
import { toAccessKeyRow } from './accessKeyRow.js';
import { countApiCalls } from './apiCallCounter.js';

export const awsAccessKeysCollectorName = 'aws-access-keys';

export interface AwsAccessKeysCollectorOptions {
  /** Credentials for this run (the session name carries the run ID); undefined = AWS default chain. */
  readonly credentialsFor: (context: CollectorContext) => AwsCredentialIdentityProvider | undefined;
  readonly region: string;
  readonly accessKeyIdMode: AccessKeyIdMode;
  readonly concurrency: number;
  readonly route?: InventoryOptions['route'];
  readonly reportWait?: InventoryOptions['reportWait'];
  /** Throttling is expected at scale: adaptive retry slows down instead of failing. */
  readonly maxAttempts?: number;
}

/** One AWSIAMAccessKeys_CL row per access key of the account, all stamped with the run's snapshot. */
export function awsAccessKeysCollector(
  options: AwsAccessKeysCollectorOptions,
): Collector<'AWSIAMAccessKeys_CL'> {
  return {
    name: awsAccessKeysCollectorName,
    table: 'AWSIAMAccessKeys_CL',
    async *read(context) {
      const credentials = options.credentialsFor(context);
      const clientConfig = {
        region: options.region,
        credentials,
        retryMode: 'adaptive',
        maxAttempts: options.maxAttempts ?? 10,
      };
      const iam = new IAMClient(clientConfig);
      const sts = new STSClient(clientConfig);
      countApiCalls(iam, context.stats);
      countApiCalls(sts, context.stats);
      try {
        const [identity, aliases] = await Promise.all([
          sts.send(new GetCallerIdentityCommand({})),
          iam.send(new ListAccountAliasesCommand({})),
        ]);
        const snapshot = {
          id: context.runId,
          time: context.startTime,
          accountId: identity.Account ?? 'unknown',
          accountName: aliases.AccountAliases?.[0],
          accessKeyIdMode: options.accessKeyIdMode,
        };
        context.log.info(
          `inventorying access keys of AWS account ${snapshot.accountId} as ${identity.Arn ?? '?'}`,
        );
        const keys = listAccessKeysWithLastUse(iam, {
          concurrency: options.concurrency,
          route: options.route,
          reportWait: options.reportWait,
          onFallback: (reason) => context.stats.warnings.push(reason),
        });
        for await (const key of keys) yield toAccessKeyRow(key, snapshot);
      } finally {
        iam.destroy();
        sts.destroy();
      }
    },
  };
}
