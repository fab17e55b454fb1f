// Workspace-based Application Insights for the Functions host, with local (instrumentation-key) auth
// disabled: the host sends telemetry with an Entra token of the managed identity, which needs
// Monitoring Metrics Publisher on this component (APPLICATIONINSIGHTS_AUTHENTICATION_STRING).

param name string
param location string
param tags object = {}

@description('Resource ID of the Log Analytics workspace the telemetry is stored in.')
param workspaceId string

@description('Principal (object) ID of the function app\'s managed identity.')
param identityPrincipalId string

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: name
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspaceId
    DisableLocalAuth: true
    IngestionMode: 'LogAnalytics'
  }
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identityPrincipalId, monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output id string = appInsights.id
output name string = appInsights.name
@description('Not a secret once local auth is off: it only routes telemetry, which must carry an Entra token.')
output connectionString string = appInsights.properties.ConnectionString
