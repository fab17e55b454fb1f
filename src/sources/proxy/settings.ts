import type { CollectorSettingsReader } from '../../config/collectorSettings.js';
import type { SettingsReader } from '../../config/parse.js';
import { catalogApps } from './cloudAppCatalog.js';

export interface CloudAppCatalogSettings {
  /** App IDs the admins sanctioned, and those they did not: the catalog itself is never edited. */
  readonly sanctioned: ReadonlySet<string>;
  readonly unsanctioned: ReadonlySet<string>;
}

/**
 * The admins' lists live in Key Vault (optional secrets `cloud-apps-sanctioned`,
 * `cloud-apps-unsanctioned`; locally, environment variables of those names or CLOUD_APPS_SANCTIONED /
 * CLOUD_APPS_UNSANCTIONED). Not app settings: `azd provision` replaces a Flex Consumption app's
 * settings with the template's, and would wipe a list set by hand; a secret it leaves alone, and the
 * next run reads a change without a redeploy. Nothing in them is confidential.
 */
export const sanctionSecrets = {
  sanctioned: 'cloud-apps-sanctioned',
  unsanctioned: 'cloud-apps-unsanctioned',
} as const;

const knownIds = new Set(catalogApps.map((app) => app.id));

/** A comma-separated list of catalog app IDs; an unknown ID is a problem naming it. */
function appIds(read: SettingsReader, name: string): Set<string> {
  const ids = (read.raw(name) ?? '')
    .split(',')
    .map((id) => id.trim().toLowerCase())
    .filter(Boolean);
  const unknown = ids.filter((id) => !knownIds.has(id));
  if (unknown.length > 0)
    read.problems.push({
      setting: name,
      problem: `names ${unknown.length === 1 ? 'an app' : 'apps'} the catalog does not have (${unknown.join(', ')})`,
      expected:
        'comma-separated app IDs of the catalog (CloudAppCatalog_CL.AppId, e.g. dropbox, google-drive, chatgpt)',
    });
  return new Set(ids.filter((id) => knownIds.has(id)));
}

/** The cloud-app catalog's own settings: the admins' sanction lists, optional Key Vault secrets. */
export const readCloudAppCatalogSettings: CollectorSettingsReader<CloudAppCatalogSettings> = () => ({
  secrets: { required: [], optional: [sanctionSecrets.sanctioned, sanctionSecrets.unsanctioned] },
  complete(secrets) {
    const sanctioned = appIds(secrets, sanctionSecrets.sanctioned);
    const unsanctioned = appIds(secrets, sanctionSecrets.unsanctioned);
    const both = [...sanctioned].filter((id) => unsanctioned.has(id));
    if (both.length > 0)
      secrets.problems.push({
        setting: sanctionSecrets.unsanctioned,
        problem: `lists apps ${sanctionSecrets.sanctioned} lists too (${both.join(', ')})`,
        expected: 'each app in at most one of the two lists',
      });
    return { sanctioned, unsanctioned };
  },
});
