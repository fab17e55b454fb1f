// The Functions deployment package holds only what runs (issue 14 item 5). This builds the package the
// way `azd deploy` does for this project — the collector service's prepackage hook
// (scripts/stage-package.mjs) stages the folder azure.yaml's `dist` names, then azd zips that folder
// honouring the .funcignore in it (test/support/azdZip.ts reimplements azd's rules) — and checks the file
// list, the size, and that the staged app loads on its own (its imports resolve inside the package).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { azdZipEntries, parseIgnoreFile, zipSize, type ZipEntry } from '../support/azdZip.js';
import { repoRoot } from '../support/paths.js';

interface PackageJson {
  main: string;
  type?: string;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}
const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
const funcignore = readFileSync(join(repoRoot, '.funcignore'), 'utf8');

describe('package: azure.yaml builds locally into a staged folder', () => {
  const azure = parse(readFileSync(join(repoRoot, 'azure.yaml'), 'utf8')) as {
    services: Record<string, Record<string, unknown>>;
  };
  const [name, service] = Object.entries(azure.services).find(([, s]) => s.host === 'function') ?? [];

  it('the function service uses remoteBuild: false, a dist folder and the staging prepackage hook', () => {
    assert.ok(service !== undefined, `no function service (${name})`);
    assert.equal(service.language, 'ts');
    assert.equal(service.remoteBuild, false);
    assert.equal(service.dist, '.local/deploy/collector');
    const hooks = service.hooks as Record<string, Record<string, { shell: string; run: string }>>;
    assert.equal(hooks.prepackage?.posix?.run, 'node scripts/stage-package.mjs');
    assert.equal(hooks.prepackage?.windows?.run, 'node scripts/stage-package.mjs');
    // The staging script's default output is the dist folder.
    assert.match(
      readFileSync(join(repoRoot, 'scripts', 'stage-package.mjs'), 'utf8'),
      /join\(root, '\.local', 'deploy', 'collector'\)/,
    );
  });

  it('.funcignore does not exclude node_modules (azd refuses that with remoteBuild: false)', () => {
    const ignored = parseIgnoreFile(funcignore);
    assert.equal(ignored('node_modules', true), false);
    assert.equal(ignored('node_modules/@azure/functions/package.json', false), false);
  });

  it('.funcignore also keeps a zip of the project folder itself free of what does not run', () => {
    const ignored = parseIgnoreFile(funcignore);
    const dropped: [string, boolean][] = [
      ['.git', true],
      ['.gitignore', false],
      ['.local', true],
      ['test', true],
      ['bench', true],
      ['src', true],
      ['infra', true],
      ['scripts', true],
      ['dist/test', true],
      ['dist/bench', true],
      ['dist/src/cli.js.map', false],
      ['local.settings.json', false],
      ['local.settings.sample.json', false],
      ['tsconfig.json', false],
      ['README.md', false],
      ['node_modules/@aws-sdk/client-iam/dist-types/index.d.ts', false],
    ];
    for (const [path, directory] of dropped) assert.ok(ignored(path, directory), `${path} is not excluded`);
    const kept: [string, boolean][] = [
      ['host.json', false],
      ['package.json', false],
      ['dist', true],
      ['dist/src', true],
      ['dist/src/functions/timers.js', false],
      ['node_modules/@azure/functions/package.json', false],
    ];
    for (const [path, directory] of kept) assert.ok(!ignored(path, directory), `${path} is excluded`);
  });
});

describe('package: what azd zips', () => {
  const stage = mkdtempSync(join(tmpdir(), 'cim-package-'));
  // Outside the repository: a module the package lacks cannot be found in the repository's node_modules.
  const out = join(stage, 'collector');
  afterAll(() => rmSync(stage, { recursive: true, force: true }));
  let entries: ZipEntry[] = [];
  let names = new Set<string>();
  let staging = '';

  beforeAll(() => {
    // --no-generate: the generated sources are in the repository; the test does not rewrite them.
    const run = spawnSync(process.execPath, ['scripts/stage-package.mjs', '--out', out, '--no-generate'], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 240_000,
    });
    staging = `${run.stdout}${run.stderr}`;
    assert.equal(run.status, 0, staging);
    entries = azdZipEntries(out);
    names = new Set(entries.map((entry) => entry.name));
  });

  it('holds host.json, package.json, the compiled app and the production node_modules, nothing else', () => {
    assert.ok(names.has('host.json') && names.has('package.json'), staging);
    const strays = entries
      .map((entry) => entry.name)
      .filter(
        (n) =>
          !(
            n === 'host.json' ||
            n === 'package.json' ||
            /^dist\/src\/.+\.js$/.test(n) ||
            n.startsWith('node_modules/')
          ),
      );
    assert.deepEqual(strays, []);
  });

  it('leaves out the repository, tests, benchmarks, tools, local settings, sources and maps', () => {
    const forbidden = [
      /^\.git/,
      /^\.local\//,
      /^test\//,
      /^bench\//,
      /^src\//,
      /^infra\//,
      /^scripts\//,
      /^dist\/(test|bench|scripts)\//,
      /(^|\/)local\.settings.*\.json$/,
      /\.funcignore$/,
      /\.ts$/,
      /\.map$/,
    ];
    for (const pattern of forbidden) {
      const hits = entries.map((entry) => entry.name).filter((n) => pattern.test(n));
      assert.deepEqual(hits.slice(0, 5), [], `${pattern} in the package`);
    }
  });

  it("package.json's main finds the function registrations in the package", () => {
    const staged = JSON.parse(readFileSync(join(out, 'package.json'), 'utf8')) as PackageJson;
    assert.equal(staged.main, manifest.main);
    assert.equal(staged.type, 'module');
    const main = new RegExp(`^${manifest.main.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*')}$`);
    const registered = [...names].filter((n) => main.test(n));
    assert.ok(registered.length > 0, `nothing matches main (${manifest.main})`);
  });

  it('has every production dependency and no development one', () => {
    for (const dependency of Object.keys(manifest.dependencies)) {
      assert.ok(names.has(`node_modules/${dependency}/package.json`), `${dependency} is missing`);
    }
    for (const dependency of Object.keys(manifest.devDependencies)) {
      if (dependency in manifest.dependencies) continue;
      assert.ok(
        !names.has(`node_modules/${dependency}/package.json`),
        `dev dependency ${dependency} is packaged`,
      );
    }
    // Native modules would tie the package to the OS it was built on (a local build).
    assert.deepEqual(
      [...names].filter((n) => n.endsWith('.node')),
      [],
    );
  });

  // Measured 2026-12-01: 4,010 files, 21.7 MB unzipped, 6.2 MB zipped. Any one development package
  // (typescript alone is 23 MB) breaks these bounds.
  it('is small: under 12 MB zipped, 40 MB unzipped, 8,000 files (the dev tree is ~435 MB)', () => {
    const unzipped = entries.reduce((sum, entry) => sum + entry.size, 0);
    const zipped = zipSize(out, entries);
    assert.ok(unzipped < 40 * 1024 * 1024, `${(unzipped / 1024 / 1024).toFixed(1)} MB unzipped`);
    assert.ok(zipped < 12 * 1024 * 1024, `${(zipped / 1024 / 1024).toFixed(1)} MB zipped`);
    assert.ok(entries.length < 8_000, `${entries.length} files`);
  });

  it('loads on its own: the function entry points import with only the packaged node_modules', () => {
    const entry =
      [...names].find((n) => /^dist\/src\/functions\/timers\.js$/.test(n)) ??
      [...names].find((n) => n.startsWith('dist/src/functions/'));
    assert.ok(entry !== undefined && existsSync(join(out, entry)));
    const load = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(`./${entry}`)}); console.log('loaded');`],
      { cwd: out, encoding: 'utf8', timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: stage } },
    );
    assert.equal(load.status, 0, `${load.stdout}${load.stderr}`);
    assert.match(load.stdout, /loaded/);
  });
});
