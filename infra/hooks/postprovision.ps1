# azd postprovision hook (PowerShell 7, or Windows PowerShell 5.1). azd runs it after `azd provision` /
# `azd up` with the Bicep outputs in the environment. It prints the one AWS step azd cannot do (the
# CloudFormation stack in infra/aws/collector-role.yaml) with this environment's values filled in, and
# how to hand the role ARN back to the Function App; then, optionally, the same for an AWS Organization
# (the hub stack with MemberRoleName, the member role StackSet of infra/aws/member-role.yaml). It only
# prints: it calls neither AWS nor Azure, there is no secret to show, and it never fails the
# provisioning (it always exits 0).
# Same behaviour as postprovision.sh; keep the two in step. First, postprovision-entra.ps1 grants the
# Microsoft Graph app roles (when the preprovision hook found the deployer may) or prints what an
# administrator runs.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

try { & (Join-Path $PSScriptRoot 'postprovision-entra.ps1') }
catch { Write-Warning "postprovision: the Entra ID step stopped early ($($_.Exception.Message))." }

# Quote a value for copy-and-paste into PowerShell, only when it needs it.
function Format-Argument([string] $Value) {
  if ($Value -match '^[A-Za-z0-9._~:/@%+=,-]+$') { return $Value }
  return "'" + ($Value -replace "'", "''") + "'"
}

try {
  $template = 'infra/aws/collector-role.yaml'
  $memberTemplate = 'infra/aws/member-role.yaml'
  $memberRole = 'crosscloud-identity-monitor-member'
  $required = @(
    'AZURE_TENANT_ID',
    'AWS_FEDERATION_AUDIENCE',
    'AZURE_MANAGED_IDENTITY_PRINCIPAL_ID',
    'AZURE_KEY_VAULT_NAME',
    'AZURE_ENV_NAME'
  )

  $raw = @{}
  $missing = @()
  foreach ($name in $required) {
    $value = [Environment]::GetEnvironmentVariable($name)
    if ([string]::IsNullOrEmpty($value)) {
      $missing += $name
      Write-Output ("postprovision: $name is not set. It should be an output of infra/main.bicep (azd copies " +
        "outputs into the environment; see ``azd env get-values``). It is shown as <$name> below.")
    }
    $raw[$name] = $value
  }

  # Tokens carry lower-case GUIDs, and the stack's parameters accept only those.
  $guid = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
  foreach ($name in @('AZURE_TENANT_ID', 'AZURE_MANAGED_IDENTITY_PRINCIPAL_ID')) {
    if ($raw[$name]) {
      $raw[$name] = $raw[$name].ToLowerInvariant()
      if ($raw[$name] -cnotmatch $guid) {
        Write-Output "postprovision: warning: $name ($($raw[$name])) is not a GUID; the stack will reject it."
      }
    }
  }
  if ($raw['AWS_FEDERATION_AUDIENCE'] -and -not $raw['AWS_FEDERATION_AUDIENCE'].StartsWith('api://')) {
    Write-Output ("postprovision: warning: AWS_FEDERATION_AUDIENCE ($($raw['AWS_FEDERATION_AUDIENCE'])) " +
      "is not an api:// URI; the stack will reject it.")
  }

  # A value, or a placeholder naming the missing variable.
  $shown = @{}
  foreach ($name in $required) {
    $shown[$name] = "<$name>"
    if ($raw[$name]) { $shown[$name] = Format-Argument $raw[$name] }
  }

  # CloudFormation stack names allow letters, digits and hyphens only; azd environment names allow more.
  $envPart = '<AZURE_ENV_NAME>'
  if ($raw['AZURE_ENV_NAME']) { $envPart = $raw['AZURE_ENV_NAME'] -replace '[^A-Za-z0-9-]', '-' }
  $stack = "crosscloud-identity-monitor-$envPart"
  $tenant = $shown['AZURE_TENANT_ID']
  $audience = $shown['AWS_FEDERATION_AUDIENCE']
  $principal = $shown['AZURE_MANAGED_IDENTITY_PRINCIPAL_ID']
  $vault = $shown['AZURE_KEY_VAULT_NAME']
  $query = '"Stacks[0].Outputs[?OutputKey==''CollectorRoleArn''].OutputValue"'

  Write-Output @"

AWS side of crosscloud-identity-monitor: one CloudFormation stack (OIDC provider for your Entra
tenant + a read-only collector role). Run these with credentials for the AWS account to inventory.

1. Deploy the stack:

   aws cloudformation deploy --template-file $template --stack-name $stack --capabilities CAPABILITY_NAMED_IAM --parameter-overrides AzureTenantId=$tenant FederationAudience=$audience ManagedIdentityPrincipalId=$principal

   If the account already has the provider https://sts.windows.net/$tenant/ (for example from another
   environment), add to --parameter-overrides:
     CreateOidcProvider=false ExistingOidcProviderArn=arn:aws:iam::<account-id>:oidc-provider/sts.windows.net/$tenant/
   and, for a second environment in the same account, RoleName=crosscloud-identity-monitor-collector-$envPart.
   That provider must list this audience:
     aws iam add-client-id-to-open-id-connect-provider --open-id-connect-provider-arn <provider-arn> --client-id $audience

2. Read the role ARN:

   `$roleArn = aws cloudformation describe-stacks --stack-name $stack --query $query --output text

3. Store it where the Function App reads it, the Key Vault secret aws-role-arn (this needs a role
   such as Key Vault Secrets Officer on the vault):

   az keyvault secret set --vault-name $vault --name aws-role-arn --value `$roleArn

   or let azd store it: azd env set AWS_ROLE_ARN `$roleArn; azd provision

"@

  # Arguments with commas or < > are quoted: PowerShell would read a,b as an array and < as an operator.
  Write-Output @"
For an AWS Organization (optional: every account of it, through a read-only member role in each):

a. Instead of step 1, deploy the stack in the management account (or an Organizations delegated
   administrator account) with MemberRoleName, then do steps 2 and 3 with it. Its role (the hub) may
   then also list the accounts and assume the member role, nothing more.

   aws cloudformation deploy --template-file $template --stack-name $stack --capabilities CAPABILITY_NAMED_IAM --parameter-overrides AzureTenantId=$tenant FederationAudience=$audience ManagedIdentityPrincipalId=$principal MemberRoleName=$memberRole

b. Deploy the member role ($memberTemplate) to the accounts of your OUs with a service-managed
   StackSet. <hub-role-arn> is the role ARN of step 2; from a CloudFormation delegated administrator
   account, add --call-as DELEGATED_ADMIN. IAM is global: one Region is enough.

   aws cloudformation create-stack-set --stack-set-name $($stack)-member --template-body file://$memberTemplate --permission-model SERVICE_MANAGED --auto-deployment 'Enabled=true,RetainStacksOnAccountRemoval=false' --capabilities CAPABILITY_NAMED_IAM --parameters 'ParameterKey=HubRoleArn,ParameterValue=<hub-role-arn>' 'ParameterKey=MemberRoleName,ParameterValue=$memberRole'
   aws cloudformation create-stack-instances --stack-set-name $($stack)-member --deployment-targets 'OrganizationalUnitIds=<ou-id-or-root-id>' --regions us-east-1

   StackSets never deploy to the management account: deploy the member role there as a normal stack,
     aws cloudformation deploy --template-file $memberTemplate --stack-name $($stack)-member --capabilities CAPABILITY_NAMED_IAM --parameter-overrides 'HubRoleArn=<hub-role-arn>'
   or leave that account out with aws-accounts (step c).

c. Turn organization mode on, and optionally choose accounts (IDs to include, !<id> to exclude):

   az keyvault secret set --vault-name $vault --name aws-member-role-name --value $memberRole
   az keyvault secret set --vault-name $vault --name aws-accounts --value '!<management-account-id>'

"@

  $alertWarning = [Environment]::GetEnvironmentVariable('ALERT_RECEIVERS_WARNING')
  if ($alertWarning) { Write-Output "Alerts: $alertWarning" }
  # Customer tenants (ENTRA_TENANTS): each admin consents to the multi-tenant app once.
  $consentUrl = [Environment]::GetEnvironmentVariable('ENTRA_ADMIN_CONSENT_URL')
  $tenants = [Environment]::GetEnvironmentVariable('ENTRA_TENANTS')
  if ($consentUrl -and $tenants) {
    Write-Output 'Customer tenants: an admin of each (Privileged Role Administrator or Global Administrator) opens'
    Write-Output 'its link once, granting the app AuditLog.Read.All and Directory.Read.All there:'
    foreach ($entry in ($tenants -split '[,;\r\n]+')) {
      $tenant = ($entry -split '=')[0].Trim()
      if ($tenant) { Write-Output "  $($consentUrl.Replace('<tenant>', $tenant))" }
    }
  }

  $existing = [Environment]::GetEnvironmentVariable('AWS_ROLE_ARN')
  if ($existing) {
    Write-Output "AWS_ROLE_ARN is already set in this azd environment: $(Format-Argument $existing)"
  }
  if ($missing.Count -gt 0) {
    Write-Output ("postprovision: fill in $($missing -join ' ') above by hand, or add the missing outputs " +
      'to infra/main.bicep.')
  }
}
catch {
  # Provisioning has already succeeded: say what went wrong and exit 0.
  Write-Warning "postprovision: this hook stopped early ($($_.Exception.Message)); provisioning is unaffected."
  Write-Warning 'postprovision: the AWS steps are described at the top of infra/aws/collector-role.yaml.'
}
exit 0
