import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { collectorIamActions, hubOrganizationActions } from '../../src/sources/aws/iamActions.js';
import { list, record, resolveConditions, strings, text } from '../support/cloudFormation.js';
import { repoRoot } from '../support/paths.js';

// The AWS side of the federation (infra/aws/collector-role.yaml) against what the code needs, and the
// azd postprovision hooks that print how to deploy it.

const templatePath = 'infra/aws/collector-role.yaml';

const templateText = readFileSync(join(repoRoot, templatePath), 'utf8');
const template = record(parse(templateText), 'the template');
const parameters = record(template.Parameters, 'Parameters');
const conditions = record(template.Conditions, 'Conditions');
const resources = record(template.Resources, 'Resources');
const outputs = record(template.Outputs, 'Outputs');

function resourcesOfType(type: string): [string, Record<string, unknown>][] {
  return Object.entries(resources)
    .map(([name, value]) => [name, record(value, `Resources.${name}`)] as [string, Record<string, unknown>])
    .filter(([, resource]) => resource.Type === type);
}

function onlyResource(type: string): [string, Record<string, unknown>] {
  const found = resourcesOfType(type);
  assert.equal(found.length, 1, `exactly one ${type}, found ${found.map(([name]) => name).join(', ')}`);
  return found[0]!;
}

const [roleName, role] = onlyResource('AWS::IAM::Role');
const roleProps = record(role.Properties, `${roleName}.Properties`);
const [providerName, provider] = onlyResource('AWS::IAM::OIDCProvider');
const providerProps = record(provider.Properties, `${providerName}.Properties`);

function pattern(parameter: string): RegExp {
  const source = text(record(parameters[parameter], parameter).AllowedPattern, `${parameter}.AllowedPattern`);
  // CloudFormation matches the whole value; the template anchors its patterns so JavaScript does too.
  assert.ok(source.startsWith('^') && source.endsWith('$'), `${parameter}'s pattern should be anchored`);
  return new RegExp(source);
}

// Values as Azure gives them, used to render the template's Fn::Sub strings.
const sample = {
  AzureTenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
  // The form infra/modules/entra.bicep gives the app registration: api://<tenant-id>/<unique name>.
  FederationAudience: 'api://72f988bf-86f1-41af-91ab-2d7cd011db47/crosscloud-identity-monitor-aws-x7q2',
  ManagedIdentityPrincipalId: '0b9b2b7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
  KeyVaultName: 'kv-cim-dev-x7q2',
  EnvName: 'dev',
};
const providerArn = `arn:aws:iam::123456789012:oidc-provider/sts.windows.net/${sample.AzureTenantId}/`;

/** Fn::Sub with the sample values; every ${Name} must be a parameter, a pseudo parameter or a given variable. */
function substitute(source: string, variables: Record<string, string>): string {
  return source.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
    if (name in variables) return variables[name]!;
    if (name in sample) return sample[name as keyof typeof sample];
    if (name === 'AWS::AccountId') return '123456789012';
    if (name === 'AWS::Partition') return 'aws';
    assert.ok(name in parameters, `\${${name}} names no parameter, pseudo parameter or variable`);
    return `<${name}>`;
  });
}

/** The trust policy, a JSON string built with Fn::Sub (condition keys name the tenant). */
function trustPolicy(): { document: Record<string, unknown>; providerVariable: unknown } {
  const sub = record(roleProps.AssumeRolePolicyDocument, 'AssumeRolePolicyDocument')['Fn::Sub'];
  const [source, variables] = list(sub, 'AssumeRolePolicyDocument Fn::Sub');
  const variableMap = record(variables, 'Fn::Sub variables');
  assert.deepEqual(Object.keys(variableMap), ['ProviderArn']);
  const rendered = substitute(text(source, 'the trust policy template'), { ProviderArn: providerArn });
  return {
    document: record(JSON.parse(rendered), 'the trust policy'),
    providerVariable: variableMap.ProviderArn,
  };
}

interface Statement {
  readonly policy: string;
  readonly sid: string;
  readonly actions: string[];
  readonly resources: unknown[];
}

/** The inline policy both modes grant, and the one organization mode adds. */
const inventoryPolicy = 'iam-access-key-inventory';
const organizationPolicy = 'organization-member-access';
const sampleMemberRoleName = 'crosscloud-identity-monitor-member';

/**
 * Every permission statement the role gets: inline policies, and no other way in. Without
 * MemberRoleName (single-account mode) or with it (organization mode, the OrganizationMode condition).
 */
function permissionStatements(organizationMode: boolean): Statement[] {
  assert.equal(roleProps.ManagedPolicyArns, undefined, 'no managed policy: every permission is listed here');
  assert.equal(roleProps.PermissionsBoundary, undefined);
  for (const type of ['AWS::IAM::ManagedPolicy', 'AWS::IAM::Policy', 'AWS::IAM::RolePolicy']) {
    assert.deepEqual(
      resourcesOfType(type),
      [],
      `the role's permissions are its inline policy, not a ${type}`,
    );
  }
  const policies = resolveConditions(list(roleProps.Policies, 'Policies'), {
    OrganizationMode: organizationMode,
  });
  const statements: Statement[] = [];
  for (const [p, value] of policies.entries()) {
    const policy = record(value, `Policies[${p}]`);
    const document = record(policy.PolicyDocument, `Policies[${p}].PolicyDocument`);
    assert.equal(document.Version, '2012-10-17');
    for (const [s, value] of list(document.Statement, 'Statement').entries()) {
      const where = `Policies[${p}].Statement[${s}]`;
      const statement = record(value, where);
      assert.equal(statement.Effect, 'Allow', `${where}.Effect`);
      for (const key of ['NotAction', 'NotResource', 'Condition', 'Principal', 'NotPrincipal']) {
        assert.equal(statement[key], undefined, `${where} has no ${key}`);
      }
      statements.push({
        policy: text(policy.PolicyName, `Policies[${p}].PolicyName`),
        sid: text(statement.Sid, `${where}.Sid`),
        actions: strings(statement.Action, `${where}.Action`),
        resources: Array.isArray(statement.Resource) ? statement.Resource : [statement.Resource],
      });
    }
  }
  return statements;
}

describe(`AWS stack (${templatePath})`, () => {
  it('is plain YAML: long-form intrinsics only, no duplicate keys', () => {
    const document = parseDocument(templateText, { strict: true, uniqueKeys: true });
    assert.deepEqual(document.errors, []);
    assert.deepEqual(document.warnings, []);
    assert.doesNotMatch(
      templateText,
      /(^|[\s[,])!(Ref|Sub|GetAtt|If|Equals|Not|And|Or|Join|Select|Split)\b/m,
    );
    assert.equal(template.AWSTemplateFormatVersion, '2010-09-09');
    const types = new Set(Object.values(resources).map((r, i) => record(r, `resource ${i}`).Type));
    assert.deepEqual([...types].sort(), ['AWS::IAM::OIDCProvider', 'AWS::IAM::Role']);
  });

  describe('permissions', () => {
    const modes = { 'single-account mode': false, 'organization mode': true };
    for (const [mode, organizationMode] of Object.entries(modes)) {
      const statements = permissionStatements(organizationMode);
      const granted = statements.flatMap((s) => s.actions);
      const expected = organizationMode
        ? [...collectorIamActions, ...hubOrganizationActions]
        : [...collectorIamActions];

      it(`${mode}: grant exactly ${organizationMode ? 'collectorIamActions ∪ hubOrganizationActions' : 'collectorIamActions'}: no more, no fewer`, () => {
        assert.deepEqual([...new Set(granted)].sort(), [...new Set(expected)].sort());
      });

      it(`${mode}: name every action once, without wildcards`, () => {
        assert.equal(
          new Set(granted).size,
          granted.length,
          `an action is granted twice: ${granted.join(', ')}`,
        );
        for (const action of granted)
          assert.match(action, /^(iam|organizations|sts):[A-Za-z]+$/, `${action} is not one exact action`);
      });

      it(`${mode}: narrow the per-user reads to users of this account; * only where IAM has no resource type`, () => {
        const userScoped = new Set([
          'iam:ListAccessKeys',
          'iam:GetAccessKeyLastUsed',
          'iam:ListMFADevices',
          'iam:GetLoginProfile',
          'iam:ListUserTags',
        ]);
        const users = { 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*' };
        const inventory = statements.filter((s) => s.policy === inventoryPolicy);
        assert.deepEqual(
          [...new Set(inventory.flatMap((s) => s.actions))].sort(),
          [...collectorIamActions].sort(),
          `${inventoryPolicy} holds the IAM reads`,
        );
        for (const statement of inventory) {
          const scoped = statement.actions.filter((a) => userScoped.has(a));
          assert.ok(
            scoped.length === 0 || scoped.length === statement.actions.length,
            `${statement.sid} mixes user-scoped and account-level actions`,
          );
          assert.deepEqual(statement.resources, scoped.length > 0 ? [users] : ['*'], statement.sid);
        }
      });
    }

    describe('organization mode (MemberRoleName set)', () => {
      it('is the OrganizationMode condition: MemberRoleName not empty, empty by default', () => {
        assert.deepEqual(conditions.OrganizationMode, {
          'Fn::Not': [{ 'Fn::Equals': [{ Ref: 'MemberRoleName' }, ''] }],
        });
        assert.equal(record(parameters.MemberRoleName, 'MemberRoleName').Default, '');
      });

      it(`adds only ${organizationPolicy}, and only under OrganizationMode`, () => {
        const policies = list(roleProps.Policies, 'Policies');
        assert.equal(policies.length, 2);
        assert.equal(record(policies[0], 'Policies[0]').PolicyName, inventoryPolicy);
        const conditional = list(record(policies[1], 'Policies[1]')['Fn::If'], 'Policies[1].Fn::If');
        assert.equal(conditional[0], 'OrganizationMode');
        assert.equal(record(conditional[1], 'Policies[1] when true').PolicyName, organizationPolicy);
        assert.deepEqual(conditional[2], { Ref: 'AWS::NoValue' });
        const single = permissionStatements(false);
        assert.deepEqual(
          single.filter((s) => s.policy !== inventoryPolicy),
          [],
          'single-account mode grants nothing else',
        );
        // The IAM reads are the same in both modes.
        assert.deepEqual(
          permissionStatements(true).filter((s) => s.policy === inventoryPolicy),
          single,
        );
      });

      it('grants exactly hubOrganizationActions: ListAccounts on *, AssumeRole on the member role name only', () => {
        const added = permissionStatements(true).filter((s) => s.policy === organizationPolicy);
        assert.deepEqual(added.flatMap((s) => s.actions).sort(), [...hubOrganizationActions].sort());
        const byAction = new Map(added.flatMap((s) => s.actions.map((a) => [a, s] as const)));
        assert.deepEqual(byAction.get('organizations:ListAccounts')?.actions, ['organizations:ListAccounts']);
        assert.deepEqual(byAction.get('organizations:ListAccounts')?.resources, ['*']);
        const assume = byAction.get('sts:AssumeRole');
        assert.deepEqual(assume?.actions, ['sts:AssumeRole'], 'AssumeRole has a statement of its own');
        assert.deepEqual(assume.resources, [
          { 'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/${MemberRoleName}' },
        ]);
        const rendered = substitute(
          text(record(assume.resources[0], 'AssumeRole Resource')['Fn::Sub'], 'Fn::Sub'),
          { MemberRoleName: sampleMemberRoleName },
        );
        assert.equal(rendered, `arn:aws:iam::*:role/${sampleMemberRoleName}`);
      });

      it('AssumeRole covers the ARN the collector builds for each member account, and no other role', () => {
        const collector = readFileSync(join(repoRoot, 'src/sources/aws/accessKeysCollector.ts'), 'utf8');
        assert.match(
          collector,
          /RoleArn: `arn:\$\{options\.partition \?\? 'aws'\}:iam::\$\{account\.id\}:role\/\$\{(?:organization\.)?memberRoleName\}`/,
          'the collector assumes arn:<partition>:iam::<account>:role/<member-role-name> (no path)',
        );
        // IAM matches the Resource with * as any run of characters; the rest is literal.
        const granted = `arn:aws:iam::*:role/${sampleMemberRoleName}`;
        const allowed = new RegExp(
          `^${granted
            .split('*')
            .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
            .join('.*')}$`,
        );
        assert.match(`arn:aws:iam::111122223333:role/${sampleMemberRoleName}`, allowed);
        assert.doesNotMatch(`arn:aws:iam::111122223333:role/${sampleMemberRoleName}-admin`, allowed);
        assert.doesNotMatch('arn:aws:iam::111122223333:role/OrganizationAccountAccessRole', allowed);
      });

      it('the collector calls no Organizations API but ListAccounts', () => {
        for (const file of ['organization.ts', 'accessKeysCollector.ts']) {
          const source = readFileSync(join(repoRoot, 'src/sources/aws', file), 'utf8');
          for (const match of source.matchAll(
            /import\s*\{([^}]*)\}\s*from\s*'@aws-sdk\/client-organizations'/g,
          )) {
            const names = match[1]!.split(',').map((n) => n.replace(/^\s*type\s+/, '').trim());
            const operations = names.filter((n) => /Command$|^paginate/.test(n));
            for (const operation of operations)
              assert.ok(
                ['ListAccountsCommand', 'paginateListAccounts'].includes(operation),
                `${file} calls ${operation}: add its action to hubOrganizationActions and the template`,
              );
          }
        }
      });
    });
  });

  describe('trust', () => {
    const { document, providerVariable } = trustPolicy();
    const statements = list(document.Statement, 'trust Statement');
    const statement = record(statements[0], 'trust Statement[0]');
    const tenantKey = `sts.windows.net/${sample.AzureTenantId}/`;

    it('is one statement: AssumeRoleWithWebIdentity from the Entra OIDC provider', () => {
      assert.equal(document.Version, '2012-10-17');
      assert.equal(statements.length, 1);
      assert.equal(statement.Effect, 'Allow');
      assert.deepEqual(strings(statement.Action, 'trust Action'), ['sts:AssumeRoleWithWebIdentity']);
      assert.deepEqual(statement.Principal, { Federated: providerArn });
      assert.equal(statement.NotAction, undefined);
      assert.equal(statement.NotPrincipal, undefined);
    });

    it('trusts the provider this stack creates, or the one named when it exists already', () => {
      assert.deepEqual(providerVariable, {
        'Fn::If': ['CreateProvider', { Ref: providerName }, { Ref: 'ExistingOidcProviderArn' }],
      });
      assert.equal(provider.Condition, 'CreateProvider');
      assert.deepEqual(conditions.CreateProvider, { 'Fn::Equals': [{ Ref: 'CreateOidcProvider' }, 'true'] });
      const create = record(parameters.CreateOidcProvider, 'CreateOidcProvider');
      assert.deepEqual(create.AllowedValues, ['true', 'false']);
      assert.equal(create.Default, 'true');
    });

    it('pins both aud and sub with StringEquals, and nothing looser', () => {
      const condition = record(statement.Condition, 'trust Condition');
      assert.deepEqual(Object.keys(condition), ['StringEquals'], 'no StringLike or other operator');
      assert.deepEqual(condition.StringEquals, {
        [`${tenantKey}:aud`]: sample.FederationAudience,
        [`${tenantKey}:sub`]: sample.ManagedIdentityPrincipalId,
      });
    });

    it('caps sessions at one hour, what the code asks for', () => {
      const max = roleProps.MaxSessionDuration;
      assert.equal(typeof max, 'number');
      assert.ok((max as number) <= 3600, `MaxSessionDuration ${String(max)}`);
      const federation = readFileSync(join(repoRoot, 'src/sources/aws/federation.ts'), 'utf8');
      const requested = /DurationSeconds: options\.durationSeconds \?\? (\d+)/.exec(federation);
      assert.ok(requested, 'federation.ts requests a default DurationSeconds');
      assert.ok(Number(requested[1]) <= (max as number), 'the code asks for no more than the role allows');
    });
  });

  describe('OIDC provider', () => {
    it('is https://sts.windows.net/<tenant>/ with the audience as its only client ID', () => {
      assert.deepEqual(providerProps.Url, { 'Fn::Sub': 'https://sts.windows.net/${AzureTenantId}/' });
      assert.equal(
        substitute(text(record(providerProps.Url, 'Url')['Fn::Sub'], 'Url'), {}),
        `https://sts.windows.net/${sample.AzureTenantId}/`,
      );
      assert.deepEqual(providerProps.ClientIdList, [{ Ref: 'FederationAudience' }]);
    });

    it('takes a thumbprint only when one is given', () => {
      assert.deepEqual(providerProps.ThumbprintList, {
        'Fn::If': ['HasThumbprint', [{ Ref: 'OidcProviderThumbprint' }], { Ref: 'AWS::NoValue' }],
      });
    });
  });

  it('outputs the role ARN and the provider ARN', () => {
    assert.deepEqual(record(outputs.CollectorRoleArn, 'CollectorRoleArn').Value, {
      'Fn::GetAtt': [roleName, 'Arn'],
    });
    assert.deepEqual(record(outputs.OidcProviderArn, 'OidcProviderArn').Value, {
      'Fn::If': ['CreateProvider', { Ref: providerName }, { Ref: 'ExistingOidcProviderArn' }],
    });
  });

  describe('parameters', () => {
    const guid = ['72f988bf-86f1-41af-91ab-2d7cd011db47', '00000000-0000-0000-0000-000000000000'];
    const notGuid = [
      '',
      'x',
      '72F988BF-86F1-41AF-91AB-2D7CD011DB47', // tokens carry lower case: this would never match
      '{72f988bf-86f1-41af-91ab-2d7cd011db47}',
      '72f988bf86f141af91ab2d7cd011db47',
      ' 72f988bf-86f1-41af-91ab-2d7cd011db47',
      '72f988bf-86f1-41af-91ab-2d7cd011db47\n',
      '72f988bf-86f1-41af-91ab-2d7cd011db4"',
    ];
    const cases: Record<string, { good: string[]; bad: string[] }> = {
      AzureTenantId: { good: guid, bad: notGuid },
      ManagedIdentityPrincipalId: { good: guid, bad: notGuid },
      FederationAudience: {
        good: [
          'api://crosscloud-identity-monitor-aws',
          'api://0b9b2b7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
          'api://72f988bf-86f1-41af-91ab-2d7cd011db47/aws-federation',
        ],
        bad: [
          '',
          'api://',
          'api://x/',
          'https://contoso.com/aws',
          'crosscloud-identity-monitor-aws',
          'api://has space',
          'api://x", "sts:AssumeRole": "*', // interpolated into the JSON trust policy
          'api://x\\',
        ],
      },
      RoleName: {
        good: ['crosscloud-identity-monitor-collector', 'cim-collector-dev', 'a'.repeat(64)],
        bad: ['', 'a'.repeat(65), 'has space', 'path/name'],
      },
      MemberRoleName: {
        good: ['', sampleMemberRoleName, 'cim-member-dev', 'a'.repeat(64)],
        bad: ['a'.repeat(65), 'has space', 'path/name', '*', 'cim-*', 'x"'],
      },
      ExistingOidcProviderArn: {
        good: ['', providerArn, providerArn.replace(/\/$/, ''), providerArn.replace(':aws:', ':aws-us-gov:')],
        bad: [
          'arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com',
          'arn:aws:iam::12345:oidc-provider/sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47/',
          `${providerArn}"`,
        ],
      },
      OidcProviderThumbprint: {
        good: ['', 'a'.repeat(40), 'A0'.repeat(20)],
        bad: ['a'.repeat(39), 'g'.repeat(40)],
      },
    };

    for (const [name, { good, bad }] of Object.entries(cases)) {
      it(`${name} accepts good values and rejects bad ones`, () => {
        const regex = pattern(name);
        for (const value of good)
          assert.match(value, regex, `${name} should accept ${JSON.stringify(value)}`);
        for (const value of bad)
          assert.doesNotMatch(value, regex, `${name} should reject ${JSON.stringify(value)}`);
        const fallback = record(parameters[name], name).Default;
        if (fallback !== undefined)
          assert.match(text(fallback, `${name}.Default`), regex, `${name}'s default`);
      });
    }

    it('every parameter has a check', () => {
      for (const [name, value] of Object.entries(parameters)) {
        const parameter = record(value, name);
        assert.ok(
          parameter.AllowedPattern ?? parameter.AllowedValues,
          `${name} has no AllowedPattern/AllowedValues`,
        );
        if (parameter.AllowedPattern) assert.ok(name in cases, `${name}'s pattern is tested`);
      }
      assert.equal(record(parameters.RoleName, 'RoleName').Default, 'crosscloud-identity-monitor-collector');
    });
  });

  it('passes cfn-lint (when installed)', (ctx) => {
    const result = spawnSync('cfn-lint', [templatePath], { cwd: repoRoot, encoding: 'utf8' });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      ctx.skip('cfn-lint is not installed');
    }
    assert.equal(result.error, undefined);
    assert.equal(result.status, 0, `cfn-lint found problems:\n${result.stdout}${result.stderr}`);
  });
});

// ---------------------------------------------------------------------------------------------------

const hookVariables = {
  AZURE_TENANT_ID: sample.AzureTenantId,
  AWS_FEDERATION_AUDIENCE: sample.FederationAudience,
  AZURE_MANAGED_IDENTITY_PRINCIPAL_ID: sample.ManagedIdentityPrincipalId,
  AZURE_KEY_VAULT_NAME: sample.KeyVaultName,
  AZURE_ENV_NAME: sample.EnvName,
};
type HookVariable = keyof typeof hookVariables;

/** The hook with exactly these variables (and PATH): nothing leaks in from the environment running the tests. */
function runHook(
  command: string,
  args: string[],
  variables: Partial<Record<HookVariable, string>>,
  path = process.env.PATH ?? '/usr/bin:/bin',
): SpawnSyncReturns<string> {
  return spawnSync(command, args, {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { PATH: path, HOME: process.env.HOME ?? '/tmp', ...variables },
    timeout: 60_000,
  });
}

function assertPrintsSteps(output: string, values: Record<HookVariable, string>): void {
  const stack = `crosscloud-identity-monitor-${values.AZURE_ENV_NAME}`;
  const deploy =
    `aws cloudformation deploy --template-file ${templatePath} --stack-name ${stack} ` +
    `--capabilities CAPABILITY_NAMED_IAM --parameter-overrides AzureTenantId=${values.AZURE_TENANT_ID} ` +
    `FederationAudience=${values.AWS_FEDERATION_AUDIENCE} ` +
    `ManagedIdentityPrincipalId=${values.AZURE_MANAGED_IDENTITY_PRINCIPAL_ID}`;
  assert.ok(output.includes(deploy), `the deploy command is printed:\n${deploy}\nin\n${output}`);
  const describeStacks =
    `aws cloudformation describe-stacks --stack-name ${stack} ` +
    `--query "Stacks[0].Outputs[?OutputKey=='CollectorRoleArn'].OutputValue" --output text`;
  assert.ok(output.includes(describeStacks), `describe-stacks is printed:\n${output}`);
  const keyVault = `az keyvault secret set --vault-name ${values.AZURE_KEY_VAULT_NAME} --name aws-role-arn --value`;
  assert.ok(output.includes(keyVault), `the Key Vault step is printed:\n${output}`);
  assert.match(output, /azd env set AWS_ROLE_ARN /);
}

const memberTemplatePath = 'infra/aws/member-role.yaml';
const memberParameters = record(
  record(parse(readFileSync(join(repoRoot, memberTemplatePath), 'utf8')), 'the member template').Parameters,
  'member Parameters',
);

/**
 * The optional organization section, after the single-account steps: the hub stack with MemberRoleName,
 * the service-managed StackSet of the member role, and the Key Vault secrets that turn the mode on.
 * Quotes are dropped first: the PowerShell hook quotes the arguments that hold commas or < >.
 */
function assertPrintsOrganizationSteps(printed: string, values: Record<HookVariable, string>): void {
  const output = printed.replace(/'/g, '');
  const stack = `crosscloud-identity-monitor-${values.AZURE_ENV_NAME}`;
  const memberRole = text(record(memberParameters.MemberRoleName, 'MemberRoleName').Default, 'Default');
  const section = output.indexOf('For an AWS Organization');
  assert.ok(
    section > output.indexOf('--name aws-role-arn'),
    `printed after the single-account steps:\n${output}`,
  );
  const hub =
    `aws cloudformation deploy --template-file ${templatePath} --stack-name ${stack} ` +
    `--capabilities CAPABILITY_NAMED_IAM --parameter-overrides AzureTenantId=${values.AZURE_TENANT_ID} ` +
    `FederationAudience=${values.AWS_FEDERATION_AUDIENCE} ` +
    `ManagedIdentityPrincipalId=${values.AZURE_MANAGED_IDENTITY_PRINCIPAL_ID} MemberRoleName=${memberRole}`;
  assert.ok(
    output.indexOf(hub) > section,
    `the hub stack with MemberRoleName is printed:\n${hub}\nin\n${output}`,
  );
  assert.match(
    memberRole,
    pattern('MemberRoleName'),
    "the hub's MemberRoleName accepts the member role name",
  );
  const stackSet =
    `aws cloudformation create-stack-set --stack-set-name ${stack}-member ` +
    `--template-body file://${memberTemplatePath} --permission-model SERVICE_MANAGED ` +
    `--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false --capabilities CAPABILITY_NAMED_IAM ` +
    `--parameters ParameterKey=HubRoleArn,ParameterValue=<hub-role-arn> ` +
    `ParameterKey=MemberRoleName,ParameterValue=${memberRole}`;
  assert.ok(output.includes(stackSet), `create-stack-set is printed:\n${stackSet}\nin\n${output}`);
  for (const [, name] of stackSet.matchAll(/ParameterKey=(\w+),/g))
    assert.ok(name! in memberParameters, `${name} is a parameter of ${memberTemplatePath}`);
  const instances =
    `aws cloudformation create-stack-instances --stack-set-name ${stack}-member ` +
    `--deployment-targets OrganizationalUnitIds=<ou-id-or-root-id> --regions us-east-1`;
  assert.ok(output.includes(instances), `create-stack-instances is printed:\n${output}`);
  const managementAccount =
    `aws cloudformation deploy --template-file ${memberTemplatePath} --stack-name ${stack}-member ` +
    `--capabilities CAPABILITY_NAMED_IAM --parameter-overrides HubRoleArn=<hub-role-arn>`;
  assert.ok(
    output.includes(managementAccount),
    `the management account's member stack is printed:\n${output}`,
  );
  const vault = `az keyvault secret set --vault-name ${values.AZURE_KEY_VAULT_NAME}`;
  assert.ok(
    output.includes(`${vault} --name aws-member-role-name --value ${memberRole}`),
    `aws-member-role-name is printed:\n${output}`,
  );
  assert.ok(
    output.includes(`${vault} --name aws-accounts --value !<management-account-id>`),
    `aws-accounts is printed:\n${output}`,
  );
}

describe('postprovision hook (infra/hooks/postprovision.sh)', () => {
  it('prints the deploy command with every value, then how to read and store the role ARN', () => {
    const result = runHook('sh', ['infra/hooks/postprovision.sh'], hookVariables);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    assertPrintsSteps(result.stdout, hookVariables);
  });

  it('then, for an AWS Organization: the hub stack, the member role StackSet, the Key Vault secrets', () => {
    const result = runHook('sh', ['infra/hooks/postprovision.sh'], hookVariables);
    assert.equal(result.status, 0, result.stderr);
    assertPrintsOrganizationSteps(result.stdout, hookVariables);
  });

  it('passes the stack exactly its required parameters, with values its patterns accept', () => {
    const { stdout } = runHook('sh', ['infra/hooks/postprovision.sh'], hookVariables);
    const overrides = /--parameter-overrides ((?:\S+=\S+ ?)+)$/m.exec(stdout);
    assert.ok(overrides, stdout);
    const given = Object.fromEntries(
      overrides[1]!
        .trim()
        .split(' ')
        .map((pair) => pair.split('=', 2) as [string, string]),
    );
    const required = Object.entries(parameters)
      .filter(([, value]) => record(value, 'parameter').Default === undefined)
      .map(([name]) => name);
    assert.deepEqual(Object.keys(given).sort(), required.sort());
    for (const [name, value] of Object.entries(given)) assert.match(value, pattern(name), name);
  });

  it('lower-cases GUIDs and makes the environment name a valid stack name', () => {
    const result = runHook('sh', ['infra/hooks/postprovision.sh'], {
      ...hookVariables,
      AZURE_TENANT_ID: sample.AzureTenantId.toUpperCase(),
      AZURE_ENV_NAME: 'team_a.dev',
    });
    assert.equal(result.status, 0);
    assertPrintsSteps(result.stdout, { ...hookVariables, AZURE_ENV_NAME: 'team-a-dev' });
  });

  for (const missing of Object.keys(hookVariables) as HookVariable[]) {
    it(`names ${missing} when it is missing, and still exits 0`, () => {
      const variables: Partial<Record<HookVariable, string>> = { ...hookVariables };
      delete variables[missing];
      const result = runHook('sh', ['infra/hooks/postprovision.sh'], variables);
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stdout + result.stderr, new RegExp(`${missing} is not set`));
      assert.ok(result.stdout.includes(`<${missing}>`), 'a placeholder stands in for it');
      assert.match(result.stdout, /aws cloudformation deploy --template-file /);
    });
  }

  it('exits 0 even when it breaks (here: no tools on PATH)', () => {
    const result = runHook('/bin/sh', ['infra/hooks/postprovision.sh'], hookVariables, '/nonexistent');
    assert.equal(result.status, 0, result.stdout + result.stderr);
    assert.match(result.stderr, /provisioning is unaffected/);
  });

  it('prints nothing that looks like a credential', () => {
    const { stdout } = runHook('sh', ['infra/hooks/postprovision.sh'], hookVariables);
    assert.doesNotMatch(stdout, /eyJ|AKIA|ASIA|AccountKey=|sig=|SecretAccessKey/);
  });
});

describe('postprovision hook (infra/hooks/postprovision.ps1)', () => {
  const pwsh = spawnSync('pwsh', ['-NoProfile', '-Command', '$PSVersionTable.PSVersion.Major'], {
    encoding: 'utf8',
  });
  // Skipped, and reported as skipped, where PowerShell is not installed (as on these Linux machines).
  const noPwsh = pwsh.error !== undefined;

  it.skipIf(noPwsh)('prints the same steps', () => {
    const args = ['-NoProfile', '-NonInteractive', '-File', 'infra/hooks/postprovision.ps1'];
    const result = runHook('pwsh', args, hookVariables);
    assert.equal(result.status, 0, result.stderr);
    assertPrintsSteps(result.stdout, hookVariables);
    assertPrintsOrganizationSteps(result.stdout, hookVariables);
  });

  it.skipIf(noPwsh)('names a missing variable and still exits 0', () => {
    const args = ['-NoProfile', '-NonInteractive', '-File', 'infra/hooks/postprovision.ps1'];
    const variables: Partial<Record<HookVariable, string>> = { ...hookVariables };
    delete variables.AZURE_KEY_VAULT_NAME;
    const result = runHook('pwsh', args, variables);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /AZURE_KEY_VAULT_NAME is not set/);
  });
});

describe('azure.yaml', () => {
  it('runs the postprovision hooks', () => {
    const azure = record(parse(readFileSync(join(repoRoot, 'azure.yaml'), 'utf8')), 'azure.yaml');
    const postprovision = record(record(azure.hooks, 'hooks').postprovision, 'hooks.postprovision');
    const posix = record(postprovision.posix, 'hooks.postprovision.posix');
    const windows = record(postprovision.windows, 'hooks.postprovision.windows');
    const path = (value: unknown, where: string): string => text(value, where).replace(/^\.\//, '');
    assert.equal(posix.shell, 'sh');
    assert.equal(path(posix.run, 'posix.run'), 'infra/hooks/postprovision.sh');
    assert.equal(windows.shell, 'pwsh');
    assert.equal(path(windows.run, 'windows.run'), 'infra/hooks/postprovision.ps1');
  });
});
