import { declareCollector, type CollectorSummary } from '../../run/collectorDeclaration.js';
import { accountProgressIn } from './accountProgress.js';
import { renderAccessKeyFindings } from './accessKeyFindings.js';
import { accessKeySummarizer } from './accessKeySummary.js';
import { awsAccessKeysCollector, awsAccessKeysCollectorName } from './accessKeysCollector.js';
import { webIdentityFederation } from './federation.js';
import { iamRegionForArn } from './partition.js';
import { readAwsAccessKeysSettings } from './settings.js';

/** The AWS source: one snapshot collector, the IAM access keys of an account or an organization. */
export const collectors = [
  declareCollector({
    name: awsAccessKeysCollectorName,
    table: 'AWSIAMAccessKeys_CL',
    kind: 'snapshot',
    description: 'AWS IAM access keys (age, status, last use, MFA) of one account or an organization',
    timer: {
      functionName: 'awsAccessKeys',
      scheduleSetting: 'AWS_ACCESS_KEYS_SCHEDULE',
      defaultSchedule: '0 0 6 * * *',
    },
    readSettings: readAwsAccessKeysSettings,
    create(settings, context) {
      const { auth } = settings;
      const roleArn = auth.kind === 'federation' ? auth.roleArn : undefined;
      const pollSeconds = context.tuning.pollSeconds;
      return awsAccessKeysCollector({
        region: iamRegionForArn(roleArn),
        partition: roleArn?.split(':')[1],
        accessKeyIdMode: settings.accessKeyIdMode,
        concurrency: settings.concurrency,
        credentialReportMaxAgeMs: settings.credentialReportMaxAgeMinutes * 60_000,
        ownerTagKeys: settings.ownerTagKeys,
        // Organization progress lives with the run's state (checkpoints); without a store, ID order.
        organization: settings.organization && {
          ...settings.organization,
          progress: context.state && accountProgressIn(context.state, awsAccessKeysCollectorName),
        },
        reportWait: pollSeconds
          ? { minDelaySeconds: pollSeconds, maxDelaySeconds: pollSeconds * 4 }
          : undefined,
        credentialsFor: (run) =>
          auth.kind === 'federation'
            ? webIdentityFederation({
                tokenCredential: context.credential,
                audience: auth.audience,
                roleArn: auth.roleArn,
                roleSessionName: `cim-${awsAccessKeysCollectorName}-${run.runId}`,
                region: iamRegionForArn(auth.roleArn),
                stats: run.stats,
              })
            : undefined,
      });
    },
    summary: accessKeyCliSummary,
  }),
];

/** Findings printed per kind unless --all. */
const findingsShown = 10;

function accessKeyCliSummary(): CollectorSummary<'AWSIAMAccessKeys_CL'> {
  const summary = accessKeySummarizer();
  return {
    add: (rows) => summary.add(rows),
    render({ all }) {
      const keys = summary.result();
      return {
        figures: [
          `  access keys               ${keys.keys} (${keys.activeKeys} active)`,
          `  active keys > 90 days     ${keys.activeOlderThan90Days}`,
          `  never-used keys           ${keys.neverUsed}`,
          `  users with keys, no MFA   ${keys.usersWithKeysWithoutMfa}`,
        ],
        details: renderAccessKeyFindings(keys, all ? Number.MAX_SAFE_INTEGER : findingsShown),
      };
    },
  };
}
