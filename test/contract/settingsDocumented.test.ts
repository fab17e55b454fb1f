import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { repoRoot } from '../support/paths.js';

/** Setting names the code reads: every `read.<kind>('NAME'…)` and every Key Vault secret name. */
function settingsReadByCode(): string[] {
  const names = new Set<string>();
  for (const file of [
    'src/config/settings.ts',
    'src/config/keyVault.ts',
    'src/config/checkpointSettings.ts',
  ]) {
    const source = readFileSync(join(repoRoot, file), 'utf8');
    for (const match of source.matchAll(
      /read\.(?:raw|required|integer|oneOf<[^>]*>|schedule)\(\s*'([^']+)'/g,
    )) {
      names.add(match[1] ?? '');
    }
    for (const match of source.matchAll(/checkpointSettingNames = \{([^}]+)\}/g)) {
      for (const name of (match[1] ?? '').matchAll(/: '([^']+)'/g)) names.add(name[1] ?? '');
    }
    for (const match of source.matchAll(/VaultSecretName = ([^;]+);/g)) {
      for (const secret of (match[1] ?? '').matchAll(/'([^']+)'/g)) names.add(secret[1] ?? '');
    }
  }
  return [...names].filter(Boolean).sort();
}

describe('settings are documented', () => {
  const names = settingsReadByCode();
  const sample = JSON.parse(readFileSync(join(repoRoot, 'local.settings.sample.json'), 'utf8')) as {
    Values: Record<string, string>;
  };
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

  it('finds the settings the code reads', () => {
    assert.ok(names.includes('LOGS_INGESTION_DCR_ID') && names.includes('aws-role-arn'), names.join(', '));
  });

  for (const name of names) {
    it(`${name} is in local.settings.sample.json and the README's settings table`, () => {
      assert.ok(name in sample.Values, `${name} missing from local.settings.sample.json`);
      assert.match(
        readme,
        new RegExp(`^\\| +\`${name}\` +\\|`, 'm'),
        `${name} missing from the README settings table`,
      );
    });
  }

  it('the sample holds no secret values', () => {
    for (const [name, value] of Object.entries(sample.Values)) {
      assert.doesNotMatch(value, /eyJ|AKIA|AccountKey=|sig=/, `${name} looks like a secret`);
    }
  });
});
