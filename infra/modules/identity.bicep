// The user-assigned managed identity the function app runs as: host storage, Key Vault, Logs Ingestion,
// Microsoft Graph (app roles, see entra.bicep) and, through an Entra token, AWS STS.

@description('Name of the user-assigned managed identity.')
param name string

param location string
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
