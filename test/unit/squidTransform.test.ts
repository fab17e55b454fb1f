// The proxy parser — ProxyWebSessions_CL's transformKql, the text both DCRs deploy — executed on real
// Squid access-log lines, field by field. Lines quoted from a public source say where they come from;
// the others are built with the exact printf of Squid's log formats
// (https://github.com/squid-cache/squid/blob/master/src/log/FormatSquidNative.cc, FormatHttpdCommon.cc,
// FormatHttpdCombined.cc: "%9ld.%03d %6ld %s %s/%03d %" PRId64 " %s %s %s %s%s/%s %s") for the shapes
// the issue asks about that no public sample shows (Kerberos users, IPv6 clients, escaped URLs).
import assert from 'node:assert/strict';
import { describe, it } from 'vitest';
import { compileTransform } from '../../src/lib/kql/evaluate.js';
import { withTransformParameters } from '../../src/lib/kql/parameters.js';
import { fitLine } from '../../src/lib/longLines.js';
import { maxFieldBytes } from '../../src/sinks/ingestionLimits.js';
import { proxySummaryColumns } from '../../src/sources/proxy/proxySummary.js';
import { tableDefinitions, type ProxyWebSessionsRow } from '../../src/tables/generated.js';

const definition = tableDefinitions.ProxyWebSessions_CL;

function parser(keepQuery = false) {
  const text = withTransformParameters(definition.transformKql, definition.transformParameters ?? [], () =>
    String(keepQuery),
  );
  return compileTransform(text, { inputColumns: definition.streamColumns ?? [] });
}
const defaultParser = parser();
const keepingParser = parser(true);

const collectedAt = '2026-12-01T10:00:00.000Z';
function parse(line: string, options: { keepQuery?: boolean; computer?: string } = {}): ProxyWebSessionsRow {
  const record = {
    TimeGenerated: collectedAt,
    RawData: line,
    FilePath: '/var/log/squid/access.log',
    Computer: options.computer ?? 'proxy01',
  };
  const row = (options.keepQuery ? keepingParser : defaultParser).apply(record);
  assert.ok(row !== null);
  return row as unknown as ProxyWebSessionsRow;
}

/** Only the fields a case is about. */
function pick(row: ProxyWebSessionsRow, fields: readonly (keyof ProxyWebSessionsRow)[]) {
  return Object.fromEntries(fields.map((field) => [field, row[field]]));
}

describe('the transform outputs exactly the table', () => {
  it('every column of ProxyWebSessions_CL, in every row', () => {
    const columns = definition.columns.map((column) => column.name);
    assert.deepEqual([...defaultParser.outputColumns].sort(), [...columns].sort());
    assert.deepEqual(Object.keys(parse('not a squid line')).sort(), [...columns].sort());
  });
});

describe('squid native format: real lines', () => {
  it('CONNECT tunnel (log2timeline/plaso issue 4575, https://github.com/log2timeline/plaso/issues/4575)', () => {
    const row = parse(
      '1677971734.079  1234 1.2.3.4 TCP_TUNNEL/200 39 CONNECT domain.xyz:443 - HIER_DIRECT/1.2.3.4 -',
    );
    assert.deepEqual(
      pick(row, [
        'TimeGenerated',
        'EventStartTime',
        'EventEndTime',
        'NetworkDuration',
        'SrcIpAddr',
        'SquidResultCode',
        'HttpStatusCode',
        'EventResultDetails',
        'EventResult',
        'DvcAction',
        'DstBytes',
        'HttpRequestMethod',
        'Url',
        'DstFQDN',
        'DstHostname',
        'DstDomain',
        'DstPortNumber',
        'NetworkApplicationProtocol',
        'SrcUsername',
        'SquidHierarchyCode',
        'SquidPeer',
        'DstIpAddr',
        'HttpContentType',
        'LogFormat',
        'ParseError',
        'IsAuthChallenge',
        'RawData',
        'EventCount',
        'EventType',
        'Dvc',
      ]),
      {
        TimeGenerated: '2023-03-04T23:15:34.079Z',
        EventStartTime: '2023-03-04T23:15:32.845Z',
        EventEndTime: '2023-03-04T23:15:34.079Z',
        NetworkDuration: 1234,
        SrcIpAddr: '1.2.3.4',
        SquidResultCode: 'TCP_TUNNEL',
        HttpStatusCode: 200,
        EventResultDetails: '200',
        EventResult: 'Success',
        DvcAction: 'Allow',
        DstBytes: 39,
        HttpRequestMethod: 'CONNECT',
        Url: 'domain.xyz:443',
        DstFQDN: 'domain.xyz',
        DstHostname: 'domain',
        DstDomain: 'xyz',
        DstPortNumber: 443,
        NetworkApplicationProtocol: 'HTTPS',
        SrcUsername: '',
        SquidHierarchyCode: 'HIER_DIRECT',
        SquidPeer: '1.2.3.4',
        DstIpAddr: '1.2.3.4',
        HttpContentType: '',
        LogFormat: 'squid',
        ParseError: false,
        IsAuthChallenge: false,
        RawData: '',
        EventCount: 1,
        EventType: 'HTTPsession',
        Dvc: 'proxy01',
      },
    );
    // The same issue's lines with two spaces before the content type parse the same.
    const wide = parse(
      '1677971734.080  1234 1.2.3.4 TCP_TUNNEL/200 39 CONNECT domain.xyz:443 - HIER_DIRECT/1.2.3.4  -',
    );
    assert.equal(wide.ParseError, false);
    assert.equal(wide.DstFQDN, 'domain.xyz');
  });

  it('tunnel to a peer logged by name (SEKOIA-IO/documentation, Squid integration samples)', () => {
    // https://github.com/SEKOIA-IO/documentation, _shared_content/operations_center/integrations/generated/a0dbb8f3-ca1c-4c6b-aafa-595bd430c0cb.md
    const row = parse(
      '1564655684.277   3387 192.168.0.1 TCP_TUNNEL/200 19131 CONNECT example.org:443 - HIER_DIRECT/example.org -',
    );
    assert.deepEqual(
      pick(row, [
        'TimeGenerated',
        'NetworkDuration',
        'DstFQDN',
        'DstPortNumber',
        'SquidPeer',
        'DstIpAddr',
        'DstBytes',
      ]),
      {
        TimeGenerated: '2019-08-01T10:34:44.277Z',
        NetworkDuration: 3387,
        DstFQDN: 'example.org',
        DstPortNumber: 443,
        SquidPeer: 'example.org',
        DstIpAddr: '',
        DstBytes: 19131,
      },
    );
  });

  it('407 handshake with user "-" (same source): kept, marked, nobody\'s', () => {
    const row = parse(
      '1565600128.411      0 192.168.0.1 TCP_DENIED/407 3980 GET http://api.example.org/api/v2/check - HIER_NONE/- text/html',
    );
    assert.deepEqual(
      pick(row, [
        'IsAuthChallenge',
        'SrcUsername',
        'HttpStatusCode',
        'SquidResultCode',
        'DvcAction',
        'EventResult',
        'Url',
        'DstPortNumber',
        'HttpContentType',
        'SquidPeer',
        'DstIpAddr',
        'ParseError',
      ]),
      {
        IsAuthChallenge: true,
        SrcUsername: '',
        HttpStatusCode: 407,
        SquidResultCode: 'TCP_DENIED',
        DvcAction: 'Deny',
        EventResult: 'Failure',
        Url: 'http://api.example.org/api/v2/check',
        DstPortNumber: 80,
        HttpContentType: 'text/html',
        SquidPeer: '',
        DstIpAddr: '',
        ParseError: false,
      },
    );
  });

  it('Squid 2 hierarchy DIRECT/host and a port in the URL (Trustwave KB 10715, https://support.trustwave.com/kb/print10715.aspx)', () => {
    const row = parse(
      '902351618.864 440 120.65.1.1 TCP_MISS/304 110 GET http://www.webtrends.com:8005/Images/search.gif - DIRECT/www.webtrends.com -',
    );
    assert.deepEqual(
      pick(row, [
        'TimeGenerated',
        'SquidResultCode',
        'HttpStatusCode',
        'EventResult',
        'Url',
        'DstFQDN',
        'DstPortNumber',
        'SquidHierarchyCode',
        'SquidPeer',
        'DstIpAddr',
      ]),
      {
        TimeGenerated: '1998-08-05T21:13:38.864Z',
        SquidResultCode: 'TCP_MISS',
        HttpStatusCode: 304,
        EventResult: 'Success',
        Url: 'http://www.webtrends.com:8005/Images/search.gif',
        DstFQDN: 'www.webtrends.com',
        DstPortNumber: 8005,
        SquidHierarchyCode: 'DIRECT',
        SquidPeer: 'www.webtrends.com',
        DstIpAddr: '',
      },
    );
  });
});

describe('malformed lines are kept, flagged and never dropped', () => {
  const malformed: readonly [string, string][] = [
    // The same Trustwave sample: a line without its elapsed time, and one with an extra "-".
    [
      'Trustwave KB 10715',
      '902351639.632 120.65.1.1 TCP_REFRESH_MISS/200 2014 GET http://www.webtrends.com/news/news.txt - DIRECT/newsroom.compuserve.com text/plain',
    ],
    [
      'Trustwave KB 10715',
      '902351659.571 274 207.65.46.33 TCP_CLIENT_REFRESH/200 1467 GET http://www.webtrends.com/news/headlines.txt - - DIRECT/www.webtrends.com text/plain',
    ],
    // Squid: The Definitive Guide (Duane Wessels, O'Reilly), 13.2 access.log, as the book prints them:
    // without the client address (http://etutorials.org/Server+Administration/Squid.+The+definitive+guide/Chapter+13.+Log+Files/13.2+access.log/).
    [
      'Squid: The Definitive Guide 13.2',
      '1066037222.118     106 TCP_HIT/200 536 GET http://rcm-images.amazon.com/images/G/01/rcm/privacy.gif - NONE/- image/gif',
    ],
    [
      'Squid: The Definitive Guide 13.2',
      '1066037222.011  126389 TCP_MISS/503 1055 GET http://home.gigigaga.com/n8342133/Miho.DAT.019 - DIRECT/ -',
    ],
    // Squid's own pull request 1354 quotes a line without its timestamp and client (https://github.com/squid-cache/squid/pull/1354).
    ['squid-cache/squid#1354', 'TAG_NONE/503 0 CONNECT example.com:443 - HIER_NONE/- -'],
    ['garbage', 'Unmatched! The rat the cat the dog chased killed ate the malt!'],
  ];
  for (const [source, line] of malformed) {
    it(`${source}: ${line.slice(0, 60)}…`, () => {
      const row = parse(line);
      assert.equal(row.ParseError, true);
      assert.equal(row.RawData, line);
      assert.equal(row.TimeGenerated, collectedAt, 'the collection time: there is no other');
      assert.equal(row.LogFormat, '');
      assert.equal(row.EventCount, 0);
      assert.equal(row.FilePath, '/var/log/squid/access.log');
    });
  }

  it('a malformed line keeps its text only up to its first "?" unless PROXY_KEEP_QUERY=true', () => {
    const line = 'broken http://example.com/reset?token=secret-value';
    assert.equal(parse(line).RawData, 'broken http://example.com/reset');
    assert.equal(parse(line, { keepQuery: true }).RawData, line);
  });
});

describe('Kerberos users as negotiate_kerberos_auth leaves them', () => {
  const line = (user: string) =>
    `1733050000.123    250 10.1.2.3 TCP_TUNNEL/200 8812 CONNECT www.dropbox.com:443 ${user} HIER_DIRECT/162.125.1.18 -`;

  it('user@REALM', () => {
    assert.deepEqual(
      pick(parse(line('alice@CORP.EXAMPLE.COM')), [
        'SrcUsername',
        'SrcUsernameType',
        'SrcUserAccount',
        'SrcUserDomain',
        'IsAuthChallenge',
      ]),
      {
        SrcUsername: 'alice@CORP.EXAMPLE.COM',
        SrcUsernameType: 'UPN',
        SrcUserAccount: 'alice',
        SrcUserDomain: 'CORP.EXAMPLE.COM',
        IsAuthChallenge: false,
      },
    );
  });

  it('bare, when the helper strips the realm (-r)', () => {
    assert.deepEqual(
      pick(parse(line('alice')), ['SrcUsername', 'SrcUsernameType', 'SrcUserAccount', 'SrcUserDomain']),
      {
        SrcUsername: 'alice',
        SrcUsernameType: 'Simple',
        SrcUserAccount: 'alice',
        SrcUserDomain: '',
      },
    );
  });

  it('DOMAIN\\user (NTLM), as logged or escaped by Squid (%5C)', () => {
    for (const user of ['CORP\\alice', 'CORP%5Calice']) {
      assert.deepEqual(pick(parse(line(user)), ['SrcUsernameType', 'SrcUserAccount', 'SrcUserDomain']), {
        SrcUsernameType: 'Windows',
        SrcUserAccount: 'alice',
        SrcUserDomain: 'CORP',
      });
    }
  });

  it('a 407 with a user is a denial, not a handshake', () => {
    const row = parse(
      '1733050000.200      1 10.1.2.3 TCP_DENIED/407 4122 CONNECT www.dropbox.com:443 alice@CORP.EXAMPLE.COM HIER_NONE/- text/html',
    );
    assert.equal(row.IsAuthChallenge, false);
    assert.equal(row.DvcAction, 'Deny');
  });
});

describe('hard lines', () => {
  it('TCP_DENIED/403 by policy', () => {
    const row = parse(
      '1733050001.000      0 10.1.2.3 TCP_DENIED/403 3976 GET http://mega.nz/ bob@CORP.EXAMPLE.COM HIER_NONE/- text/html',
    );
    assert.deepEqual(
      pick(row, ['DvcAction', 'EventResult', 'HttpStatusCode', 'DstFQDN', 'IsAuthChallenge']),
      {
        DvcAction: 'Deny',
        EventResult: 'Failure',
        HttpStatusCode: 403,
        DstFQDN: 'mega.nz',
        IsAuthChallenge: false,
      },
    );
  });

  it('IPv6 client, IPv6 server, and an IPv6 literal in the URL and in CONNECT', () => {
    const get = parse(
      '1733050002.000     12 2001:db8::10 TCP_MISS/200 512 GET http://[2001:db8::1]:8080/p - HIER_DIRECT/2001:db8::1 text/plain',
    );
    assert.deepEqual(
      pick(get, ['SrcIpAddr', 'DstIpAddr', 'DstFQDN', 'DstHostname', 'DstPortNumber', 'SquidPeer', 'Url']),
      {
        SrcIpAddr: '2001:db8::10',
        DstIpAddr: '2001:db8::1',
        DstFQDN: '',
        DstHostname: '2001:db8::1',
        DstPortNumber: 8080,
        SquidPeer: '2001:db8::1',
        Url: 'http://[2001:db8::1]:8080/p',
      },
    );
    const connect = parse(
      '1733050002.100     30 ::1 TCP_TUNNEL/200 1200 CONNECT [2001:db8::2]:443 - HIER_DIRECT/2001:db8::2 -',
    );
    assert.deepEqual(pick(connect, ['SrcIpAddr', 'DstIpAddr', 'DstPortNumber', 'Url', 'ParseError']), {
      SrcIpAddr: '::1',
      DstIpAddr: '2001:db8::2',
      DstPortNumber: 443,
      Url: '[2001:db8::2]:443',
      ParseError: false,
    });
  });

  it('escaped URLs stay as Squid logged them; query strings and fragments are dropped by default', () => {
    const line =
      '1733050003.000     40 10.1.2.3 TCP_MISS/200 900 GET https://docs.example.com/a%20b/%E2%82%AC.pdf?user=alice%40corp&x=1 alice HIER_DIRECT/203.0.113.5 application/pdf';
    assert.deepEqual(
      pick(parse(line), ['Url', 'UrlQueryDropped', 'NetworkApplicationProtocol', 'DstPortNumber']),
      {
        Url: 'https://docs.example.com/a%20b/%E2%82%AC.pdf',
        UrlQueryDropped: true,
        NetworkApplicationProtocol: 'HTTPS',
        DstPortNumber: 443,
      },
    );
    assert.deepEqual(pick(parse(line, { keepQuery: true }), ['Url', 'UrlQueryDropped']), {
      Url: 'https://docs.example.com/a%20b/%E2%82%AC.pdf?user=alice%40corp&x=1',
      UrlQueryDropped: false,
    });
  });

  it('credentials in a URL (user-info) are never stored, whatever PROXY_KEEP_QUERY says', () => {
    const line =
      '1733050004.000      5 10.1.2.3 TCP_MISS/200 100 GET ftp://admin:S3cret@files.example.com/pub/ - HIER_DIRECT/203.0.113.6 -';
    for (const keepQuery of [false, true]) {
      const row = parse(line, { keepQuery });
      assert.equal(row.Url, 'ftp://files.example.com/pub/');
      assert.equal(row.DstPortNumber, 21);
      assert.ok(!JSON.stringify(row).includes('S3cret'));
    }
  });

  it('a URL over the 64 KB field limit: the line is cut in its URL on import and the row says so', () => {
    const path = `/${'a'.repeat(70_000)}`;
    const line = `1733050005.000     77 10.1.2.3 TCP_MISS/414 4000 GET http://huge.example.com${path} carol@CORP.EXAMPLE.COM HIER_NONE/- text/html`;
    const fitted = fitLine(line, maxFieldBytes);
    assert.equal(fitted.cut, true);
    const row = parse(fitted.line);
    assert.deepEqual(
      pick(row, [
        'ParseError',
        'UrlTruncated',
        'SrcUsername',
        'HttpStatusCode',
        'HttpContentType',
        'DstFQDN',
      ]),
      {
        ParseError: false,
        UrlTruncated: true,
        SrcUsername: 'carol@CORP.EXAMPLE.COM',
        HttpStatusCode: 414,
        HttpContentType: 'text/html',
        DstFQDN: 'huge.example.com',
      },
    );
    assert.ok(Buffer.byteLength(row.Url ?? '') <= maxFieldBytes);
    assert.ok((row.Url ?? '').endsWith('…'));
    // A long query string is simply dropped: the URL that remains is whole.
    const query = parse(fitLine(line.replace(path, `/x?q=${'b'.repeat(70_000)}`), maxFieldBytes).line);
    assert.deepEqual(pick(query, ['Url', 'UrlTruncated', 'UrlQueryDropped']), {
      Url: 'http://huge.example.com/x',
      UrlTruncated: false,
      UrlQueryDropped: true,
    });
  });

  it('request bytes (%>st) appended to the native format fill SrcBytes', () => {
    const row = parse(
      '1733050006.000     90 10.1.2.3 TCP_MISS/200 2048 POST https://upload.example.com/f alice HIER_DIRECT/203.0.113.7 application/json 734003',
    );
    assert.equal(row.SrcBytes, 734003);
    assert.equal(row.DstBytes, 2048);
  });

  it('a line forwarded through syslog keeps its prefix out of the fields', () => {
    const row = parse(
      'Dec  1 10:00:00 pfsense squid[4242]: 1733050007.000     10 10.1.2.3 TCP_MISS/200 300 GET http://example.com/ alice HIER_DIRECT/203.0.113.8 text/html',
    );
    assert.deepEqual(pick(row, ['ParseError', 'SrcIpAddr', 'SrcUsername', 'TimeGenerated']), {
      ParseError: false,
      SrcIpAddr: '10.1.2.3',
      SrcUsername: 'alice',
      TimeGenerated: '2024-12-01T10:46:47.000Z',
    });
  });
});

describe('common and combined formats', () => {
  it('common: %>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh, the local time made UTC', () => {
    const row = parse(
      '192.168.1.10 - alice@CORP.EXAMPLE.COM [10/Oct/2024:13:55:36 -0700] "GET http://www.box.com/files?id=7 HTTP/1.1" 200 2326 TCP_MISS:HIER_DIRECT',
    );
    assert.deepEqual(
      pick(row, [
        'LogFormat',
        'TimeGenerated',
        'SrcIpAddr',
        'SrcUsername',
        'HttpRequestMethod',
        'Url',
        'UrlQueryDropped',
        'HttpVersion',
        'HttpStatusCode',
        'DstBytes',
        'SquidResultCode',
        'SquidHierarchyCode',
        'NetworkDuration',
        'HttpUserAgent',
      ]),
      {
        LogFormat: 'common',
        TimeGenerated: '2024-10-10T20:55:36.000Z',
        SrcIpAddr: '192.168.1.10',
        SrcUsername: 'alice@CORP.EXAMPLE.COM',
        HttpRequestMethod: 'GET',
        Url: 'http://www.box.com/files',
        UrlQueryDropped: true,
        HttpVersion: '1.1',
        HttpStatusCode: 200,
        DstBytes: 2326,
        SquidResultCode: 'TCP_MISS',
        SquidHierarchyCode: 'HIER_DIRECT',
        NetworkDuration: null,
        HttpUserAgent: '',
      },
    );
  });

  it('combined: with referrer (its query dropped too) and user agent; a positive offset; CONNECT', () => {
    const row = parse(
      '2001:db8::20 - bob [01/Dec/2024:08:00:00 +0100] "CONNECT slack.com:443 HTTP/1.1" 200 15320 "https://app.example.com/page?session=abc" "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" TCP_TUNNEL:HIER_DIRECT',
    );
    assert.deepEqual(
      pick(row, [
        'LogFormat',
        'TimeGenerated',
        'SrcIpAddr',
        'SrcUsername',
        'SrcUsernameType',
        'Url',
        'DstFQDN',
        'DstPortNumber',
        'HttpReferrer',
        'HttpUserAgent',
        'SquidResultCode',
      ]),
      {
        LogFormat: 'combined',
        TimeGenerated: '2024-12-01T07:00:00.000Z',
        SrcIpAddr: '2001:db8::20',
        SrcUsername: 'bob',
        SrcUsernameType: 'Simple',
        Url: 'slack.com:443',
        DstFQDN: 'slack.com',
        DstPortNumber: 443,
        HttpReferrer: 'https://app.example.com/page',
        HttpUserAgent: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64)',
        SquidResultCode: 'TCP_TUNNEL',
      },
    );
  });

  it('combined 407 handshake: user "-", marked', () => {
    const row = parse(
      '10.0.0.5 - - [01/Dec/2024:08:00:01 +0000] "CONNECT teams.microsoft.com:443 HTTP/1.1" 407 3900 "-" "Microsoft Office/16.0" TCP_DENIED:HIER_NONE',
    );
    assert.equal(row.IsAuthChallenge, true);
    assert.equal(row.HttpReferrer, '');
    assert.equal(row.DvcAction, 'Deny');
  });

  it('an impossible date keeps the row, without event time', () => {
    const row = parse(
      '10.0.0.5 - - [31/Feb/2024:08:00:01 +0000] "GET http://example.com/ HTTP/1.1" 200 1 TCP_MISS:HIER_DIRECT',
    );
    assert.equal(row.ParseError, false);
    assert.equal(row.EventEndTime, null);
    assert.equal(row.TimeGenerated, collectedAt);
  });
});

describe('the summary columns alone (an import that sends its lines)', () => {
  it('select(summary columns) gives those columns of every kind of line exactly as the whole transform', () => {
    const selected = defaultParser.select(proxySummaryColumns);
    const lines = [
      '1677971734.079  1234 1.2.3.4 TCP_TUNNEL/200 39 CONNECT domain.xyz:443 - HIER_DIRECT/1.2.3.4 -',
      '1565600128.411      0 192.168.0.1 TCP_DENIED/407 3980 GET http://api.example.org/api/v2/check - HIER_NONE/- text/html',
      '1733050003.000     40 2001:db8::10 TCP_MISS/200 900 GET https://docs.google.com/d/1?usp=sharing carol@CORP.EXAMPLE.COM HIER_DIRECT/2001:db8::1 text/html 120',
      '10.0.0.5 - CORP\\bob [01/Dec/2024:08:00:01 +0000] "CONNECT teams.microsoft.com:443 HTTP/1.1" 200 3900 "-" "Office" TCP_TUNNEL:HIER_DIRECT',
      '192.168.1.10 - alice@CORP.EXAMPLE.COM [10/Oct/2024:13:55:36 -0700] "GET http://www.box.com/files?id=7 HTTP/1.1" 200 2326 TCP_MISS:HIER_DIRECT',
      'this is not a squid line',
    ];
    for (const line of lines) {
      const record = {
        TimeGenerated: collectedAt,
        RawData: line,
        FilePath: '/var/log/squid/access.log',
        Computer: '',
      };
      const whole = defaultParser.apply(record) as Record<string, unknown>;
      assert.deepEqual(
        selected.apply(record),
        Object.fromEntries(proxySummaryColumns.map((c) => [c, whole[c]])),
        line,
      );
    }
  });
});
