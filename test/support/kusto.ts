// Microsoft's Kusto language service (@kusto/language-service-next), loaded as test/contract/kql.test.ts loads
// it, with the workspace built from infra/tables/*.json: parse and semantic checks of a query, and the columns
// of its result. For tests of generated KQL (test/unit/peopleMatching.test.ts); kql.test.ts loads it from here too.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from './paths.js';

/** System.Collections.Generic.IReadOnlyList<T> as Bridge.NET exposes it. */
export interface KustoList<T> {
  readonly Count: number;
  getItem(index: number): T;
}
export interface KustoDiagnostic {
  readonly Severity: string; // 'Error' | 'Warning' | 'Suggestion' | 'Information' | 'Hidden'
  readonly Code: string;
  readonly Message: string;
  readonly Start: number;
  readonly Length: number;
}
export interface KustoColumnSymbol {
  readonly Name: string;
  readonly Type: { readonly Name: string };
}
export interface KustoTableSymbol {
  readonly Name: string;
  readonly Columns: KustoList<KustoColumnSymbol>;
}
export interface KustoCode {
  GetDiagnostics(): KustoList<KustoDiagnostic>;
  readonly ResultType: { readonly Columns?: KustoList<KustoColumnSymbol> } | null;
}
export type GlobalState = { readonly __brand: 'GlobalState' };
export type DatabaseSymbol = { readonly __brand: 'DatabaseSymbol' };
export interface KustoLanguage {
  KustoCode: {
    Parse(text: string, globals: GlobalState): KustoCode;
    ParseAndAnalyze(text: string, globals: GlobalState): KustoCode;
  };
  GlobalState: { readonly Default: GlobalState & { WithDatabase(database: DatabaseSymbol): GlobalState } };
  Symbols: {
    TableSymbol: {
      /** new TableSymbol(name, "(col:type, …)", description) */
      $ctor7: new (name: string, schema: string, description: string | null) => KustoTableSymbol;
    };
    DatabaseSymbol: {
      /** new DatabaseSymbol(name, members, isOpen) */
      $ctor1: new (name: string, members: KustoTableSymbol[], isOpen: boolean) => DatabaseSymbol;
    };
  };
}

function loadKusto(): KustoLanguage {
  const require = createRequire(import.meta.url);
  require('@kusto/language-service-next/bridge.min.js');
  require('@kusto/language-service-next/Kusto.Language.Bridge.min.js');
  const kusto = (globalThis as { Kusto?: { Language?: KustoLanguage } }).Kusto?.Language;
  if (!kusto) throw new Error('@kusto/language-service-next did not define the global Kusto.Language');
  return kusto;
}

/** The language service, loaded once per test file. */
export const Kusto = loadKusto();
export const listOf = <T>(list: KustoList<T>): T[] =>
  Array.from({ length: list.Count }, (_, i) => list.getItem(i));

const kustoTypes: Readonly<Record<string, string>> = {
  string: 'string',
  int: 'int',
  long: 'long',
  real: 'real',
  boolean: 'bool',
  datetime: 'datetime',
  dynamic: 'dynamic',
};

const tables = readdirSync(join(repoRoot, 'infra', 'tables'))
  .filter((file) => file.endsWith('.json'))
  .map(
    (file) =>
      JSON.parse(readFileSync(join(repoRoot, 'infra', 'tables', file), 'utf8')) as {
        name: string;
        columns: { name: string; type: string }[];
      },
  );

const workspace = Kusto.GlobalState.Default.WithDatabase(
  new Kusto.Symbols.DatabaseSymbol.$ctor1(
    'workspace',
    tables.map(
      (table) =>
        new Kusto.Symbols.TableSymbol.$ctor7(
          table.name,
          `(${table.columns.map((c) => `['${c.name}']:${kustoTypes[c.type] ?? 'unknown'}`).join(', ')})`,
          null,
        ),
    ),
    false,
  ),
);

function describe(text: string, d: KustoDiagnostic): string {
  const line = text.slice(0, d.Start).split('\n').length;
  return `${d.Severity} (line ${line}, at '${text.slice(d.Start, d.Start + Math.max(d.Length, 1))}'): ${d.Message}`;
}

/** Syntax and semantic errors of `text` against the workspace's tables. */
export function kqlErrors(text: string): string[] {
  const errors = (code: KustoCode) =>
    listOf(code.GetDiagnostics())
      .filter((d) => d.Severity === 'Error')
      .map((d) => describe(text, d));
  return [
    ...errors(Kusto.KustoCode.Parse(text, workspace)),
    ...errors(Kusto.KustoCode.ParseAndAnalyze(text, workspace)),
  ];
}

export function assertValidKql(text: string, name = 'query'): void {
  assert.deepEqual(kqlErrors(text), [], `${name} has errors`);
}

/** The columns of the query's result, with their Kusto types (`Name:type`). */
export function kqlResultColumns(text: string): string[] {
  const columns = Kusto.KustoCode.ParseAndAnalyze(text, workspace).ResultType?.Columns;
  return columns ? listOf(columns).map((column) => `${column.Name}:${column.Type.Name}`) : [];
}
