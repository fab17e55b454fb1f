import type { SettingsReader } from './parse.js';

/** Who is running: the deployed Function App (managed identity, real ingestion) or a terminal. */
export type Host = 'function' | 'cli';

/** What every collector's settings reader is told about the run. */
export interface CollectorSettingsContext {
  readonly host: Host;
  /** RUN_TIME_BUDGET_MINUTES in ms: one budget for every collector. */
  readonly runBudgetMs: number;
}

/**
 * A collector's app settings, read and checked (problems go to the reader, all at once), waiting for the
 * Key Vault secrets it asked for. Secrets are read only once every app setting is valid.
 */
export interface PendingCollectorSettings<Settings> {
  /** Secrets this run needs: a required one that is absent fails the run; an optional one may be. */
  readonly secrets: { readonly required: readonly string[]; readonly optional: readonly string[] };
  /** The settings, given the secrets that were found (by name; problems go to `secrets`' reader). */
  complete(secrets: SettingsReader): Settings;
}

/** A collector's own typed settings reader: it reads only what its collector uses. */
export type CollectorSettingsReader<Settings> = (
  read: SettingsReader,
  context: CollectorSettingsContext,
) => PendingCollectorSettings<Settings>;
