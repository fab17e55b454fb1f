#!/usr/bin/env node
// Stages the Functions deployment package: exactly what runs, in one folder that azd zips (issue 14
// item 5). azure.yaml runs this as the collector service's prepackage hook and points `dist` at its
// output, with `remoteBuild: false`.
//
// Why a local build into a staging folder (and not Oryx's remote build): the app is built by a code
// generator and tsc from devDependencies, and a remote build (what azd picks for TypeScript on Flex
// Consumption when .funcignore excludes node_modules or there is none,
// https://learn.microsoft.com/azure/developer/azure-developer-cli/function-app-deployments) would upload
// the sources and install all 700 packages of the dev tree on the build server. Zipping the project
// folder as it is (a local build without staging) would ship the dev tree's node_modules (~435 MB: test
// emulators, linters, the KQL language service). So: compile only src/ with tsc, and copy only the
// production dependency tree that `npm ls --omit=dev` reports from the installed node_modules (no
// network, the lockfile's versions, no native modules among them, so the package is the same on every
// OS). The Functions docs recommend the local build for TypeScript apps with a build step
// (https://learn.microsoft.com/azure/azure-functions/typescript-build-options).
//
// azd then zips the folder, honouring the .funcignore copied into it (gitignore syntax; azd also drops
// local.settings.json and the ignore file itself): test/contract/package.test.ts builds the package the
// same way and checks its file list and size.
//
//   node scripts/stage-package.mjs [--out <dir>] [--no-generate]
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
let out = join(root, '.local', 'deploy', 'collector');
let generate = true;
for (let i = 0; i < args.length; i += 1) {
  if (args[i] === '--out' && args[i + 1] !== undefined) out = resolve(args[(i += 1)]);
  else if (args[i] === '--no-generate') generate = false;
  else {
    console.error('usage: node scripts/stage-package.mjs [--out <dir>] [--no-generate]');
    process.exit(2);
  }
}

// npm is npm.cmd on Windows, which only a shell runs.
const windows = process.platform === 'win32';

function fail(message) {
  console.error(`stage-package: ${message}`);
  process.exit(1);
}

function run(command, commandArgs, options = {}) {
  const result = spawnSync(command, commandArgs, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  if (result.error) fail(`${command} ${commandArgs.join(' ')}: ${result.error.message}`);
  return result;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

// 1. The code: generated sources first (as `npm run build` does), then tsc over src/ only, no source maps.
if (generate) {
  const generated = run('npm', ['run', '--silent', 'generate'], { stdio: 'inherit', shell: windows });
  if (generated.status !== 0) fail('npm run generate failed');
}
const configDir = mkdtempSync(join(tmpdir(), 'cim-stage-'));
try {
  const config = join(configDir, 'tsconfig.json');
  writeFileSync(
    config,
    JSON.stringify({
      extends: join(root, 'tsconfig.json'),
      compilerOptions: {
        rootDir: root,
        outDir: join(out, 'dist'),
        sourceMap: false,
        noEmit: false,
        // `types` is looked up from the config's folder, a temporary one here.
        typeRoots: [join(root, 'node_modules', '@types')],
      },
      include: [join(root, 'src', '**', '*.ts')],
    }),
  );
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const compiled = run(process.execPath, [tsc, '-p', config], { stdio: 'inherit' });
  if (compiled.status !== 0) fail('tsc failed: the package is not staged');
} finally {
  rmSync(configDir, { recursive: true, force: true });
}

// 2. What the Functions host reads: host.json, package.json (main, type), the ignore file azd applies.
for (const file of ['host.json', 'package.json', '.funcignore']) {
  if (!existsSync(join(root, file))) fail(`${file} is missing`);
  cpSync(join(root, file), join(out, file));
}

// 3. The production dependency tree, as installed (hoisted or nested, exactly where npm put it).
const listed = run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { shell: windows });
const packages = listed.stdout
  .split(/\r?\n/)
  .map((line) => line.trim())
  .filter((line) => line !== '' && resolve(line) !== root);
// npm ls also exits 1 for extraneous packages, which are harmless here; a missing or invalid one is not.
if (packages.length === 0 || (listed.status !== 0 && /\b(missing|invalid)\b/i.test(listed.stderr))) {
  fail(`npm ls --omit=dev found a broken production tree (run npm ci first):\n${listed.stderr}`);
}
for (const path of packages) {
  const from = resolve(path);
  const rel = relative(root, from);
  if (rel.startsWith('..') || !rel.split(sep).includes('node_modules'))
    fail(`unexpected package path ${path}`);
  cpSync(from, join(out, rel), {
    recursive: true,
    dereference: true,
    // Nested node_modules hold packages of their own, listed (and copied) when production needs them.
    filter: (source) => source === from || !relative(from, source).split(sep).includes('node_modules'),
  });
}

let files = 0;
let bytes = 0;
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path);
    else {
      files += 1;
      bytes += statSync(path).size;
    }
  }
};
walk(out);
console.log(
  `stage-package: ${relative(root, out).startsWith('..') ? out : relative(root, out)}: ${packages.length} production packages, ${files} files, ` +
    `${(bytes / 1024 / 1024).toFixed(1)} MB before .funcignore and zipping`,
);
