// A realistic day of a Kerberos-authenticating Squid proxy for the demo and tests: squid native lines
// (with %>st, the upload bytes) of users who exist in the directory (their on-premises sAMAccountName
// and domain, as negotiate_kerberos_auth logs them: user@REALM, a few bare), going to sanctioned and
// shadow apps alike; proxy-authentication handshakes (407, user "-") before tunnels, denied requests,
// unattributed traffic from a device without a user, and two lines that are no Squid lines.

/** A user as the directory knows them: enough to write their Kerberos principal. */
export interface ProxyUser {
  readonly samAccountName: string;
  /** The AD DNS domain: the Kerberos realm in upper case. */
  readonly domain: string;
}

export interface ProxyLogOptions {
  readonly users: readonly ProxyUser[];
  readonly lines: number;
  readonly from: Date;
  readonly to: Date;
  readonly seed: number;
}

/** Host names, weighted by how often people use them (sanctioned collaboration first, shadow IT after). */
const destinations: readonly (readonly [host: string, weight: number, method: 'CONNECT' | 'GET' | 'POST'])[] =
  [
    ['outlook.office365.com', 30, 'CONNECT'],
    ['teams.microsoft.com', 25, 'CONNECT'],
    ['contoso.sharepoint.com', 20, 'CONNECT'],
    ['login.microsoftonline.com', 20, 'CONNECT'],
    ['www.google.com', 15, 'CONNECT'],
    ['www.linkedin.com', 6, 'CONNECT'],
    ['contoso.atlassian.net', 8, 'CONNECT'],
    ['app.slack.com', 6, 'CONNECT'],
    ['zoom.us', 5, 'CONNECT'],
    ['www.dropbox.com', 6, 'CONNECT'],
    ['content.dropboxapi.com', 4, 'POST'],
    ['wetransfer.com', 3, 'CONNECT'],
    ['chatgpt.com', 8, 'CONNECT'],
    ['claude.ai', 3, 'CONNECT'],
    ['github.com', 6, 'CONNECT'],
    ['gist.githubusercontent.com', 1, 'CONNECT'],
    ['drive.google.com', 4, 'CONNECT'],
    ['docs.google.com', 3, 'CONNECT'],
    ['www.canva.com', 2, 'CONNECT'],
    ['trello.com', 2, 'CONNECT'],
    ['notion.so', 2, 'CONNECT'],
    ['pastebin.com', 1, 'GET'],
    ['www.deepl.com', 2, 'CONNECT'],
    ['anydesk.com', 1, 'CONNECT'],
    ['www.youtube.com', 6, 'CONNECT'],
    ['news.example.org', 4, 'GET'],
    ['updates.vendor.example', 3, 'GET'],
  ];
/** Destinations the proxy's policy denies. */
const denied = ['mega.nz', 'nordvpn.com', 'thepiratebay.org'];

/** A small seeded generator (mulberry32): the same log for the same seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function native(
  ms: number,
  elapsed: number,
  client: string,
  code: string,
  bytes: number,
  method: string,
  url: string,
  user: string,
  hierarchy: string,
  type: string,
  uploaded: number,
): string {
  const seconds = Math.floor(ms / 1000);
  const millis = String(ms % 1000).padStart(3, '0');
  return `${seconds}.${millis} ${String(elapsed).padStart(6)} ${client} ${code} ${bytes} ${method} ${url} ${user} ${hierarchy} ${type} ${uploaded}`;
}

/** The log's lines, in time order. */
export function proxyLogLines(options: ProxyLogOptions): string[] {
  const next = random(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const total = destinations.reduce((sum, [, weight]) => sum + weight, 0);
  const destination = () => {
    let roll = next() * total;
    for (const entry of destinations) {
      roll -= entry[1];
      if (roll < 0) return entry;
    }
    return destinations[0] as (typeof destinations)[number];
  };
  // Each user works from one address; a few users' helper strips the realm (-r).
  const people = options.users.map((user, i) => ({
    principal: i % 7 === 3 ? user.samAccountName : `${user.samAccountName}@${user.domain.toUpperCase()}`,
    address: `10.20.${Math.floor(i / 250)}.${(i % 250) + 2}`,
  }));
  const span = options.to.getTime() - options.from.getTime();
  const lines: string[] = [];
  for (let i = 0; i < options.lines; i += 1) {
    const at = options.from.getTime() + Math.floor((span * i) / options.lines);
    const elapsed = Math.floor(next() * 4000);
    const roll = next();
    if (roll < 0.03) {
      // A printer that talks to the internet without authenticating.
      lines.push(
        native(
          at,
          12,
          '10.20.99.9',
          'TCP_MISS/200',
          512,
          'GET',
          'http://updates.vendor.example/firmware.xml',
          '-',
          `HIER_DIRECT/203.0.113.${(i % 200) + 1}`,
          'text/xml',
          180,
        ),
      );
      continue;
    }
    const person = pick(people);
    if (roll < 0.06) {
      const host = pick(denied);
      lines.push(
        native(
          at,
          0,
          person.address,
          'TCP_DENIED/403',
          3900,
          'CONNECT',
          `${host}:443`,
          person.principal,
          'HIER_NONE/-',
          'text/html',
          0,
        ),
      );
      continue;
    }
    const [host, , method] = destination();
    const server = `198.51.100.${Math.floor(next() * 250) + 1}`;
    const downloaded = Math.floor(next() * 200_000) + 300;
    const uploaded = method === 'POST' ? Math.floor(next() * 5_000_000) : Math.floor(next() * 4000) + 200;
    if (method === 'CONNECT') {
      if (next() < 0.3)
        lines.push(
          native(
            at - 5,
            0,
            person.address,
            'TCP_DENIED/407',
            4100,
            'CONNECT',
            `${host}:443`,
            '-',
            'HIER_NONE/-',
            'text/html',
            0,
          ),
        );
      lines.push(
        native(
          at,
          elapsed,
          person.address,
          'TCP_TUNNEL/200',
          downloaded,
          'CONNECT',
          `${host}:443`,
          person.principal,
          `HIER_DIRECT/${server}`,
          '-',
          uploaded,
        ),
      );
    } else {
      const url = `http://${host}/${method === 'POST' ? 'upload' : 'page'}?id=${Math.floor(next() * 1e6)}`;
      lines.push(
        native(
          at,
          elapsed,
          person.address,
          'TCP_MISS/200',
          downloaded,
          method,
          url,
          person.principal,
          `HIER_DIRECT/${server}`,
          'text/html',
          uploaded,
        ),
      );
    }
  }
  // What a real log also holds now and then: a line cut by a crash, and one no format explains.
  lines.splice(Math.floor(lines.length / 3), 0, '1733050000.1');
  lines.splice(Math.floor((2 * lines.length) / 3), 0, 'squid[4242]: logfile rotated');
  return lines;
}
