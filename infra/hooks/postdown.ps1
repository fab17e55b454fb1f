# azd postdown hook (PowerShell 7). Same behaviour as postdown.sh (read its header): deletes the Entra app
# registration this environment created, sets a new NAME_SUFFIX for the next azd up, and says what stays
# in an existing workspace and how to remove it. Always exits 0 (azd down is done).
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Say([string] $Message) { Write-Output "postdown: $Message" }
function Get-Env([string] $Name) {
  $value = [Environment]::GetEnvironmentVariable($Name)
  if ($null -eq $value) { return '' }
  return $value
}
function Set-AzdEnv([string] $Name, [string] $Value) {
  if (-not (Get-Command azd -ErrorAction SilentlyContinue)) {
    Say "warning: azd is not on PATH: run azd env set $Name '$Value'"
    return
  }
  $arguments = @('env', 'set', $Name, $Value)
  $envName = Get-Env 'AZURE_ENV_NAME'
  if ($envName) { $arguments += @('-e', $envName) }
  & azd @arguments 2>$null | Out-Null
  if ($LASTEXITCODE -ne 0) { Say "warning: could not run azd env set $Name '$Value'" }
}
# Runs az quietly: @{ Ok; Out }.
function Invoke-Az([string[]] $Arguments) {
  $ErrorActionPreference = 'Continue'
  $out = & az @Arguments 2>$null
  return @{ Ok = ($LASTEXITCODE -eq 0); Out = ((@($out) -join "`n") -replace "`r", '').Trim() }
}

try {
  $azOk = [bool](Get-Command az -ErrorAction SilentlyContinue) -and
  (Invoke-Az @('account', 'show', '--query', 'id', '-o', 'tsv')).Ok

  # --- the Entra app registration ----------------------------------------------------------------
  $appId = Get-Env 'AWS_FEDERATION_APP_ID'
  $objectId = Get-Env 'AWS_FEDERATION_APP_OBJECT_ID'
  if ($appId) {
    $deleted = $false
    if ($azOk) {
      $unique = (Invoke-Az @('ad', 'app', 'show', '--id', $appId, '--query', 'uniqueName', '-o', 'tsv')).Out
      if ($unique -like 'crosscloud-identity-monitor-aws-*') {
        if ((Invoke-Az @('ad', 'app', 'delete', '--id', $appId)).Ok) {
          $deleted = $true
          Say "deleted the app registration $unique (appId $appId)."
          if ($objectId -and (Invoke-Az @('rest', '--method', 'delete', '--url',
                "https://graph.microsoft.com/v1.0/directory/deletedItems/$objectId")).Ok) {
            Say '  ... and removed it for good from the deleted items.'
          }
          else {
            Say "  It stays in the directory's deleted items for 30 days (restorable); an Application Administrator"
            Say "  can remove it for good: az rest --method delete --url https://graph.microsoft.com/v1.0/directory/deletedItems/$objectId"
          }
        }
        else {
          Say "could not delete the app registration $unique (appId $appId): its owner or an Application"
          Say "Administrator runs: az ad app delete --id $appId"
        }
      }
      elseif (-not $unique) {
        Say "the app registration $appId is already gone (or not readable)."
        $deleted = $true
      }
      else {
        Say "left the app registration $appId alone: its uniqueName ($unique) is not this app's."
      }
    }
    else {
      Say 'the Azure CLI is not signed in: delete the app registration this environment created yourself:'
      Say "  az ad app delete --id $appId"
    }
    if ($deleted) {
      # The next provisioning must not hand the deleted app's audience to the new function app.
      Set-AzdEnv 'AWS_FEDERATION_APP_ID' ''
      Set-AzdEnv 'AWS_FEDERATION_APP_OBJECT_ID' ''
      Set-AzdEnv 'AWS_FEDERATION_AUDIENCE' ''
    }
  }

  # --- new names for the next azd up -------------------------------------------------------------
  $suffix = -join ((1..3) | ForEach-Object { '{0:x2}' -f (Get-Random -Minimum 0 -Maximum 256) })
  Set-AzdEnv 'NAME_SUFFIX' $suffix
  $vault = Get-Env 'AZURE_KEY_VAULT_NAME'
  if ($vault) {
    Say "the Key Vault $vault is soft-deleted with purge protection: its name stays taken through its retention"
    Say "period. The next azd up creates new names (NAME_SUFFIX=$suffix). To recover its secrets instead:"
    Say "  az keyvault recover --name $vault"
  }

  # --- an existing workspace ---------------------------------------------------------------------
  $workspace = Get-Env 'LOG_ANALYTICS_WORKSPACE_ID'
  if ($workspace) {
    $parts = $workspace.Split('/')
    $group = Get-Env 'AZURE_LOG_ANALYTICS_WORKSPACE_RESOURCE_GROUP'
    if (-not $group -and $parts.Length -gt 4) { $group = $parts[4] }
    $name = Get-Env 'AZURE_LOG_ANALYTICS_WORKSPACE_NAME'
    if (-not $name -and $parts.Length -gt 8) { $name = $parts[8] }
    $dcr = Get-Env 'AZURE_DATA_COLLECTION_RULE_NAME'
    if (-not $dcr) { $dcr = '<data collection rule>' }
    Say "kept in the existing workspace $name (resource group $group): the custom tables with their data,"
    Say "the data collection rule $dcr and its diagnostic setting, and, with Sentinel, the analytics rules."
    Say 'To remove them:'
    Say "  az monitor data-collection rule delete --resource-group $group --name $dcr --yes"
    foreach ($file in @(Get-ChildItem -Path 'infra/tables' -Filter '*.json' -ErrorAction SilentlyContinue | Sort-Object Name)) {
      Say "  az monitor log-analytics workspace table delete --resource-group $group --workspace-name $name --name $($file.BaseName) --yes"
    }
    Say '  (Sentinel: Analytics -> the rules named crosscloud-identity-monitor: ...)'
    Say "  (Sentinel: Workbooks -> My workbooks -> crosscloud-identity-monitor: ... ($env:AZURE_ENV_NAME))"
  }
}
catch {
  Write-Warning "postdown: this hook stopped early ($($_.Exception.Message)); azd down is done."
}
exit 0
