// Squid access logs through the Azure Monitor Agent (issue 15 item 1), deployed with
// `azd env set PROXY_LOGS true`: a data collection rule for the agent on the Squid host (or on the
// Linux syslog forwarder of an appliance that cannot run the agent, such as pfSense), Arc-enabled when
// on-premises. Nothing here holds a secret: the agent authenticates with the machine's managed identity.
//
// The rule, as documented for text logs
// (https://learn.microsoft.com/azure/azure-monitor/vm/data-collection-log-text,
// https://learn.microsoft.com/azure/azure-monitor/vm/data-collection-rule-samples#text-logs):
//  - kind Linux (https://learn.microsoft.com/azure/azure-monitor/data-collection/data-collection-rule-structure#kind);
//  - dataSources.logFiles, format text, the file patterns, and a stream `Custom-…` declared in
//    streamDeclarations with the agent's fixed text-log columns TimeGenerated, RawData, FilePath,
//    Computer (ProxyWebSessions_CL.json's streamColumns);
//  - recordStartTimestampFormat: no Squid line starts with an ISO 8601 time, so "end of line is used"
//    as the record delimiter: one record per line;
//  - no data collection endpoint: the agent uses the public endpoints, a DCE is needed only with
//    Private Link (https://learn.microsoft.com/azure/azure-monitor/data-collection/data-collection-endpoint-overview#azure-monitor-agent-ama);
//  - the destination table "must already exist" (data-collection-log-text, "Table name"): the caller
//    deploys this after the ingestion module, which creates ProxyWebSessions_CL;
//  - the data flow's transformKql is the table's transform, the same text the Direct DCR's
//    Custom-SquidAccessLog stream runs for `import squid-log` (one parser for both paths), with the
//    same `let` parameters replaced from transformSettings as in ingestion.bicep.
// The machines are associated after deployment (the rule ID is an output):
//   az monitor data-collection rule association create --name squid --rule-id <id> --resource <machine id>

param location string
param tags object = {}

@description('Name of the data collection rule.')
param dcrName string

@description('Resource ID of the Log Analytics workspace that holds ProxyWebSessions_CL.')
param workspaceId string

@description('Access-log files the agent reads (PROXY_LOG_FILE_PATTERNS), e.g. /var/log/squid/access.log.')
param filePatterns array

@description('Values of the transform\'s parameters by setting name, as for ingestion.bicep (e.g. PROXY_KEEP_QUERY).')
param transformSettings object = {}

var table = filter(loadJsonContent('../collectors.json').tables, t => t.name == 'ProxyWebSessions_CL')[0]
var transformKql = reduce(
  table.transformParameters,
  table.transformKql,
  (kql, parameter) =>
    replace(
      kql,
      'let ${parameter.name} = ${parameter.default};',
      'let ${parameter.name} = ${transformSettings[?parameter.setting] ?? parameter.default};'
    )
)
var destinationName = 'workspace'

resource dcr 'Microsoft.Insights/dataCollectionRules@2024-03-11' = {
  name: dcrName
  location: location
  tags: tags
  kind: 'Linux'
  properties: {
    description: 'crosscloud-identity-monitor: Squid access log (text file) through the Azure Monitor Agent into ProxyWebSessions_CL.'
    streamDeclarations: {
      '${table.stream}': {
        columns: map(table.streamColumns, column => {
          name: column.name
          type: column.type
        })
      }
    }
    dataSources: {
      logFiles: [
        {
          name: 'squidAccessLog'
          streams: [table.stream]
          filePatterns: filePatterns
          format: 'text'
          settings: {
            text: {
              recordStartTimestampFormat: 'ISO 8601'
            }
          }
        }
      ]
    }
    destinations: {
      logAnalytics: [
        {
          name: destinationName
          workspaceResourceId: workspaceId
        }
      ]
    }
    dataFlows: [
      {
        streams: [table.stream]
        destinations: [destinationName]
        transformKql: transformKql
        outputStream: 'Custom-${table.name}'
      }
    ]
  }
}

@description('Associate the proxy host (an Azure VM or an Arc-enabled server) with this rule.')
output dcrId string = dcr.id
output dcrName string = dcr.name
