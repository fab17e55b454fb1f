// Deterministic hashing, a seeded PRNG and invertible ids: the same (seed, kind, index) always gives the same
// record. Sign-in ids are v4-shaped GUIDs whose first 32 bits are a keyed bijection of the event index, so an id
// maps back to its index (IdCodec.index) and ids are unique by construction.

export const TWO_32 = 4_294_967_296;

function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

// Multiplicative inverse modulo 2^32 of an odd number (Newton's iteration doubles the correct bits each time).
function inverse32(a: number): number {
  let x = a;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(a, x));
  return x >>> 0;
}
const INV_C2 = inverse32(0xc2b2ae35);
const INV_85 = inverse32(0x85ebca6b);

function fmix32Inverse(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, INV_C2);
  x ^= (x >>> 13) ^ (x >>> 26);
  x = Math.imul(x, INV_85);
  x ^= x >>> 16;
  return x >>> 0;
}

export function hash3(a: number, b: number, c: number): number {
  let h = fmix32((a + 0x9e3779b9) | 0);
  h = fmix32(h ^ b);
  h = fmix32(h ^ Math.imul(c + 1, 0x27d4eb2f));
  return h;
}

export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return fmix32(h);
}

export type Rng = () => number;

// sfc32 with a 128-bit state: distinct events get distinct streams.
export function sfc32(a: number, b: number, c: number, d: number): Rng {
  const next = (): number => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / TWO_32;
  };
  for (let i = 0; i < 8; i++) next();
  return next;
}

const hex8 = (n: number): string => (n >>> 0).toString(16).padStart(8, '0');
export const hex4 = (n: number): string => (n & 0xffff).toString(16).padStart(4, '0');

function guidFromWords(w0: number, w1: number, w2: number, w3: number): string {
  return (
    `${hex8(w0)}-${hex4(w1 >>> 16)}-${hex4((w1 & 0x0fff) | 0x4000)}-` +
    `${hex4(((w2 >>> 16) & 0x3fff) | 0x8000)}-${hex4(w2)}${hex8(w3)}`
  );
}

export const word = (rnd: Rng): number => Math.floor(rnd() * TWO_32);
export const randomGuid = (rnd: Rng): string => guidFromWords(word(rnd), word(rnd), word(rnd), word(rnd));
/** A stable GUID for a named thing (user n, app n, ...). */
export const stableGuid = (key: number, label: string, n: number): string => {
  const h = hash3(key, hashString(label), n);
  return guidFromWords(h, hash3(h, n, 1), hash3(h, n, 2), hash3(h, n, 3));
};

/** Keyed bijection of 32-bit integers: the first GUID word of event i. */
export class IdCodec {
  private readonly k1: number;
  private readonly k2: number;
  constructor(private readonly key: number) {
    this.k1 = hash3(key, 0x1d, 1);
    this.k2 = hash3(key, 0x1d, 2);
  }
  guid(index: number): string {
    const w0 = fmix32(fmix32((index ^ this.k1) >>> 0) ^ this.k2);
    return guidFromWords(w0, hash3(this.key, w0, 11), hash3(this.key, w0, 12), hash3(this.key, w0, 13));
  }
  index(guid: string): number | undefined {
    const m = /^([0-9a-f]{8})-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.exec(
      guid.toLowerCase(),
    );
    if (!m?.[1]) return undefined;
    const w0 = parseInt(m[1], 16);
    const index = (fmix32Inverse((fmix32Inverse(w0) ^ this.k2) >>> 0) ^ this.k1) >>> 0;
    return this.guid(index) === guid.toLowerCase() ? index : undefined;
  }
}

export function pick<T>(rnd: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rnd() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

export function weighted<T>(rnd: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((sum, [, w]) => sum + w, 0);
  let r = rnd() * total;
  for (const [value, w] of items) {
    r -= w;
    if (r < 0) return value;
  }
  const last = items.at(-1);
  if (!last) throw new Error('weighted pick from an empty list');
  return last[0];
}
