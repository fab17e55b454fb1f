// crosscloud-identity-monitor: everything `azd up` provisions on the Azure side (DESIGN §1, §5).
// The AWS side is infra/aws/collector-role.yaml; the postprovision hook prints how to deploy it with
// the outputs below.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name: names the resource group (rg-<env>) and seeds every other name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource (Flex Consumption must be available there).')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object ID of the deploying user or service principal: Key Vault Secrets Officer, so the postprovision step can store aws-role-arn. Empty for none.')
param principalId string = ''

@description('E-mail address that receives the collector alerts; empty for an action group without receivers.')
param alertEmail string = ''

@description('ARN of the AWS collector role, stored as the Key Vault secret aws-role-arn. Empty leaves the secret as it is (the postprovision hook explains how to set it).')
@secure()
param awsRoleArn string = ''

@description('Create the Entra app AWS trusts and grant the Graph app roles (Microsoft Graph Bicep extension). Needs Privileged Role Administrator; false to do it by hand.')
param deployEntra bool = true

@description('With deployEntra=false: the identifier URI (api://…) of an existing Entra app AWS trusts.')
param awsFederationAudience string = ''

@description('App settings that replace the defaults of modules/functionApp.bicep (schedules, tuning).')
param appSettingOverrides object = {}

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var appName = 'crosscloud-identity-monitor'
var functionAppName = '${abbrs.webSitesFunctions}cim-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var checkpointTableName = 'checkpoints'

resource rg 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}cim-${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    checkpointTableName: checkpointTableName
    identityPrincipalId: identity.outputs.principalId
  }
}

module logAnalytics 'modules/logAnalytics.bicep' = {
  name: 'logAnalytics'
  scope: rg
  params: {
    name: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    location: location
    tags: tags
  }
}

module appInsights 'modules/appInsights.bicep' = {
  name: 'appInsights'
  scope: rg
  params: {
    name: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceId: logAnalytics.outputs.id
    identityPrincipalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    awsRoleArn: awsRoleArn
  }
}

module ingestion 'modules/ingestion.bicep' = {
  name: 'ingestion'
  scope: rg
  params: {
    dcrName: '${abbrs.insightsDataCollectionRules}cim-${resourceToken}'
    location: location
    tags: tags
    workspaceName: logAnalytics.outputs.name
    identityPrincipalId: identity.outputs.principalId
  }
}

module entra 'modules/entra.bicep' = if (deployEntra) {
  name: 'entra'
  scope: rg
  params: {
    appUniqueName: '${appName}-aws-${resourceToken}'
    appDisplayName: '${appName} AWS federation (${environmentName})'
    identityPrincipalId: identity.outputs.principalId
  }
}

var audience = deployEntra ? entra!.outputs.audience : awsFederationAudience

module functionApp 'modules/functionApp.bicep' = {
  name: 'functionApp'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    serviceName: 'collector'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    checkpointTableName: storage.outputs.checkpointTableName
    appInsightsConnectionString: appInsights.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    logsIngestionEndpoint: ingestion.outputs.logsIngestionEndpoint
    logsIngestionDcrId: ingestion.outputs.immutableId
    awsFederationAudience: audience
    appSettingOverrides: appSettingOverrides
  }
}

module workbooks 'modules/workbooks.bicep' = {
  name: 'workbooks'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceId: logAnalytics.outputs.id
  }
  // The workbooks query the custom tables.
  dependsOn: [ingestion]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceId: logAnalytics.outputs.id
    actionGroupName: '${abbrs.insightsActionGroups}cim-${resourceToken}'
    ruleNamePrefix: '${abbrs.insightsScheduledQueryRules}cim-${resourceToken}-'
    alertEmail: alertEmail
  }
  // The alert queries read CollectorRuns_CL.
  dependsOn: [ingestion]
}

// azd copies these into the environment (azd env get-values); the postprovision hook and the AWS
// stack's parameters use them.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = functionApp.outputs.name
output AZURE_MANAGED_IDENTITY_NAME string = identity.outputs.name
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_MANAGED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output LOGS_INGESTION_ENDPOINT string = ingestion.outputs.logsIngestionEndpoint
output LOGS_INGESTION_DCR_ID string = ingestion.outputs.immutableId
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = logAnalytics.outputs.id
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = logAnalytics.outputs.name
output AZURE_LOG_ANALYTICS_WORKSPACE_CUSTOMER_ID string = logAnalytics.outputs.customerId
output AWS_FEDERATION_AUDIENCE string = audience
output AWS_OIDC_PROVIDER_URL string = 'https://sts.windows.net/${tenant().tenantId}/'
