// The Logs Ingestion API refuses a field over 64 KB and a request over 1 MB; a single record over
// 1 MB is sent alone and fails. Rows are fitted before upload instead, so one odd event (a huge
// targetResources list, a pathological user agent) cannot fail a whole window.

/** Per-field limit with headroom for JSON escaping done by the service. */
export const maxFieldBytes = 60_000;
/** Per-record limit: the SDK packs records into ~1,000,000-byte requests. */
export const maxRecordBytes = 900_000;

export interface Truncation {
  readonly field: string;
  /** The field's JSON size before it was cut. */
  readonly originalBytes: number;
}

const marker = (bytes: number) => `…[truncated by crosscloud-identity-monitor: ${bytes} bytes]`;
/** The element that ends an array whose tail was dropped. */
export const droppedItemsMarker = (count: number) =>
  `…[${count} more item${count === 1 ? '' : 's'} truncated by crosscloud-identity-monitor]`;
/** The key added to an object whose largest members were dropped. */
export const droppedKeysName = '…truncated';
const droppedKeysMarker = (keys: readonly string[]) =>
  `${keys.length} largest member${keys.length === 1 ? '' : 's'} dropped by crosscloud-identity-monitor: ${keys
    .slice(0, 10)
    .map((key) => (key.length > 64 ? `${key.slice(0, 64).replace(/[\ud800-\udbff]$/, '')}…` : key))
    .join(', ')}${keys.length > 10 ? ', …' : ''}`;

/**
 * Returns the row unchanged when it fits (the common case, without copying), or a copy whose
 * oversized fields are cut: strings keep their start plus a marker; objects and arrays (dynamic
 * columns) stay valid JSON of the same shape, their largest parts trimmed first (see `fitJson`), so
 * small members such as `Status.errorCode` survive. Every cut is reported.
 */
export function fitToIngestionLimits<Row extends object>(
  row: Row,
): { row: Row; truncations: readonly Truncation[] } {
  // Fast path: an upper bound of every field's JSON size, without serialising anything.
  let bound = 0;
  let fits = true;
  for (const value of Object.values(row)) {
    const fieldBound = jsonBytesUpperBound(value, maxFieldBytes + 1);
    bound += fieldBound;
    if (fieldBound > maxFieldBytes) fits = false;
  }
  if (fits && bound <= maxRecordBytes) return { row, truncations: [] };

  const entries = Object.entries(row) as [string, unknown][];
  const sizes = entries.map(([, value]) => jsonBytes(value));
  const total = sizes.reduce((sum, size) => sum + size, 0);
  if (total <= maxRecordBytes && sizes.every((size) => size <= maxFieldBytes))
    return { row, truncations: [] };

  const fitted: Record<string, unknown> = { ...(row as Record<string, unknown>) };
  const truncations: Truncation[] = [];
  let recordBytes = total;
  // Biggest fields first, each to the field limit, then halved while the record is still too big.
  const order = entries
    .map(([name], index) => ({ name, size: sizes[index] ?? 0 }))
    .sort((a, b) => b.size - a.size);
  for (const field of order) {
    if (field.size <= maxFieldBytes && recordBytes <= maxRecordBytes) break;
    let budget = Math.min(maxFieldBytes, field.size);
    while (recordBytes - field.size + budget > maxRecordBytes && budget > 1024)
      budget = Math.floor(budget / 2);
    if (budget >= field.size) continue;
    const value = fitted[field.name];
    fitted[field.name] =
      typeof value === 'string' ? cut(value, budget, field.size) : fitJson(value, budget, field.size);
    recordBytes += jsonBytes(fitted[field.name]) - field.size;
    truncations.push({ field: field.name, originalBytes: field.size });
  }
  return { row: fitted as Row, truncations };
}

/** How far `capped` trims: strings to so many UTF-8 JSON bytes, arrays to so many items, objects to so many members. */
interface Caps {
  readonly stringBytes: number;
  readonly arrayItems: number;
  readonly objectKeys: number;
}

const unlimited = Number.POSITIVE_INFINITY;

/**
 * Fits a dynamic value into `budget` bytes of JSON and keeps it valid JSON of the same shape,
 * trimming the largest parts first, one stage at a time, each as little as will do:
 *   1. long strings (over ~1 KB) are cut to a common length, the longest first;
 *   2. then long arrays keep their first items and end with an element saying how many were dropped;
 *   3. then objects with too many members drop their largest ones (a `…truncated` member names them);
 *   4. then every string goes down to its marker.
 * What is still too big (absurd nesting) becomes an empty container holding only the marker.
 */
export function fitJson(value: unknown, budget: number, originalBytes: number): unknown {
  if (typeof value === 'string') return cut(value, budget, originalBytes);
  const root = annotate(value);
  if (root.kind === 'leaf') return root.value;
  if (root.kind === 'string') return root.bytes > budget ? cut(root.text, budget, originalBytes) : root.text;
  const smallString = Math.max(64, Math.min(1024, Math.floor(budget / 16)));
  const { deep } = root;
  const stages: [lowest: number, highest: number, caps: (n: number) => Caps][] = [
    [smallString, deep.string, (n) => ({ stringBytes: n, arrayItems: unlimited, objectKeys: unlimited })],
    [1, deep.array, (n) => ({ stringBytes: smallString, arrayItems: n, objectKeys: unlimited })],
    [1, deep.keys, (n) => ({ stringBytes: smallString, arrayItems: 1, objectKeys: n })],
    [0, smallString, (n) => ({ stringBytes: n, arrayItems: 1, objectKeys: 1 })],
  ];
  for (const [lowest, highest, caps] of stages) {
    // Trials only add up sizes (stopping at the budget); the copy is made once, for the best caps.
    const fits = (n: number) => fitsWithin(root, caps(n), { bytes: 0, limit: budget });
    const best = largestFitting(lowest, Math.max(lowest, highest), fits);
    if (best !== undefined) return capped(root, caps(best));
  }
  return root.kind === 'array' ? [marker(originalBytes)] : { [droppedKeysName]: marker(originalBytes) };
}

/** The largest n in [lowest, highest] for which `fits(n)` holds, `fits` being monotonic; undefined if none. */
function largestFitting(lowest: number, highest: number, fits: (n: number) => boolean): number | undefined {
  if (!fits(lowest)) return undefined;
  let low = lowest;
  let high = highest;
  while (low < high) {
    const middle = Math.floor((low + high + 1) / 2);
    if (fits(middle)) low = middle;
    else high = middle - 1;
  }
  return low;
}

/** The longest string (JSON bytes), longest array (items) and largest object (members) in a subtree. */
interface Reach {
  readonly string: number;
  readonly array: number;
  readonly keys: number;
}

const nothing: Reach = { string: 0, array: 0, keys: 0 };

function widest(reaches: Iterable<Reach>, own: Partial<Reach> = {}): Reach {
  let { string = 0, array = 0, keys = 0 } = own;
  for (const reach of reaches) {
    string = Math.max(string, reach.string);
    array = Math.max(array, reach.array);
    keys = Math.max(keys, reach.keys);
  }
  return { string, array, keys };
}

/** Nothing in a subtree of this reach is cut by these caps. */
function untouched(reach: Reach, caps: Caps): boolean {
  return reach.string <= caps.stringBytes && reach.array <= caps.arrayItems && reach.keys <= caps.objectKeys;
}

/**
 * A JSON value with its sizes worked out once: a trial adds up untouched subtrees in one step, so
 * the search for the right cut costs little more than reading the value once.
 */
type Node =
  | {
      readonly kind: 'leaf';
      readonly value: number | boolean | null;
      readonly bytes: number;
      readonly deep: Reach;
    }
  | { readonly kind: 'string'; readonly text: string; readonly bytes: number; readonly deep: Reach }
  | {
      readonly kind: 'array';
      readonly items: readonly Node[];
      /** prefix[i]: the JSON bytes of the first i items, commas excluded. */
      readonly prefix: readonly number[];
      readonly bytes: number;
      readonly deep: Reach;
      /** The reach of the items alone. */
      readonly below: Reach;
    }
  | {
      readonly kind: 'object';
      readonly members: readonly Member[];
      readonly bytes: number;
      readonly deep: Reach;
    };

interface Member {
  readonly key: string;
  readonly keyBytes: number;
  readonly node: Node;
  /** 0 for the smallest member of its object: members are dropped largest first. */
  rank: number;
}

/** What JSON.stringify would write, as nodes: `toJSON` is called, members it would omit are left out. */
function annotate(value: unknown): Node {
  const json: unknown =
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ? (value as { toJSON: () => unknown }).toJSON()
      : value;
  if (typeof json === 'string') {
    const bytes = jsonBytes(json);
    return { kind: 'string', text: json, bytes, deep: { string: bytes, array: 0, keys: 0 } };
  }
  if ((typeof json === 'number' && Number.isFinite(json)) || typeof json === 'boolean')
    return { kind: 'leaf', value: json, bytes: jsonBytes(json), deep: nothing };
  if (json === null || typeof json !== 'object')
    return { kind: 'leaf', value: null, bytes: 4, deep: nothing };
  if (Array.isArray(json)) {
    const items = json.map((item: unknown) => annotate(omitted(item) ? null : item));
    const prefix = [0];
    for (const item of items) prefix.push((prefix.at(-1) ?? 0) + item.bytes);
    const below = widest(items.map((item) => item.deep));
    return {
      kind: 'array',
      items,
      prefix,
      bytes: (prefix.at(-1) ?? 0) + 2 + Math.max(0, items.length - 1),
      deep: widest([below], { array: items.length }),
      below,
    };
  }
  const members: Member[] = [];
  for (const [key, member] of Object.entries(json as Record<string, unknown>)) {
    if (omitted(member)) continue;
    members.push({ key, keyBytes: jsonBytes(key), node: annotate(member), rank: 0 });
  }
  [...members].sort((a, b) => a.node.bytes - b.node.bytes).forEach((member, rank) => (member.rank = rank));
  const bytes = members.reduce(
    (sum, member) => sum + member.keyBytes + 1 + member.node.bytes,
    2 + Math.max(0, members.length - 1),
  );
  return {
    kind: 'object',
    members,
    bytes,
    deep: widest(
      members.map((member) => member.node.deep),
      { keys: members.length },
    ),
  };
}

/** Object members JSON.stringify leaves out (and writes as null in arrays). */
function omitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/**
 * A string over the cap is cut when that makes it shorter. The cut text is at most `stringBytes`
 * long, or its bare marker when the cap is smaller than that: trials count that bound, which the
 * copy never exceeds.
 */
function cutBytesBound(node: { readonly bytes: number }, caps: Caps): number | undefined {
  if (node.bytes <= caps.stringBytes) return undefined;
  const bound = Math.max(caps.stringBytes, jsonBytes(marker(node.bytes)));
  return bound < node.bytes ? bound : undefined;
}

/** Whether the copy `capped` would make with `caps` is at most `size.limit` bytes of JSON. */
function fitsWithin(node: Node, caps: Caps, size: Size): boolean {
  if (untouched(node.deep, caps)) return add(size, node.bytes);
  switch (node.kind) {
    case 'leaf':
      return add(size, node.bytes);
    case 'string':
      return add(size, cutBytesBound(node, caps) ?? node.bytes);
    case 'array': {
      const keep = Math.min(node.items.length, caps.arrayItems);
      if (!add(size, 2 + Math.max(0, keep - 1))) return false;
      if (untouched(node.below, caps)) {
        if (!add(size, node.prefix[keep] ?? 0)) return false;
      } else {
        for (let index = 0; index < keep; index += 1)
          if (!fitsWithin(node.items[index] as Node, caps, size)) return false;
      }
      const dropped = node.items.length - keep;
      return dropped === 0 || add(size, jsonBytes(droppedItemsMarker(dropped)) + (keep > 0 ? 1 : 0));
    }
    case 'object': {
      let kept = 0;
      for (const member of node.members) {
        if (member.rank >= caps.objectKeys) continue;
        kept += 1;
        if (!add(size, member.keyBytes + 1) || !fitsWithin(member.node, caps, size)) return false;
      }
      if (!add(size, 2 + Math.max(0, kept - 1))) return false;
      if (kept === node.members.length) return true;
      const note = droppedKeysMarker(droppedKeys(node.members, caps));
      return add(size, jsonBytes(droppedKeysName) + 1 + jsonBytes(note) + (kept > 0 ? 1 : 0));
    }
  }
}

function droppedKeys(members: readonly Member[], caps: Caps): string[] {
  return members.filter((member) => member.rank >= caps.objectKeys).map((member) => member.key);
}

/** A copy of `node`'s value with `caps` applied: no bigger than `fitsWithin` counted. */
function capped(node: Node, caps: Caps): unknown {
  switch (node.kind) {
    case 'leaf':
      return node.value;
    case 'string':
      return cutBytesBound(node, caps) === undefined
        ? node.text
        : cut(node.text, caps.stringBytes, node.bytes);
    case 'array': {
      const keep = Math.min(node.items.length, caps.arrayItems);
      const items = node.items.slice(0, keep).map((item) => capped(item, caps));
      if (keep < node.items.length) items.push(droppedItemsMarker(node.items.length - keep));
      return items;
    }
    case 'object': {
      // The smallest members stay (IDs, codes, names), in their order; the largest go.
      const copies: [string, unknown][] = node.members
        .filter((member) => member.rank < caps.objectKeys)
        .map((member) => [member.key, capped(member.node, caps)]);
      if (copies.length < node.members.length)
        copies.push([droppedKeysName, droppedKeysMarker(droppedKeys(node.members, caps))]);
      // fromEntries defines properties: a `__proto__` key from the source stays a plain member.
      return Object.fromEntries(copies);
    }
  }
}

interface Size {
  bytes: number;
  readonly limit: number;
}

/** Counts `bytes` more; false once past the limit. */
function add(size: Size, bytes: number): boolean {
  size.bytes += bytes;
  return size.bytes <= size.limit;
}

function cut(text: string, budgetBytes: number, originalBytes: number): string {
  const suffix = marker(originalBytes);
  let keep = Math.max(0, budgetBytes - Buffer.byteLength(suffix) - 16);
  // Bytes, not characters: shrink until the UTF-8 (JSON-escaped) form fits.
  let head = text.slice(0, keep);
  while (jsonBytes(head + suffix) > budgetBytes && keep > 0) {
    keep = Math.floor(keep * 0.9);
    head = text.slice(0, keep);
  }
  // Never leave half of a surrogate pair at the cut.
  if (/[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  return head + suffix;
}

/**
 * An upper bound of `value`'s UTF-8 JSON size (every character counted as a 6-byte escape), cut
 * short once it passes `stopAt`: rows far below the limits cost a walk, not a JSON.stringify.
 */
function jsonBytesUpperBound(value: unknown, stopAt: number): number {
  if (value === null || value === undefined || typeof value === 'boolean') return 5;
  if (typeof value === 'number') return 24;
  if (typeof value === 'string') return value.length * 6 + 2;
  let total = 2;
  if (Array.isArray(value)) {
    for (const item of value) {
      total += jsonBytesUpperBound(item, stopAt) + 1;
      if (total > stopAt) return total;
    }
    return total;
  }
  for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
    total += key.length * 6 + 4 + jsonBytesUpperBound(item, stopAt);
    if (total > stopAt) return total;
  }
  return total;
}

/** Printable ASCII that JSON writes as is: one byte per character. */
const plainAscii = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonBytes(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string')
    return plainAscii.test(value) ? value.length + 2 : Buffer.byteLength(JSON.stringify(value));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  return Buffer.byteLength(JSON.stringify(value));
}
