// Every KQL query we ship — workbook items, alert rules, DCR transforms — is parsed and semantically
// checked by Microsoft's Kusto language service against the tables declared in infra/tables/*.json.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { collectorNames } from '../../src/app/configuredRun.js';
import { expectedCollectorsPlaceholder, withExpectedCollectors } from '../support/deployedQueries.js';
import {
  Kusto,
  listOf,
  type GlobalState,
  type KustoCode,
  type KustoDiagnostic,
  type KustoTableSymbol,
} from '../support/kusto.js';
import { repoRoot } from '../support/paths.js';

// ---------------------------------------------------------------------------------------------------
// The language service. @kusto/language-service-next is a Bridge.NET translation of Kusto.Language
// (C#): two classic scripts, no exports, that install globals. Under CommonJS `require`, bridge.js
// sets `global.Bridge`/`System` and Kusto.Language.Bridge.js then defines `global.Kusto`. An ES module
// loads them with createRequire. Only the members used below are typed here; the package's own
// declarations (Kusto.Language.Bridge.d.ts) would pull ~1.8 MB of global namespaces into the program.
// ---------------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------------
// The schema: infra/tables/*.json, the single source of truth for columns.
// ---------------------------------------------------------------------------------------------------

interface Column {
  name: string;
  type: string;
}
interface TableFile {
  name: string;
  transformKql: string;
  /** The stream's own columns (what `source` has) when a transform turns them into the table's. */
  streamColumns?: Column[];
  transformParameters?: { name: string; setting: string; default: string }[];
  columns: Column[];
}

const tables: TableFile[] = readdirSync(join(repoRoot, 'infra', 'tables'))
  .filter((file) => file.endsWith('.json'))
  .sort()
  .map((file) => JSON.parse(readFileSync(join(repoRoot, 'infra', 'tables', file), 'utf8')) as TableFile);

/** Log Analytics column types → Kusto scalar types. */
const kustoTypes: Readonly<Record<string, string>> = {
  string: 'string',
  int: 'int',
  long: 'long',
  real: 'real',
  boolean: 'bool',
  datetime: 'datetime',
  dynamic: 'dynamic',
};

function tableSymbol(name: string, columns: readonly Column[]): KustoTableSymbol {
  const schema = columns.map((column) => {
    const type = kustoTypes[column.type];
    if (type === undefined) throw new Error(`${name}.${column.name}: unknown column type ${column.type}`);
    return `['${column.name}']:${type}`;
  });
  return new Kusto.Symbols.TableSymbol.$ctor7(name, `(${schema.join(', ')})`, null);
}

function globalsWith(symbols: KustoTableSymbol[]): GlobalState {
  return Kusto.GlobalState.Default.WithDatabase(
    new Kusto.Symbols.DatabaseSymbol.$ctor1('workspace', symbols, false),
  );
}

/** The Log Analytics workspace as the queries see it: every custom table. */
/**
 * Azure tables our diagnostic settings fill (infra/modules/diagnostics.bicep) that a query reads, with
 * their documented columns. DCRLogErrors (category LogErrors of the DCR):
 * https://learn.microsoft.com/azure/azure-monitor/reference/tables/dcrlogerrors
 */
const platformTables: readonly { name: string; columns: Column[] }[] = [
  {
    name: 'DCRLogErrors',
    columns: [
      { name: 'TimeGenerated', type: 'datetime' },
      { name: 'ClientRequestId', type: 'string' },
      { name: 'CorrelationId', type: 'string' },
      { name: 'InputStreamId', type: 'string' },
      { name: 'Message', type: 'string' },
      { name: 'OperationName', type: 'string' },
      { name: 'SourceSystem', type: 'string' },
      { name: 'TenantId', type: 'string' },
      { name: 'Type', type: 'string' },
      { name: '_ResourceId', type: 'string' },
      { name: '_SubscriptionId', type: 'string' },
      { name: '_BilledSize', type: 'real' },
      { name: '_IsBillable', type: 'string' },
    ],
  },
];

const workspace = globalsWith(
  [...tables, ...platformTables].map((table) => tableSymbol(table.name, table.columns)),
);

function describeDiagnostic(text: string, d: KustoDiagnostic): string {
  const line = text.slice(0, d.Start).split('\n').length;
  const at = text.slice(d.Start, d.Start + Math.max(d.Length, 1));
  return `${d.Severity} ${d.Code} (line ${line}, at '${at}'): ${d.Message}`;
}

/** Syntax errors (parse only), then semantic errors (names, types, functions) against `globals`. */
function errorsIn(text: string, globals: GlobalState = workspace): { syntax: string[]; semantic: string[] } {
  const errors = (code: KustoCode) =>
    listOf(code.GetDiagnostics())
      .filter((d) => d.Severity === 'Error')
      .map((d) => describeDiagnostic(text, d));
  return {
    syntax: errors(Kusto.KustoCode.Parse(text, globals)),
    semantic: errors(Kusto.KustoCode.ParseAndAnalyze(text, globals)),
  };
}

function assertValidKql(text: string, globals: GlobalState = workspace): void {
  const { syntax, semantic } = errorsIn(text, globals);
  assert.deepEqual(syntax, [], `syntax errors in:\n${text}`);
  assert.deepEqual(semantic, [], `semantic errors in:\n${text}`);
}

function resultColumns(text: string): string[] {
  const columns = Kusto.KustoCode.ParseAndAnalyze(text, workspace).ResultType?.Columns;
  return columns ? listOf(columns).map((column) => column.Name) : [];
}

// ---------------------------------------------------------------------------------------------------
// Workbooks: {"version":"Notebook/1.0","items":[…]}; parameters (type 9) and KQL queries (type 3).
// ---------------------------------------------------------------------------------------------------

interface WorkbookParameter {
  name: string;
  type: number;
  value?: unknown;
  /** Drop-down (type 2) with several values: each quoted with `quote`, joined with `delimiter`. */
  multiSelect?: boolean;
  quote?: string;
  delimiter?: string;
  /** `selectAllValue`: what "All" (value::all) expands to, e.g. `*`. */
  typeSettings?: { selectAllValue?: string };
}
interface WorkbookItem {
  type: number;
  name: string;
  content: {
    version?: string;
    query?: string;
    title?: string;
    size?: number;
    queryType?: number;
    resourceType?: string;
    visualization?: string;
    parameters?: WorkbookParameter[];
    items?: WorkbookItem[];
  };
}
interface Workbook {
  version: string;
  items: WorkbookItem[];
}

const workbookDir = join(repoRoot, 'infra', 'workbooks');
const workbookFiles = [
  'aws-access-keys.workbook.json',
  'entra-signins.workbook.json',
  'entra-audit.workbook.json',
  'collector-health.workbook.json',
  'shadow-it.workbook.json',
  'people-across-clouds.workbook.json',
];
const workbooks = new Map<string, Workbook>(
  workbookFiles.map((file) => [file, JSON.parse(readFileSync(join(workbookDir, file), 'utf8')) as Workbook]),
);

/** Items in document order, groups (type 12) included. */
function itemsOf(items: readonly WorkbookItem[]): WorkbookItem[] {
  return items.flatMap((item) => [item, ...itemsOf(item.content.items ?? [])]);
}
function queriesOf(workbook: Workbook): WorkbookItem[] {
  return itemsOf(workbook.items).filter((item) => item.type === 3);
}
function parametersOf(workbook: Workbook): Map<string, WorkbookParameter> {
  const parameters = itemsOf(workbook.items)
    .filter((item) => item.type === 9)
    .flatMap((item) => item.content.parameters ?? []);
  return new Map(parameters.map((parameter) => [parameter.name, parameter]));
}
function queryText(item: WorkbookItem): string {
  assert.equal(typeof item.content.query, 'string', `${item.name} has no query`);
  return item.content.query ?? '';
}

/**
 * How the workbook expands a time-range parameter inside KQL: `{TimeRange}` is a comparison (`> ago(7d)`
 * for a relative range, `between (… .. …)` for a custom one); `:start`/`:end` are datetime literals and
 * `:grain` a timespan. Both forms of the bare parameter are checked.
 */
const timeRangeForms = {
  relative: '> ago(7d)',
  custom: 'between (datetime(2026-11-01T00:00:00Z) .. datetime(2026-11-08T00:00:00Z))',
} as const;
type TimeRangeForm = keyof typeof timeRangeForms;

function expandParameters(
  query: string,
  parameters: ReadonlyMap<string, WorkbookParameter>,
  form: TimeRangeForm,
): string {
  return query.replace(
    /\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z]+))?\}/g,
    (whole, name: string, format?: string) => {
      const parameter = parameters.get(name);
      if (!parameter) throw new Error(`${whole}: no parameter named ${name} in this workbook`);
      if (parameter.type === 4) {
        switch (format) {
          case undefined:
            return timeRangeForms[form];
          case 'start':
            return 'datetime(2026-11-01T00:00:00Z)';
          case 'end':
            return 'datetime(2026-11-08T00:00:00Z)';
          case 'grain':
            return '1h';
          default:
            throw new Error(`${whole}: time-range format ${format} is not expanded by this test`);
        }
      }
      if (parameter.type === 1 && format === undefined && typeof parameter.value === 'string') {
        return parameter.value; // a text parameter expands to its value: its default here
      }
      if (parameter.type === 2 && format === undefined && parameter.multiSelect === true) {
        // A multi-select drop-down expands to its selected values (its default here), each quoted and
        // delimited as the parameter says: 'a','b' for `in ({P})`.
        const selected = Array.isArray(parameter.value) ? parameter.value.map(String) : [];
        // "All" expands to the parameter's select-all value (`*`), as the workbook does.
        const all = parameter.typeSettings?.selectAllValue;
        const values = selected.map((value) => (value === 'value::all' && all !== undefined ? all : value));
        if (values.length === 0) throw new Error(`${whole}: no default value to expand`);
        const quote = parameter.quote ?? '';
        return values.map((value) => `${quote}${value}${quote}`).join(parameter.delimiter ?? ',');
      }
      throw new Error(`${whole}: parameter type ${parameter.type} is not expanded by this test`);
    },
  );
}

const visualizations = new Set([
  'table',
  'tiles',
  'timechart',
  'barchart',
  'piechart',
  'linechart',
  'areachart',
  'scatterchart',
  'categoricalbar',
]);

describe('KQL: the schema built from infra/tables', () => {
  it('has every table with every column, types mapped to Kusto types', () => {
    for (const table of tables) {
      const symbol = tableSymbol(table.name, table.columns);
      assert.deepEqual(
        listOf(symbol.Columns).map((column) => `${column.Name}:${column.Type.Name}`),
        table.columns.map((column) => `${column.name}:${kustoTypes[column.type]}`),
      );
    }
    assert.deepEqual(
      tables.map((table) => table.name),
      [
        'AWSIAMAccessKeys_CL',
        'CloudAppCatalog_CL',
        'CollectorRuns_CL',
        'EntraAuditLogs_CL',
        'EntraSignIns_CL',
        'EntraUsers_CL',
        'ProxyWebSessions_CL',
      ],
    );
  });
});

describe('KQL: workbooks (infra/workbooks)', () => {
  for (const [file, workbook] of workbooks) {
    const parameters = parametersOf(workbook);

    it(`${file} is a Notebook/1.0 workbook whose query items target the workspace`, () => {
      assert.equal(workbook.version, 'Notebook/1.0');
      const names = itemsOf(workbook.items).map((item) => item.name);
      assert.equal(new Set(names).size, names.length, `item names must be unique: ${names.join(', ')}`);
      const queries = queriesOf(workbook);
      assert.ok(queries.length >= 3, 'expected several query items');
      for (const item of queries) {
        assert.equal(item.content.version, 'KqlItem/1.0', item.name);
        assert.equal(item.content.queryType, 0, `${item.name}: queryType 0 (Logs)`);
        assert.equal(item.content.resourceType, 'microsoft.operationalinsights/workspaces', item.name);
        assert.ok((item.content.title ?? '').length > 0, `${item.name} needs a title`);
        assert.ok(visualizations.has(item.content.visualization ?? ''), `${item.name}: visualization`);
      }
      const timeRange = parameters.get('TimeRange');
      assert.equal(timeRange?.type, 4, 'a TimeRange time-range parameter');
    });

    for (const item of queriesOf(workbook)) {
      for (const form of Object.keys(timeRangeForms) as TimeRangeForm[]) {
        it(`${file} › ${item.content.title ?? item.name} (${form} time range) parses and analyses`, () => {
          assertValidKql(expandParameters(queryText(item), parameters, form));
        });
      }
    }
  }

  const dedupe = /\|\s*summarize\s+arg_max\(\s*TimeGenerated\s*,\s*\*\s*\)\s+by\s+Id\b/;
  for (const file of ['entra-signins.workbook.json', 'entra-audit.workbook.json']) {
    it(`${file}: every query deduplicates by Id before anything else`, () => {
      for (const item of queriesOf(workbooks.get(file) as Workbook)) {
        const query = queryText(item);
        const at = query.search(dedupe);
        assert.ok(at >= 0, `${item.name} lacks 'summarize arg_max(TimeGenerated, *) by Id'`);
        const firstShaping = query.search(
          /\|\s*(summarize|make-series|top|distinct|count|join|mv-expand|mv-apply|take|limit)\b/,
        );
        assert.equal(firstShaping, at, `${item.name}: the Id dedupe must come before any other shaping`);
      }
    });
  }

  it('aws-access-keys.workbook.json: Threshold parameter (days) defaults to 90', () => {
    const threshold = parametersOf(workbooks.get('aws-access-keys.workbook.json') as Workbook).get(
      'Threshold',
    );
    assert.equal(threshold?.type, 1, 'a text parameter');
    assert.equal(threshold?.value, '90');
  });

  it('aws-access-keys.workbook.json: every query reads each account at its latest snapshot', () => {
    const queries = queriesOf(workbooks.get('aws-access-keys.workbook.json') as Workbook);
    for (const item of queries) {
      assert.match(
        queryText(item),
        /summarize\s+arg_max\(\s*TimeGenerated\s*,\s*SnapshotId\s*\)\s+by\s+AccountId\b[\s\S]*join\b[\s\S]*\bon\s+AccountId\s*,\s*SnapshotId\b/,
        item.name,
      );
    }
    const older = queries.find((item) => item.name === 'active-keys-older-than-threshold');
    assert.match(queryText(older as WorkbookItem), /Status == "Active" and KeyAgeDays > \{Threshold\}/);
    const perDay = queries.find((item) => item.name === 'keys-created-per-day');
    assert.match(queryText(perDay as WorkbookItem), /make-series\b[\s\S]*\bon\s+CreateDate\b/);
  });
});

describe('KQL: alert queries (infra/alerts)', () => {
  const alertDir = join(repoRoot, 'infra', 'alerts');
  const alerts = readdirSync(alertDir)
    .filter((file) => file.endsWith('.kql'))
    .sort();

  it('has the two collector alerts and the shadow-IT alert', () => {
    assert.deepEqual(alerts, ['collector-run-failed.kql', 'no-successful-run.kql', 'shadow-it-new-app.kql']);
  });

  it('shadow-it-new-app.kql: risky or unsanctioned apps newly used by at least minUsers users', () => {
    const query = readFileSync(join(alertDir, 'shadow-it-new-app.kql'), 'utf8');
    const placeholder = 'let minUsers = 3;';
    assert.equal(query.split(placeholder).length, 2, 'the threshold line alerts.bicep replaces, once');
    const module = readFileSync(join(repoRoot, 'infra', 'modules', 'alerts.bicep'), 'utf8');
    assert.ok(module.includes(`'${placeholder}'`), 'alerts.bicep replaces the threshold');
    assertValidKql(query.replace(placeholder, 'let minUsers = 10;'));
    assert.match(query, /Risk == 'High' or Sanction == 'Unsanctioned'/);
    assert.match(query, /FirstSeen > ago\(1d\) and Users >= minUsers/);
    assert.match(query, /IsAuthChallenge == false/, "handshakes are nobody's use");
    const columns = resultColumns(query);
    for (const column of ['AppName', 'Category', 'Users', 'FirstSeen'])
      assert.ok(columns.includes(column), `${column} in ${columns.join(', ')}`);
  });

  for (const file of alerts) {
    it(`${file} parses and analyses`, () => {
      assertValidKql(withExpectedCollectors(readFileSync(join(alertDir, file), 'utf8')));
    });
  }

  it('collector-run-failed.kql returns failed and partially succeeded runs with their reasons', () => {
    const query = readFileSync(join(alertDir, 'collector-run-failed.kql'), 'utf8');
    assert.match(query, /Status in \('Failed', 'PartiallySucceeded'\)/);
    const columns = resultColumns(query);
    for (const column of ['Collector', 'RunId', 'Status', 'Error', 'Warnings']) {
      assert.ok(columns.includes(column), `${column} in ${columns.join(', ')}`);
    }
  });

  it('no-successful-run.kql checks every collector the app has, even one that never ran', () => {
    const query = withExpectedCollectors(readFileSync(join(alertDir, 'no-successful-run.kql'), 'utf8'));
    const expected = /datatable\(Collector: string\) \[([^\]]*)\]/.exec(query);
    assert.ok(expected, 'a datatable of expected collectors');
    const listed = [...(expected[1] ?? '').matchAll(/'([^']+)'/g)].map((match) => match[1]);
    assert.deepEqual(listed.sort(), [...collectorNames].sort());
    assert.match(query, /join kind=leftouter/);
    assert.match(query, /isnull\(LastSuccess\)/, 'a collector with no success at all must fire too');
    assert.match(query, /\b26h\b/);
    assert.deepEqual(resultColumns(query).slice(0, 2), ['Collector', 'LastSuccess']);
  });

  it('the health workbook lists the same expected collectors', () => {
    const health = queriesOf(workbooks.get('collector-health.workbook.json') as Workbook);
    const lastSuccess = queryText(health.find((item) => item.name === 'last-success') as WorkbookItem);
    assert.ok(lastSuccess.includes(expectedCollectorsPlaceholder), 'the list is filled at deployment');
    for (const name of collectorNames)
      assert.ok(withExpectedCollectors(lastSuccess).includes(`'${name}'`), name);
    assertValidKql(withExpectedCollectors(lastSuccess));
  });
});

describe('KQL: Microsoft Sentinel analytics rules (infra/analytics)', () => {
  const analyticsDir = join(repoRoot, 'infra', 'analytics');
  const rules = readdirSync(analyticsDir)
    .filter((file) => file.endsWith('.kql'))
    .sort();
  const query = (file: string) => readFileSync(join(analyticsDir, file), 'utf8');

  it('has the four detections of issue 14 item 11 and the four people-across-clouds ones of issue 17', () => {
    assert.deepEqual(rules, [
      'aws-active-root-access-key.kql',
      'aws-new-access-key.kql',
      'aws-old-key-console-user-without-mfa.kql',
      'collector-failing-or-silent.kql',
      'people-leaver-with-active-key.kql',
      'people-mfa-in-neither-cloud.kql',
      'people-orphan-access-key.kql',
      'people-weakest-link.kql',
    ]);
  });

  for (const file of rules) {
    it(`${file} parses and analyses`, () => {
      assertValidKql(query(file));
    });
  }

  // The columns infra/modules/analytics.bicep maps to entities (Account, CloudApplication), custom details
  // and the alert name: each must be in the query's result.
  const mapped: Readonly<Record<string, readonly string[]>> = {
    'aws-active-root-access-key.kql': [
      'UserName',
      'CloudApp',
      'AccountId',
      'KeyAgeDays',
      'LastUsedDate',
      'MfaActive',
      'SnapshotId',
    ],
    'aws-old-key-console-user-without-mfa.kql': [
      'UserName',
      'CloudApp',
      'AccountId',
      'OldActiveKeys',
      'OldestKeyAgeDays',
      'AccessKeyIds',
      'SnapshotId',
    ],
    'aws-new-access-key.kql': [
      'UserName',
      'CloudApp',
      'AccountId',
      'AccessKeyId',
      'KeyCreateDate',
      'Status',
      'SnapshotId',
      'PreviousSnapshotId',
    ],
    'collector-failing-or-silent.kql': ['Collector', 'State', 'LastSuccess', 'LastError'],
    'people-leaver-with-active-key.kql': [
      'UserName',
      'CloudApp',
      'AccountId',
      'PersonId',
      'PersonUpn',
      'Person',
      'LeaverReason',
      'LeaveDate',
      'KeyUsedAfterLeave',
      'AccessKeyId',
      'LastUsedDate',
      'MatchRule',
      'SnapshotId',
    ],
    'people-orphan-access-key.kql': [
      'UserName',
      'CloudApp',
      'AccountId',
      'AccessKeyId',
      'KeyAgeDays',
      'LastUsedDate',
      'SnapshotId',
    ],
    'people-weakest-link.kql': [
      'PersonId',
      'PersonUpn',
      'Person',
      'RiskySignIns',
      'LastRiskySignIn',
      'RiskLevels',
      'ActiveKeys',
      'IamUsers',
    ],
    'people-mfa-in-neither-cloud.kql': [
      'UserName',
      'CloudApp',
      'AccountId',
      'PersonId',
      'PersonUpn',
      'Person',
      'SingleFactorSignIns',
      'LastSuccessfulSignIn',
      'UserArn',
    ],
  };
  for (const [file, columns] of Object.entries(mapped)) {
    it(`${file} returns the columns the rule maps (${columns.join(', ')})`, () => {
      const result = resultColumns(query(file));
      for (const column of columns) assert.ok(result.includes(column), `${column} in ${result.join(', ')}`);
    });
  }

  it('the AWS rules judge each snapshot once: completed runs whose run row arrived in the last hour', () => {
    for (const file of rules.filter((name) => name.startsWith('aws-'))) {
      const text = query(file);
      assert.match(text, /Collector == 'aws-access-keys' and Status != 'Failed'/, file);
      assert.match(text, /ingestion_time\(\)/, file);
      assert.match(text, /Ingested > ago\(70m\) and Ingested <= ago\(10m\)/, file);
    }
    assert.match(
      query('aws-active-root-access-key.kql'),
      /UserName == '<root_account>' and Status == 'Active'/,
    );
    assert.match(
      query('aws-old-key-console-user-without-mfa.kql'),
      /PasswordEnabled == true and MfaActive == false/,
    );
    assert.match(query('aws-new-access-key.kql'), /join kind=leftanti/);
  });

  it('the placeholders analytics.bicep replaces are there, exactly once', () => {
    const module = readFileSync(join(repoRoot, 'infra', 'modules', 'analytics.bicep'), 'utf8');
    for (const [file, placeholder] of [
      ['aws-old-key-console-user-without-mfa.kql', 'let thresholdDays = 90;'],
      ['collector-failing-or-silent.kql', 'let expectedCollectors = dynamic([]);'],
    ] as const) {
      assert.equal(query(file).split(placeholder).length, 2, `${file}: ${placeholder}`);
      assert.ok(module.includes(`'${placeholder}'`), `analytics.bicep replaces ${placeholder}`);
    }
    // What the module puts in their place is valid KQL too.
    assertValidKql(
      query('aws-old-key-console-user-without-mfa.kql').replace(
        'let thresholdDays = 90;',
        'let thresholdDays = 180;',
      ),
    );
    assertValidKql(
      query('collector-failing-or-silent.kql').replace(
        'let expectedCollectors = dynamic([]);',
        `let expectedCollectors = dynamic(${JSON.stringify([...collectorNames])});`,
      ),
    );
  });
});

describe('KQL: people across clouds (infra/people, issue 17)', () => {
  // The findings' queries: the generated people block (scripts/generate-people.ts) and each query below it.
  // The workbook panels and the people-* analytics rules above are these texts too.
  const peopleDir = join(repoRoot, 'infra', 'people');
  for (const file of readdirSync(peopleDir)
    .filter((name) => name.endsWith('.kql'))
    .sort()) {
    it(`${file} parses and analyses`, () => {
      assertValidKql(readFileSync(join(peopleDir, file), 'utf8'));
    });
  }
});

describe('KQL: DCR transforms (transformKql, with `source` as the stream)', () => {
  for (const table of tables) {
    const source = globalsWith([tableSymbol('source', table.streamColumns ?? table.columns)]);
    // Every value its parameters can take (Bicep replaces `let NAME = DEFAULT;`): each text is checked.
    const variants = [
      table.transformKql,
      ...(table.transformParameters ?? []).map((parameter) =>
        table.transformKql.replace(
          `let ${parameter.name} = ${parameter.default};`,
          `let ${parameter.name} = ${parameter.default === 'false' ? 'true' : 'false'};`,
        ),
      ),
    ];
    it(`${table.name} transformKql parses and analyses against its stream`, () => {
      for (const text of variants) assertValidKql(text, source);
      assert.equal(new Set(variants).size, variants.length, 'each parameter line is in the text');
    });

    it(`${table.name} transformKql outputs only the table's columns, each of the column's type`, () => {
      const result = Kusto.KustoCode.ParseAndAnalyze(table.transformKql, source).ResultType?.Columns;
      const output = result ? listOf(result).map((column) => `${column.Name}:${column.Type.Name}`) : [];
      const expected = new Set(table.columns.map((column) => `${column.name}:${kustoTypes[column.type]}`));
      // A transform feeding a table other than as-is must write exactly its columns.
      if (table.streamColumns !== undefined)
        assert.deepEqual(
          [...output].sort(),
          [...expected].sort(),
          'the project must list every column of the table with its type',
        );
      else for (const column of output) assert.ok(expected.has(column), column);
    });
  }

  it('the transforms use only KQL that ingestion-time transformations support', () => {
    // https://learn.microsoft.com/azure/azure-monitor/data-collection/data-collection-transformations-kql:
    // tabular operators and scalar functions on that list only; parse_url, replace_*, unixtime_*, trim
    // and `where`-less filters such as summarize are not there.
    const supported = new Set([
      'let',
      'source',
      'extend',
      'project',
      'where',
      'parse',
      'project-away',
      'project-rename',
      'print',
      'extract',
      'extract_all',
      'iif',
      'case',
      'tostring',
      'toint',
      'tolong',
      'todouble',
      'toreal',
      'tobool',
      'todatetime',
      'totimespan',
      'tolower',
      'toupper',
      'strcat',
      'strcat_delim',
      'strlen',
      'substring',
      'indexof',
      'split',
      'isnull',
      'isnotnull',
      'isempty',
      'isnotempty',
      'not',
      'make_datetime',
      'make_timespan',
      'datetime',
      'parse_json',
      'countof',
      'max_of',
      'min_of',
    ]);
    for (const table of tables) {
      if (table.transformKql === 'source') continue;
      const code = table.transformKql.replace(
        /@'(?:[^']|'')*'|@"(?:[^"]|"")*"|'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g,
        "''",
      );
      const calls = [...code.matchAll(/\b([a-z_][a-z0-9_]*)\s*\(/g)]
        .map((match) => match[1] ?? '')
        .filter((name) => name !== 'and' && name !== 'or');
      const operators = [...code.matchAll(/\|\s*([a-z-]+)/g)].map((match) => match[1] ?? '');
      for (const name of [...calls, ...operators])
        assert.ok(supported.has(name), `${table.name}: ${name} is not supported in transformations`);
    }
  });
});

describe('KQL: the checker bites', () => {
  const aws = workbooks.get('aws-access-keys.workbook.json') as Workbook;
  const older = queriesOf(aws).find(
    (item) => item.name === 'active-keys-older-than-threshold',
  ) as WorkbookItem;
  const real = expandParameters(queryText(older), parametersOf(aws), 'relative');

  it('accepts the real query', () => {
    assertValidKql(real);
  });

  it('rejects a misspelled column (KeyAgeDay)', () => {
    const broken = real.replace('KeyAgeDays > 90', 'KeyAgeDay > 90');
    assert.notEqual(broken, real);
    const { semantic } = errorsIn(broken);
    assert.ok(
      semantic.some((error) => error.includes("'KeyAgeDay'")),
      `expected an error naming KeyAgeDay, got: ${semantic.join('; ')}`,
    );
  });

  it('rejects an unknown table', () => {
    const broken = real.replaceAll('AWSIAMAccessKeys_CL', 'AWSIAMAccessKey_CL');
    const { semantic } = errorsIn(broken);
    assert.ok(
      semantic.some((error) => error.includes("'AWSIAMAccessKey_CL'")),
      `expected an error naming the table, got: ${semantic.join('; ')}`,
    );
  });

  it('rejects a syntax error', () => {
    const { syntax } = errorsIn(real.replace('| where Status', '| where where Status'));
    assert.ok(syntax.length > 0);
  });

  it('rejects a transform that reads a column the stream does not declare', () => {
    const [table] = tables;
    const source = globalsWith([tableSymbol('source', (table as TableFile).columns)]);
    const { semantic } = errorsIn('source | extend Extra = NotAStreamColumn', source);
    assert.ok(semantic.some((error) => error.includes("'NotAStreamColumn'")));
  });
});
