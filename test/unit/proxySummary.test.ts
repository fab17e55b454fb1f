import { describe, expect, it } from 'vitest';
import { proxySummary } from '../../src/sources/proxy/proxySummary.js';
import type { ProxyWebSessionsRow } from '../../src/tables/generated.js';

/** A parsed request as the transform leaves it: only the columns the summary reads matter. */
function request(fields: Partial<ProxyWebSessionsRow>): ProxyWebSessionsRow {
  return { ParseError: false, IsAuthChallenge: false, DvcAction: 'Allow', ...fields } as ProxyWebSessionsRow;
}

describe('proxySummary (what import squid-log prints)', () => {
  const rows: ProxyWebSessionsRow[] = [
    // Alice in two spellings, as Kerberos and a realm-stripping helper leave her: one person.
    request({
      SrcUsername: 'alice@CONTOSO.COM',
      DstFQDN: 'www.dropbox.com',
      DstBytes: 1_048_576,
      SrcBytes: 0,
    }),
    request({ SrcUsername: 'ALICE@contoso.com', DstFQDN: 'content.dropboxapi.com', DstBytes: 1_048_576 }),
    request({ SrcUsername: 'bob@CONTOSO.COM', DstFQDN: 'app.slack.com', DstBytes: 10, SrcBytes: 5 }),
    // The 407 handshake before Bob's request: counted apart, nobody's use of the app (its 3 MB not Slack's).
    request({ SrcUsername: '', IsAuthChallenge: true, DstFQDN: 'app.slack.com', DstBytes: 3_145_728 }),
    // Denied, and without a user.
    request({
      SrcUsername: '',
      DvcAction: 'Deny',
      DstFQDN: 'files.example-unknown.net',
      UrlQueryDropped: true,
    }),
    request({ SrcUsername: 'carol@CONTOSO.COM', DstFQDN: 'files.example-unknown.net' }),
    { ParseError: true } as ProxyWebSessionsRow,
  ];

  it('counts requests, handshakes, denials, users (case-insensitive), unattributed and unparsed lines', () => {
    const summary = proxySummary();
    summary.add(rows);
    const { figures } = summary.render({ all: false });
    expect(figures).toEqual([
      '  requests                  6 (1 authentication handshakes, 1 denied)',
      '  users                     3 (1 requests without a user)',
      '  discovered apps           2',
      '  lines that did not parse  1 (kept with ParseError = true)',
      '  query strings dropped     1',
    ]);
  });

  it('ranks discovered apps by users, sums their bytes, and lists hosts the catalog does not know', () => {
    const summary = proxySummary();
    // Fed in two batches, as the import does: the totals are the same.
    summary.add(rows.slice(0, 3));
    summary.add(rows.slice(3));
    const { details } = summary.render({ all: true });
    const dropbox = details.findIndex((line) => line.startsWith('  Dropbox ('));
    const slack = details.findIndex((line) => line.startsWith('  Slack ('));
    expect(details[dropbox]).toMatch(/: 1 users, 2 requests, 2\.0 MB$/);
    // Shown as first seen.
    expect(details[dropbox + 1]).toBe('      alice@CONTOSO.COM');
    expect(details[slack]).toMatch(/: 1 users, 1 requests, 0\.0 MB$/);
    expect(details).toContain('  files.example-unknown.net: 2 requests');
  });
});
