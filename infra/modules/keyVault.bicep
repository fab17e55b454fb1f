// Key Vault for what names an external system (DESIGN §4): today the secret `aws-role-arn`. Access is
// Azure RBAC only: the managed identity reads secrets; the deploying principal may write them, so the
// postprovision hook can store the role ARN once the AWS stack exists.

@description('Vault name: 3-24 letters, digits and hyphens.')
@minLength(3)
@maxLength(24)
param name string

param location string
param tags object = {}

@description('Principal (object) ID of the function app\'s managed identity (Key Vault Secrets User).')
param identityPrincipalId string

@description('Object ID of the deploying user or service principal (Key Vault Secrets Officer); empty for none.')
param deployerPrincipalId string = ''

@description('ARN of the AWS role to assume, stored as the secret aws-role-arn; empty leaves the secret alone.')
@secure()
param awsRoleArn string = ''

@description('Customer tenants of the Entra collectors, stored as the secret entra-tenants; empty leaves the secret alone.')
param entraTenants string = ''

@description('Days a deleted vault or secret stays recoverable (7-90). With purge protection on, a deleted vault\'s name stays taken this long.')
@minValue(7)
@maxValue(90)
param softDeleteRetentionInDays int = 7

var roles = {
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
}

resource vault 'Microsoft.KeyVault/vaults@2025-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }
}

resource awsRoleArnSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(awsRoleArn)) {
  parent: vault
  name: 'aws-role-arn'
  properties: {
    value: awsRoleArn
    contentType: 'text/plain'
  }
}

resource entraTenantsSecret 'Microsoft.KeyVault/vaults/secrets@2025-05-01' = if (!empty(entraTenants)) {
  parent: vault
  name: 'entra-tenants'
  properties: {
    value: entraTenants
    contentType: 'text/plain'
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identityPrincipalId, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
    principalId: identityPrincipalId
    principalType: 'ServicePrincipal'
  }
}

// No principalType: the deployer may be a user (azd up) or a service principal (a pipeline).
resource secretsOfficer 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(deployerPrincipalId)) {
  name: guid(vault.id, deployerPrincipalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
    principalId: deployerPrincipalId
  }
}

output id string = vault.id
output name string = vault.name
output uri string = vault.properties.vaultUri
