// The Logs Ingestion API refuses a field over 64 KB and a request over 1 MB; a single record over
// 1 MB is sent alone and fails. Rows are fitted before upload instead, so one odd event (a huge
// targetResources list, a pathological user agent) cannot fail a whole window.

/** Per-field limit with headroom for JSON escaping done by the service. */
export const maxFieldBytes = 60_000;
/** Per-record limit: the SDK packs records into ~1,000,000-byte requests. */
export const maxRecordBytes = 900_000;

export interface Truncation {
  readonly field: string;
  readonly originalBytes: number;
}

const marker = (bytes: number) => `…[truncated by crosscloud-identity-monitor: ${bytes} bytes]`;

/**
 * Returns the row unchanged when it fits (the common case, without copying), or a copy whose
 * oversized fields are cut: strings keep their start plus a marker; objects and arrays (dynamic
 * columns) become their JSON text, cut the same way. Every cut is reported.
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
    fitted[field.name] = cut(typeof value === 'string' ? value : JSON.stringify(value), budget, field.size);
    recordBytes += jsonBytes(fitted[field.name]) - field.size;
    truncations.push({ field: field.name, originalBytes: field.size });
  }
  return { row: fitted as Row, truncations };
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

function jsonBytes(value: unknown): number {
  if (value === null || value === undefined) return 4;
  if (typeof value === 'string') return Buffer.byteLength(JSON.stringify(value));
  if (typeof value === 'number' || typeof value === 'boolean') return String(value).length;
  return Buffer.byteLength(JSON.stringify(value));
}
