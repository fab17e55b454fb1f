// Fake `az` and `azd` executables for running the azd hook scripts (infra/hooks, scripts/grant-graph-roles.*)
// without Azure: put `bin` first on PATH. The fake `az` answers by the first rule whose regular expression
// matches its arguments (joined by spaces) and that still has uses left (`times`), and logs every call;
// the fake `azd` prints `version`, records `env set KEY VALUE [-e ENV]`, and answers `env get-value`.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface AzRule {
  /** Regular expression (source) matched against the arguments joined by spaces. */
  match: string;
  stdout?: string;
  stderr?: string;
  status?: number;
  /** How many calls this rule answers; unlimited when absent. */
  times?: number;
}

export interface FakeScenario {
  az?: AzRule[];
  /** What `azd version` prints; absent: azd has no version command (exit 1). */
  azdVersion?: string;
  /** Values `azd env get-value` returns. */
  azdValues?: Record<string, string>;
}

const fakeAz = `
const fs = require('node:fs');
const args = process.argv.slice(2);
const line = args.join(' ');
const dir = process.env.FAKE_CLI_DIR;
fs.appendFileSync(dir + '/az.log', JSON.stringify(args) + '\\n');
const scenario = JSON.parse(fs.readFileSync(dir + '/scenario.json', 'utf8'));
const usedFile = dir + '/used.json';
const used = fs.existsSync(usedFile) ? JSON.parse(fs.readFileSync(usedFile, 'utf8')) : {};
const rules = scenario.az || [];
for (let i = 0; i < rules.length; i++) {
  const rule = rules[i];
  if (!new RegExp(rule.match).test(line)) continue;
  if (rule.times !== undefined && (used[i] || 0) >= rule.times) continue;
  used[i] = (used[i] || 0) + 1;
  fs.writeFileSync(usedFile, JSON.stringify(used));
  if (rule.stdout) process.stdout.write(rule.stdout);
  if (rule.stderr) process.stderr.write(rule.stderr);
  process.exit(rule.status || 0);
}
process.stderr.write('ERROR: fake az has no answer for: ' + line + '\\n');
process.exit(1);
`;

const fakeAzd = `
const fs = require('node:fs');
const args = process.argv.slice(2);
const dir = process.env.FAKE_CLI_DIR;
const scenario = JSON.parse(fs.readFileSync(dir + '/scenario.json', 'utf8'));
if (args[0] === 'version') {
  if (scenario.azdVersion === undefined) process.exit(1);
  process.stdout.write(scenario.azdVersion + '\\n');
  process.exit(0);
}
if (args[0] === 'env' && args[1] === 'set') {
  const e = args.indexOf('-e');
  fs.appendFileSync(dir + '/azd-env.log', JSON.stringify({ key: args[2], value: args[3], env: e >= 0 ? args[e + 1] : null }) + '\\n');
  process.exit(0);
}
if (args[0] === 'env' && args[1] === 'get-value') {
  const value = (scenario.azdValues || {})[args[2]];
  if (value === undefined) process.exit(1);
  process.stdout.write(value + '\\n');
  process.exit(0);
}
process.stderr.write('fake azd: unexpected ' + args.join(' ') + '\\n');
process.exit(1);
`;

export class FakeCli {
  readonly dir = mkdtempSync(join(tmpdir(), 'cim-fake-cli-'));
  readonly bin = join(this.dir, 'bin');

  constructor(scenario: FakeScenario, options: { az?: boolean; azd?: boolean } = {}) {
    mkdirSync(this.bin);
    writeFileSync(join(this.dir, 'scenario.json'), JSON.stringify(scenario));
    writeFileSync(join(this.dir, 'az.log'), '');
    writeFileSync(join(this.dir, 'azd-env.log'), '');
    const install = (name: string, source: string) => {
      const script = join(this.dir, `${name}.cjs`);
      writeFileSync(script, source);
      const launcher = join(this.bin, name);
      writeFileSync(launcher, `#!/bin/sh\nexec "${process.execPath}" "${script}" "$@"\n`);
      chmodSync(launcher, 0o755);
    };
    if (options.az !== false) install('az', fakeAz);
    if (options.azd !== false) install('azd', fakeAzd);
  }

  /** Environment for a hook: PATH = the fakes first, then the system's tools; nothing else leaks in. */
  env(variables: Record<string, string>): Record<string, string> {
    return {
      PATH: `${this.bin}:/usr/local/bin:/usr/bin:/bin`,
      HOME: this.dir,
      FAKE_CLI_DIR: this.dir,
      ...variables,
    };
  }

  /** The fake az's calls, each its argument list. */
  azCalls(): string[][] {
    return readFileSync(join(this.dir, 'az.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as string[]);
  }

  /** `azd env set` calls, in order. */
  envSets(): { key: string; value: string; env: string | null }[] {
    return readFileSync(join(this.dir, 'azd-env.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { key: string; value: string; env: string | null });
  }

  /** The last value `azd env set` gave `key`, or undefined. */
  envValue(key: string): string | undefined {
    return this.envSets()
      .filter((set) => set.key === key)
      .at(-1)?.value;
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
