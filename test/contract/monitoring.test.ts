// Contract tests of what issue 14 items 7, 8, 10 and 11 made true of infra/: alerts that page per failure
// and say loudly when they reach nobody, diagnostic settings that make the tool audit itself, workbooks
// that show what the data can answer, and Microsoft Sentinel analytics rules. Read from the sources;
// test/contract/infra.test.ts compiles every template and test/contract/kql.test.ts checks every query.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { rootUserName } from '../../src/sources/aws/credentialReport.js';
import { signInEventTypes } from '../../src/sources/entra/rows.js';
import { repoRoot } from '../support/paths.js';

const infra = join(repoRoot, 'infra');
const read = (path: string) => readFileSync(join(infra, path), 'utf8');
/** Bicep without // comments (good enough here: no template below has // inside a string it checks). */
const bicep = (path: string) =>
  read(path)
    .split('\n')
    .map((line) => line.replace(/(^|\s)\/\/.*$/, ''))
    .join('\n');

/** The `{…}` body of the first declaration matching `start` (braces balanced). */
function bodyOf(source: string, start: RegExp): string {
  const at = source.search(start);
  assert.ok(at >= 0, `no ${start}`);
  const open = source.indexOf('{', at);
  let depth = 0;
  for (let i = open; i < source.length; i += 1) {
    if (source[i] === '{') depth += 1;
    else if (source[i] === '}' && --depth === 0) return source.slice(open, i + 1);
  }
  assert.fail('unbalanced braces');
}

interface Parameter {
  name: string;
  type: number;
  value?: unknown;
  multiSelect?: boolean;
  quote?: string;
  delimiter?: string;
  isRequired?: boolean;
  jsonData?: string;
}
interface Item {
  type: number;
  name: string;
  customWidth?: string;
  content: {
    query?: string;
    title?: string;
    visualization?: string;
    parameters?: Parameter[];
    items?: Item[];
  };
}
const workbook = (name: string) =>
  (JSON.parse(read(`workbooks/${name}.workbook.json`)) as { items: Item[] }).items.flatMap(function flat(
    item: Item,
  ): Item[] {
    return [item, ...(item.content.items ?? []).flatMap(flat)];
  });
const queries = (items: Item[]) => items.filter((item) => item.type === 3);
const named = (items: Item[], name: string) => {
  const item = items.find((candidate) => candidate.name === name);
  assert.ok(item, `no item ${name}`);
  return item;
};

describe('item 7: alerts that page per failure', () => {
  const alerts = bicep('modules/alerts.bicep');
  const main = bicep('main.bicep');
  const parameters = (
    JSON.parse(read('main.parameters.json')) as { parameters: Record<string, { value: unknown }> }
  ).parameters;

  it('collector-run-failed splits by Collector and RunId; no-successful-run by Collector', () => {
    // A rule of the `rules` list: from its name to the end of its object (no nested braces there).
    const rule = (name: string) =>
      new RegExp(String.raw`name: '${name}'[\s\S]*?\n  \}`).exec(alerts)?.[0] ?? '';
    assert.match(rule('collector-run-failed'), /dimensions:\s*\[\s*'Collector',\s*'RunId',\s*'Status'\s*\]/);
    assert.match(rule('no-successful-run'), /dimensions:\s*\[\s*'Collector'\s*\]/);
    // Every dimension includes all its values, present and future.
    const rules = bodyOf(alerts, /^resource alertRules /m);
    assert.match(
      rules,
      /dimensions:\s*\[\s*for\s+dimension\s+in\s+rule\.dimensions:\s*\{\s*name:\s*dimension\s+operator:\s*'Include'\s+values:\s*\[\s*'\*'\s*\]/,
    );
  });

  it('the query columns the rules split by exist in the query results', () => {
    const failed = read('alerts/collector-run-failed.kql');
    const project = /\|\s*project\s+([^\n]+)/.exec(failed)?.[1] ?? '';
    for (const column of ['Collector', 'RunId', 'Status'])
      assert.match(project, new RegExp(`\\b${column}\\b`));
    assert.match(read('alerts/no-successful-run.kql'), /\|\s*project\s+Collector\b/);
  });

  it('rules are stateful (one notification per alert, resolved automatically)', () => {
    assert.match(bodyOf(alerts, /^resource alertRules /m), /autoMitigate:\s*true/);
  });

  it('notifies the action group made for ALERT_EMAIL and/or an existing one (ALERT_ACTION_GROUP_ID)', () => {
    assert.match(alerts, /^param existingActionGroupId string = ''$/m);
    assert.match(alerts, /^resource actionGroup '[^']+' = if \(createActionGroup\)/m);
    assert.match(alerts, /createActionGroup = !empty\(emailAddresses\)/);
    assert.match(alerts, /empty\(existingActionGroupId\) \? \[\] : \[existingActionGroupId\]/);
    assert.match(bodyOf(alerts, /^resource alertRules /m), /actionGroups:\s*actionGroupIds/);
    assert.equal(parameters.alertActionGroupId?.value, '${ALERT_ACTION_GROUP_ID=}');
    assert.match(main, /^param alertActionGroupId string = ''$/m);
    assert.match(bodyOf(main, /^module alerts /m), /existingActionGroupId:\s*alertActionGroupId/);
  });

  it('says loudly, as an output of the deployment, when the alerts notify nobody', () => {
    assert.match(
      alerts,
      /^output receiversWarning string = empty\(actionGroupIds\)\s*\?\s*'WARNING: [^']*NOBODY/m,
    );
    assert.match(main, /^output ALERT_RECEIVERS_WARNING string = alerts\.outputs\.receiversWarning$/m);
  });
});

describe('item 8: a security tool audits itself', () => {
  const diagnostics = bicep('modules/diagnostics.bicep');
  const main = bicep('main.bicep');

  const settings: [symbol: string, type: string, category: string][] = [
    ['vault', 'Microsoft.KeyVault/vaults', 'AuditEvent'],
    ['site', 'Microsoft.Web/sites', 'FunctionAppLogs'],
    ['dcr', 'Microsoft.Insights/dataCollectionRules', 'LogErrors'],
  ];
  for (const [symbol, type, category] of settings) {
    it(`sends ${category} of the ${type} to the workspace`, () => {
      // ARM resource types are case-insensitive (diagnostics.bicep says why it spells them in lower case).
      const escaped = type.replace(/[./]/g, '\\$&');
      assert.match(diagnostics, new RegExp(`^resource ${symbol} '${escaped}@[^']+' existing`, 'mi'));
      const setting = bodyOf(
        diagnostics,
        new RegExp(`^resource ${symbol}Diagnostics 'Microsoft\\.Insights/diagnosticSettings@`, 'm'),
      );
      assert.match(setting, new RegExp(`scope:\\s*${symbol}\\b`));
      assert.match(setting, /workspaceId:\s*workspaceId/);
      assert.match(setting, new RegExp(`category:\\s*'${category}'\\s+enabled:\\s*true`));
    });
  }

  it('main.bicep deploys the diagnostics for its vault, function app and DCR', () => {
    // One module call in rg; the DCR's may be a second one, in an existing workspace's resource group.
    const calls = [...main.matchAll(/^module \w+ 'modules\/diagnostics\.bicep'/gm)].map((match) =>
      bodyOf(main.slice(match.index), /^module /m),
    );
    assert.ok(calls.length >= 1, 'no diagnostics module call');
    const all = calls.join('\n');
    assert.match(all, /keyVaultName:\s*keyVault\.outputs\.name/);
    assert.match(all, /functionAppName:\s*functionApp\.outputs\.name/);
    assert.match(all, /dcrName:[^\n]*\bingestion\.outputs\.dcrName\b/);
    for (const call of calls) assert.match(call, /workspaceId:\s*\w+/);
  });

  it("the collector-health workbook shows the ingestion errors of exactly this app's streams", () => {
    const panel = named(workbook('collector-health'), 'ingestion-errors');
    const query = panel.content.query ?? '';
    assert.match(query, /^DCRLogErrors$/m);
    const streams = readdirSync(join(infra, 'tables'))
      .filter((file) => file.endsWith('.json'))
      .map((file) => (JSON.parse(read(`tables/${file}`)) as { stream: string }).stream)
      .sort();
    const listed = [...(/InputStreamId in \(([^)]*)\)/.exec(query)?.[1] ?? '').matchAll(/"([^"]+)"/g)]
      .map((match) => match[1])
      .sort();
    assert.deepEqual(listed, streams);
    assert.match(query, /\bMessage\b/);
  });
});

describe('item 10: workbooks answer what the data can answer', () => {
  it('AWS: a tile counts active root-account keys, and a table lists them', () => {
    const aws = workbook('aws-access-keys');
    const summary = named(aws, 'summary').content.query ?? '';
    assert.ok(
      summary.includes(`ActiveRootKeys = countif(Status == "Active" and UserName == "${rootUserName}")`),
      summary,
    );
    assert.match(summary, /bag_pack\("Metric", "Active root-account keys", "Value", ActiveRootKeys\)/);
    const table = named(aws, 'active-root-keys').content.query ?? '';
    assert.ok(table.includes(`UserName == "${rootUserName}" and Status == "Active"`));
  });

  it('AWS: key-age buckets in age order, as a bar chart', () => {
    const panel = named(workbook('aws-access-keys'), 'active-keys-by-age');
    assert.ok(['barchart', 'categoricalbar'].includes(panel.content.visualization ?? ''), 'a bar chart');
    const query = panel.content.query ?? '';
    const buckets = [
      ...(/datatable\(Order: int, Age: string\) \[([^\]]*)\]/.exec(query)?.[1] ?? '').matchAll(
        /(\d+), "([^"]+)"/g,
      ),
    ].map((match) => [Number(match[1]), match[2]] as const);
    assert.deepEqual(
      buckets.map(([, label]) => label),
      ['0-30 days', '31-90 days', '91-180 days', '181-365 days', 'over 365 days', 'unknown'],
    );
    assert.deepEqual(
      buckets.map(([order]) => order),
      [1, 2, 3, 4, 5, 6],
    );
    for (const [, label] of buckets)
      assert.ok(query.includes(`, "${label}",`) || query.includes(`"${label}")`), label);
    assert.match(query, /\| order by Order asc\n\| project Age, Keys$/);
  });

  it('sign-ins: a SignInEventType filter (multi-select, interactive by default) applied to every panel', () => {
    const signins = workbook('entra-signins');
    const parameter = signins
      .filter((item) => item.type === 9)
      .flatMap((item) => item.content.parameters ?? [])
      .find((candidate) => candidate.name === 'SignInEventType');
    assert.ok(parameter, 'a SignInEventType parameter');
    assert.equal(parameter.type, 2, 'a drop-down');
    assert.equal(parameter.multiSelect, true);
    assert.equal(parameter.isRequired, true);
    assert.equal(parameter.quote, "'");
    assert.equal(parameter.delimiter, ',');
    assert.deepEqual(parameter.value, ['interactiveUser']);
    const options = JSON.parse(parameter.jsonData ?? '[]') as { value: string }[];
    assert.deepEqual(
      options.map((option) => option.value),
      [...signInEventTypes],
    );
    for (const item of queries(signins)) {
      assert.match(
        item.content.query ?? '',
        /\| where SignInEventType in \(\{SignInEventType\}\)\n/,
        item.name,
      );
    }
  });

  it('sign-ins: legacy authentication panels (ClientAppUsed other than the modern clients)', () => {
    const signins = workbook('entra-signins');
    for (const name of ['legacy-authentication', 'legacy-authentication-clients']) {
      assert.match(
        named(signins, name).content.query ?? '',
        /ClientAppUsed !in~ \("Browser", "Mobile Apps and Desktop clients"\)/,
        name,
      );
    }
  });
});

describe('item 11: Microsoft Sentinel analytics rules', () => {
  const analytics = bicep('modules/analytics.bicep');
  const main = bicep('main.bicep');
  const files = readdirSync(join(infra, 'analytics'))
    .filter((file) => file.endsWith('.kql'))
    .sort();

  it('a module loads every infra/analytics/*.kql, once', () => {
    const loaded = [...analytics.matchAll(/loadTextContent\('\.\.\/analytics\/([^']+)'\)/g)]
      .map((match) => match[1])
      .sort();
    assert.deepEqual(loaded, files);
    assert.equal(files.length, 8, 'the four of issue 14 item 11 and the four people-* of issue 17');
  });

  it('as Scheduled alert rules on the workspace, one alert per result, incidents created', () => {
    const rules = bodyOf(analytics, /^resource alertRules 'Microsoft\.SecurityInsights\/alertRules@/m);
    assert.match(rules, /scope:\s*workspace\b/);
    assert.match(rules, /kind:\s*'Scheduled'/);
    assert.match(rules, /name:\s*guid\(workspace\.id,/);
    assert.match(rules, /triggerOperator:\s*'GreaterThan'\s+triggerThreshold:\s*0/);
    assert.match(rules, /aggregationKind:\s*'AlertPerResult'/);
    assert.match(rules, /createIncident:\s*true/);
    assert.match(
      analytics,
      /^resource workspace 'Microsoft\.OperationalInsights\/workspaces@[^']+' existing/m,
    );
  });

  it("every rule's query fits Sentinel's 10,000 characters, with room for what Bicep substitutes", () => {
    // "The query length should be between 1 and 10,000 characters"
    // (https://learn.microsoft.com/azure/sentinel/create-analytics-rules, rule query best practices).
    // Bicep replaces a few values in them (inactiveDays: at most 4 digits more; the expected collectors'
    // names): 200 characters are kept free for that.
    for (const file of files) {
      const length = readFileSync(join(infra, 'analytics', file), 'utf8').length;
      assert.ok(length >= 1 && length <= 10_000 - 200, `${file}: ${length} characters`);
    }
  });

  it("schedules within Sentinel's limits (5 minutes to 14 days, lookback >= interval)", () => {
    const toMinutes = (duration: string) => {
      const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?)?$/.exec(duration);
      assert.ok(match, duration);
      return Number(match[1] ?? 0) * 1440 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0);
    };
    const frequencies = [...analytics.matchAll(/queryFrequency: '([^']+)'/g)].map((m) =>
      toMinutes(m[1] ?? ''),
    );
    const periods = [...analytics.matchAll(/queryPeriod: '([^']+)'/g)].map((m) => toMinutes(m[1] ?? ''));
    assert.equal(frequencies.length, 8);
    assert.equal(periods.length, 8);
    frequencies.forEach((frequency, i) => {
      const period = periods[i] ?? 0;
      for (const value of [frequency, period]) assert.ok(value >= 5 && value <= 14 * 1440, String(value));
      assert.ok(period >= frequency);
    });
  });

  it('deployed when SENTINEL_ENABLED=true', () => {
    const parameters = (
      JSON.parse(read('main.parameters.json')) as { parameters: Record<string, { value: unknown }> }
    ).parameters;
    assert.equal(parameters.sentinelEnabled?.value, '${SENTINEL_ENABLED=false}');
    assert.match(main, /^param sentinelEnabled bool = false$/m);
    assert.match(main, /^module analytics 'modules\/analytics\.bicep' = if \(sentinelEnabled\)/m);
  });
});
