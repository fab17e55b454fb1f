import type { TableName } from '../tables/generated.js';
import type { Truncation } from './ingestionLimits.js';

/**
 * Counts the fields a run's sink cut, per table and field, and turns them into one warning line per
 * table: however many rows were cut, the run row's Warnings grows by at most a line per table.
 */
export interface TruncationTally {
  add(table: TableName, truncations: readonly Truncation[]): void;
  /** One line per table that had cuts, e.g. for the run row's Warnings. */
  warnings(): string[];
}

export function truncationTally(): TruncationTally {
  type Field = { rows: number; largestBytes: number };
  const tables = new Map<TableName, Map<string, Field>>();
  return {
    add(table, truncations) {
      let fields = tables.get(table);
      if (fields === undefined) tables.set(table, (fields = new Map<string, Field>()));
      for (const { field, originalBytes } of truncations) {
        const seen = fields.get(field) ?? { rows: 0, largestBytes: 0 };
        fields.set(field, { rows: seen.rows + 1, largestBytes: Math.max(seen.largestBytes, originalBytes) });
      }
    },
    warnings() {
      return [...tables].map(([table, fields]) => {
        const parts = [...fields]
          .sort(([a, x], [b, y]) => y.rows - x.rows || (a < b ? -1 : a > b ? 1 : 0))
          .map(
            ([field, { rows, largestBytes }]) =>
              `${field} in ${rows} row${rows === 1 ? '' : 's'} (largest ${largestBytes} bytes)`,
          );
        return `${table}: fields cut to fit the ingestion limits (64 KB per field, 1 MB per record): ${parts.join(', ')}`;
      });
    },
  };
}
