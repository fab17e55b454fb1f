/** IAM is global but signs in one region per partition. */
const iamRegionByPartition: Readonly<Record<string, string>> = {
  aws: 'us-east-1',
  'aws-cn': 'cn-north-1',
  'aws-us-gov': 'us-gov-west-1',
  'aws-iso': 'us-iso-east-1',
  'aws-iso-b': 'us-isob-east-1',
};

export function iamRegionForArn(arn: string | undefined): string {
  const partition = arn?.split(':')[1] ?? 'aws';
  return iamRegionByPartition[partition] ?? 'us-east-1';
}
