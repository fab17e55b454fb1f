// Contract tests of infra/ (Bicep for `azd up`): what the templates must keep true for the app and the
// design to hold, read from the sources, and — when the Bicep CLI is installed (scripts/install-bicep.sh,
// into .local/tools/bicep/bicep) — a real compilation of every template.
//
// The Microsoft Graph module (modules/entra.bicep) needs its extension from a container registry that
// is out of reach offline, so the compile step replaces it with a stub of the same parameters and
// outputs. Point BICEP_MSGRAPH_EXTENSION at a locally published extension archive (bicep
// publish-extension of the msgraph-bicep-types v1.0 index) to compile the real module too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { repoRoot } from '../support/paths.js';

const infra = join(repoRoot, 'infra');
const bicepBin = join(repoRoot, '.local', 'tools', 'bicep', 'bicep');
const entraModule = join('modules', 'entra.bicep');

/** Every .bicep file under infra/, as paths relative to infra/. */
function bicepFiles(dir = infra): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...bicepFiles(path));
    else if (entry.name.endsWith('.bicep')) found.push(relative(infra, path));
  }
  return found.sort();
}

type Context = { kind: 'code' } | { kind: 'string' } | { kind: 'interpolation'; depth: number };

/**
 * Bicep source without comments (line structure kept), so that checks never match commented-out code
 * or prose. Understands '…' strings with escapes and ${…} interpolations, and '''…''' strings.
 */
function stripComments(source: string): string {
  let out = '';
  let i = 0;
  const stack: Context[] = [{ kind: 'code' }];
  while (i < source.length) {
    const context = stack[stack.length - 1] ?? { kind: 'code' };
    const c = source[i] ?? '';
    const next = source[i + 1] ?? '';
    if (context.kind === 'string') {
      if (c === '\\') {
        out += c + next;
        i += 2;
      } else if (c === "'") {
        stack.pop();
        out += c;
        i += 1;
      } else if (c === '$' && next === '{') {
        stack.push({ kind: 'interpolation', depth: 0 });
        out += '${';
        i += 2;
      } else {
        out += c;
        i += 1;
      }
      continue;
    }
    if (source.startsWith("'''", i)) {
      const end = source.indexOf("'''", i + 3);
      const stop = end < 0 ? source.length : end + 3;
      out += source.slice(i, stop);
      i = stop;
      continue;
    }
    if (c === "'") {
      stack.push({ kind: 'string' });
      out += c;
      i += 1;
      continue;
    }
    if (c === '/' && next === '/') {
      while (i < source.length && source[i] !== '\n') i += 1;
      continue;
    }
    if (c === '/' && next === '*') {
      const end = source.indexOf('*/', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop).replace(/[^\n]/g, '');
      i = stop;
      continue;
    }
    if (context.kind === 'interpolation') {
      if (c === '{') context.depth += 1;
      else if (c === '}') {
        if (context.depth === 0) stack.pop();
        else context.depth -= 1;
      }
    }
    out += c;
    i += 1;
  }
  return out;
}

const sources = new Map<string, string>();
/** A template under infra/ (path relative to infra/), comments stripped. */
function bicep(file: string): string {
  let source = sources.get(file);
  if (source === undefined) {
    source = stripComments(readFileSync(join(infra, file), 'utf8'));
    sources.set(file, source);
  }
  return source;
}

/** `resource <symbol> '<type>@<version>'` declarations of a template: symbol → type (no version). */
function resourceTypes(source: string): Map<string, string> {
  const types = new Map<string, string>();
  for (const match of source.matchAll(/^resource\s+(\w+)\s+'([^'@]+)@[^']+'/gm)) {
    types.set(match[1] ?? '', match[2] ?? '');
  }
  return types;
}

/** The body `{…}` of the declaration starting at `from` (the first brace after it, braces balanced). */
function bodyAfter(source: string, from: number): string {
  const open = source.indexOf('{', from);
  assert.ok(open >= 0, 'declaration without a body');
  let depth = 0;
  for (let i = open; i < source.length; i += 1) {
    if (source[i] === '{') depth += 1;
    else if (source[i] === '}') {
      depth -= 1;
      if (depth === 0) return source.slice(open, i + 1);
    }
  }
  assert.fail('unbalanced braces');
}

interface Declaration {
  file: string;
  symbol: string;
  body: string;
}

/** Every declaration of a resource of `type` (e.g. Microsoft.Authorization/roleAssignments) under infra/. */
function declarationsOf(type: string): Declaration[] {
  const found: Declaration[] = [];
  const pattern = new RegExp(`^resource\\s+(\\w+)\\s+'${type.replace(/[./]/g, '\\$&')}@[^']+'`, 'gm');
  for (const file of bicepFiles()) {
    const source = bicep(file);
    for (const match of source.matchAll(pattern)) {
      found.push({ file, symbol: match[1] ?? '', body: bodyAfter(source, match.index ?? 0) });
    }
  }
  return found;
}

/** Files passed to loadJsonContent / loadTextContent / loadYamlContent, resolved against their template. */
function loadedFiles(): { from: string; path: string }[] {
  const loaded: { from: string; path: string }[] = [];
  for (const file of bicepFiles()) {
    for (const match of bicep(file).matchAll(/\bload(?:Json|Text|Yaml)Content\(\s*'([^']+)'/g)) {
      loaded.push({ from: file, path: resolve(dirname(join(infra, file)), match[1] ?? '') });
    }
  }
  return loaded;
}

/** `param` names declared by a template, with whether each has a default value. */
function params(source: string): Map<string, { hasDefault: boolean }> {
  const declared = new Map<string, { hasDefault: boolean }>();
  for (const match of source.matchAll(/^param\s+(\w+)\s+[^=\n]+?(=.*)?$/gm)) {
    declared.set(match[1] ?? '', { hasDefault: match[2] !== undefined });
  }
  return declared;
}

/** Whether an object in the template sets `key` (as `key:` or `'key':`). */
function setsKey(source: string, key: string): boolean {
  return new RegExp(`^\\s*'?${key.replace(/[.]/g, '\\.')}'?\\s*:`, 'm').test(source);
}

const roleIds = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b',
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88',
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3',
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6',
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7',
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb',
} as const;

describe('infra: files the templates load', () => {
  const loaded = loadedFiles();

  it('finds the loads (abbreviations, collectors.json, six workbooks, three alert queries)', () => {
    const under = (folder: string) =>
      loaded.filter(({ path }) => path.startsWith(join(infra, folder) + sep)).length;
    assert.ok(
      loaded.some(({ path }) => path === join(infra, 'abbreviations.json')),
      'abbreviations.json',
    );
    // The tables reach Bicep through the generated collectors.json (Bicep cannot list a folder).
    assert.equal(under('tables'), 0);
    assert.ok(loaded.some(({ path }) => path === join(infra, 'collectors.json')));
    assert.equal(under('workbooks'), 6);
    assert.equal(under('alerts'), 3);
  });

  for (const { from, path } of loaded) {
    it(`${relative(repoRoot, path)} (loaded by infra/${from}) exists`, () => {
      assert.ok(existsSync(path), `${path} is missing`);
    });
  }
});

describe('infra: main.parameters.json and main.bicep', () => {
  const main = bicep('main.bicep');
  const declared = params(main);
  const parameters = (
    JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value?: unknown }>;
    }
  ).parameters;

  it('main.bicep is deployed at subscription scope', () => {
    assert.match(main, /^targetScope\s*=\s*'subscription'/m);
  });

  for (const name of Object.keys(parameters)) {
    it(`parameter ${name} is declared as a param of main.bicep`, () => {
      assert.ok(declared.has(name), `main.bicep has no param ${name}`);
    });
  }

  it('every param of main.bicep without a default gets a value from main.parameters.json', () => {
    for (const [name, { hasDefault }] of declared) {
      if (!hasDefault) assert.ok(name in parameters, `${name} has no default and no value`);
    }
  });

  it('takes the azd variables, and commits no secret value', () => {
    assert.equal(parameters.environmentName?.value, '${AZURE_ENV_NAME}');
    assert.equal(parameters.location?.value, '${AZURE_LOCATION}');
    assert.equal(parameters.principalId?.value, '${AZURE_PRINCIPAL_ID}');
    assert.equal(parameters.alertEmail?.value, '${ALERT_EMAIL}');
    // Only a reference to the azd environment, empty by default: the ARN itself is never committed.
    assert.match(String(parameters.awsRoleArn?.value), /^\$\{AWS_ROLE_ARN=?\}$/);
    assert.match(main, /@secure\(\)\s*\nparam\s+awsRoleArn\s+string/);
  });

  it('creates the resource group rg-<env> tagged azd-env-name, names from abbreviations.json', () => {
    assert.match(main, /resource\s+\w+\s+'Microsoft\.Resources\/resourceGroups@/);
    assert.match(main, /name:\s*'\$\{abbrs\.resourcesResourceGroups\}\$\{environmentName\}'/);
    assert.match(main, /'azd-env-name':\s*environmentName/);
    const abbreviations = JSON.parse(readFileSync(join(infra, 'abbreviations.json'), 'utf8')) as Record<
      string,
      string
    >;
    assert.equal(abbreviations.resourcesResourceGroups, 'rg-');
    for (const match of main.matchAll(/\babbrs\.(\w+)/g)) {
      assert.ok((match[1] ?? '') in abbreviations, `abbreviations.json has no ${match[1]}`);
    }
  });

  it('outputs what azd, the app, the postprovision hook and the AWS stack need', () => {
    const outputs = new Set([...main.matchAll(/^output\s+(\w+)\s/gm)].map((m) => m[1]));
    const needed = [
      'AZURE_TENANT_ID',
      'AZURE_RESOURCE_GROUP',
      'AZURE_FUNCTION_APP_NAME',
      'AZURE_MANAGED_IDENTITY_CLIENT_ID',
      'AZURE_MANAGED_IDENTITY_PRINCIPAL_ID',
      'AZURE_KEY_VAULT_NAME',
      'AZURE_KEY_VAULT_URI',
      'LOGS_INGESTION_ENDPOINT',
      'LOGS_INGESTION_DCR_ID',
      'AZURE_LOG_ANALYTICS_WORKSPACE_ID',
      'AZURE_LOG_ANALYTICS_WORKSPACE_NAME',
      'AWS_FEDERATION_AUDIENCE',
      'AWS_OIDC_PROVIDER_URL',
    ];
    // The variables the postprovision hook requires, when it says so in its usual form.
    const hook = join(infra, 'hooks', 'postprovision.sh');
    if (existsSync(hook)) {
      const required = /^required='([^']*)'/m.exec(readFileSync(hook, 'utf8'))?.[1];
      // AZURE_ENV_NAME is azd's own, not an output.
      for (const name of required?.split(/\s+/) ?? [])
        if (name && name !== 'AZURE_ENV_NAME') needed.push(name);
    }
    for (const name of needed) assert.ok(outputs.has(name), `main.bicep has no output ${name}`);
    assert.match(main, /^output\s+AZURE_TENANT_ID\s+string\s*=\s*tenant\(\)\.tenantId/m);
    assert.match(
      main,
      /^output\s+AWS_OIDC_PROVIDER_URL\s+string\s*=\s*'https:\/\/sts\.windows\.net\/\$\{tenant\(\)\.tenantId\}\/'/m,
    );
  });
});

describe('infra: role assignments', () => {
  const assignments = declarationsOf('Microsoft.Authorization/roleAssignments');

  it('finds them', () => {
    assert.ok(assignments.length >= 5, `only ${assignments.length} role assignment declarations`);
  });

  for (const { file, symbol, body } of assignments) {
    it(`${file} ${symbol} is scoped to one resource of its module, never a group or subscription`, () => {
      const scopes = [...body.matchAll(/^\s*scope:\s*(.*?)\s*$/gm)].map((m) => m[1] ?? '');
      assert.equal(scopes.length, 1, `expected exactly one scope:, found ${scopes.length}`);
      const scope = scopes[0] ?? '';
      assert.match(scope, /^[A-Za-z_]\w*$/, `scope ${scope} is not a single resource symbol`);
      assert.ok(resourceTypes(bicep(file)).has(scope), `${scope} is not a resource declared in ${file}`);
    });
  }

  const expected: { role: keyof typeof roleIds; scopeType: string }[] = [
    { role: 'storageBlobDataOwner', scopeType: 'Microsoft.Storage/storageAccounts' },
    { role: 'storageQueueDataContributor', scopeType: 'Microsoft.Storage/storageAccounts' },
    { role: 'storageTableDataContributor', scopeType: 'Microsoft.Storage/storageAccounts' },
    { role: 'keyVaultSecretsUser', scopeType: 'Microsoft.KeyVault/vaults' },
    { role: 'keyVaultSecretsOfficer', scopeType: 'Microsoft.KeyVault/vaults' },
    { role: 'monitoringMetricsPublisher', scopeType: 'Microsoft.Insights/dataCollectionRules' },
    { role: 'monitoringMetricsPublisher', scopeType: 'Microsoft.Insights/components' },
  ];
  for (const { role, scopeType } of expected) {
    it(`grants ${role} on a ${scopeType}`, () => {
      const granted = assignments.some(({ file, body }) => {
        const scope = /^\s*scope:\s*(\w+)\s*$/m.exec(body)?.[1] ?? '';
        return resourceTypes(bicep(file)).get(scope) === scopeType && bicep(file).includes(roleIds[role]);
      });
      assert.ok(granted, `no assignment of ${roleIds[role]} scoped to a ${scopeType}`);
    });
  }
});

describe('infra: resource properties the design relies on', () => {
  it('Key Vault: RBAC authorization, purge protection, soft delete; aws-role-arn only from a non-empty secure param', () => {
    const [vault, ...others] = declarationsOf('Microsoft.KeyVault/vaults');
    assert.ok(vault !== undefined && others.length === 0, 'expected exactly one Key Vault');
    assert.match(vault.body, /^\s*enableRbacAuthorization:\s*true\s*$/m);
    assert.match(vault.body, /^\s*enablePurgeProtection:\s*true\s*$/m);
    assert.match(vault.body, /^\s*enableSoftDelete:\s*true\s*$/m);
    const source = bicep(vault.file);
    assert.match(
      source,
      /^resource\s+\w+\s+'Microsoft\.KeyVault\/vaults\/secrets@[^']+'\s*=\s*if\s*\(\s*!empty\((\w+)\)\s*\)\s*\{[^}]*name:\s*'aws-role-arn'/m,
    );
    assert.match(source, /@secure\(\)\s*\nparam\s+awsRoleArn\s+string/);
  });

  it('Storage: no shared keys, https only, TLS 1.2, no public blobs; deployment container and checkpoints table', () => {
    const [storage, ...others] = declarationsOf('Microsoft.Storage/storageAccounts');
    assert.ok(storage !== undefined && others.length === 0, 'expected exactly one storage account');
    assert.match(storage.body, /^\s*allowSharedKeyAccess:\s*false\s*$/m);
    assert.match(storage.body, /^\s*supportsHttpsTrafficOnly:\s*true\s*$/m);
    assert.match(storage.body, /^\s*minimumTlsVersion:\s*'TLS1_2'\s*$/m);
    assert.match(storage.body, /^\s*allowBlobPublicAccess:\s*false\s*$/m);
    assert.equal(declarationsOf('Microsoft.Storage/storageAccounts/blobServices/containers').length, 1);
    assert.equal(declarationsOf('Microsoft.Storage/storageAccounts/tableServices/tables').length, 1);
    assert.match(bicep('main.bicep'), /checkpointTableName\s*=\s*'checkpoints'/);
  });

  it('Application Insights: workspace-based with local auth disabled', () => {
    const [component] = declarationsOf('Microsoft.Insights/components');
    assert.ok(component !== undefined);
    assert.match(component.body, /^\s*DisableLocalAuth:\s*true\s*$/m);
    assert.match(component.body, /^\s*WorkspaceResourceId:/m);
  });

  it('the DCR is of kind Direct and takes its streams and flows from every infra/tables/*.json', () => {
    // The app's one DCR (Direct); the other is the Azure Monitor Agent's, for the proxy log (below).
    const rules = declarationsOf('Microsoft.Insights/dataCollectionRules');
    const direct = rules.filter((rule) => /^\s*kind:\s*'Direct'\s*$/m.test(rule.body));
    assert.equal(direct.length, 1, 'expected exactly one Direct data collection rule');
    assert.deepEqual(
      rules.filter((rule) => !direct.includes(rule)).map((rule) => rule.file),
      [join('modules', 'proxyLogs.bicep')],
    );
    const [dcr] = direct;
    assert.ok(dcr !== undefined);
    const source = bicep(dcr.file);
    assert.match(source, /'Microsoft\.Insights\/dataCollectionRules@2024-03-11'/);
    assert.match(dcr.body, /^\s*kind:\s*'Direct'\s*$/m);

    const tableFiles = readdirSync(join(infra, 'tables'))
      .filter((name) => name.endsWith('.json'))
      .map((name) => join(infra, 'tables', name))
      .sort();
    // No count: a source adds its table file and nothing here (docs/ADDING_A_SOURCE.md).
    assert.ok(tableFiles.length > 0, 'no infra/tables/*.json');
    // collectors.json carries every table file (checked up to date by the collectors contract test).
    const generated = JSON.parse(readFileSync(join(infra, 'collectors.json'), 'utf8')) as {
      tables: unknown[];
    };
    assert.deepEqual(
      generated.tables,
      tableFiles.map((path) => JSON.parse(readFileSync(path, 'utf8')) as unknown),
      'collectors.json must carry every table file, once',
    );

    // One variable lists the tables; tables, stream declarations and data flows all iterate over it.
    const variable = /^var\s+(\w+)\s*=\s*loadJsonContent\('\.\.\/collectors\.json'\)\.tables\s*$/m.exec(
      source,
    )?.[1];
    assert.ok(variable !== undefined, 'no variable with the tables of collectors.json');
    assert.match(source, new RegExp(`streamDeclarations:\\s*toObject\\(\\s*${variable}\\b`));
    // A table with its own stream columns (raw lines) declares those for its stream.
    assert.match(source, /columns:\s*map\(\s*table\.\?streamColumns\s*\?\?\s*table\.columns\b/);
    assert.match(dcr.body, new RegExp(`dataFlows:\\s*\\[\\s*for\\s+(\\w+)\\s+in\\s+${variable}\\s*:`));
    assert.match(dcr.body, /outputStream:\s*'Custom-\$\{\w+\.name\}'/);
    // The table's transform, its `let` parameters replaced from transformSettings (PROXY_KEEP_QUERY).
    assert.match(
      dcr.body,
      /transformKql:\s*reduce\(\s*\w+\.\?transformParameters\s*\?\?\s*\[\],\s*\w+\.transformKql,/,
    );
    assert.match(dcr.body, /'let \$\{parameter\.name\} = \$\{parameter\.default\};'/);
    const [tables] = declarationsOf('Microsoft.OperationalInsights/workspaces/tables');
    assert.ok(tables !== undefined, 'no custom tables');
    assert.match(
      source,
      new RegExp(
        `'Microsoft\\.OperationalInsights/workspaces/tables@[^']+'\\s*=\\s*\\[\\s*for\\s+\\w+\\s+in\\s+${variable}\\s*:`,
      ),
    );
    assert.match(tables.body, /plan:\s*'Analytics'/);
  });

  it('workbooks: shared, bound to the workspace, deterministic names', () => {
    const [workbook] = declarationsOf('Microsoft.Insights/workbooks');
    assert.ok(workbook !== undefined);
    assert.match(bicep(workbook.file), /'Microsoft\.Insights\/workbooks@2023-06-01'/);
    assert.match(workbook.body, /kind:\s*'shared'/);
    assert.match(workbook.body, /name:\s*guid\(resourceGroup\(\)\.id,/);
    assert.match(workbook.body, /sourceId:\s*workspaceId/);
    for (const name of ['aws-access-keys', 'entra-signins', 'entra-audit', 'collector-health']) {
      assert.ok(
        loadedFiles().some(({ path }) => path === join(infra, 'workbooks', `${name}.workbook.json`)),
        `${name}.workbook.json is not loaded`,
      );
    }
  });

  it('alerts: an action group and log alerts that fire when their query returns rows', () => {
    assert.equal(declarationsOf('Microsoft.Insights/actionGroups').length, 1);
    const [rules] = declarationsOf('Microsoft.Insights/scheduledQueryRules');
    assert.ok(rules !== undefined);
    const source = bicep(rules.file);
    assert.match(source, /'Microsoft\.Insights\/scheduledQueryRules@2023-12-01'/);
    assert.match(source, /'Microsoft\.Insights\/actionGroups@2023-01-01'/);
    assert.match(rules.body, /operator:\s*'GreaterThan'/);
    assert.match(rules.body, /threshold:\s*0\b/);
    assert.match(rules.body, /scopes:\s*\[\s*workspaceId\s*\]/);
    for (const name of ['collector-run-failed', 'no-successful-run']) {
      assert.match(source, new RegExp(`loadTextContent\\('\\.\\./alerts/${name}\\.kql'\\)`));
    }
  });

  it('Entra: Graph extension module with the AWS federation app (v1 tokens) and the two Graph app roles', () => {
    const entra = bicep(entraModule);
    assert.match(entra, /^extension\s+microsoftGraphV1\s*$/m);
    const config = JSON.parse(readFileSync(join(infra, 'bicepconfig.json'), 'utf8')) as {
      extensions?: Record<string, string>;
    };
    assert.match(
      config.extensions?.microsoftGraphV1 ?? '',
      /^br:mcr\.microsoft\.com\/bicep\/extensions\/microsoftgraph\/v1\.0:/,
    );
    assert.match(entra, /'Microsoft\.Graph\/applications@v1\.0'/);
    assert.match(entra, /requestedAccessTokenVersion:\s*1\b/);
    assert.match(entra, /identifierUris:\s*\[/);
    assert.match(
      entra,
      /'Microsoft\.Graph\/servicePrincipals@v1\.0'\s+existing\s*=\s*\{\s*appId:\s*graphAppId/,
    );
    assert.match(entra, /graphAppId\s*=\s*'00000003-0000-0000-c000-000000000000'/);
    assert.match(entra, /'Microsoft\.Graph\/appRoleAssignedTo@v1\.0'/);
    assert.ok(entra.includes('b0afded3-3588-46d8-8b3d-9842eff778da'), 'AuditLog.Read.All');
    assert.ok(entra.includes('7ab1d382-f21e-4acd-a863-ba3e13f7da61'), 'Directory.Read.All');
    // Customer tenants (ENTRA_TENANTS): a multi-tenant app whose one credential is the managed identity.
    const app =
      /resource multiTenantApp 'Microsoft\.Graph\/applications@v1\.0' = if \(deployMultiTenantApp\) \{([\s\S]*?)\n\}/.exec(
        entra,
      )?.[1] ?? '';
    assert.match(app, /signInAudience:\s*'AzureADMultipleOrgs'/);
    assert.match(app, /requiredResourceAccess:[\s\S]*resourceAppId:\s*graphAppId[\s\S]*type:\s*'Role'/);
    assert.match(app, /resource \w+ 'federatedIdentityCredentials@v1\.0'/);
    assert.match(
      app,
      /issuer:\s*'\$\{environment\(\)\.authentication\.loginEndpoint\}\$\{tenant\(\)\.tenantId\}\/v2\.0'/,
    );
    assert.match(app, /subject:\s*identityPrincipalId\b/);
    assert.match(app, /audiences:\s*\[tokenExchangeAudience\]/);
    assert.match(entra, /'api:\/\/AzureADTokenExchange'/);
    assert.doesNotMatch(app, /passwordCredentials|keyCredentials/, 'no secret, no certificate');
    assert.match(
      bicep('main.bicep'),
      /entraMultiTenantAppId:\s*multiTenant \? entra!\.outputs\.multiTenantAppId/,
    );
    assert.match(
      bicep(join('modules', 'functionApp.bicep')),
      /ENTRA_MULTITENANT_APP_ID:\s*entraMultiTenantAppId/,
    );
    assert.match(bicep(join('modules', 'keyVault.bicep')), /name:\s*'entra-tenants'/);
    // Only the Entra module needs the extension: everything else compiles offline.
    for (const file of bicepFiles().filter((f) => f !== entraModule)) {
      assert.doesNotMatch(bicep(file), /^extension\s/m, `${file} declares an extension`);
    }
  });
});

describe('infra: the function app sets every setting a deployed app reads', () => {
  const module = 'modules/functionApp.bicep';
  const source = bicep(module);
  const sample = (
    JSON.parse(readFileSync(join(repoRoot, 'local.settings.sample.json'), 'utf8')) as {
      Values: Record<string, string>;
    }
  ).Values;
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  // Rows of the README's settings table: | `NAME` | app setting or Key Vault | …
  const readmeSettings = [...readme.matchAll(/^\| +`([^`]+)` +\| +(?:app setting|Key Vault) +\|/gm)].map(
    (m) => m[1] ?? '',
  );

  // Key Vault secrets (DESIGN §4): the names the code reads from the vault, and the README's Key Vault rows.
  const generated = JSON.parse(readFileSync(join(infra, 'collectors.json'), 'utf8')) as {
    appSettings: Record<string, string>;
    collectors: { secrets: { required: string[]; optional: string[] } }[];
  };
  const vaultSecrets = new Set([
    ...generated.collectors.flatMap((c) => [...c.secrets.required, ...c.secrets.optional]),
    ...[...readme.matchAll(/^\| +`([^`]+)` +\| +Key Vault +\|/gm)].map((m) => m[1] ?? ''),
  ]);

  /**
   * Settings of the sample / README table that a deployment does not set as app settings, and why.
   * Decided here:
   *  - AzureWebJobsStorage: a connection string, for local runs (Azurite). In Azure the host and the
   *    checkpoint store use the identity-based AzureWebJobsStorage__* settings; shared keys are off.
   *  - AzureWebJobsStorage__accountName: an alternative to __tableServiceUri, which is set.
   *  - FUNCTIONS_WORKER_RUNTIME: Flex Consumption takes the runtime from functionAppConfig.runtime and
   *    rejects this app setting; the Functions Core Tools need it locally.
   *  - Key Vault secrets (aws-role-arn, …): never app settings, so the app's configuration names no
   *    external system. Bicep creates aws-role-arn when given; the others are set in the vault.
   */
  const notAppSettings = new Set([
    'AzureWebJobsStorage',
    'AzureWebJobsStorage__accountName',
    'FUNCTIONS_WORKER_RUNTIME',
    ...vaultSecrets,
  ]);
  const needed = [...new Set([...Object.keys(sample), ...readmeSettings])]
    .filter((name) => !notAppSettings.has(name))
    .sort();

  it('finds the settings (sample and README agree on them) and the Key Vault secrets', () => {
    assert.ok(needed.includes('LOGS_INGESTION_DCR_ID') && needed.includes('ENTRA_SIGNINS_SCHEDULE'));
    assert.ok(vaultSecrets.has('aws-role-arn'), [...vaultSecrets].join(', '));
    for (const name of readmeSettings)
      assert.ok(name in sample, `${name} is in the README but not the sample`);
  });

  for (const name of needed) {
    it(`${name} is set by ${module}`, () => {
      // Each collector's settings come from its declaration, through collectors.json's appSettings.
      const fromDeclarations = generated.appSettings[name];
      if (fromDeclarations !== undefined) {
        assert.match(source, /loadJsonContent\('\.\.\/collectors\.json'\)\.appSettings/);
        assert.equal(fromDeclarations, sample[name], `default of ${name}`);
        return;
      }
      assert.ok(setsKey(source, name), `${module} does not set ${name}`);
      // Defaults written as literals must be the documented ones.
      const literal = new RegExp(`^\\s*'?${name}'?\\s*:\\s*'([^']*)'\\s*$`, 'm').exec(source)?.[1];
      if (literal !== undefined) assert.equal(literal, sample[name], `default of ${name}`);
    });
  }

  it('identity-based host storage and Entra-authenticated Application Insights', () => {
    for (const name of [
      'AzureWebJobsStorage__credential',
      'AzureWebJobsStorage__clientId',
      'AzureWebJobsStorage__blobServiceUri',
      'AzureWebJobsStorage__queueServiceUri',
      'AzureWebJobsStorage__tableServiceUri',
      'APPLICATIONINSIGHTS_CONNECTION_STRING',
      'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
    ]) {
      assert.ok(setsKey(source, name), name);
    }
    assert.match(source, /AzureWebJobsStorage__credential:\s*'managedidentity'/);
    assert.match(
      source,
      /APPLICATIONINSIGHTS_AUTHENTICATION_STRING:\s*'ClientId=\$\{\w+\};Authorization=AAD'/,
    );
  });

  it('Flex Consumption: FC1, node 22 from functionAppConfig, no FUNCTIONS_WORKER_RUNTIME, deployment with the identity', () => {
    assert.doesNotMatch(
      source,
      /FUNCTIONS_WORKER_RUNTIME|WEBSITE_RUN_FROM_PACKAGE|FUNCTIONS_EXTENSION_VERSION/,
    );
    assert.match(source, /name:\s*'FC1'/);
    assert.match(source, /tier:\s*'FlexConsumption'/);
    const [site] = declarationsOf('Microsoft.Web/sites');
    assert.ok(site !== undefined);
    assert.match(site.body, /runtime:\s*\{\s*name:\s*'node'\s*version:\s*'22'\s*\}/);
    assert.match(site.body, /type:\s*'UserAssignedIdentity'/);
    assert.match(site.body, /appSettings:\s*\[\s*for\s+\w+\s+in\s+items\(/);
    assert.match(site.body, /'azd-service-name'/);
  });

  it('the azd service is the function app and postprovision runs the hooks', () => {
    const yaml = readFileSync(join(repoRoot, 'azure.yaml'), 'utf8');
    const service = /^ {2}(\w[\w-]*):\s*\n(?: {4}.*\n)*? {4}host:\s*function\s*$/m.exec(yaml)?.[1];
    assert.ok(service !== undefined, 'azure.yaml has no function service');
    assert.match(bicep('main.bicep'), new RegExp(`serviceName:\\s*'${service}'`));
    assert.match(yaml, /^hooks:\s*\n {2}postprovision:/m);
    assert.match(yaml, /run:\s*\.\/infra\/hooks\/postprovision\.sh/);
    assert.match(yaml, /run:\s*\.\/infra\/hooks\/postprovision\.ps1/);
  });
});

/** A stand-in for modules/entra.bicep with the same params and outputs, and no Graph extension. */
function entraStub(source: string): string {
  const lines = ['// Stub of modules/entra.bicep for offline compilation: same parameters and outputs.'];
  for (const match of source.matchAll(/^param\s+(\w+)\s+(\w+)/gm)) {
    lines.push('#disable-next-line no-unused-params', `param ${match[1]} ${match[2]}`);
  }
  const empty: Record<string, string> = { string: "''", bool: 'false', int: '0', array: '[]', object: '{}' };
  for (const match of source.matchAll(/^output\s+(\w+)\s+(\w+)\s*=/gm)) {
    lines.push(`output ${match[1]} ${match[2]} = ${empty[match[2] ?? ''] ?? 'null'}`);
  }
  return lines.join('\n') + '\n';
}

describe('infra: the Bicep CLI compiles every template', () => {
  if (!existsSync(bicepBin)) {
    it.skip('compiles (Bicep CLI not installed: run bash scripts/install-bicep.sh)', () => {});
    return;
  }

  const work = mkdtempSync(join(tmpdir(), 'cim-infra-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  cpSync(infra, work, { recursive: true });
  const config = JSON.parse(readFileSync(join(infra, 'bicepconfig.json'), 'utf8')) as {
    extensions?: Record<string, string>;
  };
  const localExtension = process.env.BICEP_MSGRAPH_EXTENSION;
  const realEntra = localExtension !== undefined && localExtension !== '' && existsSync(localExtension);
  if (realEntra) {
    config.extensions = { ...config.extensions, microsoftGraphV1: resolve(localExtension) };
  } else {
    delete config.extensions?.microsoftGraphV1;
    writeFileSync(join(work, entraModule), entraStub(bicep(entraModule)));
  }
  writeFileSync(join(work, 'bicepconfig.json'), JSON.stringify(config, null, 2));

  let output = '';
  let status: number | null = null;
  let failure: Error | undefined;
  beforeAll(() => {
    const run = spawnSync(bicepBin, ['build', '--pattern', '**/*.bicep'], {
      cwd: work,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1' },
    });
    output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    status = run.status;
    failure = run.error;
  });

  it(`bicep build --pattern '**/*.bicep' succeeds without diagnostics (${realEntra ? 'real' : 'stubbed'} Graph module)`, () => {
    assert.equal(failure, undefined, String(failure));
    assert.equal(status, 0, output);
    const diagnostics = output.split('\n').filter((line) => /\) : (Error|Warning|Info) /.test(line));
    assert.deepEqual(diagnostics, [], output);
  });

  for (const file of bicepFiles()) {
    const stubbed = file === entraModule && !realEntra;
    it(`${file} compiles to ARM JSON${stubbed ? ' (stub: the Graph extension is not reachable offline)' : ''}`, () => {
      const compiled = join(work, file.replace(/\.bicep$/, '.json'));
      assert.ok(existsSync(compiled), `no ${relative(work, compiled)}:\n${output}`);
      assert.ok(JSON.parse(readFileSync(compiled, 'utf8')) as unknown, 'not JSON');
    });
  }

  it('the compiled ingestion module carries every table definition as it is in infra/tables', () => {
    const template = JSON.parse(readFileSync(join(work, 'modules', 'ingestion.json'), 'utf8')) as {
      variables: Record<string, unknown>;
    };
    // loadJsonContent inlines collectors.json as a variable ($fxv#<n>) whose tables the module lists.
    const definitions = Object.entries(template.variables)
      .filter(([name]) => name.startsWith('$fxv#'))
      .map(([, value]) => value)
      .flatMap((value) =>
        typeof value === 'object' && value !== null && 'tables' in value
          ? (value as { tables: { name: string }[] }).tables
          : [],
      );
    const expected = readdirSync(join(infra, 'tables'))
      .filter((name) => name.endsWith('.json'))
      .map((name) => JSON.parse(readFileSync(join(infra, 'tables', name), 'utf8')) as { name: string })
      .sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(
      [...definitions].sort((a, b) => a.name.localeCompare(b.name)),
      expected,
    );
  });
});

it("the proxy log: the agent's DCR (kind Linux, text logFiles, no DCE) runs the table's own transform", () => {
  const [agent] = declarationsOf('Microsoft.Insights/dataCollectionRules').filter(
    (rule) => rule.file === join('modules', 'proxyLogs.bicep'),
  );
  assert.ok(agent !== undefined);
  assert.match(agent.body, /^\s*kind:\s*'Linux'\s*$/m);
  assert.match(agent.body, /logFiles:\s*\[/);
  assert.match(agent.body, /format:\s*'text'/);
  assert.match(agent.body, /filePatterns:\s*filePatterns/);
  assert.doesNotMatch(
    agent.body,
    /dataCollectionEndpointId/,
    'no data collection endpoint (no Private Link)',
  );
  assert.match(agent.body, /columns:\s*map\(table\.streamColumns,/);
  assert.match(agent.body, /transformKql:\s*transformKql/);
  assert.match(agent.body, /outputStream:\s*'Custom-\$\{table\.name\}'/);
  const module = bicep(join('modules', 'proxyLogs.bicep'));
  assert.match(
    module,
    /loadJsonContent\('\.\.\/collectors\.json'\)\.tables, t => t\.name == 'ProxyWebSessions_CL'/,
  );
  assert.match(module, /'let \$\{parameter\.name\} = \$\{parameter\.default\};'/);
  // The stream is the agent's text-log stream: TimeGenerated, RawData, FilePath, Computer.
  const table = JSON.parse(readFileSync(join(infra, 'tables', 'ProxyWebSessions_CL.json'), 'utf8')) as {
    streamColumns: { name: string; type: string }[];
  };
  assert.deepEqual(
    table.streamColumns.map((column) => `${column.name}:${column.type}`),
    ['TimeGenerated:datetime', 'RawData:string', 'FilePath:string', 'Computer:string'],
  );
  // Deployed on PROXY_LOGS, after the tables exist, with the same PROXY_KEEP_QUERY as the Direct DCR.
  const main = bicep('main.bicep');
  assert.match(main, /module proxyLogsDcr 'modules\/proxyLogs\.bicep' = if \(proxyLogs\)/);
  assert.match(main, /module proxyLogsDcr[\s\S]*?dependsOn:\s*\[ingestion\]/);
  assert.equal(main.split('transformSettings: { PROXY_KEEP_QUERY: string(proxyKeepQuery) }').length, 3);
});
