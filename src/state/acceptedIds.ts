import { hash } from 'node:crypto';

/**
 * The Ids of events a windowed collector's sink has accepted close to its checkpoint, kept with the
 * checkpoint so that the next run, which re-reads the overlap before the checkpoint for late events,
 * does not send those again.
 *
 * An Id is kept as a 64-bit digest (the first 8 bytes of its SHA-1), with its event time in whole
 * seconds so the set can be pruned to the overlap. Two different Ids share a digest with probability
 * 2⁻⁶⁴ per pair: the chance that a new event is taken for one of 80,000 remembered ones is about 4·10⁻¹⁵.
 *
 * Encoded form (what a checkpoint store persists, opaque to it): one version byte (1), then groups in
 * ascending time, each a big-endian uint32 Unix second, a big-endian uint32 count and that many 8-byte
 * digests.
 */
export class AcceptedIds {
  static readonly empty = new AcceptedIds(new Map());

  /** Digest (16 hex characters) → event time in whole Unix seconds (rounded down). */
  private readonly seconds: ReadonlyMap<string, number>;
  /** One past the newest event time remembered, in ms; −∞ when empty. */
  readonly untilMs: number;

  private constructor(seconds: ReadonlyMap<string, number>) {
    this.seconds = seconds;
    let newest = -Infinity;
    for (const second of seconds.values()) newest = Math.max(newest, second);
    this.untilMs = (newest + 1) * 1000;
  }

  get size(): number {
    return this.seconds.size;
  }

  has(digest: string): boolean {
    return this.seconds.has(digest);
  }

  /**
   * These Ids and the `added` ones, without those whose event time is before `cutoffMs` (kept when the
   * second they fall in reaches the cutoff: pruning errs on keeping), and, past `maxBytes` encoded, without
   * the oldest: an Id not remembered is at worst sent again, never lost.
   */
  with(
    added: ReadonlyMap<string, number>,
    cutoffMs: number,
    maxBytes = maxAcceptedIdsBytes,
  ): { readonly ids: AcceptedIds; readonly dropped: number } {
    const keep = (second: number) => (second + 1) * 1000 > cutoffMs;
    const merged = new Map<string, number>();
    for (const source of [this.seconds, added]) {
      for (const [digest, second] of source) if (keep(second)) merged.set(digest, second);
    }
    const groups = groupBySecond(merged);
    let bytes = 1 + groups.length * groupHeaderBytes + merged.size * digestBytes;
    let dropped = 0;
    for (const [, digests] of groups) {
      if (bytes <= maxBytes) break;
      for (const digest of digests) merged.delete(digest);
      bytes -= groupHeaderBytes + digests.length * digestBytes;
      dropped += digests.length;
    }
    return { ids: new AcceptedIds(merged), dropped };
  }

  encode(): Uint8Array {
    const groups = groupBySecond(this.seconds);
    const buffer = Buffer.alloc(1 + groups.length * groupHeaderBytes + this.seconds.size * digestBytes);
    let at = buffer.writeUInt8(formatVersion, 0);
    for (const [second, digests] of groups) {
      at = buffer.writeUInt32BE(second, at);
      at = buffer.writeUInt32BE(digests.length, at);
      for (const digest of digests) at += buffer.write(digest, at, digestBytes, 'hex');
    }
    return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }

  /** @throws when the bytes are not an encoding this version understands. */
  static decode(bytes: Uint8Array): AcceptedIds {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (buffer.length === 0) throw new Error('remembered Ids are empty (expected at least a version byte)');
    const version = buffer.readUInt8(0);
    if (version !== formatVersion)
      throw new Error(`remembered Ids have format ${version}, expected ${formatVersion}`);
    const seconds = new Map<string, number>();
    let at = 1;
    while (at < buffer.length) {
      if (at + groupHeaderBytes > buffer.length) throw new Error('remembered Ids end inside a group header');
      const second = buffer.readUInt32BE(at);
      const count = buffer.readUInt32BE(at + 4);
      at += groupHeaderBytes;
      if (at + count * digestBytes > buffer.length) throw new Error('remembered Ids end inside a group');
      for (let i = 0; i < count; i++, at += digestBytes) {
        seconds.set(buffer.toString('hex', at, at + digestBytes), second);
      }
    }
    return new AcceptedIds(seconds);
  }
}

/**
 * Encoded size limit. An Azure table entity holds at most 1 MiB and a binary property 64 KiB: this
 * fits ten 64,000-byte properties, and even counted as base64 (853,336 characters) stays under 1 MiB.
 * That is about 79,000 Ids: ten minutes of overlap at 11 million events a day.
 */
export const maxAcceptedIdsBytes = 640_000;

/** The 64-bit digest of an event Id, as 16 hex characters (the key `has` and `with` take). */
export function digestOfId(id: string): string {
  return hash('sha1', id, 'hex').slice(0, digestBytes * 2);
}

/** The whole Unix second of an event time in ms, or undefined if the encoding cannot hold it. */
export function secondOf(timeMs: number): number | undefined {
  const second = Math.floor(timeMs / 1000);
  return Number.isFinite(second) && second >= 0 && second <= 0xffff_ffff ? second : undefined;
}

const formatVersion = 1;
const digestBytes = 8;
const groupHeaderBytes = 8;

/** Digests grouped by second, oldest second first. */
function groupBySecond(seconds: ReadonlyMap<string, number>): [number, string[]][] {
  const groups = new Map<number, string[]>();
  for (const [digest, second] of seconds) {
    const group = groups.get(second);
    if (group) group.push(digest);
    else groups.set(second, [digest]);
  }
  return [...groups].sort((a, b) => a[0] - b[0]);
}
