// `crosscloud-identity-monitor import squid-log FILE…` as a user runs it (the CLI through tsx, in its own
// process): a dry run over a plain and a gzip-compressed file writes the parsed rows; a real import
// sends the raw lines through the Logs Ingestion API (the SDK against the emulator, which runs the
// table's transform as the service does) and the workspace holds the same rows the dry run wrote.
// The cloud-app catalog's collector goes the same way into CloudAppCatalog_CL.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { CloudAppCatalogRow, ProxyWebSessionsRow } from '../../src/tables/generated.js';
import { startLocalCloud, type LocalCloud } from '../support/localCloud.js';
import { repoRoot } from '../support/paths.js';

const run = promisify(execFile);
const cli = ['--import', 'tsx', join(repoRoot, 'src', 'cli.ts')];

function crosscloud(args: string[], env: Record<string, string> = {}) {
  return run(process.execPath, [...cli, ...args], {
    env: { PATH: process.env.PATH, NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS, ...env },
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

// A plain file: real lines (log2timeline/plaso#4575, SEKOIA-IO/documentation, Trustwave KB 10715) and the
// shapes the issue names; one line that is no Squid line, and one blank line.
const plainLines = [
  '1677971734.079  1234 1.2.3.4 TCP_TUNNEL/200 39 CONNECT domain.xyz:443 - HIER_DIRECT/1.2.3.4 -',
  '1565600128.411      0 192.168.0.1 TCP_DENIED/407 3980 GET http://api.example.org/api/v2/check - HIER_NONE/- text/html',
  '902351618.864 440 120.65.1.1 TCP_MISS/304 110 GET http://www.webtrends.com:8005/Images/search.gif - DIRECT/www.webtrends.com -',
  '1733050000.123    250 10.1.2.3 TCP_TUNNEL/200 8812 CONNECT www.dropbox.com:443 alice@CORP.EXAMPLE.COM HIER_DIRECT/162.125.1.18 -',
  '1733050001.000      0 10.1.2.3 TCP_DENIED/403 3976 GET http://mega.nz/ bob HIER_NONE/- text/html',
  '',
  'this is not a squid line',
  '1733050003.000     40 2001:db8::10 TCP_MISS/200 900 GET https://docs.google.com/document/d/1?usp=sharing carol@CORP.EXAMPLE.COM HIER_DIRECT/2001:db8::1 text/html',
];
// A rotated, gzip-compressed file without a .gz name (detected by content): common and combined lines.
const gzipLines = [
  '192.168.1.10 - alice@CORP.EXAMPLE.COM [10/Oct/2024:13:55:36 -0700] "GET http://www.box.com/files?id=7 HTTP/1.1" 200 2326 TCP_MISS:HIER_DIRECT',
  '2001:db8::20 - bob [01/Dec/2024:08:00:00 +0100] "CONNECT slack.com:443 HTTP/1.1" 200 15320 "-" "Mozilla/5.0" TCP_TUNNEL:HIER_DIRECT',
  `1733050005.000     77 10.1.2.3 TCP_MISS/414 4000 GET http://huge.example.com/${'a'.repeat(70_000)} carol HIER_NONE/- text/html`,
];

let work: string;
let plain: string;
let rotated: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cim-import-'));
  plain = join(work, 'access.log');
  rotated = join(work, 'access.log.1');
  await writeFile(plain, `${plainLines.join('\n')}\n`);
  await writeFile(rotated, gzipSync(`${gzipLines.join('\r\n')}\r\n`));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

async function rowsIn(file: string): Promise<ProxyWebSessionsRow[]> {
  const text = await readFile(file, 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as ProxyWebSessionsRow);
}

describe('import squid-log --dry-run --out', () => {
  it('streams a plain and a gzip file through the transform into NDJSON rows, every line accounted for', async () => {
    const out = join(work, 'dry');
    const result = await crosscloud(['import', 'squid-log', plain, rotated, '--dry-run', '--out', out]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /import squid-log: 2 files into ProxyWebSessions_CL/);
    assert.match(result.stdout, /lines +10 \(1 blank lines skipped\)/);
    assert.match(result.stdout, /records accepted +10 by NDJSON files in /);
    assert.match(result.stdout, /lines that did not parse +1 /);
    assert.match(result.stdout, /lines cut to 64 KB +1\b/);
    assert.match(result.stdout, /requests +9 \(1 authentication handshakes, 1 denied\)/);
    assert.match(result.stdout, /Dropbox \(Cloud storage, Medium risk\): 1 users/);
    assert.match(result.stdout, /alice@CORP\.EXAMPLE\.COM/);

    const rows = await rowsIn(join(out, 'ProxyWebSessions_CL.ndjson'));
    assert.equal(rows.length, 10);
    assert.deepEqual(
      rows.map((row) => [row.LogFormat, row.ParseError, row.FilePath]),
      [
        ...Array.from({ length: 5 }, () => ['squid', false, plain]),
        ['', true, plain],
        ['squid', false, plain],
        ['common', false, rotated],
        ['combined', false, rotated],
        ['squid', false, rotated],
      ],
    );
    const [tunnel, handshake, , dropbox, denied, broken, docs, box, slack, huge] = rows;
    assert.equal(tunnel?.TimeGenerated, '2023-03-04T23:15:34.079Z');
    assert.equal(handshake?.IsAuthChallenge, true);
    assert.equal(dropbox?.SrcUserAccount, 'alice');
    assert.equal(dropbox?.SrcUserDomain, 'CORP.EXAMPLE.COM');
    assert.equal(denied?.DvcAction, 'Deny');
    assert.equal(broken?.RawData, 'this is not a squid line');
    assert.equal(docs?.Url, 'https://docs.google.com/document/d/1', 'query string dropped by default');
    assert.equal(docs?.SrcIpAddr, '2001:db8::10');
    assert.equal(box?.TimeGenerated, '2024-10-10T20:55:36.000Z');
    assert.equal(slack?.HttpUserAgent, 'Mozilla/5.0', 'CRLF line ends are not part of the line');
    assert.equal(huge?.UrlTruncated, true);
    assert.equal(huge?.SrcUsername, 'carol');
  });

  it('PROXY_KEEP_QUERY=true keeps the query string, as the deployed transform then does', async () => {
    const out = join(work, 'keep');
    const result = await crosscloud(['import', 'squid-log', plain, '--dry-run', '--out', out], {
      PROXY_KEEP_QUERY: 'true',
    });
    assert.equal(result.code, 0, result.stderr);
    const docs = (await rowsIn(join(out, 'ProxyWebSessions_CL.ndjson'))).find(
      (row) => row.DstFQDN === 'docs.google.com',
    );
    assert.equal(docs?.Url, 'https://docs.google.com/document/d/1?usp=sharing');
  });

  it('checks its arguments before reading anything (exit code 2)', async () => {
    const cases: readonly [string[], RegExp][] = [
      [['import', 'apache-log', plain, '--dry-run'], /Unknown import format "apache-log"/],
      [['import', 'squid-log', '--dry-run'], /needs at least one FILE/],
      [
        ['import', 'squid-log', join(work, 'missing.log'), '--dry-run'],
        /missing\.log: cannot read it \(ENOENT\)/,
      ],
      [['import', 'squid-log', plain, '--out', join(work, 'x')], /--out is only used with --dry-run/],
      [['import', 'squid-log', plain, '--since', '2026-01-01', '--dry-run'], /do not apply to import/],
    ];
    for (const [args, message] of cases) {
      const result = await crosscloud(args);
      assert.equal(result.code, 2, args.join(' '));
      assert.match(result.stderr, message);
    }
    const keep = await crosscloud(['import', 'squid-log', plain, '--dry-run', '--out', join(work, 'bad')], {
      PROXY_KEEP_QUERY: 'maybe',
    });
    assert.equal(keep.code, 1);
    assert.match(keep.stderr, /PROXY_KEEP_QUERY is malformed: expected true or false/);
  });

  it('lists the import formats in its usage', async () => {
    const result = await crosscloud(['--help']);
    assert.equal(result.code, 0);
    assert.match(result.stdout, /import <format> FILE… \[--dry-run\] \[--out DIR\]/);
    assert.match(result.stdout, /squid-log +Squid access logs/);
  });
});

describe('import squid-log and collect cloud-app-catalog through the Logs Ingestion API (emulator)', () => {
  let cloud: LocalCloud;
  beforeAll(async () => {
    cloud = await startLocalCloud({ aws: false });
  });
  afterAll(async () => {
    await cloud?.stop();
  });

  it('sends the raw lines; the DCR transform stores exactly the rows the dry run wrote', async () => {
    const result = await crosscloud(['import', 'squid-log', plain, rotated], cloud.env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /records accepted +10 by Logs Ingestion https:\/\/localhost/);
    const requests = cloud.ingestion.requests.filter((request) => request.stream === 'Custom-SquidAccessLog');
    assert.ok(requests.length >= 1 && requests.every((request) => request.status === 204 && request.gzip));

    const stored = cloud.ingestion.accepted('ProxyWebSessions_CL') as unknown as ProxyWebSessionsRow[];
    const dry = await rowsIn(join(work, 'dry', 'ProxyWebSessions_CL.ndjson'));
    // A line that did not parse carries the time it was read: the two runs read at different times.
    const comparable = (row: ProxyWebSessionsRow) => ({
      ...row,
      TimeGenerated: row.ParseError ? '' : row.TimeGenerated,
    });
    assert.deepEqual(stored.map(comparable), dry.map(comparable));
  });

  it("collect cloud-app-catalog writes the catalog with the admins' marks", async () => {
    const result = await crosscloud(['collect', 'cloud-app-catalog'], {
      ...cloud.env,
      CLOUD_APPS_SANCTIONED: 'box',
      CLOUD_APPS_UNSANCTIONED: 'dropbox,wetransfer',
    });
    assert.equal(result.code, 0, result.stderr);
    const rows = cloud.ingestion.accepted('CloudAppCatalog_CL') as unknown as CloudAppCatalogRow[];
    assert.ok(rows.length > 600, `${rows.length} rows`);
    assert.equal(new Set(rows.map((row) => row.SnapshotId)).size, 1);
    const sanction = (appId: string) =>
      new Set(rows.filter((row) => row.AppId === appId).map((row) => row.Sanction));
    assert.deepEqual([...sanction('box')], ['Sanctioned']);
    assert.deepEqual([...sanction('dropbox')], ['Unsanctioned']);
    assert.deepEqual([...sanction('slack')], ['Unreviewed']);
    const runs = cloud.ingestion.accepted('CollectorRuns_CL');
    assert.ok(runs.some((row) => row.Collector === 'cloud-app-catalog' && row.Status === 'Succeeded'));
  });
});
