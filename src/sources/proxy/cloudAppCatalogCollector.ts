import type { Collector } from '../../run/collector.js';
import type { CloudAppCatalogRow } from '../../tables/generated.js';
import { catalogApps, catalogVersion, type CatalogApp } from './cloudAppCatalog.js';
import type { CloudAppCatalogSettings } from './settings.js';

export const cloudAppCatalogCollectorName = 'cloud-app-catalog';

/** What the admins decided about an app: their lists, never the catalog. */
export function sanctionOf(app: CatalogApp, settings: CloudAppCatalogSettings): string {
  if (settings.sanctioned.has(app.id)) return 'Sanctioned';
  if (settings.unsanctioned.has(app.id)) return 'Unsanctioned';
  return 'Unreviewed';
}

/** The catalog as rows: one per app and domain rule, every row of a run with its snapshot time. */
export function catalogRowsFor(
  apps: readonly CatalogApp[],
  settings: CloudAppCatalogSettings,
  snapshot: { readonly time: Date; readonly id: string },
): CloudAppCatalogRow[] {
  return apps.flatMap((app) =>
    app.rules.map((rule) => ({
      TimeGenerated: snapshot.time.toISOString(),
      SnapshotId: snapshot.id,
      CatalogVersion: catalogVersion,
      AppId: app.id,
      AppName: app.name,
      Vendor: app.vendor,
      Category: app.category,
      Domain: rule.domain,
      DomainMatch: rule.match,
      Risk: app.risk,
      RiskNote: app.note,
      Sanction: sanctionOf(app, settings),
    })),
  );
}

/** A daily snapshot of the shipped catalog into the workspace, so KQL can join host names to apps. */
export function cloudAppCatalogCollector(settings: CloudAppCatalogSettings): Collector<'CloudAppCatalog_CL'> {
  return {
    name: cloudAppCatalogCollectorName,
    table: 'CloudAppCatalog_CL',
    // eslint-disable-next-line @typescript-eslint/require-await -- the catalog is in memory
    async *read(context) {
      yield* catalogRowsFor(catalogApps, settings, { time: context.startTime, id: context.runId });
    },
  };
}
