// Lazy event sources. Data is never materialised: event i of a source has a time that is a monotonic
// (non-decreasing) function of i over [from, to): t(i) = from + floor(span * (i + u(i)) / count), with a seeded
// jitter u(i) in [0, 1). A time filter is then an index range found by binary search, a page is a walk down that
// range from a cursor, and the record itself is generated on demand from (seed, kind, i). Late events
// (addLate) are the only stored records: a handful of { time, index >= count } entries merged into the same
// ordering. Results are ordered by (time, index) descending.
import { buildAudit } from './audits.js';
import { IdCodec, TWO_32, hash3, hashString, sfc32 } from './random.js';
import { buildSignIn } from './signIns.js';
import {
  SIGN_IN_EVENT_TYPES,
  type BetaSignIn,
  type DirectoryAudit,
  type EventSourceOptions,
  type GraphEventKind,
  type SignInEventType,
} from './types.js';
import type { World } from './world.js';

const TICKS_PER_MS = 10_000; // 100 ns ticks, the precision of Graph's DateTimeOffset values

/** (time, index): the total order of a source; results are served in descending order of it. */
export interface Key {
  ticks: number;
  index: number;
}

export interface Entry extends Key {
  type: SignInEventType | null;
  /** A late audit's edit of its generated record (LateEvent.edit). */
  edit?: (audit: DirectoryAudit) => DirectoryAudit;
}

export const compareKeys = (a: Key, b: Key): number => a.ticks - b.ticks || a.index - b.index;

export interface Query {
  /** Inclusive tick bounds (relative to the source origin); null = unbounded. */
  lo: number | null;
  hi: number | null;
  /** Sign-ins only: the event types to include. */
  types: readonly SignInEventType[] | null;
}

const SIGN_IN_TYPE_WEIGHTS: readonly (readonly [SignInEventType, number])[] = [
  ['interactiveUser', 30],
  ['nonInteractiveUser', 50],
  ['servicePrincipal', 15],
  ['managedIdentity', 5],
];

export class EventSource {
  readonly count: number;
  /** Absolute time of tick 0, in ms since the epoch. */
  readonly originMs: number;
  private readonly salt: number;
  private readonly codec: IdCodec;
  private readonly wholeSeconds: boolean;
  private readonly fromSec: number;
  private readonly spanSec: number;
  private readonly spanTicks: number;
  /** Sorted ascending by (ticks, index). */
  readonly late: Entry[] = [];

  constructor(
    readonly kind: GraphEventKind,
    seedKey: number,
    options: EventSourceOptions | undefined,
    private readonly world: World,
  ) {
    const count = options?.count ?? 0;
    if (!Number.isSafeInteger(count) || count < 0 || count > 2 ** 31) {
      throw new Error(`${kind}.count must be an integer in 0..2^31, got ${count}`);
    }
    const fromMs = options?.from.getTime() ?? Math.floor(Date.now() / 1000) * 1000;
    const toMs = options?.to.getTime() ?? fromMs + 1000;
    if (!Number.isFinite(fromMs) || !Number.isFinite(toMs) || toMs <= fromMs) {
      throw new Error(`${kind}: 'to' must be after 'from'`);
    }
    this.count = count;
    this.originMs = fromMs;
    this.salt = hash3(seedKey, hashString(kind), 7);
    this.codec = new IdCodec(hash3(seedKey, hashString(kind), 8));
    // Sign-in times are whole seconds (as Graph serves createdDateTime); audit times have 100 ns precision.
    this.wholeSeconds = kind === 'signIns';
    this.fromSec = Math.ceil(fromMs / 1000);
    this.spanSec = Math.ceil(toMs / 1000) - this.fromSec;
    this.spanTicks = (toMs - fromMs) * TICKS_PER_MS;
    if (count > 0 && this.wholeSeconds && this.spanSec < 1) {
      throw new Error(`${kind}: [from, to) holds no whole second`);
    }
    if (this.spanTicks > Number.MAX_SAFE_INTEGER / 4) throw new Error(`${kind}: time range too long`);
  }

  /** Monotonic non-decreasing in i: t(i) = from + floor(span * (i + u(i)) / count), u(i) in [0, 1). */
  ticksAt(i: number): number {
    const u = hash3(this.salt, i, 1) / TWO_32;
    if (this.wholeSeconds) {
      const sec =
        this.fromSec + Math.min(this.spanSec - 1, Math.floor((this.spanSec * (i + u)) / this.count));
      return (sec * 1000 - this.originMs) * TICKS_PER_MS;
    }
    return Math.min(this.spanTicks - 1, Math.floor((this.spanTicks * (i + u)) / this.count));
  }

  typeAt(i: number): SignInEventType | null {
    if (this.kind !== 'signIns') return null;
    let r = (hash3(this.salt, i, 2) / TWO_32) * 100;
    for (const [type, weight] of SIGN_IN_TYPE_WEIGHTS) {
      r -= weight;
      if (r < 0) return type;
    }
    return 'managedIdentity';
  }

  /** First base index whose time is >= ticks (count when none). */
  lowerBound(ticks: number): number {
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ticksAt(mid) < ticks) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Number of base events whose key is below `key`: they are exactly the indices [0, result). */
  private baseBelow(key: Key): number {
    const first = this.lowerBound(key.ticks);
    const afterTies = this.lowerBound(key.ticks + 1);
    return Math.min(Math.max(key.index, first), afterTies);
  }

  ticksOfMs(ms: number): number {
    return (ms - this.originMs) * TICKS_PER_MS;
  }

  size(): number {
    return this.count + this.late.length;
  }

  addLate(atMs: number, type: SignInEventType | null, edit?: Entry['edit']): Entry {
    const ms = this.wholeSeconds ? Math.floor(atMs / 1000) * 1000 : atMs;
    const entry: Entry = { ticks: this.ticksOfMs(ms), index: this.size(), type, ...(edit ? { edit } : {}) };
    // Indices grow, so the new entry goes after every late entry with the same or an earlier time.
    let lo = 0;
    let hi = this.late.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.late[mid];
      if (other && compareKeys(other, entry) < 0) lo = mid + 1;
      else hi = mid;
    }
    this.late.splice(lo, 0, entry);
    return entry;
  }

  entry(index: number): Entry {
    if (!Number.isInteger(index) || index < 0 || index >= this.size()) {
      throw new RangeError(`${this.kind} has no event ${index} (size ${this.size()})`);
    }
    if (index < this.count) return { ticks: this.ticksAt(index), index, type: this.typeAt(index) };
    const late = this.late.find((e) => e.index === index);
    if (!late) throw new RangeError(`${this.kind} has no event ${index}`);
    return late;
  }

  private matches(e: Entry, q: Query): boolean {
    return q.types === null || (e.type !== null && q.types.includes(e.type));
  }

  /** Events matching q with key < below (all when below is null), in descending key order. */
  *descending(q: Query, below: Key | null): Generator<Entry> {
    const base = this.baseDescending(q, below);
    const late = this.lateDescending(q, below);
    let a = base.next();
    let b = late.next();
    while (!a.done || !b.done) {
      if (b.done || (!a.done && compareKeys(a.value, b.value) > 0)) {
        if (!a.done) yield a.value;
        a = base.next();
      } else {
        yield b.value;
        b = late.next();
      }
    }
  }

  private *baseDescending(q: Query, below: Key | null): Generator<Entry> {
    const start = q.lo === null ? 0 : this.lowerBound(q.lo);
    let end = q.hi === null ? this.count : this.lowerBound(q.hi + 1);
    if (below) end = Math.min(end, this.baseBelow(below));
    for (let i = end - 1; i >= start; i--) {
      const type = this.typeAt(i);
      if (q.types !== null && (type === null || !q.types.includes(type))) continue;
      yield { ticks: this.ticksAt(i), index: i, type };
    }
  }

  private *lateDescending(q: Query, below: Key | null): Generator<Entry> {
    for (let j = this.late.length - 1; j >= 0; j--) {
      const e = this.late[j];
      if (!e) continue;
      if (below && compareKeys(e, below) >= 0) continue;
      if (q.hi !== null && e.ticks > q.hi) continue;
      if (q.lo !== null && e.ticks < q.lo) break;
      if (this.matches(e, q)) yield e;
    }
  }

  private idOf(index: number): string {
    return this.codec.guid(index);
  }

  /** The query for from <= time < to (all when omitted); sign-ins of the given types (default all). */
  range(from?: Date, to?: Date, eventTypes?: readonly SignInEventType[]): Query {
    return {
      lo: from === undefined ? null : this.ticksOfMs(from.getTime()),
      hi: to === undefined ? null : this.ticksOfMs(to.getTime()) - 1,
      types: this.kind === 'signIns' ? (eventTypes ?? SIGN_IN_EVENT_TYPES) : null,
    };
  }

  /** The id the event is served with: its GUID for a sign-in, the record's own id for an audit. */
  idOfEntry(e: Entry): string {
    return this.kind === 'signIns' ? this.idOf(e.index) : (this.build(e) as DirectoryAudit).id;
  }

  /** Index of the event served with this id, or undefined when the source has no such event. */
  indexOf(id: string): number | undefined {
    // An audit id is <prefix>_<GUID>_<suffix>: the GUID gives the index, the whole id must then match.
    const guid = this.kind === 'signIns' ? id : /^[A-Za-z]+_([0-9a-f-]{36})_/.exec(id)?.[1];
    if (guid === undefined) return undefined;
    const index = this.codec.index(guid);
    if (index === undefined || index >= this.size()) return undefined;
    return this.kind === 'signIns' || this.build(this.entry(index)).id === id ? index : undefined;
  }

  isoTime(ticks: number): string {
    const ms = this.originMs + Math.floor(ticks / TICKS_PER_MS);
    const iso = new Date(ms).toISOString();
    if (this.wholeSeconds) return iso.replace(/\.\d{3}Z$/, 'Z');
    const sub = ticks - Math.floor(ticks / TICKS_PER_MS) * TICKS_PER_MS;
    return `${iso.slice(0, -1)}${String(sub).padStart(4, '0')}Z`;
  }

  /** The full record; for audits the sub-millisecond digits of the time come from the record's own stream. */
  build(e: Entry): BetaSignIn | DirectoryAudit {
    const rnd = sfc32(
      hash3(this.salt, e.index, 3),
      hash3(this.salt, e.index, 4),
      hash3(this.salt, e.index, 5),
      hash3(this.salt, e.index, 6),
    );
    const guid = this.idOf(e.index);
    if (this.kind === 'signIns') {
      return buildSignIn(this.world, rnd, guid, this.isoTime(e.ticks), e.type ?? 'interactiveUser');
    }
    const audit = buildAudit(this.world, rnd, guid, this.isoTime(e.ticks));
    return e.edit ? e.edit(audit) : audit;
  }
}
