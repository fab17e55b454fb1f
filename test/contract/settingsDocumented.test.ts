import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { repoRoot } from '../support/paths.js';
import { settingsReadByApp } from '../support/settingsReadByApp.js';

describe('settings are documented', () => {
  const names = settingsReadByApp();
  const sample = JSON.parse(readFileSync(join(repoRoot, 'local.settings.sample.json'), 'utf8')) as {
    Values: Record<string, string>;
  };
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

  it("finds the settings the code reads, the collectors' own included", () => {
    for (const name of [
      'LOGS_INGESTION_DCR_ID',
      'RUN_TIME_BUDGET_MINUTES',
      'AWS_CONCURRENCY',
      'aws-role-arn',
    ])
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
    for (const name of ['ENTRA_SLICE_MINUTES', 'ENTRA_SIGNINS_SCHEDULE', 'aws-accounts'])
      assert.ok(names.includes(name), `${name} in ${names.join(', ')}`);
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
