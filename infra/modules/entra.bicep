// The Entra ID side, through the Microsoft Graph Bicep extension (bicepconfig.json):
//   - the app registration AWS trusts as the audience of the managed identity's tokens (v1 tokens,
//     so iss = https://sts.windows.net/<tenant>/), and its service principal, without which Entra
//     refuses to issue tokens for it (AADSTS500011);
//   - optionally (grantGraphRoles), the Microsoft Graph application roles the collectors need, granted to
//     the managed identity.
// Creating the app needs no directory role unless the tenant forbids users to register applications
// (then Application Developer or more); the app-role grants need Privileged Role Administrator (or Global
// Administrator). main.bicep decides what to deploy from what the preprovision hook found the deployer may
// do. The grants are off by default: an identity created in the same deployment is not yet visible to
// Graph everywhere and the grant fails intermittently (msgraph-bicep-types issue #193); the postprovision
// hook grants them with scripts/grant-graph-roles.sh, which waits and retries, instead.
extension microsoftGraphV1

@description('Client-provided unique name of the AWS federation app registration (idempotent re-deploys).')
param appUniqueName string

@description('Display name of the AWS federation app registration.')
param appDisplayName string

@description('Create the app registration and its service principal.')
param deployApp bool = true

@description('Create the multi-tenant app that reads customer tenants, with the managed identity as its federated credential.')
param deployMultiTenantApp bool = false

@description('Client-provided unique name of the multi-tenant app registration.')
param multiTenantAppUniqueName string = ''

@description('Display name of the multi-tenant app registration.')
param multiTenantAppDisplayName string = ''

@description('Principal (object) ID of the managed identity that gets the Graph app roles.')
param identityPrincipalId string

@description('Grant the Graph app roles to the identity here (needs Privileged Role Administrator; see above).')
param grantGraphRoles bool = false

var graphAppId = '00000003-0000-0000-c000-000000000000'
var graphAppRoles = {
  'AuditLog.Read.All': 'b0afded3-3588-46d8-8b3d-9842eff778da'
  'Directory.Read.All': '7ab1d382-f21e-4acd-a863-ba3e13f7da61'
}

// api://<tenant-id>/<name>: tenant-scoped, the form Entra's identifier-URI restrictions allow for new
// apps (a bare api://<name> is rejected where "uriAdditionWithoutUniqueTenantIdentifier" is enforced).
var audience = 'api://${tenant().tenantId}/${appUniqueName}'

resource awsFederationApp 'Microsoft.Graph/applications@v1.0' = if (deployApp) {
  uniqueName: appUniqueName
  displayName: appDisplayName
  signInAudience: 'AzureADMyOrg'
  identifierUris: [audience]
  api: {
    requestedAccessTokenVersion: 1
  }
}

resource awsFederationSp 'Microsoft.Graph/servicePrincipals@v1.0' = if (deployApp) {
  appId: awsFederationApp!.appId
}

// Read only when the grants below are deployed (any member may read service principals).
resource graphSp 'Microsoft.Graph/servicePrincipals@v1.0' existing = {
  appId: graphAppId
}

resource graphRoleGrants 'Microsoft.Graph/appRoleAssignedTo@v1.0' = [
  for role in items(graphAppRoles): if (grantGraphRoles) {
    resourceId: graphSp.id
    appRoleId: role.value
    principalId: identityPrincipalId
  }
]

// The app customer tenants consent to. Its only credential is the managed identity: Entra accepts the identity's
// token for the exchange audience as the app's client assertion when issuer, subject and audience match.
// https://learn.microsoft.com/en-us/entra/workload-id/workload-identity-federation-config-app-trust-managed-identity
// (GA April 2025): issuer = this tenant's v2.0 authority (identity and app must share a tenant), subject = the
// identity's object (principal) ID, audience = api://AzureADTokenExchange (…USGov, …China in those clouds);
// only user-assigned identities. requiredResourceAccess lists the Graph roles the admin-consent page grants.
var tokenExchangeAudience = environment().name == 'AzureUSGovernment'
  ? 'api://AzureADTokenExchangeUSGov'
  : environment().name == 'AzureChinaCloud' ? 'api://AzureADTokenExchangeChina' : 'api://AzureADTokenExchange'

resource multiTenantApp 'Microsoft.Graph/applications@v1.0' = if (deployMultiTenantApp) {
  uniqueName: multiTenantAppUniqueName
  displayName: multiTenantAppDisplayName
  signInAudience: 'AzureADMultipleOrgs'
  requiredResourceAccess: [
    {
      resourceAppId: graphAppId
      resourceAccess: [for role in items(graphAppRoles): { id: role.value, type: 'Role' }]
    }
  ]

  resource managedIdentityCredential 'federatedIdentityCredentials@v1.0' = {
    name: '${multiTenantAppUniqueName}/managed-identity'
    description: 'The function app\'s user-assigned managed identity'
    audiences: [tokenExchangeAudience]
    issuer: '${environment().authentication.loginEndpoint}${tenant().tenantId}/v2.0'
    subject: identityPrincipalId
  }
}

@description('Client ID of the multi-tenant app (ENTRA_MULTITENANT_APP_ID); empty unless deployed.')
output multiTenantAppId string = deployMultiTenantApp ? multiTenantApp!.appId : ''

@description('The app\'s identifier URI: the token audience AWS trusts (AWS_FEDERATION_AUDIENCE).')
output audience string = deployApp ? audience : ''
output appId string = deployApp ? awsFederationApp!.appId : ''
output appObjectId string = deployApp ? awsFederationApp!.id : ''
output servicePrincipalId string = deployApp ? awsFederationSp!.id : ''
