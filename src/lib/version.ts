import { readFileSync } from 'node:fs';

/**
 * The app's version from its package.json: the nearest one above this module, which is src/lib/ when run
 * from sources (tests, CLI through tsx) and dist/src/lib/ when compiled and deployed.
 */
export const appVersion: string = (() => {
  for (let up = 1; up <= 4; up += 1) {
    try {
      const url = new URL(`${'../'.repeat(up)}package.json`, import.meta.url);
      const manifest = JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown };
      if (manifest.name === 'crosscloud-identity-monitor' && typeof manifest.version === 'string')
        return manifest.version;
    } catch {
      // not at this level
    }
  }
  return 'unknown';
})();
