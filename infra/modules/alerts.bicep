// Alerts on the pipeline's own health (CollectorRuns_CL): an action group that e-mails, a rule for
// failed runs (every 15 min over 30 min) and one for a collector without a successful run in 26 hours
// (every hour). Each rule fires when its query (infra/alerts/*.kql) returns rows.

param location string
param tags object = {}

@description('Resource ID of the Log Analytics workspace the queries run against.')
param workspaceId string

@description('Name of the action group.')
param actionGroupName string

@description('Prefix of the alert rule names.')
param ruleNamePrefix string

@description('E-mail address that receives the alerts; empty for an action group without receivers.')
param alertEmail string = ''

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'cim-alerts'
    enabled: true
    emailReceivers: empty(alertEmail)
      ? []
      : [
          {
            name: 'operator'
            emailAddress: alertEmail
            useCommonAlertSchema: true
          }
        ]
  }
}

var rules = [
  {
    name: 'collector-run-failed'
    displayName: 'crosscloud-identity-monitor: a collector run failed'
    description: 'A row in CollectorRuns_CL says a run failed (Error has the reason).'
    severity: 2
    evaluationFrequency: 'PT15M'
    windowSize: 'PT30M'
    queryTimeRange: null
    query: loadTextContent('../alerts/collector-run-failed.kql')
  }
  {
    name: 'no-successful-run'
    displayName: 'crosscloud-identity-monitor: no successful run in 26 hours'
    description: 'A collector has not succeeded for 26 hours: collection has stopped or keeps failing.'
    severity: 1
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    // The query flags a collector whose last success is over 26 h old (longer than the daily schedule
    // plus a run's budget); reading 2 days back lets it say when that last success was.
    queryTimeRange: 'P2D'
    query: loadTextContent('../alerts/no-successful-run.kql')
  }
]

resource alertRules 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = [
  for rule in rules: {
    name: '${ruleNamePrefix}${rule.name}'
    location: location
    tags: tags
    kind: 'LogAlert'
    properties: {
      displayName: rule.displayName
      description: rule.description
      severity: rule.severity
      enabled: true
      scopes: [workspaceId]
      evaluationFrequency: rule.evaluationFrequency
      // windowSize is the bin size (fixed steps); a longer span for the query is set explicitly.
      windowSize: rule.windowSize
      overrideQueryTimeRange: rule.queryTimeRange
      criteria: {
        allOf: [
          {
            query: rule.query
            timeAggregation: 'Count'
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      autoMitigate: true
      // The custom tables are created in the same deployment and may not be queryable yet.
      skipQueryValidation: true
      actions: {
        actionGroups: [actionGroup.id]
      }
    }
  }
]

output actionGroupId string = actionGroup.id
output alertRuleIds array = [for (rule, i) in rules: alertRules[i].id]
