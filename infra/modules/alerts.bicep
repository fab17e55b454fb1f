// Alerts on the pipeline's own health (CollectorRuns_CL): log search alert rules for failed runs (every
// 15 min over 30 min) and for a collector without a successful run in 26 hours (every hour). Each rule
// fires when its query (infra/alerts/*.kql) returns rows, and notifies this module's action group (when
// alertEmail is set), an existing action group (existingActionGroupId), both, or nobody — in which case
// the output receiversWarning says so, loudly, for the postprovision hook to print.
//
// Alerts that page per failure (issue 14 item 7). Log search alerts split by dimensions evaluate each
// combination of dimension values as its own time series and fire (and notify) one alert per
// combination: "When you use dimensions, the alert rule groups the query results by the dimension values
// and evaluates the results of each group separately. If the condition is met, the rule fires an alert
// for that group" (https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule#dimensions,
// at most six dimensions, string or numeric columns). Stateful rules (autoMitigate: true) fire once per
// alert and resolve on their own when the condition is no longer met (for 15-minute rules: three
// frequency periods; https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-create-log-alert-rule,
// "Automatically resolve alerts"); a stateless rule fires at every evaluation that meets the condition.
//  - collector-run-failed: split by Collector, RunId and Status. Every failed run is its own time series,
//    so a failure of another collector, or a later failure of the same one, is a new alert that notifies
//    even while an earlier one is still open. The rule stays stateful on purpose: its 30-minute window is
//    evaluated every 15 minutes (so a run row that arrives late is still seen), i.e. each run row is in
//    two consecutive evaluations; stateless, each failure would notify twice, stateful with RunId as a
//    dimension it notifies exactly once and resolves by itself once the row has left the window.
//  - no-successful-run: split by Collector, stateful. Each stale collector is its own alert (a second
//    collector going stale notifies even while the first is open); it stays open, without repeating,
//    until that collector succeeds again, then resolves.
// Stateful log search alerts fire at most 300 alerts per evaluation and 5,000 open alerts
// (https://learn.microsoft.com/azure/azure-monitor/alerts/alerts-types#log-search-alerts): far above
// what three collectors produce.

param location string
param tags object = {}

@description('Resource ID of the Log Analytics workspace the queries run against.')
param workspaceId string

@description('Name of the action group created when alertEmail is set.')
param actionGroupName string

@description('Prefix of the alert rule names.')
param ruleNamePrefix string

@description('E-mail address(es), comma-separated, that receive the alerts through an action group created here; empty for none.')
param alertEmail string = ''

@description('Resource ID of an existing action group the alerts also notify (ALERT_ACTION_GROUP_ID); empty for none.')
param existingActionGroupId string = ''

@description('Shadow IT: users of a risky or unsanctioned app, new since the day before, that raise an alert (SHADOW_IT_ALERT_MIN_USERS).')
@minValue(1)
param shadowItAlertMinUsers int = 3

var emailAddresses = filter(map(split(alertEmail, ','), address => trim(address)), address => !empty(address))
var createActionGroup = !empty(emailAddresses)

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (createActionGroup) {
  name: actionGroupName
  location: 'Global'
  tags: tags
  properties: {
    groupShortName: 'cim-alerts'
    enabled: true
    emailReceivers: [
      for (address, i) in emailAddresses: {
        name: 'operator-${i + 1}'
        emailAddress: address
        useCommonAlertSchema: true
      }
    ]
  }
}

var actionGroupIds = concat(
  createActionGroup ? [actionGroup.id] : [],
  empty(existingActionGroupId) ? [] : [existingActionGroupId]
)

// The declared collectors (infra/collectors.json, generated from src/sources/*/collectors.ts) fill the
// query's empty `datatable(Collector: string) []`: a collector that never ran is flagged too.
var collectorList = loadJsonContent('../collectors.json').collectorList

var rules = [
  {
    name: 'collector-run-failed'
    displayName: 'crosscloud-identity-monitor: a collector run failed'
    description: 'A row in CollectorRuns_CL says a run failed or only partly succeeded (Error has the reason). One alert per run: a new failure notifies even while an earlier one is open.'
    severity: 2
    evaluationFrequency: 'PT15M'
    windowSize: 'PT30M'
    queryTimeRange: null
    query: loadTextContent('../alerts/collector-run-failed.kql')
    dimensions: ['Collector', 'RunId', 'Status']
  }
  {
    name: 'no-successful-run'
    displayName: 'crosscloud-identity-monitor: no successful run in 26 hours'
    description: 'A collector has not succeeded for 26 hours: collection has stopped or keeps failing. One alert per collector, open until it succeeds again.'
    severity: 1
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    // The query flags a collector whose last success is over 26 h old (longer than the daily schedule
    // plus a run's budget); reading 2 days back lets it say when that last success was.
    queryTimeRange: 'P2D'
    query: replace(
      loadTextContent('../alerts/no-successful-run.kql'),
      'datatable(Collector: string) []',
      'datatable(Collector: string) ${collectorList}'
    )
    dimensions: ['Collector']
  }
  {
    name: 'shadow-it-new-app'
    displayName: 'crosscloud-identity-monitor: a risky or unsanctioned cloud app has new users'
    description: 'Shadow IT (web proxy): an app of the catalog rated High risk, or marked unsanctioned, was used by at least ${shadowItAlertMinUsers} users in the last day and by nobody the day before. One alert per app; see the Shadow IT workbook.'
    severity: 3
    evaluationFrequency: 'PT1H'
    windowSize: 'PT1H'
    // "New" compares the last day with the day before: two days, the most a log search alert reads.
    queryTimeRange: 'P2D'
    query: replace(
      loadTextContent('../alerts/shadow-it-new-app.kql'),
      'let minUsers = 3;',
      'let minUsers = ${shadowItAlertMinUsers};'
    )
    dimensions: ['AppName']
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
            // Every value of each column, present and future, is a time series of its own.
            dimensions: [
              for dimension in rule.dimensions: {
                name: dimension
                operator: 'Include'
                values: ['*']
              }
            ]
            operator: 'GreaterThan'
            threshold: 0
            failingPeriods: {
              numberOfEvaluationPeriods: 1
              minFailingPeriodsToAlert: 1
            }
          }
        ]
      }
      // Stateful: one notification per alert (per dimension combination), resolved automatically.
      autoMitigate: true
      // The custom tables are created in the same deployment and may not be queryable yet.
      skipQueryValidation: true
      actions: {
        actionGroups: actionGroupIds
      }
    }
  }
]

@description('The action groups the alert rules notify (empty: the alerts notify nobody).')
output actionGroupIds array = actionGroupIds
output actionGroupId string = createActionGroup ? actionGroup.id : ''
output alertRuleIds array = [for (rule, i) in rules: alertRules[i].id]
@description('Empty when the alerts notify someone; otherwise a warning for the deployer to print.')
output receiversWarning string = empty(actionGroupIds)
  ? 'WARNING: the collector alerts (failed runs, no successful run in 26 h) notify NOBODY: neither ALERT_EMAIL nor ALERT_ACTION_GROUP_ID is set. They still fire in Azure Monitor > Alerts. Fix: azd env set ALERT_EMAIL you@example.com (or azd env set ALERT_ACTION_GROUP_ID <action group resource ID>), then azd provision.'
  : ''
