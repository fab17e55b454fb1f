import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { appVersion } from '../../src/lib/version.js';
import { repoRoot } from '../support/paths.js';

describe('appVersion', () => {
  it("is package.json's version (run rows and the user agent carry it), run from sources too", () => {
    const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    assert.equal(appVersion, manifest.version);
  });
});
