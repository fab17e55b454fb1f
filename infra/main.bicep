// crosscloud-identity-monitor: everything `azd up` provisions on the Azure side (DESIGN §1, §5).
// The AWS side is infra/aws/collector-role.yaml; the postprovision hook prints how to deploy it with
// the outputs below.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name: names the resource group (rg-<env>) and seeds every other name.')
param environmentName string

// Only regions where the Flex Consumption plan exists (azd offers only these at its location prompt).
// The list is the one of Microsoft's official azd Flex Consumption template
// (https://github.com/Azure-Samples/functions-quickstart-typescript-azd/blob/main/infra/main.bicep, February
// 2026) without the canary region eastus2euap, which ordinary subscriptions cannot use. The Functions docs
// publish no static list: they say to ask Azure with `az functionapp list-flexconsumption-locations`
// (https://learn.microsoft.com/azure/azure-functions/flex-consumption-how-to#view-currently-supported-regions);
// run that to add a region that has opened since.
@minLength(1)
@description('Azure region of every resource (Flex Consumption must be available there).')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object ID of the deploying user or service principal: Key Vault Secrets Officer, so the postprovision step can store aws-role-arn. Empty for none.')
param principalId string = ''

@description('E-mail address(es), comma-separated, that receive the collector alerts (ALERT_EMAIL); empty for none.')
param alertEmail string = ''

@description('Resource ID of an existing action group the collector alerts notify (ALERT_ACTION_GROUP_ID); empty for none. With neither this nor alertEmail the alerts notify nobody (output ALERT_RECEIVERS_WARNING).')
param alertActionGroupId string = ''

@description('The workspace has Microsoft Sentinel (SENTINEL_ENABLED): deploy the scheduled analytics rules of infra/analytics/.')
param sentinelEnabled bool = false

@description('ARN of the AWS collector role, stored as the Key Vault secret aws-role-arn. Empty leaves the secret as it is (the postprovision hook explains how to set it).')
@secure()
param awsRoleArn string = ''

// Entra ID (issue 14 items 1-2). What a deployer may do there is decided by the preprovision hook
// (infra/hooks/preprovision.*), which asks Microsoft Graph what the signed-in user can do and sets
// CIM_CREATE_ENTRA_APP; DEPLOY_ENTRA_APP=true|false overrides it. The Graph app-role grants are NOT made
// here by default: granting roles to an identity created in the same deployment fails intermittently
// while Entra replicates it ("Not a valid reference update", msgraph-bicep-types issue #193, open:
// https://github.com/microsoftgraph/msgraph-bicep-types/issues/193), so the postprovision hook runs
// scripts/grant-graph-roles.sh, which waits for the identity and retries, when the deployer is an
// administrator, and otherwise prints that command for one.
@description('Create the Entra app registration AWS trusts (Microsoft Graph Bicep extension): any member may, unless the tenant forbids users to register applications.')
param deployEntraApp bool = true

@description('Also grant the Graph app roles in this template (needs Privileged Role Administrator). Only for an identity that already exists and has no grants yet: see above, and msgraph-bicep-types issue #161 (a grant that already exists fails the deployment).')
param grantGraphRolesInTemplate bool = false

@description('Customer tenants the Entra collectors read besides this one: <tenant ID>[=<name>], comma-separated (azd env ENTRA_TENANTS). Non-empty deploys a multi-tenant app whose federated identity credential is the managed identity, and stores the list in Key Vault (entra-tenants); each customer tenant\'s admin then consents to the app (README "Several Entra tenants").')
param entraTenants string = ''

var multiTenant = !empty(entraTenants)

@description('With deployEntraApp=false: the identifier URI (api://…) of the Entra app AWS trusts (the one created before, or one an administrator created); empty until there is one.')
param awsFederationAudience string = ''

// Names of what outlives `azd down` (issue 14 item 3): the Key Vault stays soft-deleted, its name taken,
// for its retention period and purge protection forbids purging it ("You can't reuse the name of a key
// vault that has been soft-deleted until the retention period has passed",
// https://learn.microsoft.com/azure/key-vault/general/soft-delete-overview); a deleted Entra app keeps its
// uniqueName in the directory's deleted items ("Another object with the same value for property
// uniqueName already exists", https://learn.microsoft.com/graph/templates/known-issues-graph-bicep). The
// postdown hook therefore sets a new NAME_SUFFIX after every `azd down` (the preprovision hook also does
// when the environment's vault is found soft-deleted), so the next `azd up` creates new names. Empty
// (never torn down) keeps the original names.
@description('Suffix of the Key Vault and Entra app names, new after each azd down (NAME_SUFFIX): 1-6 lower-case letters and digits, or empty.')
@maxLength(6)
param nameSuffix string = ''

// Deploy into an existing workspace (issue 14 item 6).
@description('Resource ID of an existing Log Analytics workspace (LOG_ANALYTICS_WORKSPACE_ID), any resource group: the tables and the DCR go there, the workbooks, alerts and Application Insights use it, and no workspace is created. Empty: a new workspace in this environment\'s resource group.')
param logAnalyticsWorkspaceId string = ''

@description('App settings that replace the defaults of modules/functionApp.bicep (schedules, tuning).')
param appSettingOverrides object = {}

// Shadow IT: the web proxy's access log (issue 15; modules/proxyLogs.bicep). PROXY_KEEP_QUERY reaches the
// transform of both DCRs (ingestion's Direct stream for `import squid-log`, and the agent's).
@description('Deploy the Azure Monitor Agent DCR for the Squid access log (PROXY_LOGS).')
param proxyLogs bool = false
@description('Access-log files the agent reads, comma-separated (PROXY_LOG_FILE_PATTERNS).')
param proxyLogFilePatterns string = '/var/log/squid/access.log'
@description('Keep URL query strings in ProxyWebSessions_CL (PROXY_KEEP_QUERY); they carry personal data.')
param proxyKeepQuery bool = false
@description('Users of a risky or unsanctioned app, new since the day before, that raise the shadow-IT alert (SHADOW_IT_ALERT_MIN_USERS).')
param shadowItAlertMinUsers int = 3

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var appName = 'crosscloud-identity-monitor'
var functionAppName = '${abbrs.webSitesFunctions}cim-${resourceToken}'
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'
var checkpointTableName = 'checkpoints'
// NAME_SUFFIX (see nameSuffix) goes into the names of what outlives `azd down`.
var outlivingNameSuffix = empty(nameSuffix) ? '' : '-${nameSuffix}'

// The workspace: LOG_ANALYTICS_WORKSPACE_ID's, or a new one in rg. Its ID's parts address it (its
// subscription, resource group and name); for a new workspace they are those it will have.
var useExistingWorkspace = !empty(logAnalyticsWorkspaceId)
var newWorkspaceName = '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
var workspaceIdParts = split(
  useExistingWorkspace
    ? logAnalyticsWorkspaceId
    : '/subscriptions/${subscription().subscriptionId}/resourceGroups/${rg.name}/providers/Microsoft.OperationalInsights/workspaces/${newWorkspaceName}',
  '/'
)
var workspaceSubscriptionId = workspaceIdParts[2]
var workspaceResourceGroupName = workspaceIdParts[4]

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

module logAnalytics 'modules/logAnalytics.bicep' = if (!useExistingWorkspace) {
  name: 'logAnalytics'
  scope: rg
  params: {
    name: newWorkspaceName
    location: location
    tags: tags
  }
}

resource existingWorkspace 'Microsoft.OperationalInsights/workspaces@2025-07-01' existing = if (useExistingWorkspace) {
  name: workspaceIdParts[8]
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
}

// Referencing the new workspace's module outputs makes what uses them wait for it.
var workspaceId = useExistingWorkspace ? existingWorkspace.id : logAnalytics!.outputs.id
var workspaceName = useExistingWorkspace ? existingWorkspace.name : logAnalytics!.outputs.name
var workspaceCustomerId = useExistingWorkspace
  ? existingWorkspace!.properties.customerId
  : logAnalytics!.outputs.customerId
// A DCR "must match the region of the Log Analytics workspace"
// (https://learn.microsoft.com/azure/azure-monitor/logs/logs-ingestion-api-overview#data-collection-rule);
// an existing workspace may be in another region than `location`.
var workspaceLocation = useExistingWorkspace ? existingWorkspace!.location : location

module appInsights 'modules/appInsights.bicep' = {
  name: 'appInsights'
  scope: rg
  params: {
    name: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
    workspaceId: workspaceId
    identityPrincipalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyVault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}${outlivingNameSuffix}'
    location: location
    tags: tags
    identityPrincipalId: identity.outputs.principalId
    deployerPrincipalId: principalId
    awsRoleArn: awsRoleArn
    entraTenants: entraTenants
  }
}

// The tables are children of the workspace, so this module (tables and DCR, one definition list) is
// deployed into the workspace's resource group: rg, or the existing workspace's. The DCR takes the
// workspace's region.
module ingestion 'modules/ingestion.bicep' = {
  name: 'ingestion'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  params: {
    dcrName: '${abbrs.insightsDataCollectionRules}cim-${resourceToken}'
    location: workspaceLocation
    tags: tags
    workspaceName: workspaceName
    identityPrincipalId: identity.outputs.principalId
    transformSettings: { PROXY_KEEP_QUERY: string(proxyKeepQuery) }
  }
}

module proxyLogsDcr 'modules/proxyLogs.bicep' = if (proxyLogs) {
  name: 'proxyLogs'
  scope: rg
  params: {
    dcrName: '${abbrs.insightsDataCollectionRules}cim-squid-${resourceToken}'
    location: workspaceLocation
    tags: tags
    workspaceId: workspaceId
    filePatterns: filter(map(split(proxyLogFilePatterns, ','), pattern => trim(pattern)), pattern => !empty(pattern))
    transformSettings: { PROXY_KEEP_QUERY: string(proxyKeepQuery) }
  }
  // The table must exist before a DCR flows into it.
  dependsOn: [ingestion]
}

module entra 'modules/entra.bicep' = if (deployEntraApp || grantGraphRolesInTemplate || multiTenant) {
  name: 'entra'
  scope: rg
  params: {
    appUniqueName: '${appName}-aws-${resourceToken}${outlivingNameSuffix}'
    appDisplayName: '${appName} AWS federation (${environmentName})'
    deployApp: deployEntraApp
    identityPrincipalId: identity.outputs.principalId
    grantGraphRoles: grantGraphRolesInTemplate
    deployMultiTenantApp: multiTenant
    multiTenantAppUniqueName: '${appName}-tenants-${resourceToken}${outlivingNameSuffix}'
    multiTenantAppDisplayName: '${appName} Entra tenants (${environmentName})'
  }
}

var audience = deployEntraApp ? entra!.outputs.audience : awsFederationAudience

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
    entraMultiTenantAppId: multiTenant ? entra!.outputs.multiTenantAppId : ''
    appSettingOverrides: appSettingOverrides
  }
}

module workbooks 'modules/workbooks.bicep' = {
  name: 'workbooks'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceId: workspaceId
  }
  // The workbooks query the custom tables.
  dependsOn: [ingestion]
}

// With Sentinel, the same workbooks also go to Sentinel's gallery: in the workspace's resource group,
// category 'sentinel', named per environment so several deployments into one workspace do not collide.
module sentinelWorkbooks 'modules/workbooks.bicep' = if (sentinelEnabled) {
  name: 'sentinel-workbooks'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  params: {
    location: workspaceLocation
    tags: tags
    workspaceId: workspaceId
    category: 'sentinel'
    nameSeed: environmentName
  }
  dependsOn: [ingestion]
}

module alerts 'modules/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceId: workspaceId
    actionGroupName: '${abbrs.insightsActionGroups}cim-${resourceToken}'
    ruleNamePrefix: '${abbrs.insightsScheduledQueryRules}cim-${resourceToken}-'
    alertEmail: alertEmail
    existingActionGroupId: alertActionGroupId
    shadowItAlertMinUsers: shadowItAlertMinUsers
  }
  // The alert queries read CollectorRuns_CL.
  dependsOn: [ingestion]
}

// The Key Vault's audit log, the function app's logs and the DCR's ingestion errors, to the workspace.
module diagnostics 'modules/diagnostics.bicep' = {
  name: 'diagnostics'
  scope: rg
  params: {
    workspaceId: workspaceId
    keyVaultName: keyVault.outputs.name
    functionAppName: functionApp.outputs.name
    // The DCR is in the workspace's resource group (see ingestion): here only when that is rg.
    dcrName: useExistingWorkspace ? '' : ingestion.outputs.dcrName
  }
}

// The DCR's ingestion errors when it is in an existing workspace's resource group.
module dcrDiagnostics 'modules/diagnostics.bicep' = if (useExistingWorkspace) {
  name: 'dcrDiagnostics'
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  params: {
    workspaceId: workspaceId
    dcrName: ingestion.outputs.dcrName
  }
}

// Microsoft Sentinel analytics rules, when the workspace has Sentinel.
module analytics 'modules/analytics.bicep' = if (sentinelEnabled) {
  name: 'analytics'
  // Rules are extension resources of the workspace: in its resource group.
  scope: resourceGroup(workspaceSubscriptionId, workspaceResourceGroupName)
  params: {
    workspaceName: workspaceName
  }
  // The rule queries read the custom tables.
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
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = workspaceId
output AZURE_LOG_ANALYTICS_WORKSPACE_NAME string = workspaceName
output AZURE_LOG_ANALYTICS_WORKSPACE_CUSTOMER_ID string = workspaceCustomerId
output AZURE_LOG_ANALYTICS_WORKSPACE_RESOURCE_GROUP string = workspaceResourceGroupName
output AZURE_DATA_COLLECTION_RULE_NAME string = ingestion.outputs.dcrName
// The agent's DCR for the Squid access log (empty unless PROXY_LOGS): associate the proxy host with it.
output PROXY_LOGS_DCR_ID string = proxyLogs ? proxyLogsDcr!.outputs.dcrId : ''
output AWS_FEDERATION_AUDIENCE string = audience
// The app registration this environment created (empty when it created none): the postdown hook deletes it.
output AWS_FEDERATION_APP_ID string = deployEntraApp ? entra!.outputs.appId : ''
output AWS_FEDERATION_APP_OBJECT_ID string = deployEntraApp ? entra!.outputs.appObjectId : ''
@description('Client ID of the multi-tenant app that reads the customer tenants (ENTRA_TENANTS); empty without.')
output ENTRA_MULTITENANT_APP_ID string = multiTenant ? entra!.outputs.multiTenantAppId : ''
@description('What a customer tenant\'s admin opens to consent to the app: replace <tenant> with their tenant ID.')
output ENTRA_ADMIN_CONSENT_URL string = multiTenant
  ? '${environment().authentication.loginEndpoint}<tenant>/adminconsent?client_id=${entra!.outputs.multiTenantAppId}'
  : ''
output AWS_OIDC_PROVIDER_URL string = 'https://sts.windows.net/${tenant().tenantId}/'
// Empty when the collector alerts notify someone; otherwise the warning the postprovision hook must print.
output ALERT_RECEIVERS_WARNING string = alerts.outputs.receiversWarning
