import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** The placeholder a query leaves for the declared collectors; Bicep fills it at deployment. */
export const expectedCollectorsPlaceholder = 'datatable(Collector: string) []';

/**
 * `text` as deployed: alerts.bicep and workbooks.bicep replace the placeholder with the list in the
 * generated infra/collectors.json, exactly like this.
 */
export function withExpectedCollectors(text: string): string {
  const { collectorList } = JSON.parse(readFileSync(join(repoRoot, 'infra', 'collectors.json'), 'utf8')) as {
    collectorList: string;
  };
  return text.replaceAll(expectedCollectorsPlaceholder, `datatable(Collector: string) ${collectorList}`);
}
