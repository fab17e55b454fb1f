// The custom tables and the one data collection rule the app writes through (Logs Ingestion API).
// Everything is generated from infra/tables/*.json, the single source of truth that the app's row
// types and the ingestion emulator read too: a table per file, and in the DCR a stream declaration
// plus a data flow (the file's transformKql, into Custom-<Table>) per file. A new table is a new
// JSON file (and `npm run generate`).
//
// The DCR is of kind Direct: it has its own logs ingestion endpoint (no data collection endpoint).
//
// A table whose JSON declares `streamColumns` takes records of that shape on its stream (raw lines, for
// the proxy log: TimeGenerated, RawData, FilePath, Computer) and its transformKql turns them into rows;
// `transformParameters` are `let NAME = DEFAULT;` lines of that transform replaced here from
// transformSettings (keyed by the parameter's setting, e.g. PROXY_KEEP_QUERY), so every DCR that
// deploys the transform (this one, and the agent's in proxyLogs.bicep) deploys the same text.

param location string
param tags object = {}

@description('Name of the Log Analytics workspace (in this resource group) that holds the tables.')
param workspaceName string

@description('Name of the data collection rule.')
param dcrName string

@description('Principal (object) ID of the function app\'s managed identity (Monitoring Metrics Publisher on the DCR).')
param identityPrincipalId string

@description('Values of the transforms\' parameters by setting name (e.g. { PROXY_KEEP_QUERY: \'true\' }); a parameter not given keeps its default.')
param transformSettings object = {}

// Every infra/tables/*.json, gathered by `npm run generate` into collectors.json (Bicep cannot list files).
var tableDefinitions = loadJsonContent('../collectors.json').tables

var monitoringMetricsPublisher = '3913510d-42f4-4e42-8a64-420c390055eb'
var destinationName = 'workspace'

resource workspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' existing = {
  name: workspaceName
}

resource tables 'Microsoft.OperationalInsights/workspaces/tables@2025-07-01' = [
  for table in tableDefinitions: {
    parent: workspace
    name: table.name
    properties: {
      plan: 'Analytics'
      schema: {
        name: table.name
        description: table.?description
        columns: map(table.columns, column => {
          name: column.name
          type: column.type
          description: column.?description
        })
      }
    }
  }
]

resource dcr 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: dcrName
  location: location
  tags: tags
  kind: 'Direct'
  properties: {
    description: 'crosscloud-identity-monitor: Logs Ingestion API streams into the custom tables.'
    streamDeclarations: toObject(
      tableDefinitions,
      table => table.stream,
      table => {
        columns: map(table.?streamColumns ?? table.columns, column => {
          name: column.name
          type: column.type
        })
      }
    )
    destinations: {
      logAnalytics: [
        {
          name: destinationName
          workspaceResourceId: workspace.id
        }
      ]
    }
    dataFlows: [
      for table in tableDefinitions: {
        streams: [table.stream]
        destinations: [destinationName]
        transformKql: reduce(
          table.?transformParameters ?? [],
          table.transformKql,
          (kql, parameter) =>
            replace(
              kql,
              'let ${parameter.name} = ${parameter.default};',
              'let ${parameter.name} = ${transformSettings[?parameter.setting] ?? parameter.default};'
            )
        )
        outputStream: 'Custom-${table.name}'
      }
    ]
  }
  // A data flow into Custom-<Table> is rejected until the table exists.
  dependsOn: [tables]
}

resource publisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(dcr.id, identityPrincipalId, monitoringMetricsPublisher)
  scope: dcr
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisher)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output dcrId string = dcr.id
output dcrName string = dcr.name
@description('The DCR\'s own Logs Ingestion endpoint (kind Direct): the app\'s LOGS_INGESTION_ENDPOINT.')
output logsIngestionEndpoint string = dcr.properties.endpoints.logsIngestion
@description('dcr-<32 hex digits>: the app\'s LOGS_INGESTION_DCR_ID.')
output immutableId string = dcr.properties.immutableId
output tableNames array = [for (table, i) in tableDefinitions: tables[i].name]
output streams array = [for table in tableDefinitions: table.stream]
