import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { SettingsReader } from '../../src/config/parse.js';
import {
  appIdOf,
  catalogApps,
  catalogVersion,
  indexCatalog,
} from '../../src/sources/proxy/cloudAppCatalog.js';
import { catalogRowsFor } from '../../src/sources/proxy/cloudAppCatalogCollector.js';
import { readCloudAppCatalogSettings } from '../../src/sources/proxy/settings.js';

describe('the cloud-app catalog', () => {
  it('has at least 300 apps, each with a unique ID, a vendor and at least one domain rule', () => {
    assert.ok(catalogApps.length >= 300, `${catalogApps.length} apps`);
    const ids = catalogApps.map((app) => app.id);
    assert.equal(new Set(ids).size, ids.length, 'IDs are unique');
    for (const app of catalogApps) {
      assert.match(app.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, app.name);
      assert.ok(app.vendor.length > 0 && app.rules.length > 0, app.name);
      if (app.risk === 'High') assert.ok(app.note.length > 0, `${app.name}: a High risk says why`);
    }
  });

  it('has every domain rule once, each a host name (no scheme, path or wildcard)', () => {
    const seen = new Map<string, string>();
    for (const app of catalogApps)
      for (const rule of app.rules) {
        assert.match(
          rule.domain,
          /^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z0-9-]{2,63}$/,
          `${app.name}: ${rule.domain}`,
        );
        const key = `${rule.match}:${rule.domain}`;
        assert.equal(seen.get(key), undefined, `${rule.domain} is in ${seen.get(key) ?? ''} and ${app.name}`);
        seen.set(key, app.name);
      }
  });

  it('matches a host to the app of its longest rule; exact rules match their host only', () => {
    const catalog = indexCatalog();
    const name = (host: string) => catalog.match(host)?.name;
    assert.equal(name('www.dropbox.com'), 'Dropbox');
    assert.equal(name('DL.DROPBOXUSERCONTENT.COM.'), 'Dropbox', 'case and a trailing dot do not matter');
    assert.equal(name('drive.google.com'), 'Google Drive', 'longer than google.com');
    assert.equal(name('www.google.com'), 'Google Search');
    assert.equal(name('gist.github.com'), 'GitHub Gist');
    assert.equal(name('api.github.com'), 'GitHub');
    assert.equal(name('bookings.office.com'), 'Microsoft Bookings', 'an exact rule');
    assert.equal(name('x.bookings.office.com'), 'Microsoft 365', 'an exact rule is not a suffix rule');
    assert.equal(name('notgmail.com'), undefined, 'labels, not characters');
    assert.equal(name('example.com'), undefined);
  });

  it('IDs come from names; the version is a content hash', () => {
    assert.equal(appIdOf('draw.io / diagrams.net'), 'draw-io-diagrams-net');
    assert.equal(appIdOf('X (Twitter)'), 'x-twitter');
    assert.match(catalogVersion, /^[0-9a-f]{12}$/);
  });

  it("becomes one row per app and domain rule, with the admins' marks", () => {
    const rows = catalogRowsFor(
      catalogApps.filter((app) => ['dropbox', 'box', 'slack'].includes(app.id)),
      { sanctioned: new Set(['box']), unsanctioned: new Set(['dropbox']) },
      { time: new Date('2026-12-01T05:15:00Z'), id: 'run-1' },
    );
    const dropbox = rows.filter((row) => row.AppId === 'dropbox');
    assert.deepEqual(
      dropbox.map((row) => row.Domain),
      ['dropbox.com', 'dropboxapi.com', 'dropboxusercontent.com', 'db.tt', 'dropboxstatic.com'],
    );
    assert.ok(dropbox.every((row) => row.Sanction === 'Unsanctioned' && row.SnapshotId === 'run-1'));
    assert.ok(rows.filter((row) => row.AppId === 'box').every((row) => row.Sanction === 'Sanctioned'));
    assert.ok(rows.filter((row) => row.AppId === 'slack').every((row) => row.Sanction === 'Unreviewed'));
    assert.equal(rows[0]?.TimeGenerated, '2026-12-01T05:15:00.000Z');
  });
});

describe('the sanction lists (optional Key Vault secrets)', () => {
  function read(secrets: Record<string, string>) {
    const pending = readCloudAppCatalogSettings(new SettingsReader({}), {
      host: 'function',
      runBudgetMs: 60_000,
    });
    const reader = new SettingsReader(secrets);
    return { asked: pending.secrets, problems: reader.problems, settings: pending.complete(reader) };
  }

  it('are asked for as optional secrets, and read as comma-separated app IDs, case-insensitively', () => {
    const { asked, problems, settings } = read({
      'cloud-apps-sanctioned': 'Box, slack',
      'cloud-apps-unsanctioned': 'wetransfer',
    });
    assert.deepEqual(asked, { required: [], optional: ['cloud-apps-sanctioned', 'cloud-apps-unsanctioned'] });
    assert.deepEqual(problems, []);
    assert.deepEqual([...settings.sanctioned], ['box', 'slack']);
    assert.deepEqual([...settings.unsanctioned], ['wetransfer']);
    assert.deepEqual([...read({}).settings.sanctioned], [], 'absent: nothing marked');
  });

  it('name an ID the catalog does not have, and an app in both lists', () => {
    const unknown = read({ 'cloud-apps-unsanctioned': 'dropbox,not-an-app' }).problems;
    assert.equal(unknown.length, 1);
    assert.match(
      `${unknown[0]?.setting}: ${unknown[0]?.problem}`,
      /cloud-apps-unsanctioned: names an app .*not-an-app/,
    );
    const both = read({ 'cloud-apps-sanctioned': 'box', 'cloud-apps-unsanctioned': 'box' }).problems;
    assert.match(both[0]?.problem ?? '', /lists apps cloud-apps-sanctioned lists too \(box\)/);
  });
});
