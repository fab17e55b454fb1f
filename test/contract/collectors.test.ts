// The collector declarations (src/sources/<source>/collectors.ts) drive everything else: this checks
// that each declared collector has what docs/ADDING_A_SOURCE.md says it needs, and that nothing
// central still lists collectors by hand.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it, vi } from 'vitest';
import functions from '@azure/functions';
import { declaredCollectors } from '../../src/app/collectors.generated.js';
import { describeCollectors } from '../../src/app/describeCollectors.js';
import { repoRoot } from '../support/paths.js';
import { expectedCollectorsPlaceholder, withExpectedCollectors } from '../support/deployedQueries.js';
import { settingsReadByApp } from '../support/settingsReadByApp.js';

interface InfraCollectors {
  collectorNames: string[];
  collectorList: string;
  appSettings: Record<string, string>;
  tables: { name: string; stream: string }[];
}

const read = (path: string) => readFileSync(join(repoRoot, path), 'utf8');
const infra = JSON.parse(read('infra/collectors.json')) as InfraCollectors;
/** Bicep source without // comments: checks must not match prose. */
const bicep = (path: string) => read(path).replace(/^\s*\/\/.*$/gm, '');

describe('collector declarations', () => {
  it('the registry and infra/collectors.json are up to date with the declarations (npm run generate)', () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/generate-collectors.ts', '--check'], {
      cwd: repoRoot,
      stdio: 'pipe',
    });
  });

  it('every source folder with a collectors.ts is in the registry', () => {
    const folders = readdirSync(join(repoRoot, 'src', 'sources'), { withFileTypes: true })
      .filter(
        (entry) =>
          entry.isDirectory() && existsSync(join(repoRoot, 'src/sources', entry.name, 'collectors.ts')),
      )
      .map((entry) => entry.name);
    const registry = read('src/app/collectors.generated.ts');
    for (const folder of folders) assert.match(registry, new RegExp(`'../sources/${folder}/collectors.js'`));
  });

  it('names, function names and schedule settings are unique', () => {
    for (const key of ['name', 'table'] as const) {
      const values = declaredCollectors.map((collector) => collector[key]);
      assert.equal(new Set(values).size, values.length, `${key}: ${values.join(', ')}`);
    }
    for (const key of ['functionName', 'scheduleSetting'] as const) {
      const values = declaredCollectors.map((collector) => collector.timer[key]);
      assert.equal(new Set(values).size, values.length, `${key}: ${values.join(', ')}`);
    }
    for (const collector of declaredCollectors) assert.match(collector.name, /^[a-z0-9]+(-[a-z0-9]+)*$/);
  });

  for (const collector of declaredCollectors) {
    describe(collector.name, () => {
      it(`has its table: infra/tables/${collector.table}.json, in the DCR's streams`, () => {
        assert.ok(existsSync(join(repoRoot, 'infra', 'tables', `${collector.table}.json`)));
        assert.ok(infra.tables.some((table) => table.name === collector.table));
      });

      it('deploys its settings with their defaults, its schedule included', () => {
        const description = describeCollectors().find((c) => c.name === collector.name);
        assert.ok(description);
        assert.equal(infra.appSettings[collector.timer.scheduleSetting], collector.timer.defaultSchedule);
        for (const [name, fallback] of Object.entries(description.settings))
          if (fallback !== '') assert.equal(infra.appSettings[name], fallback, name);
      });

      it('has its documented settings and secrets (README and local.settings.sample.json)', () => {
        const documented = settingsReadByApp();
        const description = describeCollectors().find((c) => c.name === collector.name);
        assert.ok(description);
        const own = [
          collector.timer.scheduleSetting,
          ...Object.keys(description.settings),
          ...description.secrets.required,
          ...description.secrets.optional,
        ];
        const readme = read('README.md');
        const sample = read('local.settings.sample.json');
        for (const name of own) {
          assert.ok(documented.includes(name), name);
          assert.match(
            readme,
            new RegExp(`^\\| +\`${name}\` +\\|`, 'm'),
            `${name} in the README settings table`,
          );
          assert.ok(sample.includes(`"${name}"`), `${name} in local.settings.sample.json`);
        }
      });

      it('is in the "no successful run" alert and the health workbook as deployed', () => {
        assert.ok(infra.collectorNames.includes(collector.name));
        const alert = withExpectedCollectors(read('infra/alerts/no-successful-run.kql'));
        assert.ok(alert.includes(`'${collector.name}'`));
        const health = withExpectedCollectors(read('infra/workbooks/collector-health.workbook.json'));
        assert.ok(health.includes(`'${collector.name}'`));
      });
    });
  }

  it('alerts.bicep and workbooks.bicep fill the placeholder from collectors.json', () => {
    for (const path of [
      'infra/alerts/no-successful-run.kql',
      'infra/workbooks/collector-health.workbook.json',
    ])
      assert.equal(
        read(path).split(expectedCollectorsPlaceholder).length - 1,
        1,
        `one placeholder in ${path}`,
      );
    const fills =
      /replace\(\s*loadTextContent\('\.\.\/(alerts|workbooks)\/[^']+'\),\s*'datatable\(Collector: string\) \[\]',\s*'datatable\(Collector: string\) \$\{[^}]*collectorList\}'\s*\)/;
    assert.match(bicep('infra/modules/alerts.bicep'), fills);
    assert.match(
      bicep('infra/modules/alerts.bicep'),
      /loadJsonContent\('\.\.\/collectors\.json'\)\.collectorList/,
    );
    assert.match(
      bicep('infra/modules/workbooks.bicep'),
      /replace\(\s*loadTextContent\('\.\.\/workbooks\/collector-health\.workbook\.json'\)/,
    );
    assert.match(
      bicep('infra/modules/workbooks.bicep'),
      /loadJsonContent\('\.\.\/collectors\.json'\)\.collectorList/,
    );
  });

  it('the DCR and the app settings are driven from collectors.json, not lists by hand', () => {
    assert.match(
      bicep('infra/modules/ingestion.bicep'),
      /tableDefinitions = loadJsonContent\('\.\.\/collectors\.json'\)\.tables/,
    );
    assert.doesNotMatch(bicep('infra/modules/ingestion.bicep'), /loadJsonContent\('\.\.\/tables\//);
    const app = bicep('infra/modules/functionApp.bicep');
    assert.match(app, /loadJsonContent\('\.\.\/collectors\.json'\)\.appSettings/);
    for (const collector of declaredCollectors)
      assert.doesNotMatch(app, new RegExp(collector.timer.scheduleSetting));
  });

  it('no central file dispatches on a collector name', () => {
    const central = [
      'src/app/configuredRun.ts',
      'src/cli.ts',
      'src/config/settings.ts',
      'src/functions/timers.ts',
    ];
    for (const path of central)
      for (const collector of declaredCollectors)
        assert.ok(!read(path).includes(`'${collector.name}'`), `${path} names ${collector.name}`);
  });
});

describe('timers', () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.resetModules();
  });

  it('registers one timer per declared collector, on the schedule its app setting names', async () => {
    const registered: { name: string; schedule: unknown }[] = [];
    vi.spyOn(functions.app, 'timer').mockImplementation((name, options) => {
      registered.push({ name, schedule: options.schedule });
    });
    vi.resetModules();
    await import('../../src/functions/timers.js');
    assert.deepEqual(
      registered,
      declaredCollectors.map((collector) => ({
        name: collector.timer.functionName,
        schedule: `%${collector.timer.scheduleSetting}%`,
      })),
    );
  });
});
