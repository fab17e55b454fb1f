import type { CollectorSettingsReader } from '../../config/collectorSettings.js';
import type { SettingsReader } from '../../config/parse.js';
import type { WindowPolicy } from '../../run/windowedCollector.js';
import { signInEventTypes, type SignInEventType } from './rows.js';

/** What every Entra collector reads: where Graph is and how fast to ask it (GRAPH_*). */
export interface GraphSettings {
  readonly graphEndpoint: string;
  /** Token audience for Graph; like LogsIngestionClient's `audience`, it differs by cloud, not by host. */
  readonly graphAudience: string;
  /** Requests per interval to Graph's audit logs (Graph allows 5 per 10 s per tenant). */
  readonly pacing: { readonly limit: number; readonly intervalMs: number };
}

/** What both audit-log collectors read: Graph, and which windows to read. */
export interface EntraSettings extends GraphSettings {
  readonly window: WindowPolicy;
}

export interface EntraSignInsSettings extends EntraSettings {
  readonly signInEventTypes: readonly SignInEventType[];
}

const minuteMs = 60_000;
const defaultGraph = 'https://graph.microsoft.com';

/** GRAPH_* and ENTRA_* (except the sign-in event types): no Key Vault secret. */
export const readEntraSettings: CollectorSettingsReader<EntraSettings> = (read, context) => {
  const settings = entraSettings(read, context.runBudgetMs);
  return { secrets: { required: [], optional: [] }, complete: () => settings };
};

/** The shared Entra settings and ENTRA_SIGNIN_EVENT_TYPES, which only the sign-in collector reads. */
export const readEntraSignInsSettings: CollectorSettingsReader<EntraSignInsSettings> = (read, context) => {
  const settings = { ...entraSettings(read, context.runBudgetMs), signInEventTypes: eventTypes(read) };
  return { secrets: { required: [], optional: [] }, complete: () => settings };
};

/** GRAPH_* only: the users snapshot reads no window and no event types. */
export const readEntraUsersSettings: CollectorSettingsReader<GraphSettings> = (read) => {
  const settings = graphSettings(read);
  return { secrets: { required: [], optional: [] }, complete: () => settings };
};

/**
 * GRAPH_* only, with their defaults: every Entra collector reads them through this one function, so a
 * setting has one default whichever collector asks (infra deploys it once).
 */
export function graphSettings(read: SettingsReader): GraphSettings {
  const endpointExpected =
    'the Microsoft Graph endpoint, e.g. https://graph.microsoft.com (national clouds differ)';
  const graphEndpoint =
    read.httpsUrl('GRAPH_ENDPOINT', read.withDefault('GRAPH_ENDPOINT', defaultGraph), endpointExpected) ??
    defaultGraph;
  const audienceExpected = 'the Microsoft Graph token audience, e.g. https://graph.microsoft.com (default)';
  const graphAudience =
    read.httpsUrl('GRAPH_AUDIENCE', read.withDefault('GRAPH_AUDIENCE', defaultGraph), audienceExpected) ??
    defaultGraph;
  return {
    graphEndpoint,
    graphAudience,
    pacing: {
      limit: read.integer('GRAPH_REQUESTS_PER_WINDOW', { min: 1, max: 1000 }, 5),
      // Graph's window is 10 s; 2% more absorbs network jitter between our clock and its counter.
      intervalMs: read.integer('GRAPH_PACING_WINDOW_MS', { min: 1, max: 600_000 }, 10_200),
    },
  };
}

function entraSettings(read: SettingsReader, budgetMs: number): EntraSettings {
  return {
    ...graphSettings(read),
    window: {
      overlapMs: read.integer('ENTRA_OVERLAP_MINUTES', { min: 0, max: 1440 }, 10) * minuteMs,
      lagMs: read.integer('ENTRA_LAG_MINUTES', { min: 0, max: 1440 }, 15) * minuteMs,
      initialLookbackMs:
        read.integer('ENTRA_INITIAL_LOOKBACK_HOURS', { min: 1, max: 720 }, 24) * 60 * minuteMs,
      sliceMs: read.integer('ENTRA_SLICE_MINUTES', { min: 1, max: 1440 }, 60) * minuteMs,
      retentionMs: read.integer('ENTRA_RETENTION_DAYS', { min: 1, max: 730 }, 30) * 24 * 60 * minuteMs,
      budgetMs,
    },
  };
}

function eventTypes(read: SettingsReader): readonly SignInEventType[] {
  const typesRaw = read.withDefault('ENTRA_SIGNIN_EVENT_TYPES', 'interactiveUser');
  const types = typesRaw
    .split(',')
    .map((type) => type.trim())
    .filter(Boolean);
  const known = (type: string): type is SignInEventType =>
    (signInEventTypes as readonly string[]).includes(type);
  if (types.some((type) => !known(type)) || types.length === 0) {
    read.problems.push({
      setting: 'ENTRA_SIGNIN_EVENT_TYPES',
      problem: `is "${typesRaw}"`,
      expected: `a comma-separated list of ${signInEventTypes.join(', ')} (default interactiveUser)`,
    });
  }
  const valid = types.filter(known);
  return valid.length > 0 ? [...new Set(valid)] : ['interactiveUser'];
}
