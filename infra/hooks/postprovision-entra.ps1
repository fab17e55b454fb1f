# Part of the azd postprovision hook (postprovision.ps1 runs it first): the Entra ID steps left after
# provisioning. Same behaviour as postprovision-entra.sh (read its header); keep the two in step. It
# never fails the provisioning.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Get-Env([string] $Name) {
  $value = [Environment]::GetEnvironmentVariable($Name)
  if ($null -eq $value) { return '' }
  return $value
}

$principal = Get-Env 'AZURE_MANAGED_IDENTITY_PRINCIPAL_ID'
$known = [bool]$principal
if (-not $known) { $principal = '<AZURE_MANAGED_IDENTITY_PRINCIPAL_ID>' }
$grant = (Get-Env 'CIM_GRANT_GRAPH_ROLES').ToLowerInvariant()
$script = Join-Path $PSScriptRoot '..' '..' 'scripts' 'grant-graph-roles.ps1'

function Write-AdminGrant {
  Write-Output @"
   An administrator (Privileged Role Administrator or Global Administrator) grants them, in a clone of
   this repository, signed in with az login:

     pwsh scripts/grant-graph-roles.ps1 -PrincipalId $principal

   or in a POSIX shell:

     sh scripts/grant-graph-roles.sh --principal-id $principal

   or with the Azure CLI alone (PowerShell):

     `$graphSp = az ad sp show --id 00000003-0000-0000-c000-000000000000 --query id -o tsv
     foreach (`$role in 'b0afded3-3588-46d8-8b3d-9842eff778da', '7ab1d382-f21e-4acd-a863-ba3e13f7da61') {
       `$body = @{ principalId = '$principal'; resourceId = `$graphSp; appRoleId = `$role } | ConvertTo-Json -Compress
       Set-Content -NoNewline grant.json `$body
       az rest --method post --url "https://graph.microsoft.com/v1.0/servicePrincipals/`$graphSp/appRoleAssignedTo" --body '@grant.json'
     }

   Until then the Entra collectors' runs fail, naming the missing role (see CollectorRuns_CL); the AWS
   collector does not need these roles.
"@
}

Write-Output ''
Write-Output 'Entra ID: Microsoft Graph app roles AuditLog.Read.All and Directory.Read.All for the collectors'
Write-Output "identity ($principal)"
if ($grant -eq 'true' -and $known) {
  & pwsh -NoProfile -NonInteractive -File $script -PrincipalId $principal
  if ($LASTEXITCODE -eq 0) { Write-Output '   Granted.' }
  else {
    Write-Output '   NOT granted (see the reason above). Run the same again once it is fixed:'
    Write-Output "     pwsh scripts/grant-graph-roles.ps1 -PrincipalId $principal"
    Write-AdminGrant
  }
}
else {
  Write-Output '   are NOT granted by this deployment (you are not an administrator who may, or GRANT_GRAPH_ROLES=false).'
  Write-AdminGrant
}

if (-not (Get-Env 'AWS_FEDERATION_AUDIENCE')) {
  $envName = Get-Env 'AZURE_ENV_NAME'
  if (-not $envName) { $envName = 'env' }
  $envPart = $envName -replace '[^A-Za-z0-9-]', '-'
  $suffix = Get-Env 'NAME_SUFFIX'
  $app = "crosscloud-identity-monitor-aws-$envPart$(if ($suffix) { "-$suffix" })"
  Write-Output @"

Entra ID: there is no app registration for AWS to trust yet (this deployment may not create one), so
the AWS collector cannot start. An administrator (Application Developer or more) creates it:

     pwsh scripts/grant-graph-roles.ps1 -CreateApp $app
     (POSIX shell: sh scripts/grant-graph-roles.sh --create-app $app)

   and it prints the audience to hand to this deployment:

     azd env set AWS_FEDERATION_AUDIENCE api://<tenant-id>/$app; azd provision

   The AWS steps below need that audience too (shown as <AWS_FEDERATION_AUDIENCE> until then).
"@
}
exit 0
