import { SettingsReader } from '../../src/config/parse.js';
import { readAwsAccessKeysSettings } from '../../src/sources/aws/settings.js';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { parse, parseDocument } from 'yaml';
import { collectorIamActions, hubOrganizationActions } from '../../src/sources/aws/iamActions.js';
import { list, record, resolveConditions, strings, text } from '../support/cloudFormation.js';
import { repoRoot } from '../support/paths.js';

// The member role of organization mode (infra/aws/member-role.yaml), deployed by a service-managed
// StackSet to every member account, against the hub (infra/aws/collector-role.yaml) and the code.

const memberPath = 'infra/aws/member-role.yaml';
const hubPath = 'infra/aws/collector-role.yaml';

function load(path: string): { source: string; template: Record<string, unknown> } {
  const source = readFileSync(join(repoRoot, path), 'utf8');
  return { source, template: record(parse(source), path) };
}

const member = load(memberPath);
const hub = load(hubPath);
const parameters = record(member.template.Parameters, 'Parameters');
const resources = record(member.template.Resources, 'Resources');
const outputs = record(member.template.Outputs, 'Outputs');

function onlyRole(template: Record<string, unknown>, where: string): [string, Record<string, unknown>] {
  const roles = Object.entries(record(template.Resources, `${where} Resources`)).filter(
    ([, value]) => record(value, where).Type === 'AWS::IAM::Role',
  );
  assert.equal(roles.length, 1, `${where}: exactly one AWS::IAM::Role`);
  const [name, role] = roles[0]!;
  return [name, record(record(role, name).Properties, `${name}.Properties`)];
}

const [roleName, roleProps] = onlyRole(member.template, memberPath);
const [, hubProps] = onlyRole(hub.template, hubPath);

/** Policies by name, with Fn::If resolved for the hub in single-account or organization mode. */
function policies(props: Record<string, unknown>, organizationMode: boolean): Map<string, unknown> {
  const resolved = resolveConditions(list(props.Policies, 'Policies'), {
    OrganizationMode: organizationMode,
  });
  return new Map(
    resolved.map((value, i) => {
      const policy = record(value, `Policies[${i}]`);
      return [text(policy.PolicyName, `Policies[${i}].PolicyName`), policy.PolicyDocument];
    }),
  );
}

function statementsOf(document: unknown, where: string): Record<string, unknown>[] {
  const doc = record(document, where);
  assert.equal(doc.Version, '2012-10-17', `${where}.Version`);
  return list(doc.Statement, `${where}.Statement`).map((s, i) => record(s, `${where}.Statement[${i}]`));
}

function grantedActions(props: Record<string, unknown>, organizationMode: boolean): string[] {
  return [...policies(props, organizationMode)].flatMap(([name, document]) =>
    statementsOf(document, name).flatMap((s, i) => strings(s.Action, `${name}[${i}].Action`)),
  );
}

function pattern(parameter: string): RegExp {
  const source = text(record(parameters[parameter], parameter).AllowedPattern, `${parameter}.AllowedPattern`);
  assert.ok(source.startsWith('^') && source.endsWith('$'), `${parameter}'s pattern should be anchored`);
  return new RegExp(source);
}

const sampleHubRoleArn = 'arn:aws:iam::111122223333:role/crosscloud-identity-monitor-collector';

/** The settings the aws-access-keys reader finds wrong when aws-member-role-name is `value`. */
function memberRoleNameProblems(value: string): string[] {
  const read = new SettingsReader({});
  const pending = readAwsAccessKeysSettings(read, { host: 'cli', runBudgetMs: 60_000 });
  const secrets = new SettingsReader({ 'aws-member-role-name': value });
  pending.complete(secrets);
  return [...read.problems, ...secrets.problems].map((problem) => problem.setting);
}

describe(`AWS member stack (${memberPath})`, () => {
  it('is plain YAML: long-form intrinsics only, no duplicate keys, one IAM role and nothing else', () => {
    const document = parseDocument(member.source, { strict: true, uniqueKeys: true });
    assert.deepEqual(document.errors, []);
    assert.deepEqual(document.warnings, []);
    assert.doesNotMatch(
      member.source,
      /(^|[\s[,])!(Ref|Sub|GetAtt|If|Equals|Not|And|Or|Join|Select|Split|ImportValue)\b/m,
    );
    assert.equal(member.template.AWSTemplateFormatVersion, '2010-09-09');
    assert.deepEqual(
      Object.values(resources).map((r, i) => record(r, `resource ${i}`).Type),
      ['AWS::IAM::Role'],
    );
  });

  describe('StackSet-ready', () => {
    it('hard-codes no account ID, Region or organization ID anywhere in the file', () => {
      assert.doesNotMatch(member.source, /(?<![0-9])[0-9]{12}(?![0-9])/, 'a 12-digit account ID');
      assert.doesNotMatch(member.source, /\bo-[a-z0-9]{10,32}\b/, 'an organization ID');
      assert.doesNotMatch(
        JSON.stringify(member.template),
        /\b(us|eu|ap|ca|sa|me|af|il|mx)-[a-z]+-\d\b/,
        'a Region in the template itself (the comments name where to deploy)',
      );
    });

    it('takes every account-specific value as a parameter or pseudo parameter; no imports, no exports', () => {
      const body = JSON.stringify({ resources, outputs });
      assert.doesNotMatch(body, /Fn::ImportValue/);
      for (const output of Object.values(outputs)) assert.equal(record(output, 'output').Export, undefined);
      for (const [, name] of body.matchAll(/\$\{([^}!]+)\}/g)) {
        assert.ok(
          name!.startsWith('AWS::') || name! in parameters,
          `\${${name}} is neither a parameter nor a pseudo parameter`,
        );
      }
      assert.deepEqual(Object.keys(parameters).sort(), ['HubRoleArn', 'MemberRoleName']);
      assert.equal(record(parameters.HubRoleArn, 'HubRoleArn').Default, undefined, 'HubRoleArn is required');
      assert.equal(
        record(parameters.MemberRoleName, 'MemberRoleName').Default,
        'crosscloud-identity-monitor-member',
      );
    });

    it('documents the service-managed StackSet deployment and the management-account exception', () => {
      const header = member.source.slice(0, member.source.indexOf('AWSTemplateFormatVersion'));
      for (const expected of [
        'aws cloudformation create-stack-set',
        '--permission-model SERVICE_MANAGED',
        '--auto-deployment Enabled=true,RetainStacksOnAccountRemoval=false',
        '--capabilities CAPABILITY_NAMED_IAM',
        '--parameters ParameterKey=HubRoleArn,ParameterValue=<hub-role-arn>',
        'aws cloudformation create-stack-instances',
        '--deployment-targets OrganizationalUnitIds=',
        '--regions us-east-1',
        'do NOT deploy to the management account',
        "'!<management-account-id>'",
        '--name aws-member-role-name',
      ]) {
        assert.ok(header.replace(/\\\n#\s+/g, '').includes(expected), `the header says ${expected}`);
      }
    });
  });

  describe('permissions', () => {
    const granted = grantedActions(roleProps, false);

    it('grant exactly collectorIamActions: no more, no fewer, each once, no wildcard', () => {
      assert.deepEqual([...granted].sort(), [...collectorIamActions].sort());
      for (const action of granted) assert.match(action, /^iam:[A-Za-z]+$/, `${action} is one exact action`);
    });

    it("are the collector role's IAM reads, statement for statement (same Sids, actions, resources)", () => {
      assert.equal(roleProps.ManagedPolicyArns, undefined);
      assert.equal(roleProps.PermissionsBoundary, undefined);
      const own = policies(roleProps, false);
      const hubReads = policies(hubProps, false);
      assert.deepEqual([...own.keys()], ['iam-access-key-inventory']);
      assert.deepEqual(own, hubReads);
      // and in organization mode, the hub's reads stay the same
      assert.deepEqual(
        own.get('iam-access-key-inventory'),
        policies(hubProps, true).get('iam-access-key-inventory'),
      );
    });

    it('has no Deny tricks, NotAction, NotResource, Condition or Principal in the policy', () => {
      for (const [name, document] of policies(roleProps, false)) {
        for (const [i, statement] of statementsOf(document, name).entries()) {
          assert.equal(statement.Effect, 'Allow', `${name}[${i}]`);
          for (const key of ['NotAction', 'NotResource', 'Condition', 'Principal', 'NotPrincipal'])
            assert.equal(statement[key], undefined, `${name}[${i}] has no ${key}`);
        }
      }
    });
  });

  describe('trust', () => {
    const document = record(roleProps.AssumeRolePolicyDocument, 'AssumeRolePolicyDocument');
    const statements = list(document.Statement, 'trust Statement');

    it('is exactly one statement: sts:AssumeRole by the HubRoleArn parameter, nothing else', () => {
      assert.equal(document.Version, '2012-10-17');
      assert.equal(statements.length, 1);
      const statement = record(statements[0], 'trust Statement[0]');
      assert.deepEqual(Object.keys(statement).sort(), ['Action', 'Effect', 'Principal', 'Sid']);
      assert.equal(statement.Effect, 'Allow');
      assert.deepEqual(strings(statement.Action, 'trust Action'), ['sts:AssumeRole']);
      assert.deepEqual(statement.Principal, { AWS: { Ref: 'HubRoleArn' } });
    });

    it('HubRoleArn takes one role ARN: no wildcard, no account root, no user or session', () => {
      const regex = pattern('HubRoleArn');
      for (const good of [
        sampleHubRoleArn,
        sampleHubRoleArn.replace(':aws:', ':aws-us-gov:'),
        sampleHubRoleArn.replace(':aws:', ':aws-cn:'),
        'arn:aws:iam::111122223333:role/cim-collector-dev',
      ])
        assert.match(good, regex, good);
      for (const bad of [
        '',
        '*',
        '111122223333',
        'arn:aws:iam::111122223333:root',
        'arn:aws:iam::*:role/crosscloud-identity-monitor-collector',
        'arn:aws:iam::111122223333:role/*',
        'arn:aws:iam::111122223333:role/cim-*',
        'arn:aws:iam::111122223333:user/someone',
        'arn:aws:sts::111122223333:assumed-role/crosscloud-identity-monitor-collector/session',
        'arn:aws:iam::12345:role/x',
        `${sampleHubRoleArn}"`,
        ` ${sampleHubRoleArn}`,
      ])
        assert.doesNotMatch(bad, regex, JSON.stringify(bad));
    });

    it("accepts the hub stack's role ARN for its default RoleName", () => {
      const hubParameters = record(hub.template.Parameters, 'hub Parameters');
      const hubRoleName = text(record(hubParameters.RoleName, 'RoleName').Default, 'RoleName.Default');
      assert.match(`arn:aws:iam::111122223333:role/${hubRoleName}`, pattern('HubRoleArn'));
      const hubOutputs = record(hub.template.Outputs, 'hub Outputs');
      assert.ok('CollectorRoleArn' in hubOutputs, 'the hub outputs the ARN HubRoleArn takes');
    });

    it('caps sessions at one hour, what the collector asks for (role chaining allows no more)', () => {
      assert.equal(roleProps.MaxSessionDuration, 3600);
      const collector = readFileSync(join(repoRoot, 'src/sources/aws/accessKeysCollector.ts'), 'utf8');
      const requested =
        /RoleArn: `[^`]*memberRoleName\}`,\s*RoleSessionName: [^\n]+\n\s*DurationSeconds: (\d+)/.exec(
          collector,
        );
      assert.ok(requested, 'the collector requests a DurationSeconds for the member role');
      assert.ok(Number(requested[1]) <= 3600);
    });
  });

  describe('against the hub and the settings', () => {
    it("the hub's AssumeRole resource names this role, and the hub adds only hubOrganizationActions", () => {
      const single = grantedActions(hubProps, false);
      const organization = grantedActions(hubProps, true);
      assert.deepEqual([...single].sort(), [...collectorIamActions].sort());
      assert.deepEqual(
        [...new Set(organization)].sort(),
        [...new Set([...collectorIamActions, ...hubOrganizationActions])].sort(),
      );
      assert.deepEqual(
        organization.filter((a) => !single.includes(a)).sort(),
        [...hubOrganizationActions].sort(),
      );
      const added = statementsOf(
        policies(hubProps, true).get('organization-member-access'),
        'hub org policy',
      );
      const assume = added.find((s) => strings(s.Action, 'Action').includes('sts:AssumeRole'));
      assert.deepEqual(assume?.Resource, {
        'Fn::Sub': 'arn:${AWS::Partition}:iam::*:role/${MemberRoleName}',
      });
    });

    it("the role name: the hub's MemberRoleName and the aws-member-role-name setting accept the default", () => {
      const name = text(record(parameters.MemberRoleName, 'MemberRoleName').Default, 'Default');
      assert.deepEqual(roleProps.RoleName, { Ref: 'MemberRoleName' });
      assert.match(name, pattern('MemberRoleName'));
      const hubMember = record(
        record(hub.template.Parameters, 'hub Parameters').MemberRoleName,
        'hub MemberRoleName',
      );
      assert.match(name, new RegExp(text(hubMember.AllowedPattern, 'AllowedPattern')));
      // The app's own reader accepts the stack's default name, and would refuse a malformed one.
      assert.deepEqual(memberRoleNameProblems(name), []);
      assert.deepEqual(memberRoleNameProblems('path/name'), ['aws-member-role-name']);
      for (const bad of ['', 'a'.repeat(65), 'path/name', '*'])
        assert.doesNotMatch(bad, pattern('MemberRoleName'), JSON.stringify(bad));
    });
  });

  it('outputs the member role ARN', () => {
    assert.deepEqual(record(outputs.MemberRoleArn, 'MemberRoleArn').Value, {
      'Fn::GetAtt': [roleName, 'Arn'],
    });
  });

  it('passes cfn-lint, with the hub template (when installed)', (ctx) => {
    const result = spawnSync('cfn-lint', ['--', memberPath, hubPath], { cwd: repoRoot, encoding: 'utf8' });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      ctx.skip('cfn-lint is not installed');
    }
    assert.equal(result.error, undefined);
    assert.equal(result.status, 0, `cfn-lint found problems:\n${result.stdout}${result.stderr}`);
  });
});
