import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeCollectors } from '../../src/app/describeCollectors.js';
import { repoRoot } from './paths.js';

/**
 * Setting names every run reads (whatever its collector): every `read.<kind>('NAME'…)` of the common
 * settings code. Each collector's own settings and secrets come from its declaration's reader.
 */
function commonSettingsReadByCode(): string[] {
  const names = new Set<string>();
  for (const file of ['src/config/settings.ts', 'src/config/checkpointSettings.ts']) {
    const source = readFileSync(join(repoRoot, file), 'utf8');
    for (const match of source.matchAll(
      /read\.(?:raw|required|integer|withDefault|oneOf<[^>]*>|schedule)\(\s*'([^']+)'/g,
    )) {
      names.add(match[1] ?? '');
    }
    for (const match of source.matchAll(/checkpointSettingNames = \{([^}]+)\}/g)) {
      for (const name of (match[1] ?? '').matchAll(/: '([^']+)'/g)) names.add(name[1] ?? '');
    }
  }
  return [...names].filter(Boolean);
}

/** Every setting and Key Vault secret the app reads: the common ones and each collector's. */
export function settingsReadByApp(): string[] {
  const names = new Set(commonSettingsReadByCode());
  for (const collector of describeCollectors()) {
    names.add(collector.scheduleSetting);
    for (const name of Object.keys(collector.settings)) names.add(name);
    for (const secret of [...collector.secrets.required, ...collector.secrets.optional]) names.add(secret);
  }
  return [...names].sort();
}
