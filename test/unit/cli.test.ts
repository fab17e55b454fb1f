// The CLI's input handling, in-process: everything here must be refused before any network call.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { main } from '../../src/cli.js';

let requests = 0;
let server: Server;
let env: Record<string, string>;

beforeAll(async () => {
  // Where AWS calls would go: any request here means the CLI went to AWS before refusing.
  server = createServer((_req, res) => {
    requests += 1;
    res.statusCode = 500;
    res.end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  env = {
    PATH: process.env.PATH ?? '',
    AWS_ENDPOINT_URL: `http://127.0.0.1:${port}`,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    AWS_REGION: 'us-east-1',
  };
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function cli(args: string[], extraEnv: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await main(
    args,
    { ...env, ...extraEnv },
    {
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    },
  );
  return { code, stdout, stderr };
}

describe('CLI input', () => {
  it('a stray positional is an error, not a real ingestion', async () => {
    const result = await cli(['collect', 'aws-access-keys', 'dryrun']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Unexpected argument "dryrun"/);
    assert.equal(requests, 0);
  });

  it('names the unknown command and the unknown collector', async () => {
    const command = await cli(['inventroy', 'aws-access-keys']);
    assert.equal(command.code, 2);
    assert.match(command.stderr, /Unknown command "inventroy"/);
    const collector = await cli(['collect', 'gcp-keys']);
    assert.equal(collector.code, 2);
    assert.match(collector.stderr, /Unknown collector "gcp-keys"/);
    const none = await cli([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /No command given/);
  });

  it('takes ISO 8601 only: a date (UTC) or a time with its zone', async () => {
    for (const since of ['11/01/2026', '2026-11-01T00:00:00', 'Nov 1 2026', '2026-13-01', 'yesterday']) {
      const result = await cli(['collect', 'entra-audits', '--dry-run', '--since', since]);
      assert.equal(result.code, 2, since);
      assert.match(result.stderr, new RegExp(`--since "${since}" is not an ISO 8601`), since);
    }
    // Accepted forms get past parsing (and then fail later for want of Graph settings, not with 2).
    for (const since of ['2026-11-01', '2026-11-01T06:00:00Z', '2026-11-01T07:00:00+01:00']) {
      const result = await cli(['collect', 'entra-audits', '--since', since, '--until', '2026-11-02']);
      assert.notEqual(result.code, 2, `${since}: ${result.stderr}`);
    }
  });

  it('an unwritable --out fails before any AWS call', async () => {
    const file = join(tmpdir(), `cim-not-a-directory-${process.pid}`);
    await writeFile(file, 'a file, not a directory');
    const result = await cli(['collect', 'aws-access-keys', '--dry-run', '--out', join(file, 'out')]);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /--out .*: cannot write there \(ENOTDIR\)/);
    assert.equal(requests, 0, 'no AWS call was made');
  });

  it('says AWS_ROLE_ARN is ignored without AWS_FEDERATION_AUDIENCE', async () => {
    const result = await cli(
      ['collect', 'aws-access-keys', '--dry-run', '--out', join(tmpdir(), 'cim-cli-unit')],
      {
        AWS_ROLE_ARN: 'arn:aws:iam::123456789012:role/collector',
        AWS_MAX_ATTEMPTS: '1',
      },
    );
    assert.match(result.stderr, /AWS_ROLE_ARN is ignored: .*AWS_FEDERATION_AUDIENCE/);
    assert.match(result.stderr, /default credential chain/);
  });
});
