import type { Host } from '../config/collectorSettings.js';
import { SettingsReader } from '../config/parse.js';
import type { AnyCollectorDeclaration } from '../run/collectorDeclaration.js';
import { declaredCollectors } from './collectors.generated.js';

/** What infra and the docs need to know of a collector, read from its declaration. */
export interface CollectorDescription {
  readonly name: string;
  readonly table: string;
  readonly kind: 'snapshot' | 'windowed';
  readonly description: string;
  readonly functionName: string;
  readonly scheduleSetting: string;
  readonly defaultSchedule: string;
  /** Every app setting its reader asks for, with its default ("" when it has none). */
  readonly settings: Readonly<Record<string, string>>;
  /** The Key Vault secrets the deployed app reads for it. */
  readonly secrets: { readonly required: readonly string[]; readonly optional: readonly string[] };
}

/**
 * Runs each declaration's settings reader on an empty environment, as the deployed app (host
 * `function`) would: the settings it asks for, their defaults, and the secrets it wants are the
 * reader's own, so there is no second list to keep in step.
 */
export function describeCollector(
  declaration: AnyCollectorDeclaration,
  host: Host = 'function',
): CollectorDescription {
  const read = new SettingsReader({});
  const pending = declaration.readSettings(read, { host, runBudgetMs: 60_000 });
  return {
    name: declaration.name,
    table: declaration.table,
    kind: declaration.kind,
    description: declaration.description,
    functionName: declaration.timer.functionName,
    scheduleSetting: declaration.timer.scheduleSetting,
    defaultSchedule: declaration.timer.defaultSchedule,
    settings: Object.fromEntries([...read.asked].map(([name, fallback]) => [name, fallback ?? ''])),
    secrets: { required: [...pending.secrets.required], optional: [...pending.secrets.optional] },
  };
}

export function describeCollectors(): CollectorDescription[] {
  return declaredCollectors.map((declaration) => describeCollector(declaration));
}
