import { readFileSync } from 'node:fs';

/** The app's version from package.json, which sits three levels above dist/src/run/ when deployed too. */
export const appVersion: string = (() => {
  try {
    const manifest = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version?: unknown;
    };
    return typeof manifest.version === 'string' ? manifest.version : 'unknown';
  } catch {
    return 'unknown';
  }
})();
