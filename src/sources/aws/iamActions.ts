/**
 * Every AWS action the collector calls, in one list: the CloudFormation policy in infra/aws is checked
 * against it, so the role grants exactly what the code needs and nothing more.
 */
export const collectorIamActions = [
  'iam:GenerateCredentialReport',
  'iam:GetCredentialReport',
  'iam:ListUsers',
  'iam:ListAccessKeys',
  'iam:GetAccessKeyLastUsed',
  'iam:ListMFADevices',
  'iam:GetLoginProfile',
  'iam:ListAccountAliases',
  // OwnerTag (AWS_OWNER_TAG_KEYS, userTags.ts): once per user with keys.
  'iam:ListUserTags',
] as const;

/** Called with the federated session itself; STS needs no IAM permission for these. */
export const collectorStsActions = ['sts:AssumeRoleWithWebIdentity', 'sts:GetCallerIdentity'] as const;

/**
 * Organization mode (`aws-member-role-name` set): what the hub (collector) role needs on top of
 * collectorIamActions. `organizations:ListAccounts` finds the member accounts (it has no resource type:
 * Resource `*`); `sts:AssumeRole` is granted on the member role name only,
 * `arn:<partition>:iam::*:role/<member-role-name>`, never on `*`. The member role in each account then
 * gets exactly collectorIamActions (infra/aws/member-role.yaml).
 */
export const hubOrganizationActions = ['organizations:ListAccounts', 'sts:AssumeRole'] as const;
