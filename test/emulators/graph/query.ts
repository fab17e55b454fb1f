// Query options of a list request: $filter (see parseFilter), $top (1..1000), $skiptoken (only as handed out in
// @odata.nextLink; $skip is refused, as by Graph).
//
// Paging is keyset pagination: $skiptoken carries the query and the (time, index) key of the last item returned,
// HMAC-signed so it stays opaque, so a page always continues strictly below the previous one. Like the real
// service, an event that arrives late with a time *above* the cursor of a paging run in progress is not returned
// by that run: only a later query sees it, which is what overlap windows in a collector are for. A request with a
// $skiptoken pages the query the token carries (any $filter beside it is ignored); a token is only valid on the
// path that issued it.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { GraphError } from './errors.js';
import type { Entry, EventSource, Key, Query } from './source.js';
import {
  SIGN_IN_EVENT_TYPES,
  type GraphApiVersion,
  type GraphEventKind,
  type SignInEventType,
} from './types.js';

export const MAX_TOP = 1000;

// ---------------------------------------------------------------------------------------------------------------
// $filter
// ---------------------------------------------------------------------------------------------------------------

const invalidFilter = (): GraphError => new GraphError(400, 'BadRequest', 'Invalid filter clause');

type Token =
  | { t: 'punct'; v: '(' | ')' | '/' | ':' }
  | { t: 'ident'; v: string }
  | { t: 'string'; v: string }
  | { t: 'datetime'; v: string };

const DATETIME_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})/i;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] ?? '';
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')' || c === '/' || c === ':') {
      tokens.push({ t: 'punct', v: c });
      i++;
    } else if (c === "'") {
      let value = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length) throw invalidFilter();
        if (text[j] === "'") {
          if (text[j + 1] === "'") {
            value += "'";
            j += 2;
            continue;
          }
          break;
        }
        value += text[j] ?? '';
        j++;
      }
      tokens.push({ t: 'string', v: value });
      i = j + 1;
    } else if (/\d/.test(c)) {
      const m = DATETIME_AT.exec(text.slice(i));
      if (!m) throw invalidFilter();
      tokens.push({ t: 'datetime', v: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
      const v = m?.[0] ?? c;
      tokens.push({ t: 'ident', v });
      i += v.length;
    } else {
      throw invalidFilter();
    }
  }
  return tokens;
}

/** An absolute DateTimeOffset in ticks (100 ns) since the epoch, split to stay within safe integers. */
interface Instant {
  ms: number;
  subTicks: number;
}

function parseInstant(text: string): Instant {
  const m =
    /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?(Z|([+-])(\d{2}):(\d{2}))$/i.exec(
      text,
    );
  if (!m) throw invalidFilter();
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6] ?? '0'].map(
    Number,
  ) as [number, number, number, number, number, number];
  const fraction = (m[7] ?? '').padEnd(7, '0');
  let ms = Date.UTC(year, month - 1, day, hour, minute, second) + Number(fraction.slice(0, 3));
  const check = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    month < 1 ||
    month > 12 ||
    hour > 23 ||
    minute > 59 ||
    second > 59 ||
    check.getUTCDate() !== day ||
    check.getUTCMonth() !== month - 1
  ) {
    throw invalidFilter();
  }
  if (m[9]) ms -= (m[9] === '-' ? -1 : 1) * (Number(m[10]) * 60 + Number(m[11])) * 60_000;
  return { ms, subTicks: Number(fraction.slice(3)) };
}

interface ParsedFilter {
  lo: Instant | null;
  loInclusive: boolean;
  hi: Instant | null;
  hiInclusive: boolean;
  types: SignInEventType[] | null;
}

const compareInstants = (a: Instant, b: Instant): number => a.ms - b.ms || a.subTicks - b.subTicks;

const ENTITY_TYPE: Record<GraphEventKind, string> = {
  signIns: 'microsoft.graph.signIn',
  directoryAudits: 'microsoft.graph.directoryAudit',
};
const TIME_PROPERTY: Record<GraphEventKind, string> = {
  signIns: 'createdDateTime',
  directoryAudits: 'activityDateTime',
};
const ALL_TIME_PROPERTIES = ['createdDateTime', 'activityDateTime'];

/**
 * The forms a collector sends:
 *   createdDateTime ge 2026-11-01T00:00:00Z and createdDateTime lt 2026-11-02T00:00:00.000Z
 *   (either bound alone; ge/gt/le/lt/eq; unquoted DateTimeOffset with 0-7 fraction digits, Z or +hh:mm)
 *   activityDateTime ... for directoryAudits
 *   (signInEventTypes/any(t: t eq 'interactiveUser' or t eq 'nonInteractiveUser')) on beta sign-ins
 * joined with `and`, optionally parenthesised. Anything else is 400 BadRequest "Invalid filter clause".
 */
function parseFilter(text: string, kind: GraphEventKind, version: GraphApiVersion): ParsedFilter {
  const tokens = tokenize(text);
  const result: ParsedFilter = { lo: null, loInclusive: true, hi: null, hiInclusive: true, types: null };
  let pos = 0;
  const peek = (): Token | undefined => tokens[pos];
  const isPunct = (v: string): boolean => {
    const t = peek();
    return t?.t === 'punct' && t.v === v;
  };
  const isKeyword = (v: string): boolean => {
    const t = peek();
    return t?.t === 'ident' && t.v === v;
  };
  const expectPunct = (v: string): void => {
    if (!isPunct(v)) throw invalidFilter();
    pos++;
  };
  const expectIdent = (): string => {
    const t = peek();
    if (t?.t !== 'ident') throw invalidFilter();
    pos++;
    return t.v;
  };
  const noProperty = (name: string): GraphError =>
    new GraphError(
      400,
      'BadRequest',
      `Could not find a property named '${name}' on type '${ENTITY_TYPE[kind]}'.`,
    );

  const lambdaBody = (variable: string): SignInEventType[] => {
    const types: SignInEventType[] = [];
    const term = (): void => {
      if (isPunct('(')) {
        pos++;
        types.push(...lambdaBody(variable));
        expectPunct(')');
        return;
      }
      if (expectIdent() !== variable || expectIdent() !== 'eq') throw invalidFilter();
      const value = peek();
      if (value?.t !== 'string') throw invalidFilter();
      pos++;
      if (!(SIGN_IN_EVENT_TYPES as readonly string[]).includes(value.v) && value.v !== 'unknownFutureValue') {
        throw new GraphError(
          400,
          'BadRequest',
          `The string '${value.v}' is not a valid enumeration type constant.`,
        );
      }
      if (value.v !== 'unknownFutureValue') types.push(value.v as SignInEventType);
    };
    term();
    while (isKeyword('or')) {
      pos++;
      term();
    }
    return types;
  };

  const comparison = (): void => {
    const property = expectIdent();
    if (property.toLowerCase() === 'signineventtypes') {
      if (kind !== 'signIns' || version !== 'beta') throw noProperty(property);
      expectPunct('/');
      if (expectIdent() !== 'any') throw invalidFilter();
      expectPunct('(');
      const variable = expectIdent();
      expectPunct(':');
      const types = lambdaBody(variable);
      expectPunct(')');
      result.types = result.types === null ? types : result.types.filter((t) => types.includes(t));
      return;
    }
    const known = ALL_TIME_PROPERTIES.find((p) => p.toLowerCase() === property.toLowerCase());
    if (!known) throw invalidFilter();
    if (known !== TIME_PROPERTY[kind]) throw noProperty(property);
    const op = expectIdent();
    const value = peek();
    if (value?.t !== 'datetime') throw invalidFilter();
    pos++;
    const instant = parseInstant(value.v);
    const tightenLo = (inclusive: boolean): void => {
      const c = result.lo === null ? 1 : compareInstants(instant, result.lo);
      if (c > 0 || (c === 0 && !inclusive)) {
        result.lo = instant;
        result.loInclusive = inclusive;
      }
    };
    const tightenHi = (inclusive: boolean): void => {
      const c = result.hi === null ? -1 : compareInstants(instant, result.hi);
      if (c < 0 || (c === 0 && !inclusive)) {
        result.hi = instant;
        result.hiInclusive = inclusive;
      }
    };
    switch (op) {
      case 'ge':
        return tightenLo(true);
      case 'gt':
        return tightenLo(false);
      case 'le':
        return tightenHi(true);
      case 'lt':
        return tightenHi(false);
      case 'eq':
        tightenLo(true);
        return tightenHi(true);
      default:
        throw invalidFilter();
    }
  };

  const conjunction = (): void => {
    primary();
    while (isKeyword('and')) {
      pos++;
      primary();
    }
  };
  const primary = (): void => {
    if (isPunct('(')) {
      pos++;
      conjunction();
      expectPunct(')');
    } else {
      comparison();
    }
  };

  if (tokens.length === 0) throw invalidFilter();
  conjunction();
  if (pos !== tokens.length) throw invalidFilter();
  return result;
}

function toQuery(
  source: EventSource,
  f: ParsedFilter,
  kind: GraphEventKind,
  version: GraphApiVersion,
): Query {
  const ticks = (x: Instant): number => source.ticksOfMs(x.ms) + x.subTicks;
  return {
    lo: f.lo === null ? null : ticks(f.lo) + (f.loInclusive ? 0 : 1),
    hi: f.hi === null ? null : ticks(f.hi) - (f.hiInclusive ? 0 : 1),
    // v1.0 serves interactive sign-ins only; so does beta unless signInEventTypes is filtered on.
    types:
      kind !== 'signIns' ? null : version === 'v1.0' ? ['interactiveUser'] : (f.types ?? ['interactiveUser']),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Paging
// ---------------------------------------------------------------------------------------------------------------

interface SkipState {
  kind: GraphEventKind;
  version: GraphApiVersion;
  query: Query;
  after: Key;
}

/** Issues and checks $skiptoken values, signed with a key of their own (per emulator). */
export class SkipTokens {
  private readonly key = randomBytes(32);

  encode(s: SkipState): string {
    const payload = Buffer.from(
      JSON.stringify([
        s.kind,
        s.version,
        s.query.lo,
        s.query.hi,
        s.query.types,
        s.after.ticks,
        s.after.index,
      ]),
    ).toString('base64url');
    const mac = createHmac('sha256', this.key).update(payload).digest().subarray(0, 16).toString('base64url');
    return `${payload}.${mac}`;
  }

  decode(token: string, kind: GraphEventKind, version: GraphApiVersion): SkipState {
    const invalid = new GraphError(400, 'BadRequest', `Invalid $skiptoken value: '${token.slice(0, 40)}'.`);
    const [payload, mac] = token.split('.');
    if (!payload || !mac) throw invalid;
    const expected = createHmac('sha256', this.key).update(payload).digest().subarray(0, 16);
    const given = Buffer.from(mac, 'base64url');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalid;
    const parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as [
      GraphEventKind,
      GraphApiVersion,
      number | null,
      number | null,
      SignInEventType[] | null,
      number,
      number,
    ];
    const [k, v, lo, hi, types, ticks, index] = parsed;
    if (k !== kind || v !== version) throw invalid;
    return { kind: k, version: v, query: { lo, hi, types }, after: { ticks, index } };
  }
}

export interface PageSelection {
  /** The page size: $top, or MAX_TOP without it. */
  top: number;
  /** The page's events, newest first; their records are generated while the answer is written. */
  entries: Entry[];
  /** The $skiptoken of the next page, when there is one. */
  skiptoken: string | undefined;
}

/** Reads the query options of a list request and selects its page, by keys only (cheap). */
export function selectPage(
  url: URL,
  source: EventSource,
  kind: GraphEventKind,
  version: GraphApiVersion,
  tokens: SkipTokens,
): PageSelection {
  if (url.searchParams.has('$skip')) {
    throw new GraphError(
      400,
      'BadRequest',
      "'$skip' is not supported by the service. Use the @odata.nextLink.",
    );
  }
  const topText = url.searchParams.get('$top');
  let top = MAX_TOP;
  if (topText !== null) {
    top = /^\d+$/.test(topText) ? Number(topText) : NaN;
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) {
      throw new GraphError(
        400,
        'BadRequest',
        `Invalid page size specified: '${topText}'. Must be between 1 and ${MAX_TOP} inclusive.`,
      );
    }
  }
  const skiptoken = url.searchParams.get('$skiptoken');
  let query: Query;
  let after: Key | null = null;
  if (skiptoken !== null) {
    const s = tokens.decode(skiptoken, kind, version);
    query = s.query;
    after = s.after;
  } else {
    const filter = url.searchParams.get('$filter');
    const parsed =
      filter === null
        ? { lo: null, loInclusive: true, hi: null, hiInclusive: true, types: null }
        : parseFilter(filter, kind, version);
    query = toQuery(source, parsed, kind, version);
  }

  const entries: Entry[] = [];
  let more = false;
  for (const e of source.descending(query, after)) {
    if (entries.length === top) {
      more = true;
      break;
    }
    entries.push(e);
  }
  const last = entries.at(-1);
  const next =
    more && last
      ? tokens.encode({ kind, version, query, after: { ticks: last.ticks, index: last.index } })
      : undefined;
  return { top, entries, skiptoken: next };
}
