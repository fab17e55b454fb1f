# azd postprovision hook (PowerShell 7, or Windows PowerShell 5.1). azd runs it after `azd provision` /
# `azd up` with the Bicep outputs in the environment. It prints the one AWS step azd cannot do (the
# CloudFormation stack in infra/aws/collector-role.yaml) with this environment's values filled in, and
# how to hand the role ARN back to the Function App. It only prints: it calls neither AWS nor Azure,
# there is no secret to show, and it never fails the provisioning (it always exits 0).
# Same behaviour as postprovision.sh; keep the two in step.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

# Quote a value for copy-and-paste into PowerShell, only when it needs it.
function Format-Argument([string] $Value) {
  if ($Value -match '^[A-Za-z0-9._~:/@%+=,-]+$') { return $Value }
  return "'" + ($Value -replace "'", "''") + "'"
}

try {
  $template = 'infra/aws/collector-role.yaml'
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
