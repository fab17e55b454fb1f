import { createHash } from 'node:crypto';
import {
  catalogRows,
  type CatalogCategory,
  type CatalogRisk,
  type CatalogRow,
} from './cloudAppCatalog.data.js';

/** One domain rule of an app: the domain and its subdomains (suffix), or that host only (exact). */
export interface DomainRule {
  readonly domain: string;
  readonly match: 'suffix' | 'exact';
}

export interface CatalogApp {
  /** Lower-case words and hyphens, from the name: what the sanction settings list. */
  readonly id: string;
  readonly name: string;
  readonly vendor: string;
  readonly category: CatalogCategory;
  readonly rules: readonly DomainRule[];
  readonly risk: CatalogRisk;
  readonly note: string;
}

/** The app's ID: its name in lower case, runs of anything but letters and digits as one hyphen. */
export function appIdOf(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function toApp([name, vendor, category, domains, risk, note]: CatalogRow): CatalogApp {
  const rules = domains
    .split(/\s+/)
    .filter(Boolean)
    .map((rule): DomainRule =>
      rule.startsWith('=')
        ? { domain: rule.slice(1).toLowerCase(), match: 'exact' }
        : { domain: rule.toLowerCase(), match: 'suffix' },
    );
  return { id: appIdOf(name), name, vendor, category, rules, risk, note };
}

/** Every app of the catalog, in catalog order. */
export const catalogApps: readonly CatalogApp[] = catalogRows.map(toApp);

/** A short content hash: which catalog a snapshot came from. */
export const catalogVersion: string = createHash('sha256')
  .update(JSON.stringify(catalogRows))
  .digest('hex')
  .slice(0, 12);

export interface CatalogIndex {
  /** The app a host name belongs to: the longest matching domain rule, or undefined. */
  match(host: string): CatalogApp | undefined;
  byId(id: string): CatalogApp | undefined;
}

/** Looks host names up by their suffixes, label by label, longest first. */
export function indexCatalog(apps: readonly CatalogApp[] = catalogApps): CatalogIndex {
  const suffix = new Map<string, CatalogApp>();
  const exact = new Map<string, CatalogApp>();
  const ids = new Map<string, CatalogApp>();
  for (const app of apps) {
    ids.set(app.id, app);
    for (const rule of app.rules) (rule.match === 'exact' ? exact : suffix).set(rule.domain, app);
  }
  return {
    match(host) {
      let name = host.toLowerCase().replace(/\.$/, '');
      const exactApp = exact.get(name);
      // An exact rule is longer than any proper suffix of the host: it wins over a suffix rule of a
      // parent domain, and loses only to a suffix rule naming the very same host.
      const sameHost = suffix.get(name);
      if (sameHost) return sameHost;
      if (exactApp) return exactApp;
      for (;;) {
        const dot = name.indexOf('.');
        if (dot < 0) return undefined;
        name = name.slice(dot + 1);
        const app = suffix.get(name);
        if (app) return app;
      }
    },
    byId: (id) => ids.get(id),
  };
}
