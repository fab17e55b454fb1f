import {
  declareCollector,
  type CollectorFactoryContext,
  type CollectorSummary,
} from '../../run/collectorDeclaration.js';
import {
  entraAuditsCollector,
  entraAuditsCollectorName,
  entraSignInsCollector,
  entraSignInsCollectorName,
  type GraphSourceOptions,
} from './auditLogCollectors.js';
import {
  readEntraSettings,
  readEntraSignInsSettings,
  readEntraUsersSettings,
  type GraphSettings,
} from './settings.js';
import { signInSummarizer, type FailureCount } from './signInSummary.js';
import { entraUsersCollector, entraUsersCollectorName } from './users.js';
import { userCliSummary } from './userSummary.js';

/**
 * The Entra source: two windowed collectors over Microsoft Graph's audit logs, and a daily snapshot of its
 * users.
 */
export const collectors = [
  declareCollector({
    name: entraSignInsCollectorName,
    table: 'EntraSignIns_CL',
    kind: 'windowed',
    description: 'Entra ID sign-ins from Microsoft Graph (needs Entra ID P1/P2)',
    timer: {
      functionName: 'entraSignIns',
      scheduleSetting: 'ENTRA_SIGNINS_SCHEDULE',
      defaultSchedule: '0 */15 * * * *',
    },
    readSettings: readEntraSignInsSettings,
    create: (settings, context) =>
      entraSignInsCollector({ ...graphOptions(settings, context), eventTypes: settings.signInEventTypes }),
    windowPolicy: (settings) => settings.window,
    summary: signInCliSummary,
  }),
  declareCollector({
    name: entraAuditsCollectorName,
    table: 'EntraAuditLogs_CL',
    kind: 'windowed',
    description: 'Entra ID directory audits from Microsoft Graph',
    timer: {
      functionName: 'entraAuditLogs',
      scheduleSetting: 'ENTRA_AUDITS_SCHEDULE',
      defaultSchedule: '0 5-59/15 * * * *',
    },
    readSettings: readEntraSettings,
    create: (settings, context) => entraAuditsCollector(graphOptions(settings, context)),
    windowPolicy: (settings) => settings.window,
  }),
  declareCollector({
    name: entraUsersCollectorName,
    table: 'EntraUsers_CL',
    kind: 'snapshot',
    description:
      'Entra ID users from Microsoft Graph (daily snapshot; sign-in activity needs Entra ID P1/P2)',
    timer: {
      functionName: 'entraUsers',
      scheduleSetting: 'ENTRA_USERS_SCHEDULE',
      defaultSchedule: '0 30 5 * * *',
    },
    readSettings: readEntraUsersSettings,
    create: (settings, context) => entraUsersCollector(graphOptions(settings, context)),
    summary: userCliSummary,
  }),
];

function graphOptions(settings: GraphSettings, context: CollectorFactoryContext): GraphSourceOptions {
  return {
    endpoint: settings.graphEndpoint,
    audience: settings.graphAudience,
    credential: context.credential,
    pacing: settings.pacing,
    appPacing: settings.appPacing,
    retryOptions: context.tuning.retry,
    multiTenant: settings.multiTenant,
    tenantConcurrency: settings.tenantConcurrency,
  };
}

/** Users, apps and addresses printed per list of failing sign-ins unless --all. */
const failingShown = 5;

function signInCliSummary(): CollectorSummary<'EntraSignIns_CL'> {
  const signIns = signInSummarizer(Number.MAX_SAFE_INTEGER);
  return {
    add: (rows) => signIns.add(rows),
    render({ all }) {
      const result = signIns.result();
      const details: string[] = [];
      const top = (title: string, counts: readonly FailureCount[]) => {
        if (counts.length === 0) return;
        details.push('', `${title} (failed sign-ins each):`);
        for (const c of counts.slice(0, all ? undefined : failingShown))
          details.push(`  ${String(c.failures).padStart(6)}  ${c.value}`);
      };
      top('Users failing most', result.topUsers);
      top('Apps failing most', result.topApps);
      top('Addresses failing most', result.topIpAddresses);
      return {
        figures: [`  failed sign-ins           ${result.failed} of ${result.signIns}`],
        details,
      };
    },
  };
}
