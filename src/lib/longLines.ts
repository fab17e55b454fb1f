// A log line becomes one string field of a record, and the Logs Ingestion API takes at most 64 KB per
// field ("Fields longer than 64 KB are truncated",
// https://learn.microsoft.com/azure/azure-monitor/service-limits#logs-ingestion-api). A line cut at
// its end would lose what follows its longest field — in an access log the user, the codes and the
// content type after a huge URL — so an over-long line is shortened in the middle instead: its longest
// run of non-blank characters keeps its start and ends with `marker`, the rest of the line is kept.

/** Marks where a line was cut: U+2026, which no escaped log field (URLs, user names) contains. */
export const cutMarker = '…';

/**
 * The UTF-8 size of a string as a JSON value, quotes and escapes included: what the Logs Ingestion sink
 * measures a field by (sinks/ingestionLimits.ts), so a fitted line is never cut again there.
 */
export function jsonFieldBytes(text: string): number {
  return Buffer.byteLength(JSON.stringify(text));
}

/** Does not end on the high half of a surrogate pair. */
function safeEnd(text: string, end: number): number {
  const code = text.charCodeAt(end - 1);
  return end > 0 && code >= 0xd800 && code <= 0xdbff ? end - 1 : end;
}

/** The longest `keep` in [0, max] for which `fits(keep)` holds (fits is monotone), or -1. */
function longestFitting(max: number, fits: (keep: number) => boolean): number {
  if (!fits(0)) return -1;
  let low = 0;
  let high = max;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fits(mid)) low = mid;
    else high = mid - 1;
  }
  return low;
}

/**
 * The line, or — when it is over `maxBytes` as a JSON field — the line with its longest token cut to
 * fit (its start kept, then `marker`); if even that cannot fit, the line's start and `marker`.
 */
export function fitLine(line: string, maxBytes: number): { readonly line: string; readonly cut: boolean } {
  if (line.length * 6 + 2 <= maxBytes || jsonFieldBytes(line) <= maxBytes) return { line, cut: false };
  let start = 0;
  let end = 0;
  for (const match of line.matchAll(/\S+/g)) {
    if (match[0].length > end - start) {
      start = match.index;
      end = start + match[0].length;
    }
  }
  const before = line.slice(0, start);
  const after = line.slice(end);
  const withToken = (keep: number) =>
    `${before}${line.slice(start, safeEnd(line, start + keep))}${cutMarker}${after}`;
  const keep = longestFitting(end - start, (n) => jsonFieldBytes(withToken(n)) <= maxBytes);
  if (keep >= 0) return { line: withToken(keep), cut: true };
  const head = (n: number) => `${line.slice(0, safeEnd(line, n))}${cutMarker}`;
  return {
    line: head(
      Math.max(
        0,
        longestFitting(line.length, (n) => jsonFieldBytes(head(n)) <= maxBytes),
      ),
    ),
    cut: true,
  };
}
