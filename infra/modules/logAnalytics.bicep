// The Log Analytics workspace: the custom tables (see ingestion.bicep), Application Insights telemetry,
// workbooks and alerts all live here.

param name string
param location string
param tags object = {}

@description('Interactive retention of the workspace\'s tables, in days.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      enableLogAccessUsingOnlyResourcePermissions: true
    }
  }
}

output id string = workspace.id
output name string = workspace.name
@description('The workspace (customer) ID: the GUID that log queries address.')
output customerId string = workspace.properties.customerId
