import { declareCollector, declareImporter } from '../../run/collectorDeclaration.js';
import { cloudAppCatalogCollector, cloudAppCatalogCollectorName } from './cloudAppCatalogCollector.js';
import { proxySummary } from './proxySummary.js';
import { readCloudAppCatalogSettings } from './settings.js';

/** The time an import read its files, as text: the same for all its lines, so written once. */
let lastReadAt = Number.NaN;
let lastReadAtText = '';
function readAtText(readAt: Date): string {
  if (readAt.getTime() !== lastReadAt) {
    lastReadAt = readAt.getTime();
    lastReadAtText = readAt.toISOString();
  }
  return lastReadAtText;
}

/**
 * The web-proxy source (shadow-IT discovery). The proxy's access log reaches ProxyWebSessions_CL
 * without this app: through the Azure Monitor Agent's DCR (infra/modules/proxyLogs.bicep), or through
 * `import squid-log FILE…` for backfills; both send raw lines that the table's transform parses. This
 * app's part is the cloud-app catalog, put into the workspace daily so KQL can join host names to apps.
 */
export const collectors = [
  declareCollector({
    name: cloudAppCatalogCollectorName,
    table: 'CloudAppCatalog_CL',
    kind: 'snapshot',
    description:
      "The cloud-app catalog (apps, domains, categories, risk) with the admins' sanctioned/unsanctioned marks",
    timer: {
      functionName: 'cloudAppCatalog',
      scheduleSetting: 'CLOUD_APP_CATALOG_SCHEDULE',
      defaultSchedule: '0 15 5 * * *',
    },
    readSettings: readCloudAppCatalogSettings,
    create: (settings) => cloudAppCatalogCollector(settings),
    importers: [
      declareImporter({
        format: 'squid-log',
        description:
          'Squid access logs (squid native, common, combined; plain or .gz) into ProxyWebSessions_CL',
        table: 'ProxyWebSessions_CL',
        record: (line, origin) => ({
          TimeGenerated: readAtText(origin.readAt),
          RawData: line,
          FilePath: origin.file,
          Computer: '',
        }),
        parseErrorColumn: 'ParseError',
        summary: proxySummary,
      }),
    ],
  }),
];
