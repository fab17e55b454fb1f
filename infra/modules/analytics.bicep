// Microsoft Sentinel scheduled analytics rules (issue 14 item 11), deployed into a workspace that has
// Microsoft Sentinel: detections, not only pictures. Each rule's query is a file in infra/analytics/
// (checked against the table schemas by test/contract/kql.test.ts).
//
// Resource: Microsoft.SecurityInsights/alertRules, kind Scheduled, an extension resource on the
// workspace (https://learn.microsoft.com/azure/templates/microsoft.securityinsights/alertrules). The
// workspace must already be onboarded to Sentinel; this module does not onboard it (that starts Sentinel
// billing), main.bicep deploys it only when SENTINEL_ENABLED=true.
// Scheduling: query interval and lookback each 5 minutes to 14 days, lookback >= interval; alert grouping
// puts up to 150 alerts into one incident
// (https://learn.microsoft.com/azure/sentinel/create-analytics-rules#define-the-rule-logic).
// Entities (https://learn.microsoft.com/azure/sentinel/entities-reference): an AWS user is an Account
// (Name) in the CloudApplication Amazon Web Services whose InstanceName is the AWS account ID (Name +
// InstanceName is a strong identifier of a cloud application).
//
// The AWS rules judge each inventory snapshot once, in the hour its run row arrives (see the queries), and
// run hourly. A standing finding (a root key still active) is reported again with every new snapshot
// (daily); grouping by entities keeps it in the one open incident for 7 days.

@description('Name of the Log Analytics workspace (with Microsoft Sentinel) in this module\'s resource group.')
param workspaceName string

@description('Active access keys older than this many days count as old (the workbooks\' Threshold).')
@minValue(1)
param keyAgeThresholdDays int = 90

@description('Collector names the collector rule expects even if they never ran; by default the declared collectors (infra/collectors.json, generated from src/sources/*/collectors.ts, as the Azure Monitor alert uses). Empty: only collectors seen in the last 14 days.')
param expectedCollectors array = loadJsonContent('../collectors.json').collectorNames

@description('People across clouds (issue 17): an enabled Entra user with no successful sign-in for this many days counts as a leaver. Default: inactiveDays of infra/people/matching.json (a test holds them equal).')
@minValue(1)
param peopleInactiveDays int = 90

@description('Create the rules enabled.')
param enabled bool = true

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' existing = {
  name: workspaceName
}

var awsEntities = [
  {
    entityType: 'Account'
    fieldMappings: [
      {
        identifier: 'Name'
        columnName: 'UserName'
      }
    ]
  }
  {
    entityType: 'CloudApplication'
    fieldMappings: [
      {
        identifier: 'Name'
        columnName: 'CloudApp'
      }
      {
        identifier: 'InstanceName'
        columnName: 'AccountId'
      }
    ]
  }
]

// People across clouds (issue 17): the Entra user (Account by object ID and UPN) besides the IAM user.
var personEntities = [
  {
    entityType: 'Account'
    fieldMappings: [
      {
        identifier: 'AadUserId'
        columnName: 'PersonId'
      }
      {
        identifier: 'FullName'
        columnName: 'PersonUpn'
      }
    ]
  }
]

// The people-* queries share the block infra/people/matching.json renders (`npm run generate`); its settings
// line for inactiveDays takes this module's parameter.
var peopleQuery = {
  leaver: loadTextContent('../analytics/people-leaver-with-active-key.kql')
  orphan: loadTextContent('../analytics/people-orphan-access-key.kql')
  weakestLink: loadTextContent('../analytics/people-weakest-link.kql')
  mfaInNeither: loadTextContent('../analytics/people-mfa-in-neither-cloud.kql')
}
var inactiveDaysLine = 'let inactiveDays = 90;'
var inactiveDaysSetting = 'let inactiveDays = ${peopleInactiveDays};'

var groupByEntities = {
  enabled: true
  reopenClosedIncident: false
  lookbackDuration: 'P7D'
  matchingMethod: 'AllEntities'
  groupByEntities: []
  groupByAlertDetails: []
  groupByCustomDetails: []
}

var rules = [
  {
    name: 'aws-active-root-access-key'
    displayName: 'crosscloud-identity-monitor: AWS root user has an active access key'
    description: 'An AWS account\'s root user has an active access key (AWSIAMAccessKeys_CL, UserName <root_account>). Root keys are unrestricted by IAM policies: delete them and use IAM roles.'
    severity: 'High'
    query: loadTextContent('../analytics/aws-active-root-access-key.kql')
    queryFrequency: 'PT1H'
    queryPeriod: 'P2D'
    tactics: ['Persistence', 'PrivilegeEscalation']
    techniques: ['T1078', 'T1098']
    entityMappings: awsEntities
    customDetails: {
      AwsAccountId: 'AccountId'
      KeyAgeDays: 'KeyAgeDays'
      KeyLastUsed: 'LastUsedDate'
      RootMfaActive: 'MfaActive'
      SnapshotId: 'SnapshotId'
    }
    alertDisplayNameFormat: 'AWS account {{AccountId}}: root user has an active access key'
    groupingConfiguration: groupByEntities
  }
  {
    name: 'aws-old-key-console-user-without-mfa'
    displayName: 'crosscloud-identity-monitor: old AWS access key on a console user without MFA'
    description: 'An IAM user who can sign in to the AWS console with a password, without an MFA device, holds an active access key older than ${keyAgeThresholdDays} days: rotate the key and require MFA.'
    severity: 'Medium'
    query: replace(
      loadTextContent('../analytics/aws-old-key-console-user-without-mfa.kql'),
      'let thresholdDays = 90;',
      'let thresholdDays = ${keyAgeThresholdDays};'
    )
    queryFrequency: 'PT1H'
    queryPeriod: 'P2D'
    tactics: ['InitialAccess', 'Persistence']
    techniques: ['T1078']
    entityMappings: awsEntities
    customDetails: {
      AwsAccountId: 'AccountId'
      OldActiveKeys: 'OldActiveKeys'
      OldestKeyAgeDays: 'OldestKeyAgeDays'
      AccessKeyIds: 'AccessKeyIds'
      SnapshotId: 'SnapshotId'
    }
    alertDisplayNameFormat: 'AWS user {{UserName}} ({{AccountId}}): console without MFA and an access key over the age threshold'
    groupingConfiguration: groupByEntities
  }
  {
    name: 'aws-new-access-key'
    displayName: 'crosscloud-identity-monitor: new AWS access key created for a user'
    description: 'An access key appears in an AWS account\'s inventory snapshot that was not in the previous one: a key was created (or a root key rotated). Confirm the owner asked for it.'
    severity: 'Low'
    query: loadTextContent('../analytics/aws-new-access-key.kql')
    queryFrequency: 'PT1H'
    // Long enough to find each account's previous snapshot (daily by default, weekly still works).
    queryPeriod: 'P14D'
    tactics: ['Persistence']
    techniques: ['T1098']
    entityMappings: awsEntities
    customDetails: {
      AwsAccountId: 'AccountId'
      AccessKeyId: 'AccessKeyId'
      KeyCreateDate: 'KeyCreateDate'
      KeyStatus: 'Status'
      SnapshotId: 'SnapshotId'
      PreviousSnapshotId: 'PreviousSnapshotId'
    }
    alertDisplayNameFormat: 'AWS user {{UserName}} ({{AccountId}}): new access key {{AccessKeyId}}'
    // Every new key is its own alert and incident.
    groupingConfiguration: {
      enabled: false
      reopenClosedIncident: false
      lookbackDuration: 'PT5H'
      matchingMethod: 'AllEntities'
      groupByEntities: []
      groupByAlertDetails: []
      groupByCustomDetails: []
    }
  }
  {
    name: 'collector-failing-or-silent'
    displayName: 'crosscloud-identity-monitor: a collector is failing or silent for 26 hours'
    description: 'A collector has had no successful run for 26 hours: its runs keep failing (State failing, see LastError) or it has not run at all (State silent). Identity telemetry from AWS or Entra ID is no longer arriving: the other detections are blind.'
    severity: 'Medium'
    query: replace(
      loadTextContent('../analytics/collector-failing-or-silent.kql'),
      'let expectedCollectors = dynamic([]);',
      'let expectedCollectors = dynamic(${string(expectedCollectors)});'
    )
    queryFrequency: 'PT1H'
    queryPeriod: 'P14D'
    tactics: ['DefenseEvasion']
    techniques: ['T1562']
    entityMappings: []
    customDetails: {
      Collector: 'Collector'
      State: 'State'
      LastSuccess: 'LastSuccess'
      LastError: 'LastError'
    }
    alertDisplayNameFormat: 'Collector {{Collector}} is {{State}}: no successful run in 26 hours'
    // One incident per collector while the condition lasts (the rule reports it every hour).
    groupingConfiguration: {
      enabled: true
      reopenClosedIncident: false
      lookbackDuration: 'P7D'
      matchingMethod: 'Selected'
      groupByEntities: []
      groupByAlertDetails: []
      groupByCustomDetails: ['Collector']
    }
  }
  {
    name: 'people-leaver-with-active-key'
    displayName: 'crosscloud-identity-monitor: a leaver still holds an active AWS access key'
    description: 'An IAM user matched (infra/people/matching.json) to an Entra ID user who is disabled, deleted or has not signed in for ${peopleInactiveDays} days holds an active access key. KeyUsedAfterLeave: the key was used after the person left, someone is still using it. Deactivate the key, then find out who uses it.'
    severity: 'High'
    query: replace(peopleQuery.leaver, inactiveDaysLine, inactiveDaysSetting)
    queryFrequency: 'PT1H'
    // The people block reads 14 days (lookbackDays): deleted = in a snapshot of that period, not in the latest.
    queryPeriod: 'P14D'
    tactics: ['Persistence', 'InitialAccess']
    techniques: ['T1078']
    entityMappings: concat(awsEntities, personEntities)
    customDetails: {
      LeaverReason: 'LeaverReason'
      LeaveDate: 'LeaveDate'
      KeyUsedAfterLeave: 'KeyUsedAfterLeave'
      AccessKeyId: 'AccessKeyId'
      KeyLastUsed: 'LastUsedDate'
      MatchRule: 'MatchRule'
      SnapshotId: 'SnapshotId'
    }
    alertDisplayNameFormat: '{{Person}} ({{LeaverReason}}) still holds an active AWS access key on {{UserName}}'
    groupingConfiguration: groupByEntities
  }
  {
    name: 'people-orphan-access-key'
    displayName: 'crosscloud-identity-monitor: active AWS access key nobody can be named for'
    description: 'An active access key belongs to an IAM user that no rule of infra/people/matching.json matches to an Entra ID user: an owner nobody can name. Tag the IAM user with its owner, or remove the key.'
    severity: 'Medium'
    query: replace(peopleQuery.orphan, inactiveDaysLine, inactiveDaysSetting)
    queryFrequency: 'PT1H'
    queryPeriod: 'P14D'
    tactics: ['Persistence']
    techniques: ['T1078']
    entityMappings: awsEntities
    customDetails: {
      AwsAccountId: 'AccountId'
      AccessKeyId: 'AccessKeyId'
      KeyAgeDays: 'KeyAgeDays'
      KeyLastUsed: 'LastUsedDate'
      SnapshotId: 'SnapshotId'
    }
    alertDisplayNameFormat: 'AWS user {{UserName}} ({{AccountId}}): active access key, owner unknown'
    groupingConfiguration: groupByEntities
  }
  {
    name: 'people-weakest-link'
    displayName: 'crosscloud-identity-monitor: risky Entra sign-ins by a holder of active AWS keys'
    description: 'A person whose Entra ID sign-ins were risky (risk level medium or high and not remediated or dismissed, or confirmed compromised) holds active AWS access keys: a compromised identity reaches AWS too.'
    severity: 'High'
    query: replace(peopleQuery.weakestLink, inactiveDaysLine, inactiveDaysSetting)
    queryFrequency: 'PT1H'
    queryPeriod: 'P14D'
    tactics: ['InitialAccess', 'CredentialAccess']
    techniques: ['T1078']
    entityMappings: personEntities
    customDetails: {
      RiskySignIns: 'RiskySignIns'
      LastRiskySignIn: 'LastRiskySignIn'
      RiskLevels: 'RiskLevels'
      ActiveAwsKeys: 'ActiveKeys'
      IamUsers: 'IamUsers'
    }
    alertDisplayNameFormat: '{{Person}}: risky Entra sign-ins, {{ActiveKeys}} active AWS access keys'
    groupingConfiguration: groupByEntities
  }
  {
    name: 'people-mfa-in-neither-cloud'
    displayName: 'crosscloud-identity-monitor: MFA in neither AWS nor Entra ID'
    description: 'A person can sign in to the AWS console with a password and no MFA device, and signed in to Entra ID only with a single factor: require MFA in both.'
    severity: 'Medium'
    query: replace(peopleQuery.mfaInNeither, inactiveDaysLine, inactiveDaysSetting)
    queryFrequency: 'PT1H'
    queryPeriod: 'P14D'
    tactics: ['InitialAccess']
    techniques: ['T1078']
    entityMappings: concat(awsEntities, personEntities)
    customDetails: {
      AwsAccountId: 'AccountId'
      SingleFactorSignIns: 'SingleFactorSignIns'
      LastSuccessfulSignIn: 'LastSuccessfulSignIn'
      IamUserArn: 'UserArn'
    }
    alertDisplayNameFormat: '{{Person}}: no MFA on AWS user {{UserName}} nor in Entra ID sign-ins'
    groupingConfiguration: groupByEntities
  }
]

resource alertRules 'Microsoft.SecurityInsights/alertRules@2025-06-01' = [
  for rule in rules: {
    name: guid(workspace.id, 'crosscloud-identity-monitor', rule.name)
    scope: workspace
    kind: 'Scheduled'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: enabled
      query: rule.query
      queryFrequency: rule.queryFrequency
      queryPeriod: rule.queryPeriod
      triggerOperator: 'GreaterThan'
      triggerThreshold: 0
      suppressionEnabled: false
      suppressionDuration: 'PT1H'
      tactics: rule.tactics
      techniques: rule.techniques
      entityMappings: empty(rule.entityMappings) ? null : rule.entityMappings
      customDetails: rule.customDetails
      alertDetailsOverride: {
        alertDisplayNameFormat: rule.alertDisplayNameFormat
      }
      // One alert per result row (per key, user or collector), not one per run.
      eventGroupingSettings: {
        aggregationKind: 'AlertPerResult'
      }
      incidentConfiguration: {
        createIncident: true
        groupingConfiguration: rule.groupingConfiguration
      }
    }
  }
]

output ruleIds array = [for (rule, i) in rules: alertRules[i].id]
output ruleNames array = [for rule in rules: rule.displayName]
