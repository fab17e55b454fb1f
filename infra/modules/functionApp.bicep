// The Flex Consumption plan and the function app, running as the user-assigned managed identity, with
// every app setting the app reads (README "Settings"). Nothing here is a secret: storage, Application
// Insights, Key Vault and the Logs Ingestion API are all reached with the identity's Entra tokens, and
// what names an external system (aws-role-arn) is in Key Vault.
//
// Flex Consumption takes the runtime from functionAppConfig.runtime: FUNCTIONS_WORKER_RUNTIME (and
// FUNCTIONS_EXTENSION_VERSION, WEBSITE_RUN_FROM_PACKAGE, …) must NOT be app settings here.

param name string
param location string
param tags object = {}

@description('Name of the Flex Consumption (FC1) plan.')
param planName string

@description('azd service name (azure.yaml) that deploys to this app.')
param serviceName string

@description('Resource ID of the user-assigned managed identity.')
param identityId string

@description('Client ID of the user-assigned managed identity.')
param identityClientId string

@description('Blob endpoint of the function app\'s storage account, https://<account>.blob.core.windows.net/.')
param storageBlobEndpoint string

@description('Queue endpoint of the function app\'s storage account.')
param storageQueueEndpoint string

@description('Table endpoint of the function app\'s storage account (also where checkpoints live).')
param storageTableEndpoint string

@description('URL of the blob container Flex Consumption deploys the package to.')
param deploymentContainerUrl string

@description('Application Insights connection string (local auth disabled: telemetry is sent with Entra auth).')
param appInsightsConnectionString string

param keyVaultUri string
param logsIngestionEndpoint string
param logsIngestionDcrId string

@description('Application ID URI of the Entra app AWS trusts (api://…).')
param awsFederationAudience string

@description('Client ID of the multi-tenant app for customer tenants (ENTRA_MULTITENANT_APP_ID); empty for the home tenant alone.')
param entraMultiTenantAppId string = ''

@description('Table holding the Entra collectors\' checkpoints.')
param checkpointTableName string = 'checkpoints'

@description('Flex Consumption instance memory in MB.')
@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@description('Upper bound of Flex Consumption instances; timers run as singletons, so a few are plenty.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 4

@description('App settings that replace the defaults below (e.g. schedules); values must be strings.')
param appSettingOverrides object = {}

// Defaults as documented in README "Settings". Each collector's settings and its schedule (which must
// exist: the host resolves the timers' %…% from app settings) come from its declaration, through the
// generated infra/collectors.json; the rest are read by every run.
var tunables = union(loadJsonContent('../collectors.json').appSettings, {
  LOGS_INGESTION_AUDIENCE: 'https://monitor.azure.com'
  RUN_TIME_BUDGET_MINUTES: '20'
})

var wiring = {
  // Identity-based host storage (no connection string, shared keys are off on the account). The app's
  // checkpoint store reads __tableServiceUri and __clientId too.
  AzureWebJobsStorage__credential: 'managedidentity'
  AzureWebJobsStorage__clientId: identityClientId
  AzureWebJobsStorage__blobServiceUri: storageBlobEndpoint
  AzureWebJobsStorage__queueServiceUri: storageQueueEndpoint
  AzureWebJobsStorage__tableServiceUri: storageTableEndpoint
  CHECKPOINT_TABLE: checkpointTableName
  APPLICATIONINSIGHTS_CONNECTION_STRING: appInsightsConnectionString
  APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identityClientId};Authorization=AAD'
  AZURE_CLIENT_ID: identityClientId
  KEY_VAULT_URI: keyVaultUri
  LOGS_INGESTION_ENDPOINT: logsIngestionEndpoint
  LOGS_INGESTION_DCR_ID: logsIngestionDcrId
  AWS_FEDERATION_AUDIENCE: awsFederationAudience
  ENTRA_MULTITENANT_APP_ID: entraMultiTenantAppId
}

// Overrides may change tunables, never the wiring.
var appSettings = union(tunables, appSettingOverrides, wiring)

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        for setting in items(appSettings): {
          name: setting.key
          value: setting.value
        }
      ]
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      runtime: {
        name: 'node'
        version: '22'
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
    }
  }
}

output id string = functionApp.id
output name string = functionApp.name
output defaultHostName string = functionApp.properties.defaultHostName
output planId string = plan.id
