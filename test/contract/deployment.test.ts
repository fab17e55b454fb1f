// The first real deployment (issue 14 items 1-4, 6): what `azd up` / `azd down` do, checked without a
// cloud.
//  - infra/main.bicep compiled by the Bicep CLI (when installed: scripts/install-bicep.sh) and its ARM
//    JSON evaluated (test/support/armExpressions.ts) for a new and an existing workspace, NAME_SUFFIX,
//    and the Entra switches: where each module deploys, what it is given, what is skipped.
//  - the azd hooks and scripts/grant-graph-roles.* run against fake `az` and `azd` executables
//    (test/support/fakeCli.ts): what they detect, decide, write into the azd environment and print.
//    The PowerShell versions run too when PowerShell 7 is installed (pwsh on PATH, or
//    .local/tools/pwsh/pwsh from scripts/install-pwsh.sh).
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, it } from 'vitest';
import {
  ArmEvaluator,
  asText,
  resourcesOf,
  type ArmScenario,
  type ArmTemplate,
  type ArmValue,
} from '../support/armExpressions.js';
import { FakeCli, type FakeScenario } from '../support/fakeCli.js';
import { repoRoot } from '../support/paths.js';

const infra = join(repoRoot, 'infra');
const bicepBin = join(repoRoot, '.local', 'tools', 'bicep', 'bicep');
const mainSource = readFileSync(join(infra, 'main.bicep'), 'utf8');

// --- the compiled template ------------------------------------------------------------------------

/** main.bicep as ARM JSON, with modules/entra.bicep replaced by a stub of the same params and outputs. */
function compileMain(): ArmTemplate {
  const work = mkdtempSync(join(tmpdir(), 'cim-deploy-'));
  try {
    cpSync(infra, work, { recursive: true });
    const config = JSON.parse(readFileSync(join(infra, 'bicepconfig.json'), 'utf8')) as {
      extensions?: Record<string, string>;
    };
    delete config.extensions?.microsoftGraphV1;
    writeFileSync(join(work, 'bicepconfig.json'), JSON.stringify(config));
    const entra = readFileSync(join(infra, 'modules', 'entra.bicep'), 'utf8');
    const stub = ['// stub'];
    for (const m of entra.matchAll(/^param\s+(\w+)\s+(\w+)/gm)) {
      stub.push('#disable-next-line no-unused-params', `param ${m[1]} ${m[2]}`);
    }
    for (const m of entra.matchAll(/^output\s+(\w+)\s+(\w+)\s*=/gm)) stub.push(`output ${m[1]} ${m[2]} = ''`);
    writeFileSync(join(work, 'modules', 'entra.bicep'), stub.join('\n') + '\n');
    const run = spawnSync(bicepBin, ['build', 'main.bicep', '--stdout'], {
      cwd: work,
      encoding: 'utf8',
      timeout: 300_000,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1' },
    });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as ArmTemplate;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

const subscription = '11111111-1111-1111-1111-111111111111';
const token = 'abcdefghijklm';
const existingId =
  '/subscriptions/22222222-2222-2222-2222-222222222222/resourceGroups/rg-soc/providers/Microsoft.OperationalInsights/workspaces/log-soc';
const rgId = (group: string, sub = subscription) => `/subscriptions/${sub}/resourceGroups/${group}`;
const deploymentId = (group: string, name: string, sub = subscription) =>
  `${rgId(group, sub)}/providers/Microsoft.Resources/deployments/${name}`;
const newWorkspaceId = `${rgId('rg-secmon')}/providers/Microsoft.OperationalInsights/workspaces/log-${token}`;

/** Module outputs (reference(deployment).outputs.<name>.value), by module, for what the scenarios reach. */
function moduleOutputs(values: Record<string, ArmValue>): {
  full: Record<string, ArmValue>;
  properties: Record<string, ArmValue>;
} {
  const outputs = Object.fromEntries(Object.entries(values).map(([key, value]) => [key, { value }]));
  return { full: { properties: { outputs } }, properties: { outputs } };
}

function scenario(parameters: Record<string, ArmValue>, existing: boolean): ArmScenario {
  const workspaceGroup = existing
    ? rgId('rg-soc', '22222222-2222-2222-2222-222222222222')
    : rgId('rg-secmon');
  const resources: ArmScenario['resources'] = {
    [deploymentId('rg-secmon', 'identity')]: moduleOutputs({
      principalId: 'mi-principal',
      clientId: 'mi-client',
      id: 'mi-id',
      name: 'mi',
    }),
    [deploymentId('rg-secmon', 'entra')]: moduleOutputs({
      audience: 'api://t/app',
      appId: 'app-id',
      appObjectId: 'app-object',
      multiTenantAppId: 'tenants-app-id',
    }),
    [`${workspaceGroup}/providers/Microsoft.Resources/deployments/ingestion`]: moduleOutputs({
      dcrName: 'dcr-cim',
    }),
  };
  if (existing) {
    resources[existingId] = {
      full: { location: 'northeurope', properties: { customerId: 'soc-customer-id' } },
    };
  } else {
    // The new workspace's module; absent in the existing-workspace scenario, so touching it there throws.
    resources[deploymentId('rg-secmon', 'logAnalytics')] = moduleOutputs({
      id: newWorkspaceId,
      name: `log-${token}`,
      customerId: 'new-customer-id',
    });
  }
  return {
    parameters: { environmentName: 'secmon', location: 'westeurope', ...parameters },
    subscriptionId: subscription,
    uniqueString: token,
    resources,
  };
}

interface Module {
  condition: boolean;
  subscriptionId: string;
  resourceGroup: string;
  param(name: string): ArmValue;
}

function modules(
  template: ArmTemplate,
  arm: ArmScenario,
): { evaluator: ArmEvaluator; module(name: string): Module } {
  const evaluator = new ArmEvaluator(template, arm);
  const resources = resourcesOf(template);
  return {
    evaluator,
    module(name: string): Module {
      const resource = [...resources.values()].find(
        (r) => r.type === 'Microsoft.Resources/deployments' && evaluator.value(r.name) === name,
      );
      assert.ok(resource !== undefined, `no module ${name}`);
      const properties = resource.properties as { parameters: Record<string, unknown> };
      return {
        condition: resource.condition === undefined ? true : evaluator.value(resource.condition) === true,
        subscriptionId:
          resource.subscriptionId === undefined
            ? subscription
            : asText(evaluator.value(resource.subscriptionId)),
        resourceGroup: asText(evaluator.value(resource.resourceGroup)),
        param(param: string): ArmValue {
          assert.ok(param in properties.parameters, `module ${name} has no parameter ${param}`);
          const value = evaluator.value(properties.parameters[param]) as { value?: ArmValue };
          return value.value as ArmValue;
        },
      };
    },
  };
}

const output = (template: ArmTemplate, evaluator: ArmEvaluator, name: string): ArmValue => {
  const declared = template.outputs?.[name];
  assert.ok(declared !== undefined, `no output ${name}`);
  return evaluator.value(declared.value);
};

describe('deployment: main.bicep compiled and evaluated', () => {
  if (!existsSync(bicepBin)) {
    it.skip('needs the Bicep CLI (bash scripts/install-bicep.sh)', () => {});
    return;
  }
  let template: ArmTemplate;
  beforeAll(() => {
    template = compileMain();
  });

  it('offers only Flex Consumption regions, citing where the list comes from', () => {
    const allowed = (template.parameters?.location as { allowedValues?: string[] }).allowedValues ?? [];
    assert.ok(allowed.length >= 25, `${allowed.length} regions`);
    assert.deepEqual(allowed, [...new Set(allowed)].sort(), 'sorted, no duplicates');
    for (const region of allowed) assert.match(region, /^[a-z0-9]+$/, 'programmatic region names');
    // In the official azd Flex Consumption template's list:
    for (const region of [
      'eastus',
      'eastus2',
      'westeurope',
      'northeurope',
      'swedencentral',
      'uksouth',
      'australiaeast',
      'japaneast',
    ]) {
      assert.ok(allowed.includes(region), region);
    }
    // Not Flex Consumption regions (or not usable by ordinary subscriptions):
    for (const region of [
      'eastus2euap',
      'westindia',
      'francesouth',
      'australiacentral2',
      'brazilsoutheast',
      'usgovvirginia',
      'chinanorth3',
      'germanynorth',
    ]) {
      assert.ok(!allowed.includes(region), region);
    }
    assert.match(mainSource, /learn\.microsoft\.com\/azure\/azure-functions\/flex-consumption-how-to/);
    assert.match(mainSource, /az functionapp list-flexconsumption-locations/);
    const parameters = JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as {
      parameters: Record<string, { value: string }>;
    };
    assert.equal(parameters.parameters.location?.value, '${AZURE_LOCATION}');
  });

  it('main.parameters.json feeds the new switches from the azd environment', () => {
    const parameters = (
      JSON.parse(readFileSync(join(infra, 'main.parameters.json'), 'utf8')) as {
        parameters: Record<string, { value: string }>;
      }
    ).parameters;
    assert.equal(parameters.deployEntraApp?.value, '${CIM_CREATE_ENTRA_APP=true}');
    assert.equal(parameters.grantGraphRolesInTemplate?.value, '${GRAPH_GRANTS_IN_TEMPLATE=false}');
    assert.equal(parameters.nameSuffix?.value, '${NAME_SUFFIX=}');
    assert.equal(parameters.logAnalyticsWorkspaceId?.value, '${LOG_ANALYTICS_WORKSPACE_ID=}');
    assert.ok(!('deployEntra' in parameters), 'the old all-or-nothing switch is gone');
  });

  describe('a new workspace (LOG_ANALYTICS_WORKSPACE_ID unset): as before', () => {
    let m: ReturnType<typeof modules>;
    beforeAll(() => {
      m = modules(template, scenario({ logAnalyticsWorkspaceId: '' }, false));
    });

    it('creates the workspace in rg-<env> and deploys tables and DCR there, in `location`', () => {
      assert.equal(m.module('logAnalytics').condition, true);
      assert.equal(m.module('logAnalytics').resourceGroup, 'rg-secmon');
      const ingestion = m.module('ingestion');
      assert.equal(ingestion.subscriptionId, subscription);
      assert.equal(ingestion.resourceGroup, 'rg-secmon');
      assert.equal(ingestion.param('workspaceName'), `log-${token}`);
      assert.equal(ingestion.param('location'), 'westeurope');
    });

    it('everything else uses that workspace', () => {
      for (const name of ['appInsights', 'workbooks', 'alerts', 'diagnostics']) {
        assert.equal(m.module(name).param('workspaceId'), newWorkspaceId, name);
      }
      assert.equal(m.module('diagnostics').param('dcrName'), 'dcr-cim');
      assert.equal(m.module('dcrDiagnostics').condition, false);
      assert.equal(output(template, m.evaluator, 'AZURE_LOG_ANALYTICS_WORKSPACE_ID'), newWorkspaceId);
      assert.equal(
        output(template, m.evaluator, 'AZURE_LOG_ANALYTICS_WORKSPACE_RESOURCE_GROUP'),
        'rg-secmon',
      );
    });
  });

  describe('an existing workspace (LOG_ANALYTICS_WORKSPACE_ID) in another resource group and region', () => {
    let m: ReturnType<typeof modules>;
    beforeAll(() => {
      // The scenario has no logAnalytics module: whatever still reads its outputs throws.
      m = modules(template, scenario({ logAnalyticsWorkspaceId: existingId, sentinelEnabled: true }, true));
    });

    it('creates no workspace', () => {
      assert.equal(m.module('logAnalytics').condition, false);
      const workspaces = [...resourcesOf(template).values()].filter(
        (r) =>
          typeof r.type === 'string' && r.type.toLowerCase() === 'microsoft.operationalinsights/workspaces',
      );
      assert.deepEqual(workspaces, [], 'main.bicep creates a workspace itself');
    });

    it("puts the tables and the DCR into the workspace's subscription and resource group, the DCR in its region", () => {
      const ingestion = m.module('ingestion');
      assert.equal(ingestion.condition, true);
      assert.equal(ingestion.subscriptionId, '22222222-2222-2222-2222-222222222222');
      assert.equal(ingestion.resourceGroup, 'rg-soc');
      assert.equal(ingestion.param('workspaceName'), 'log-soc');
      assert.equal(ingestion.param('location'), 'northeurope', 'a DCR must be in its workspace region');
    });

    it('points Application Insights, workbooks, alerts and diagnostics at it', () => {
      for (const name of ['appInsights', 'workbooks', 'alerts', 'diagnostics']) {
        assert.equal(
          asText(m.module(name).param('workspaceId')).toLowerCase(),
          existingId.toLowerCase(),
          name,
        );
      }
    });

    it("sends the DCR's ingestion errors from the workspace's resource group, Sentinel rules there too", () => {
      assert.equal(m.module('diagnostics').param('dcrName'), '', 'the DCR is not in rg-<env>');
      const dcr = m.module('dcrDiagnostics');
      assert.equal(dcr.condition, true);
      assert.equal(dcr.resourceGroup, 'rg-soc');
      assert.equal(dcr.param('dcrName'), 'dcr-cim');
      const analytics = m.module('analytics');
      assert.equal(analytics.condition, true);
      assert.equal(analytics.resourceGroup, 'rg-soc');
      assert.equal(analytics.param('workspaceName'), 'log-soc');
    });

    it('deploys nothing else outside rg-<env>', () => {
      const outside = [...resourcesOf(template).values()]
        .filter((r) => r.type === 'Microsoft.Resources/deployments')
        .map((r) => asText(m.evaluator.value(r.name)))
        .filter((name) => m.module(name).condition && m.module(name).resourceGroup !== 'rg-secmon');
      assert.deepEqual(outside.sort(), ['analytics', 'dcrDiagnostics', 'ingestion', 'sentinel-workbooks']);
    });

    it("puts copies of the workbooks in Sentinel's gallery: workspace resource group, category sentinel", () => {
      const gallery = m.module('sentinel-workbooks');
      assert.equal(gallery.condition, true);
      assert.equal(gallery.resourceGroup, 'rg-soc');
      assert.equal(gallery.param('category'), 'sentinel');
      assert.ok(asText(gallery.param('nameSeed')).length > 0, 'named per environment');
    });

    it('outputs the workspace for the hooks and the app', () => {
      const e = m.evaluator;
      assert.equal(
        asText(output(template, e, 'AZURE_LOG_ANALYTICS_WORKSPACE_ID')).toLowerCase(),
        existingId.toLowerCase(),
      );
      assert.equal(output(template, e, 'AZURE_LOG_ANALYTICS_WORKSPACE_NAME'), 'log-soc');
      assert.equal(output(template, e, 'AZURE_LOG_ANALYTICS_WORKSPACE_CUSTOMER_ID'), 'soc-customer-id');
      assert.equal(output(template, e, 'AZURE_LOG_ANALYTICS_WORKSPACE_RESOURCE_GROUP'), 'rg-soc');
      assert.equal(output(template, e, 'AZURE_DATA_COLLECTION_RULE_NAME'), 'dcr-cim');
    });
  });

  describe('NAME_SUFFIX: new Key Vault and app registration names after azd down', () => {
    const names = (suffix: string) => {
      const m = modules(template, scenario({ nameSuffix: suffix }, false));
      return {
        vault: asText(m.module('keyVault').param('name')),
        app: asText(m.module('entra').param('appUniqueName')),
      };
    };

    it('empty: the original names (an environment never torn down keeps its vault)', () => {
      assert.deepEqual(names(''), { vault: `kv-${token}`, app: `crosscloud-identity-monitor-aws-${token}` });
    });

    it('set: both names change, and the vault name stays a valid one (3-24 characters)', () => {
      const { vault, app } = names('a1b2c3');
      assert.equal(vault, `kv-${token}-a1b2c3`);
      assert.ok(vault.length <= 24, vault);
      assert.match(vault, /^[a-zA-Z][a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$/);
      assert.equal(app, `crosscloud-identity-monitor-aws-${token}-a1b2c3`);
      assert.equal((template.parameters?.nameSuffix as { maxLength?: number }).maxLength, 6);
    });
  });

  describe('Entra: the app registration and the Graph grants are separate switches', () => {
    const entra = (deployEntraApp: boolean, grantGraphRolesInTemplate: boolean) => {
      const m = modules(
        template,
        scenario(
          { deployEntraApp, grantGraphRolesInTemplate, awsFederationAudience: 'api://t/by-admin' },
          false,
        ),
      );
      return { m, module: m.module('entra') };
    };

    it('by default (what a member may do): the app, no grants in the template', () => {
      const { m, module } = entra(true, false);
      assert.equal(module.condition, true);
      assert.equal(module.param('deployApp'), true);
      assert.equal(module.param('grantGraphRoles'), false);
      assert.equal(output(template, m.evaluator, 'AWS_FEDERATION_AUDIENCE'), 'api://t/app');
      assert.equal(output(template, m.evaluator, 'AWS_FEDERATION_APP_ID'), 'app-id');
      assert.equal(output(template, m.evaluator, 'AWS_FEDERATION_APP_OBJECT_ID'), 'app-object');
    });

    it('no app allowed: no Graph module at all, the audience an administrator made is used', () => {
      const { m, module } = entra(false, false);
      assert.equal(module.condition, false);
      assert.equal(output(template, m.evaluator, 'AWS_FEDERATION_AUDIENCE'), 'api://t/by-admin');
      assert.equal(output(template, m.evaluator, 'AWS_FEDERATION_APP_ID'), '');
    });

    it('ENTRA_TENANTS: the multi-tenant app, its client ID in the app settings, the list in Key Vault', () => {
      const tenants = '11111111-2222-4333-8444-555555555555=Contoso';
      const m = modules(template, scenario({ deployEntraApp: false, entraTenants: tenants }, false));
      assert.equal(m.module('entra').condition, true, 'the Graph module, though no AWS app is made');
      assert.equal(m.module('entra').param('deployMultiTenantApp'), true);
      assert.equal(m.module('entra').param('deployApp'), false);
      assert.equal(m.module('functionApp').param('entraMultiTenantAppId'), 'tenants-app-id');
      assert.equal(m.module('keyVault').param('entraTenants'), tenants);
      assert.equal(output(template, m.evaluator, 'ENTRA_MULTITENANT_APP_ID'), 'tenants-app-id');
      assert.match(
        asText(output(template, m.evaluator, 'ENTRA_ADMIN_CONSENT_URL')),
        /<tenant>\/adminconsent\?client_id=tenants-app-id$/,
      );
      // Without it: no multi-tenant app, no setting.
      const none = modules(template, scenario({}, false));
      assert.equal(none.module('entra').param('deployMultiTenantApp'), false);
      assert.equal(none.module('functionApp').param('entraMultiTenantAppId'), '');
    });

    it('grants in the template only when asked for', () => {
      const { module } = entra(false, true);
      assert.equal(module.condition, true);
      assert.equal(module.param('deployApp'), false);
      assert.equal(module.param('grantGraphRoles'), true);
    });
  });
});

describe('deployment: modules/entra.bicep declares the grants conditionally', () => {
  const entra = readFileSync(join(infra, 'modules', 'entra.bicep'), 'utf8');
  it('the app and its service principal depend on deployApp, the grants on grantGraphRoles (default false)', () => {
    assert.match(entra, /^param deployApp bool = true$/m);
    assert.match(entra, /^param grantGraphRoles bool = false$/m);
    assert.match(entra, /'Microsoft\.Graph\/applications@v1\.0' = if \(deployApp\)/);
    assert.match(entra, /'Microsoft\.Graph\/servicePrincipals@v1\.0' = if \(deployApp\)/);
    assert.match(entra, /for role in items\(graphAppRoles\): if \(grantGraphRoles\)/);
    // The reason is written where the next reader looks.
    assert.match(entra, /msgraph-bicep-types issue #193/);
  });
});

// --- the hooks ------------------------------------------------------------------------------------

const pwshPath = (() => {
  const local = join(repoRoot, '.local', 'tools', 'pwsh', 'pwsh');
  if (existsSync(local)) return local;
  const found = spawnSync('sh', ['-c', 'command -v pwsh'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
})();

type Shell = 'sh' | 'pwsh';
const shells: Shell[] = pwshPath === undefined ? ['sh'] : ['sh', 'pwsh'];

function script(shell: Shell, base: string): string {
  return shell === 'sh' ? `${base}.sh` : `${base}.ps1`;
}

function run(
  shell: Shell,
  file: string,
  cli: FakeCli,
  variables: Record<string, string>,
  args: string[] = [],
): SpawnSyncReturns<string> {
  const env = cli.env(variables);
  if (shell === 'pwsh') {
    // The .NET host of a tool-installed PowerShell.
    const dotnet = spawnSync('sh', ['-c', 'command -v dotnet'], { encoding: 'utf8' }).stdout.trim();
    if (dotnet) env.PATH = `${env.PATH}${delimiter}${dirname(dotnet)}`;
    if (process.env.DOTNET_ROOT) env.DOTNET_ROOT = process.env.DOTNET_ROOT;
    env.POWERSHELL_TELEMETRY_OPTOUT = '1';
    env.POWERSHELL_UPDATECHECK = 'Off';
    env.DOTNET_CLI_TELEMETRY_OPTOUT = '1';
    // postprovision-entra.ps1 runs `pwsh …` itself.
    env.PATH = `${dirname(pwshPath ?? '')}${delimiter}${env.PATH}`;
  }
  const command = shell === 'sh' ? 'sh' : (pwshPath ?? 'pwsh');
  const commandArgs =
    shell === 'sh' ? [file, ...args] : ['-NoProfile', '-NonInteractive', '-File', file, ...args];
  return spawnSync(command, commandArgs, { cwd: repoRoot, encoding: 'utf8', env, timeout: 120_000 });
}

const graph = 'https://graph\\.microsoft\\.com/v1\\.0';
const roleIds = {
  globalAdmin: '62e90394-69f5-4237-9190-012177145e10',
  privilegedRoleAdmin: 'e8611ab8-c189-46e8-94e1-60213ab1f814',
  applicationDeveloper: 'cf1c38e5-3621-4004-a7cb-879624dced7c',
  securityReader: '5d6b6bb7-de71-4623-b4af-96380a352509',
};

/** A signed-in user with these directory roles, in a tenant that does (not) let users register apps. */
function user(options: {
  roles?: string[];
  usersMayRegisterApps?: boolean;
  userType?: string;
}): FakeScenario {
  return {
    azdVersion: 'azd version 1.31.2 (commit 0123456789abcdef)',
    az: [
      { match: '^account show --query user\\.type', stdout: 'user\n' },
      {
        match: '^ad signed-in-user show',
        stdout: `aaaaaaaa-0000-0000-0000-000000000001\n${options.userType ?? 'Member'}\nalice@contoso.example\n`,
      },
      {
        match: `^rest --method get --url ${graph}/me/transitiveMemberOf/microsoft\\.graph\\.directoryRole`,
        stdout: (options.roles ?? []).map((r) => `${r}\n`).join(''),
      },
      {
        match: `^rest --method get --url ${graph}/policies/authorizationPolicy`,
        stdout: `${options.usersMayRegisterApps === false ? 'false' : 'true'}\n`,
      },
    ],
  };
}

const hookVars = { AZURE_ENV_NAME: 'secmon' };

for (const shell of shells) {
  // PowerShell starts in ~3 s: it runs the main paths; the POSIX versions run every case.
  const every = shell === 'sh';
  const itEvery = every ? it : () => undefined;
  describe(`preprovision hook (${script(shell, 'infra/hooks/preprovision')}): what the deployer may do in Entra ID`, () => {
    const all: {
      name: string;
      scenario: FakeScenario;
      vars?: Record<string, string>;
      app: string;
      grant: string;
      graphCalls: boolean;
    }[] = [
      {
        name: 'a member, users may register apps: the app, no grants',
        scenario: user({}),
        app: 'true',
        grant: 'false',
        graphCalls: true,
      },
      {
        name: 'a Privileged Role Administrator: the app and the grants',
        scenario: user({ roles: [roleIds.privilegedRoleAdmin] }),
        app: 'true',
        grant: 'true',
        graphCalls: true,
      },
      {
        name: 'a Global Administrator where users may not register apps: both',
        scenario: user({ roles: [roleIds.globalAdmin], usersMayRegisterApps: false }),
        app: 'true',
        grant: 'true',
        graphCalls: true,
      },
      {
        name: 'a member where users may not register apps: neither',
        scenario: user({ roles: [roleIds.securityReader], usersMayRegisterApps: false }),
        app: 'false',
        grant: 'false',
        graphCalls: true,
      },
      {
        name: 'an Application Developer where users may not register apps: the app',
        scenario: user({ roles: [roleIds.applicationDeveloper], usersMayRegisterApps: false }),
        app: 'true',
        grant: 'false',
        graphCalls: true,
      },
      {
        name: 'a guest (default guest permissions): neither',
        scenario: user({ userType: 'Guest' }),
        app: 'false',
        grant: 'false',
        graphCalls: true,
      },
      {
        name: 'overrides: asked Graph nothing',
        scenario: user({}),
        vars: { DEPLOY_ENTRA_APP: 'false', GRANT_GRAPH_ROLES: 'TRUE' },
        app: 'false',
        grant: 'true',
        graphCalls: false,
      },
      {
        name: 'the old DEPLOY_ENTRA=false: neither, asked Graph nothing',
        scenario: user({ roles: [roleIds.globalAdmin] }),
        vars: { DEPLOY_ENTRA: 'false' },
        app: 'false',
        grant: 'false',
        graphCalls: false,
      },
    ];
    // PowerShell: a member, an administrator, a tenant without app registration, an override.
    const cases = every ? all : all.filter((_, index) => [0, 1, 3, 6].includes(index));
    for (const c of cases) {
      it(c.name, () => {
        const cli = new FakeCli(c.scenario);
        try {
          const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
            ...hookVars,
            ...c.vars,
          });
          assert.equal(result.status, 0, result.stdout + result.stderr);
          assert.equal(cli.envValue('CIM_CREATE_ENTRA_APP'), c.app, result.stdout);
          assert.equal(cli.envValue('CIM_GRANT_GRAPH_ROLES'), c.grant, result.stdout);
          // Into the environment azd runs (azd up -e secmon), not whichever is the default.
          for (const set of cli.envSets()) assert.equal(set.env, 'secmon');
          const askedGraph = cli.azCalls().some((call) => call.join(' ').includes('transitiveMemberOf'));
          assert.equal(askedGraph, c.graphCalls);
          if (c.grant === 'false') assert.match(result.stdout, /NOT granted|not granted/);
          if (c.app === 'false') assert.match(result.stdout, /The AWS collector needs that app registration/);
        } finally {
          cli.dispose();
        }
      });
    }

    it('an app registration made earlier by someone else: a member who does not own it leaves it as it is', () => {
      for (const [owners, expected] of [
        ['dddddddd-0000-0000-0000-000000000009\n', 'false'],
        ['dddddddd-0000-0000-0000-000000000009\naaaaaaaa-0000-0000-0000-000000000001\n', 'true'],
      ] as const) {
        const scenario = user({});
        scenario.az = [
          ...(scenario.az ?? []),
          {
            match: `^rest --method get --url ${graph}/applications\\(appId='app-guid'\\)/owners`,
            stdout: owners,
          },
        ];
        const cli = new FakeCli(scenario);
        try {
          const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
            ...hookVars,
            AWS_FEDERATION_APP_ID: 'app-guid',
            AWS_FEDERATION_AUDIENCE: 'api://t/crosscloud-identity-monitor-aws-abcdefghijklm',
          });
          assert.equal(result.status, 0, result.stdout + result.stderr);
          // Updating an app one does not own fails the deployment: only its owners (or admins) redeploy it.
          assert.equal(cli.envValue('CIM_CREATE_ENTRA_APP'), expected, result.stdout);
          if (expected === 'false') {
            assert.match(result.stdout, /kept as it is/);
            assert.doesNotMatch(result.stdout, /needs that app registration/, 'its audience is kept');
          }
        } finally {
          cli.dispose();
        }
      }
    });

    itEvery('without a signed-in Azure CLI: provisions what needs no role, says why', () => {
      const cli = new FakeCli({
        azdVersion: 'azd version 1.31.2',
        az: [{ match: '^account show', status: 1, stderr: "Please run 'az login'" }],
      });
      try {
        const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, hookVars);
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.equal(cli.envValue('CIM_CREATE_ENTRA_APP'), 'false');
        assert.equal(cli.envValue('CIM_GRANT_GRAPH_ROLES'), 'false');
        assert.match(result.stdout, /not detected: the Azure CLI is not installed or not signed in/);
      } finally {
        cli.dispose();
      }
    });

    itEvery('refuses a value that is not true, false or auto', () => {
      const cli = new FakeCli(user({}));
      try {
        const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
          ...hookVars,
          GRANT_GRAPH_ROLES: 'yes',
        });
        assert.equal(result.status, 1, result.stdout);
        assert.deepEqual(cli.envSets(), []);
      } finally {
        cli.dispose();
      }
    });
  });

  describe(`preprovision hook (${shell}): names after azd down, an existing workspace`, () => {
    const vaultGone = (vault: string): FakeScenario => ({
      ...user({}),
      az: [
        ...(user({}).az ?? []),
        { match: `^keyvault show --name ${vault}`, status: 3, stderr: 'ResourceNotFound' },
        { match: `^keyvault show-deleted --name ${vault}`, stdout: '2026-12-08T10:00:00+00:00\n' },
      ],
    });

    it("a new NAME_SUFFIX when this environment's vault is soft-deleted and the name would come back", () => {
      const cli = new FakeCli(vaultGone('kv-abcdefghijklm'));
      try {
        const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
          ...hookVars,
          AZURE_KEY_VAULT_NAME: 'kv-abcdefghijklm',
          AZURE_SUBSCRIPTION_ID: subscription,
        });
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.match(cli.envValue('NAME_SUFFIX') ?? '', /^[0-9a-f]{6}$/);
        assert.match(result.stdout, /az keyvault recover --name kv-abcdefghijklm/);
        assert.match(result.stdout, /2026-12-08/);
        // Asked in azd's subscription, not az's default one.
        const vaultCalls = cli.azCalls().filter((call) => call[0] === 'keyvault');
        assert.equal(vaultCalls.length, 2);
        for (const call of vaultCalls) assert.equal(call[call.indexOf('--subscription') + 1], subscription);
      } finally {
        cli.dispose();
      }
    });

    itEvery('no new suffix when the suffix already changed (the postdown hook did it)', () => {
      const cli = new FakeCli(vaultGone('kv-abcdefghijklm'));
      try {
        const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
          ...hookVars,
          AZURE_KEY_VAULT_NAME: 'kv-abcdefghijklm',
          NAME_SUFFIX: 'f00d42',
        });
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.equal(cli.envValue('NAME_SUFFIX'), undefined);
        assert.ok(!cli.azCalls().some((call) => call[0] === 'keyvault'), 'no need to ask');
      } finally {
        cli.dispose();
      }
    });

    itEvery('refuses a NAME_SUFFIX a Key Vault name cannot hold', () => {
      const cli = new FakeCli(user({}));
      try {
        for (const suffix of ['ABC', 'a-b', 'toolong1']) {
          const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
            ...hookVars,
            NAME_SUFFIX: suffix,
          });
          assert.equal(result.status, 1, `${suffix}: ${result.stdout}`);
        }
      } finally {
        cli.dispose();
      }
    });

    const workspace = (options: {
      sentinel: 'yes' | 'no' | 'error';
      azd?: string;
      exists?: boolean;
    }): FakeScenario => ({
      ...user({}),
      azdVersion: options.azd ?? 'azd version 1.24.0 (commit 0123)',
      az: [
        ...(user({}).az ?? []),
        options.exists === false
          ? { match: '^resource show --ids ', status: 3, stderr: 'ResourceNotFound' }
          : { match: '^resource show --ids ', stdout: 'northeurope\n' },
        options.sentinel === 'yes'
          ? { match: 'onboardingStates/default', stdout: 'default\n' }
          : options.sentinel === 'no'
            ? {
                match: 'onboardingStates/default',
                status: 3,
                stderr: "ERROR: (NotFound) Resource 'default' was not found.",
              }
            : {
                match: 'onboardingStates/default',
                status: 1,
                stderr: 'ERROR: (AuthorizationFailed) no access',
              },
      ],
    });

    it('an existing workspace with Sentinel: checked, SENTINEL_ENABLED=true', () => {
      const cli = new FakeCli(workspace({ sentinel: 'yes' }));
      try {
        const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
          ...hookVars,
          LOG_ANALYTICS_WORKSPACE_ID: existingId,
        });
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.equal(cli.envValue('SENTINEL_ENABLED'), 'true');
        assert.match(result.stdout, /Existing workspace: .*log-soc \(northeurope\)/);
        assert.match(result.stdout, /no\s+(preprovision: )?workspace is created/);
      } finally {
        cli.dispose();
      }
    });

    itEvery(
      'without Sentinel: SENTINEL_ENABLED=false; a value set by hand is kept; an unclear answer sets nothing',
      () => {
        for (const [variables, sentinel, expected] of [
          [{}, 'no', 'false'],
          [{ SENTINEL_ENABLED: 'true' }, 'no', undefined],
          [{}, 'error', undefined],
        ] as const) {
          const cli = new FakeCli(workspace({ sentinel }));
          try {
            const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
              ...hookVars,
              LOG_ANALYTICS_WORKSPACE_ID: existingId,
              ...variables,
            });
            assert.equal(result.status, 0, result.stdout + result.stderr);
            assert.equal(cli.envValue('SENTINEL_ENABLED'), expected, result.stdout);
          } finally {
            cli.dispose();
          }
        }
      },
    );

    it('stops before provisioning: not a workspace ID, a workspace that is not there, azd older than 1.24.0', () => {
      for (const [variables, scenario, message] of [
        [
          {
            LOG_ANALYTICS_WORKSPACE_ID:
              '/subscriptions/x/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/s',
          },
          workspace({ sentinel: 'yes' }),
          /must be a workspace's resource ID/,
        ],
        [
          { LOG_ANALYTICS_WORKSPACE_ID: existingId },
          workspace({ sentinel: 'yes', exists: false }),
          /names no workspace/,
        ],
        [
          { LOG_ANALYTICS_WORKSPACE_ID: existingId },
          workspace({ sentinel: 'yes', azd: 'azd version 1.23.14 (commit 1)' }),
          /too old.*\n.*every resource group/,
        ],
      ] as const) {
        const cli = new FakeCli(scenario);
        try {
          const result = run(shell, script(shell, 'infra/hooks/preprovision'), cli, {
            ...hookVars,
            ...variables,
          });
          assert.equal(result.status, 1, result.stdout + result.stderr);
          assert.match(result.stdout, message);
        } finally {
          cli.dispose();
        }
      }
    });
  });

  describe(`grant script (${script(shell, 'scripts/grant-graph-roles')})`, () => {
    const principal = 'bbbbbbbb-0000-0000-0000-000000000002';
    const graphSp = 'cccccccc-0000-0000-0000-000000000003';
    const both = 'b0afded3-3588-46d8-8b3d-9842eff778da\n7ab1d382-f21e-4acd-a863-ba3e13f7da61\n';
    const base = (rules: FakeScenario['az']): FakeScenario => ({
      az: [
        { match: '^account show', stdout: 'tenant-id\n' },
        { match: '^ad sp show --id 00000003-0000-0000-c000-000000000000', stdout: `${graphSp}\n` },
        ...(rules ?? []),
      ],
    });
    const args = (shell: Shell) =>
      shell === 'sh'
        ? ['--principal-id', principal, '--retry-delay', '0', '--max-wait-seconds', '20']
        : ['-PrincipalId', principal, '-RetryDelay', '0', '-MaxWaitSeconds', '20'];

    it('waits for a just-created identity and retries "Not a valid reference update" (issue #193) until granted', () => {
      const cli = new FakeCli(
        base([
          // Not replicated yet, twice.
          {
            match: `servicePrincipals/${principal}\\?\\$select=id`,
            times: 2,
            status: 3,
            stderr:
              "ERROR: Resource '...' does not exist or one of its queried reference-property objects are not present.",
          },
          { match: `servicePrincipals/${principal}\\?\\$select=id`, stdout: `${principal}\n` },
          { match: `servicePrincipals/${principal}/appRoleAssignments`, times: 1, stdout: '' },
          { match: `servicePrincipals/${principal}/appRoleAssignments`, stdout: both },
          {
            match: `^rest --method post --url ${graph}/servicePrincipals/${graphSp}/appRoleAssignedTo`,
            times: 1,
            status: 1,
            stderr:
              'Bad Request({"error":{"code":"Request_BadRequest","message":"Not a valid reference update."}})',
          },
          {
            match: `^rest --method post --url ${graph}/servicePrincipals/${graphSp}/appRoleAssignedTo`,
            stdout: '{}',
          },
        ]),
      );
      try {
        const result = run(shell, script(shell, 'scripts/grant-graph-roles'), cli, {}, args(shell));
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /granted AuditLog\.Read\.All/);
        assert.match(result.stdout, /granted Directory\.Read\.All/);
        assert.match(result.stdout, /done/);
        const posts = cli.azCalls().filter((call) => call.includes('post'));
        assert.equal(posts.length, 3, 'one retry after the replication error, then one per role');
        const bodies = posts.map((call) => call[call.indexOf('--body') + 1] ?? '');
        // The shell version passes the JSON inline, the PowerShell one in a file (Windows quoting).
        if (shell === 'sh') {
          assert.ok(
            bodies.every(
              (body) =>
                body.includes(`"principalId":"${principal}"`) && body.includes(`"resourceId":"${graphSp}"`),
            ),
          );
        }
      } finally {
        cli.dispose();
      }
    });

    itEvery('grants nothing twice', () => {
      const cli = new FakeCli(
        base([
          { match: `servicePrincipals/${principal}\\?\\$select=id`, stdout: `${principal}\n` },
          { match: `servicePrincipals/${principal}/appRoleAssignments`, stdout: both },
        ]),
      );
      try {
        const result = run(shell, script(shell, 'scripts/grant-graph-roles'), cli, {}, args(shell));
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.equal((result.stdout.match(/is already granted/g) ?? []).length, 2);
        assert.ok(!cli.azCalls().some((call) => call.includes('post')));
      } finally {
        cli.dispose();
      }
    });

    it('a deployer who may not grant: fails at once, naming the role it takes', () => {
      const cli = new FakeCli(
        base([
          { match: `servicePrincipals/${principal}\\?\\$select=id`, stdout: `${principal}\n` },
          { match: `servicePrincipals/${principal}/appRoleAssignments`, stdout: '' },
          {
            match: 'appRoleAssignedTo',
            status: 1,
            stderr:
              'Forbidden({"error":{"code":"Authorization_RequestDenied","message":"Insufficient privileges to complete the operation."}})',
          },
        ]),
      );
      try {
        const result = run(shell, script(shell, 'scripts/grant-graph-roles'), cli, {}, args(shell));
        assert.equal(result.status, 1);
        assert.match(result.stderr, /Privileged Role Administrator or Global Administrator/);
        assert.equal(cli.azCalls().filter((call) => call.includes('post')).length, 1, 'no retries');
      } finally {
        cli.dispose();
      }
    });

    it('--create-app: upserts the app by uniqueName (v1 tokens) with its service principal, prints the audience', () => {
      const cli = new FakeCli(
        base([
          {
            match:
              "^rest --method patch --url https://graph\\.microsoft\\.com/v1\\.0/applications\\(uniqueName='cim-aws-test'\\)",
            stdout: '',
          },
          {
            match:
              "^rest --method get --url https://graph\\.microsoft\\.com/v1\\.0/applications\\(uniqueName='cim-aws-test'\\)",
            stdout: 'app-guid\n',
          },
          { match: '^ad sp show --id app-guid', status: 3, stderr: 'not found' },
          { match: '^ad sp create --id app-guid', stdout: '{}' },
        ]),
      );
      try {
        const createArgs =
          shell === 'sh'
            ? ['--create-app', 'cim-aws-test', '--retry-delay', '0']
            : ['-CreateApp', 'cim-aws-test', '-RetryDelay', '0'];
        const result = run(shell, script(shell, 'scripts/grant-graph-roles'), cli, {}, createArgs);
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /azd env set AWS_FEDERATION_AUDIENCE api:\/\/tenant-id\/cim-aws-test/);
        const patch = cli.azCalls().find((call) => call.includes('patch'));
        assert.ok(patch?.includes('Prefer=create-if-missing'), JSON.stringify(patch));
        if (shell === 'sh' && patch !== undefined) {
          const body = JSON.parse(patch[patch.indexOf('--body') + 1] ?? '{}') as {
            identifierUris: string[];
            api: { requestedAccessTokenVersion: number };
          };
          assert.deepEqual(body.identifierUris, ['api://tenant-id/cim-aws-test']);
          assert.equal(body.api.requestedAccessTokenVersion, 1);
        }
        assert.ok(cli.azCalls().some((call) => call.join(' ') === 'ad sp create --id app-guid'));
      } finally {
        cli.dispose();
      }
    });
  });

  it(`${script(shell, 'infra/hooks/postprovision')}: one admin-consent link per customer tenant, and the alert warning`, () => {
    const cli = new FakeCli({});
    try {
      const result = run(shell, script(shell, 'infra/hooks/postprovision'), cli, {
        AZURE_MANAGED_IDENTITY_PRINCIPAL_ID: 'bbbbbbbb-0000-0000-0000-000000000002',
        CIM_GRANT_GRAPH_ROLES: 'false',
        ENTRA_TENANTS:
          '11111111-2222-4333-8444-555555555555=Contoso Ltd, 66666666-7777-4888-9999-aaaaaaaaaaaa',
        ENTRA_ADMIN_CONSENT_URL: 'https://login.microsoftonline.com/<tenant>/adminconsent?client_id=app-guid',
        ALERT_RECEIVERS_WARNING: 'no alert receivers: set ALERT_EMAIL or ALERT_ACTION_GROUP_ID',
      });
      assert.equal(result.status, 0, result.stdout + result.stderr);
      const links = result.stdout.match(
        /https:\/\/login\.microsoftonline\.com\/\S+\/adminconsent\?client_id=app-guid/g,
      );
      assert.deepEqual(links, [
        'https://login.microsoftonline.com/11111111-2222-4333-8444-555555555555/adminconsent?client_id=app-guid',
        'https://login.microsoftonline.com/66666666-7777-4888-9999-aaaaaaaaaaaa/adminconsent?client_id=app-guid',
      ]);
      assert.match(result.stdout, /Alerts: no alert receivers/);
    } finally {
      cli.dispose();
    }
  });

  describe(`postprovision Entra step (${script(shell, 'infra/hooks/postprovision-entra')})`, () => {
    const principal = 'bbbbbbbb-0000-0000-0000-000000000002';

    it('not an administrator: grants nothing, prints the exact commands for one, and how to get the app', () => {
      const cli = new FakeCli({});
      try {
        const result = run(shell, script(shell, 'infra/hooks/postprovision-entra'), cli, {
          AZURE_MANAGED_IDENTITY_PRINCIPAL_ID: principal,
          CIM_GRANT_GRAPH_ROLES: 'false',
          AZURE_ENV_NAME: 'secmon',
          NAME_SUFFIX: 'a1b2c3',
        });
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.equal(result.stderr, '');
        assert.deepEqual(cli.azCalls(), [], 'prints only');
        assert.ok(
          result.stdout.includes(`sh scripts/grant-graph-roles.sh --principal-id ${principal}`),
          result.stdout,
        );
        assert.ok(
          result.stdout.includes(`pwsh scripts/grant-graph-roles.ps1 -PrincipalId ${principal}`),
          result.stdout,
        );
        assert.match(result.stdout, /Privileged Role Administrator or Global Administrator/);
        assert.match(
          result.stdout,
          /b0afded3-3588-46d8-8b3d-9842eff778da 7ab1d382-f21e-4acd-a863-ba3e13f7da61|'b0afded3-3588-46d8-8b3d-9842eff778da', '7ab1d382-f21e-4acd-a863-ba3e13f7da61'/,
        );
        // No audience yet: the app registration an administrator creates, named for this environment.
        assert.match(
          result.stdout,
          /grant-graph-roles\.(sh --create-app|ps1 -CreateApp) crosscloud-identity-monitor-aws-secmon-a1b2c3/,
        );
        assert.match(
          result.stdout,
          /azd env set AWS_FEDERATION_AUDIENCE api:\/\/<tenant-id>\/crosscloud-identity-monitor-aws-secmon-a1b2c3/,
        );
      } finally {
        cli.dispose();
      }
    });

    it('an administrator: grants them now (with the retrying script) and says so', () => {
      const graphSp = 'cccccccc-0000-0000-0000-000000000003';
      const cli = new FakeCli({
        az: [
          { match: '^account show', stdout: 'tenant-id\n' },
          { match: '^ad sp show --id 00000003', stdout: `${graphSp}\n` },
          { match: `servicePrincipals/${principal}\\?\\$select=id`, stdout: `${principal}\n` },
          { match: `servicePrincipals/${principal}/appRoleAssignments`, times: 1, stdout: '' },
          {
            match: `servicePrincipals/${principal}/appRoleAssignments`,
            stdout: 'b0afded3-3588-46d8-8b3d-9842eff778da\n7ab1d382-f21e-4acd-a863-ba3e13f7da61\n',
          },
          { match: 'appRoleAssignedTo', stdout: '{}' },
        ],
      });
      try {
        const result = run(shell, script(shell, 'infra/hooks/postprovision-entra'), cli, {
          AZURE_MANAGED_IDENTITY_PRINCIPAL_ID: principal,
          CIM_GRANT_GRAPH_ROLES: 'true',
          AWS_FEDERATION_AUDIENCE: 'api://t/app',
        });
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.match(result.stdout, /Granted\./);
        assert.equal(cli.azCalls().filter((call) => call.includes('post')).length, 2);
        assert.doesNotMatch(result.stdout, /create-app|CreateApp/, 'the app exists');
      } finally {
        cli.dispose();
      }
    });
  });

  describe(`predown and postdown hooks (${shell})`, () => {
    it('predown stops azd down before 1.24.0 when the workspace is not ours, lets it go otherwise', () => {
      for (const [version, variables, status] of [
        ['azd version 1.23.9 (commit 1)', { LOG_ANALYTICS_WORKSPACE_ID: existingId }, 1],
        ['azd version 1.24.0 (commit 1)', { LOG_ANALYTICS_WORKSPACE_ID: existingId }, 0],
        ['azd version 1.2.0 (commit 1)', {}, 0],
      ] as const) {
        const cli = new FakeCli({ azdVersion: version });
        try {
          const result = run(shell, script(shell, 'infra/hooks/predown'), cli, variables);
          assert.equal(result.status, status, `${version}: ${result.stdout}${result.stderr}`);
          if (status === 1) assert.match(result.stdout, /STOPPED.*\n.*rg-soc|pull\/7698/);
        } finally {
          cli.dispose();
        }
      }
    });

    it('postdown deletes the app registration this environment made, clears its audience, picks new names', () => {
      const cli = new FakeCli({
        az: [
          { match: '^account show', stdout: 'sub\n' },
          {
            match: '^ad app show --id app-guid --query uniqueName',
            stdout: 'crosscloud-identity-monitor-aws-abcdefghijklm\n',
          },
          { match: '^ad app delete --id app-guid', stdout: '' },
          {
            match:
              '^rest --method delete --url https://graph\\.microsoft\\.com/v1\\.0/directory/deletedItems/app-object',
            status: 1,
            stderr: 'Forbidden',
          },
        ],
      });
      try {
        const result = run(shell, script(shell, 'infra/hooks/postdown'), cli, {
          AZURE_ENV_NAME: 'secmon',
          AWS_FEDERATION_APP_ID: 'app-guid',
          AWS_FEDERATION_APP_OBJECT_ID: 'app-object',
          AWS_FEDERATION_AUDIENCE: 'api://t/crosscloud-identity-monitor-aws-abcdefghijklm',
          AZURE_KEY_VAULT_NAME: 'kv-abcdefghijklm',
          NAME_SUFFIX: '',
        });
        assert.equal(result.status, 0, result.stdout + result.stderr);
        assert.ok(cli.azCalls().some((call) => call.join(' ') === 'ad app delete --id app-guid'));
        assert.match(result.stdout, /deleted items for 30 days/);
        assert.equal(cli.envValue('AWS_FEDERATION_APP_ID'), '');
        assert.equal(cli.envValue('AWS_FEDERATION_AUDIENCE'), '');
        assert.match(cli.envValue('NAME_SUFFIX') ?? '', /^[0-9a-f]{6}$/);
        assert.match(result.stdout, /az keyvault recover --name kv-abcdefghijklm/);
      } finally {
        cli.dispose();
      }
    });

    itEvery(
      'postdown leaves alone an app that is not this app, and lists what stays in an existing workspace',
      () => {
        const cli = new FakeCli({
          az: [
            { match: '^account show', stdout: 'sub\n' },
            { match: '^ad app show --id app-guid --query uniqueName', stdout: 'payroll-api\n' },
          ],
        });
        try {
          const result = run(shell, script(shell, 'infra/hooks/postdown'), cli, {
            AWS_FEDERATION_APP_ID: 'app-guid',
            LOG_ANALYTICS_WORKSPACE_ID: existingId,
            AZURE_DATA_COLLECTION_RULE_NAME: 'dcr-cim-abcdefghijklm',
          });
          assert.equal(result.status, 0, result.stdout + result.stderr);
          assert.ok(!cli.azCalls().some((call) => call.includes('delete')));
          assert.equal(cli.envValue('AWS_FEDERATION_AUDIENCE'), undefined);
          assert.match(
            result.stdout,
            /az monitor data-collection rule delete --resource-group rg-soc --name dcr-cim-abcdefghijklm --yes/,
          );
          const tables = readdirSync(join(infra, 'tables'))
            .filter((f) => f.endsWith('.json'))
            .map((f) => f.slice(0, -5));
          assert.ok(tables.length >= 4);
          for (const table of tables) {
            assert.ok(result.stdout.includes(`--workspace-name log-soc --name ${table} --yes`), table);
          }
        } finally {
          cli.dispose();
        }
      },
    );
  });
}

describe('azure.yaml: the hooks exist for both shells', () => {
  const azure = parse(readFileSync(join(repoRoot, 'azure.yaml'), 'utf8')) as {
    hooks: Record<string, { posix: { shell: string; run: string }; windows: { shell: string; run: string } }>;
  };
  for (const hook of ['preprovision', 'postprovision', 'predown', 'postdown']) {
    it(hook, () => {
      const entry = azure.hooks[hook];
      assert.ok(entry !== undefined, `no ${hook} hook`);
      assert.equal(entry.posix.shell, 'sh');
      assert.equal(entry.windows.shell, 'pwsh');
      assert.equal(entry.posix.run, `./infra/hooks/${hook}.sh`);
      assert.equal(entry.windows.run, `./infra/hooks/${hook}.ps1`);
      assert.ok(existsSync(join(repoRoot, 'infra', 'hooks', `${hook}.sh`)));
      assert.ok(existsSync(join(repoRoot, 'infra', 'hooks', `${hook}.ps1`)));
    });
  }

  it('the hook scripts parse (sh -n)', () => {
    for (const file of [
      ...readdirSync(join(infra, 'hooks'))
        .filter((f) => f.endsWith('.sh'))
        .map((f) => join(infra, 'hooks', f)),
      join(repoRoot, 'scripts', 'grant-graph-roles.sh'),
    ]) {
      const check = spawnSync('sh', ['-n', file], { encoding: 'utf8' });
      assert.equal(check.status, 0, `${file}: ${check.stderr}`);
    }
  });
});
