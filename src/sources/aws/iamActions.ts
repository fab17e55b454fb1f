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
] as const;

/** Called with the federated session itself; STS needs no IAM permission for these. */
export const collectorStsActions = ['sts:AssumeRoleWithWebIdentity', 'sts:GetCallerIdentity'] as const;
