// Directory-audit records: one microsoft.graph.directoryAudit from the tenant, a seeded stream and the event's
// GUID and time. The activity is drawn from AUDIT_TEMPLATES; the initiator is a user or an app, and the targets
// carry the modifiedProperties Graph writes for that kind of change.
import {
  AUDIT_TEMPLATES,
  DEPARTMENTS,
  GROUPS,
  ROLES,
  USER_AGENTS,
  type AuditTemplate,
  type TargetType,
} from './catalogues.js';
import { pick, randomGuid, weighted, type Rng } from './random.js';
import type { DirectoryAudit, ModifiedProperty, TargetResource } from './types.js';
import type { World } from './world.js';

const jsonValue = (v: unknown): string => JSON.stringify(v);

function auditTarget(
  world: World,
  rnd: Rng,
  type: TargetType,
  template: AuditTemplate,
  ctx: { role: (typeof ROLES)[number]; roleId: string; group: (typeof GROUPS)[number]; groupId: string },
): TargetResource {
  // Graph's property order: id, displayName, type, userPrincipalName, groupType, modifiedProperties.
  const target = (
    id: string,
    displayName: string | null,
    extra: Partial<Pick<TargetResource, 'userPrincipalName' | 'groupType' | 'modifiedProperties'>> = {},
  ): TargetResource => ({
    id,
    displayName,
    type,
    userPrincipalName: extra.userPrincipalName ?? null,
    groupType: extra.groupType ?? null,
    modifiedProperties: extra.modifiedProperties ?? [],
  });
  switch (type) {
    case 'User': {
      const user = pick(rnd, world.users);
      const props: ModifiedProperty[] = [];
      if (template.activity === 'Update user') {
        const [from, to] = [pick(rnd, DEPARTMENTS), pick(rnd, DEPARTMENTS)];
        props.push(
          { displayName: 'Department', oldValue: jsonValue([from]), newValue: jsonValue([to]) },
          { displayName: 'Included Updated Properties', oldValue: null, newValue: '"Department"' },
        );
      } else if (template.category === 'RoleManagement') {
        props.push(
          { displayName: 'Role.ObjectID', oldValue: null, newValue: jsonValue(ctx.roleId) },
          { displayName: 'Role.DisplayName', oldValue: null, newValue: jsonValue(ctx.role[0]) },
          { displayName: 'Role.TemplateId', oldValue: null, newValue: jsonValue(ctx.role[1]) },
          { displayName: 'Role.WellKnownObjectName', oldValue: null, newValue: jsonValue(ctx.role[2]) },
        );
      } else if (template.category === 'GroupManagement') {
        props.push(
          { displayName: 'Group.ObjectID', oldValue: null, newValue: jsonValue(ctx.groupId) },
          { displayName: 'Group.DisplayName', oldValue: null, newValue: jsonValue(ctx.group[0]) },
        );
      } else if (template.activity === 'Disable account') {
        props.push({ displayName: 'AccountEnabled', oldValue: '[true]', newValue: '[false]' });
      }
      // Graph often leaves displayName null on user targets and names them by UPN only.
      return target(user.id, rnd() < 0.5 ? null : user.displayName, {
        userPrincipalName: user.userPrincipalName,
        modifiedProperties: props,
      });
    }
    case 'Group':
      return target(ctx.groupId, ctx.group[0], { groupType: ctx.group[1] });
    case 'Role':
      return target(ctx.roleId, ctx.role[0]);
    case 'ServicePrincipal': {
      const sp = pick(rnd, world.servicePrincipals);
      const props: ModifiedProperty[] =
        template.activity === 'Consent to application'
          ? [
              { displayName: 'ConsentContext.IsAdminConsent', oldValue: null, newValue: '"True"' },
              { displayName: 'ConsentContext.OnBehalfOfAll', oldValue: null, newValue: '"True"' },
              {
                displayName: 'ConsentAction.Permissions',
                oldValue: null,
                newValue: `"[] => [[Id: ${randomGuid(rnd)}, ClientId: ${sp.servicePrincipalId}, PrincipalId: , ResourceId: ${randomGuid(rnd)}, ConsentType: AllPrincipals, Scope:  User.Read AuditLog.Read.All, CreatedDateTime: , LastModifiedDateTime ]]; "`,
              },
            ]
          : [];
      return target(sp.servicePrincipalId, sp.displayName, { modifiedProperties: props });
    }
    case 'Application': {
      const sp = pick(rnd, world.servicePrincipals);
      return target(sp.appId, sp.displayName, {
        modifiedProperties: [
          {
            displayName: 'KeyDescription',
            oldValue: '[]',
            newValue: jsonValue([
              `[KeyIdentifier=${randomGuid(rnd)},KeyType=Password,KeyUsage=Verify,DisplayName=ci-secret]`,
            ]),
          },
          { displayName: 'Included Updated Properties', oldValue: null, newValue: '"KeyDescription"' },
        ],
      });
    }
    case 'Policy': {
      const policy = pick(rnd, world.policies);
      return target(policy.id, policy.displayName, {
        modifiedProperties: [
          {
            displayName: 'ConditionalAccessPolicy',
            oldValue:
              template.operationType === 'Add'
                ? null
                : jsonValue({
                    id: policy.id,
                    displayName: policy.displayName,
                    state: 'enabledForReportingButNotEnforced',
                  }),
            newValue: jsonValue({ id: policy.id, displayName: policy.displayName, state: 'enabled' }),
          },
        ],
      });
    }
    case 'Device': {
      const user = pick(rnd, world.users);
      return target(user.deviceId, user.deviceName);
    }
    case 'Other':
      return target(world.tenantId, null);
  }
}

export function buildAudit(world: World, rnd: Rng, guid: string, activityDateTime: string): DirectoryAudit {
  const template = weighted(
    rnd,
    AUDIT_TEMPLATES.map((t) => [t, t.weight] as const),
  );
  const result = weighted(rnd, [
    ['success', 930],
    ['failure', 50],
    ['timeout', 15],
    ['unknownFutureValue', 5],
  ] as const);
  const resultReason =
    result === 'failure'
      ? pick(rnd, [
          'Microsoft.Online.Workflows.ObjectAlreadyExistsException',
          'Microsoft.Online.DirectoryServices.DirectoryUniquenessException',
          'Insufficient privileges to complete the operation.',
        ])
      : result === 'timeout'
        ? 'The operation timed out.'
        : '';
  const byApp = template.service !== 'Self-service Password Management' && rnd() < 0.25;
  const actor = pick(rnd, world.users);
  const appActor = pick(rnd, [...world.servicePrincipals, ...world.managedIdentities]);
  const role = pick(rnd, ROLES);
  const group = pick(rnd, GROUPS);
  const ctx = {
    role,
    roleId: world.roleIds[ROLES.indexOf(role)] ?? '',
    group,
    groupId: world.groupIds[GROUPS.indexOf(group)] ?? '',
  };
  const prefix = template.service === 'Self-service Password Management' ? 'SSGM' : 'Directory';
  const suffix = `${String.fromCharCode(65 + Math.floor(rnd() * 26))}${Math.floor(rnd() * 10)}${String.fromCharCode(65 + Math.floor(rnd() * 26))}${String.fromCharCode(65 + Math.floor(rnd() * 26))}${Math.floor(rnd() * 10)}`;
  return {
    id: `${prefix}_${guid}_${suffix}_${String(Math.floor(rnd() * 900_000_000) + 100_000_000)}`,
    category: template.category,
    correlationId: randomGuid(rnd),
    result,
    resultReason,
    activityDisplayName: template.activity,
    activityDateTime,
    loggedByService: template.service,
    operationType: template.operationType,
    initiatedBy: byApp
      ? {
          user: null,
          app: {
            appId: rnd() < 0.3 ? null : appActor.appId,
            displayName: appActor.displayName,
            servicePrincipalId: appActor.servicePrincipalId,
            servicePrincipalName: appActor.displayName,
          },
        }
      : {
          user: {
            id: actor.id,
            displayName: rnd() < 0.3 ? null : actor.displayName,
            userPrincipalName: actor.userPrincipalName,
            ipAddress: rnd() < 0.2 ? null : actor.homeIp,
          },
          app: null,
        },
    targetResources: template.targets.map((t) => auditTarget(world, rnd, t, template, ctx)),
    additionalDetails: byApp
      ? [{ key: 'AppId', value: appActor.appId }]
      : [
          { key: 'UserType', value: actor.guest ? 'Guest' : 'Member' },
          { key: 'User-Agent', value: pick(rnd, USER_AGENTS) },
        ],
  };
}
