import type { CollectorSummary } from '../../run/collectorDeclaration.js';
import type { ProxyWebSessionsRow } from '../../tables/generated.js';
import { indexCatalog, type CatalogApp } from './cloudAppCatalog.js';

interface AppUse {
  readonly app: CatalogApp;
  requests: number;
  bytes: number;
  readonly users: Map<string, number>;
}

const shownApps = 10;
/** Host names whose app is remembered: a log repeats few hosts many times. */
const rememberedHosts = 10_000;

/**
 * A copy of a string that will be kept (a key of the summary's maps). A field of a row is a slice of
 * its line, and the line a slice of the 64 KB the file was read in: kept as it is, a user name would
 * keep that whole chunk in memory for the rest of the import (a 1 GB log grew the process to 950 MB).
 */
function detached(text: string): string {
  return Buffer.from(text, 'utf8').toString('utf8');
}
const shownUsers = 5;

function megabytes(bytes: number): string {
  return `${(bytes / 1_048_576).toFixed(1)} MB`;
}

/**
 * The columns the summary reads: `import` computes only these (and the parse-error flag) when its
 * caller passes them as `rowColumns` (src/app/importFiles.ts).
 */
export const proxySummaryColumns = [
  'ParseError',
  'IsAuthChallenge',
  'DvcAction',
  'UrlQueryDropped',
  'SrcUsername',
  'DstFQDN',
  'DstBytes',
  'SrcBytes',
] as const satisfies readonly (keyof ProxyWebSessionsRow)[];

/**
 * What `import squid-log` prints: how the lines parsed, and the discovered apps (host names matched to
 * the catalog, longest domain rule first) with their users, requests and bytes. Authentication
 * handshakes (407 without a user) are counted apart and never as anyone's use.
 */
export function proxySummary(): CollectorSummary<'ProxyWebSessions_CL'> {
  const catalog = indexCatalog();
  const appOfHost = new Map<string, CatalogApp | null>();
  const apps = new Map<string, AppUse>();
  const unmatchedHosts = new Map<string, number>();
  /** Each user by the lower-case name, with the spelling first seen (what is shown). */
  const users = new Map<string, string>();
  let requests = 0;
  let parseErrors = 0;
  let challenges = 0;
  let denied = 0;
  let unattributed = 0;
  let queriesDropped = 0;
  return {
    columns: proxySummaryColumns,
    add(rows: readonly ProxyWebSessionsRow[]) {
      for (const row of rows) {
        if (row.ParseError === true) {
          parseErrors += 1;
          continue;
        }
        requests += 1;
        if (row.IsAuthChallenge === true) {
          challenges += 1;
          continue;
        }
        if (row.DvcAction === 'Deny') denied += 1;
        if (row.UrlQueryDropped === true) queriesDropped += 1;
        // One person whatever the case Kerberos or the helper wrote the name in (AD names are
        // case-insensitive; the shadow-IT alert counts tolower(SrcUsername) too).
        const user = (row.SrcUsername ?? '').toLowerCase();
        if (user === '') unattributed += 1;
        else if (!users.has(user)) users.set(detached(user), detached(row.SrcUsername ?? ''));
        const host = row.DstFQDN ?? '';
        if (host === '') continue;
        let app = appOfHost.get(host);
        if (app === undefined) {
          if (appOfHost.size >= rememberedHosts) appOfHost.clear();
          app = catalog.match(host) ?? null;
          appOfHost.set(detached(host), app);
        }
        if (app === null) {
          const seen = unmatchedHosts.get(host);
          unmatchedHosts.set(seen === undefined ? detached(host) : host, (seen ?? 0) + 1);
          continue;
        }
        let use = apps.get(app.id);
        if (use === undefined) {
          use = { app, requests: 0, bytes: 0, users: new Map() };
          apps.set(app.id, use);
        }
        use.requests += 1;
        use.bytes += (row.DstBytes ?? 0) + (row.SrcBytes ?? 0);
        if (user !== '') {
          const times = use.users.get(user);
          use.users.set(times === undefined ? detached(user) : user, (times ?? 0) + 1);
        }
      }
    },
    render({ all }) {
      const ranked = [...apps.values()].sort(
        (a, b) =>
          b.users.size - a.users.size || b.requests - a.requests || a.app.name.localeCompare(b.app.name),
      );
      const details: string[] = [];
      if (ranked.length > 0) {
        details.push('', `Discovered apps (by users, then requests)${all ? '' : `, top ${shownApps}`}:`);
        for (const use of all ? ranked : ranked.slice(0, shownApps)) {
          const topUsers = [...use.users.entries()]
            .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
            .slice(0, shownUsers)
            .map(([name]) => users.get(name) ?? name);
          details.push(
            `  ${use.app.name} (${use.app.category}, ${use.app.risk} risk): ${use.users.size} users, ${use.requests} requests, ${megabytes(use.bytes)}`,
          );
          if (topUsers.length > 0)
            details.push(`      ${topUsers.join(', ')}${use.users.size > topUsers.length ? ', …' : ''}`);
        }
      }
      const unknown = [...unmatchedHosts.entries()].sort((a, b) => b[1] - a[1]).slice(0, all ? undefined : 5);
      if (unknown.length > 0)
        details.push(
          '',
          'Busiest hosts not in the catalog:',
          ...unknown.map(([host, n]) => `  ${host}: ${n} requests`),
        );
      return {
        figures: [
          `  requests                  ${requests} (${challenges} authentication handshakes, ${denied} denied)`,
          `  users                     ${users.size} (${unattributed} requests without a user)`,
          `  discovered apps           ${apps.size}`,
          `  lines that did not parse  ${parseErrors} (kept with ParseError = true)`,
          `  query strings dropped     ${queriesDropped}`,
        ],
        details,
      };
    },
  };
}
