# azd preprovision hook (PowerShell 7). Same behaviour as preprovision.sh (read its header for what it
# decides and why); keep the two in step. It fails (and azd provisions nothing) only for an unusable
# LOG_ANALYTICS_WORKSPACE_ID or NAME_SUFFIX, or an azd too old for an existing workspace.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

function Say([string] $Message) { Write-Output "preprovision: $Message" }
function Get-Env([string] $Name) {
  $value = [Environment]::GetEnvironmentVariable($Name)
  if ($null -eq $value) { return '' }
  return $value
}

# Writes a value into this azd environment (and into this process, for the steps below).
function Set-AzdEnv([string] $Name, [string] $Value) {
  if (Get-Command azd -ErrorAction SilentlyContinue) {
    $envName = Get-Env 'AZURE_ENV_NAME'
    $arguments = @('env', 'set', $Name, $Value)
    if ($envName) { $arguments += @('-e', $envName) }
    & azd @arguments | Out-Null
    if ($LASTEXITCODE -ne 0) { Say "warning: could not run azd env set $Name $Value" }
  }
  else {
    Say "warning: azd is not on PATH: set it yourself with azd env set $Name $Value"
  }
  [Environment]::SetEnvironmentVariable($Name, $Value)
}

# Runs az: @{ Ok; Out; Err } with the output (no carriage returns) and the error text on one line.
function Invoke-Az([string[]] $Arguments) {
  $errFile = [System.IO.Path]::GetTempFileName()
  $ErrorActionPreference = 'Continue'
  try {
    $out = & az @Arguments 2>$errFile
    $ok = $LASTEXITCODE -eq 0
    $err = Get-Content -Raw -ErrorAction SilentlyContinue $errFile
    if ($null -eq $err) { $err = '' }
    return @{ Ok = $ok; Out = ((@($out) -join "`n") -replace "`r", '').Trim(); Err = ($err -replace "[`r`n]+", ' ').Trim() }
  }
  finally { Remove-Item -Force -ErrorAction SilentlyContinue $errFile }
}

$haveAz = $false
$accountType = ''
if (Get-Command az -ErrorAction SilentlyContinue) {
  $r = Invoke-Az @('account', 'show', '--query', 'user.type', '-o', 'tsv')
  if ($r.Ok) { $haveAz = $true; $accountType = $r.Out }
}

# --- 1. Entra ID -----------------------------------------------------------------------------------
$globalAdmin = '62e90394-69f5-4237-9190-012177145e10'
$privilegedRoleAdmin = 'e8611ab8-c189-46e8-94e1-60213ab1f814'
$applicationAdmin = '9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3'
$cloudApplicationAdmin = '158c047a-c907-4556-b7ef-446551a6b5f7'
$applicationDeveloper = 'cf1c38e5-3621-4004-a7cb-879624dced7c'

$wantApp = (Get-Env 'DEPLOY_ENTRA_APP').ToLowerInvariant()
$wantGrant = (Get-Env 'GRANT_GRAPH_ROLES').ToLowerInvariant()
if (-not $wantApp) { $wantApp = 'auto' }
if (-not $wantGrant) { $wantGrant = 'auto' }
if ((Get-Env 'DEPLOY_ENTRA').ToLowerInvariant() -eq 'false') {
  if ($wantApp -eq 'auto') { $wantApp = 'false' }
  if ($wantGrant -eq 'auto') { $wantGrant = 'false' }
}
foreach ($value in @($wantApp, $wantGrant)) {
  if ($value -notin @('true', 'false', 'auto')) {
    Say "DEPLOY_ENTRA_APP and GRANT_GRAPH_ROLES take true, false or auto (got $value)"
    exit 1
  }
}

$canCreate = 'unknown'
$canGrant = 'unknown'
$why = ''
$appKept = $false
if ($wantApp -eq 'auto' -or $wantGrant -eq 'auto') {
  if (-not $haveAz) {
    $why = 'the Azure CLI is not installed or not signed in (az login, as the account azd deploys with)'
  }
  elseif ($accountType -ne 'user') {
    $why = "the Azure CLI is signed in as a $accountType, whose Graph permissions this hook does not read"
  }
  else {
    $me = Invoke-Az @('ad', 'signed-in-user', 'show', '--query', '[id, userType, userPrincipalName]', '-o', 'tsv')
    if (-not $me.Ok) {
      $why = 'Microsoft Graph did not answer who is signed in'
    }
    else {
      $lines = @($me.Out -split "`n") + @('', '', '')
      $userId = $lines[0].Trim()
      $userType = $lines[1].Trim()
      $userName = $lines[2].Trim()
      $principalId = Get-Env 'AZURE_PRINCIPAL_ID'
      if ($principalId -and $principalId.ToLowerInvariant() -ne $userId.ToLowerInvariant()) {
        Say "warning: az is signed in as $userName ($userId) but azd deploys as ${principalId}: the"
        Say '         answers below are for az''s account. Sign both in as the same account, or let azd use'
        Say '         az''s sign-in: azd config set auth.useAzCliAuth true'
      }
      $r = Invoke-Az @('rest', '--method', 'get', '--url',
        'https://graph.microsoft.com/v1.0/me/transitiveMemberOf/microsoft.graph.directoryRole?$select=roleTemplateId',
        '--query', 'value[].roleTemplateId', '-o', 'tsv')
      if ($r.Ok) {
        $roles = @($r.Out.ToLowerInvariant() -split "`n" | ForEach-Object { $_.Trim() } | Where-Object { $_ })
        $canGrant = if ($roles -contains $globalAdmin -or $roles -contains $privilegedRoleAdmin) { 'true' } else { 'false' }
        $canCreate = 'false'
        if ($roles -contains $globalAdmin -or $roles -contains $applicationAdmin -or
          $roles -contains $cloudApplicationAdmin -or $roles -contains $applicationDeveloper) {
          $canCreate = 'true'
        }
        elseif ($userType -ne 'Guest') {
          $p = Invoke-Az @('rest', '--method', 'get', '--url', 'https://graph.microsoft.com/v1.0/policies/authorizationPolicy',
            '--query', 'defaultUserRolePermissions.allowedToCreateApps', '-o', 'tsv')
          if ($p.Ok) {
            if ($p.Out.ToLowerInvariant() -eq 'true') { $canCreate = 'true' }
          }
          else {
            $canCreate = 'unknown'
            $why = 'Microsoft Graph did not answer whether users may register applications'
          }
        }
        # An app registration from an earlier provisioning may be updated only by its owners and the
        # application administrators: anyone else keeps it as it is (and its audience, from the environment).
        $appId = Get-Env 'AWS_FEDERATION_APP_ID'
        if ($canCreate -eq 'true' -and $appId -and -not ($roles -contains $globalAdmin -or
            $roles -contains $applicationAdmin -or $roles -contains $cloudApplicationAdmin)) {
          $o = Invoke-Az @('rest', '--method', 'get', '--url',
            "https://graph.microsoft.com/v1.0/applications(appId='$appId')/owners?`$select=id", '--query', 'value[].id', '-o', 'tsv')
          $owners = @($o.Out.ToLowerInvariant() -split "`n" | ForEach-Object { $_.Trim() })
          if ($o.Ok -and $owners -notcontains $userId.ToLowerInvariant()) {
            $canCreate = 'false'
            $appKept = $true
          }
        }
      }
      else {
        $why = "Microsoft Graph did not list $userName's directory roles"
      }
    }
  }
}

function Resolve-Decision([string] $Wanted, [string] $Detected) {
  if ($Wanted -in @('true', 'false')) { return $Wanted }
  if ($Detected -eq 'true') { return 'true' }
  return 'false'
}
$createApp = Resolve-Decision $wantApp $canCreate
$grantRoles = Resolve-Decision $wantGrant $canGrant
Set-AzdEnv 'CIM_CREATE_ENTRA_APP' $createApp
Set-AzdEnv 'CIM_GRANT_GRAPH_ROLES' $grantRoles

Say 'Entra ID:'
switch ("${wantApp}:$createApp") {
  { $appKept } { Say "  - the app registration AWS trusts: kept as it is (it exists, appId $(Get-Env 'AWS_FEDERATION_APP_ID'), and you are not its owner)."; break }
  'auto:true' { Say '  - the app registration AWS trusts: created by this deployment (you may register applications).' }
  'auto:false' { Say '  - the app registration AWS trusts: NOT created by this deployment (you may not register applications, or it could not be found out).' }
  { $_ -like '*:true' -and $_ -notlike 'auto:*' } { Say '  - the app registration AWS trusts: created by this deployment (DEPLOY_ENTRA_APP=true).' }
  { $_ -like '*:false' -and $_ -notlike 'auto:*' } { Say '  - the app registration AWS trusts: not created by this deployment (DEPLOY_ENTRA_APP=false).' }
}
switch ("${wantGrant}:$grantRoles") {
  'auto:true' { Say '  - Microsoft Graph app roles AuditLog.Read.All, Directory.Read.All: granted after provisioning (you are an administrator who may).' }
  'auto:false' { Say '  - Microsoft Graph app roles AuditLog.Read.All, Directory.Read.All: NOT granted (that needs Privileged Role Administrator or Global Administrator): the postprovision step prints what an administrator runs.' }
  { $_ -like '*:true' -and $_ -notlike 'auto:*' } { Say '  - Microsoft Graph app roles: granted after provisioning (GRANT_GRAPH_ROLES=true).' }
  { $_ -like '*:false' -and $_ -notlike 'auto:*' } { Say '  - Microsoft Graph app roles: not granted (GRANT_GRAPH_ROLES=false): the postprovision step prints what an administrator runs.' }
}
if ($why) { Say "  (not detected: $why; override with azd env set DEPLOY_ENTRA_APP / GRANT_GRAPH_ROLES true)" }
if ($createApp -eq 'false' -and -not (Get-Env 'AWS_FEDERATION_AUDIENCE')) {
  Say '  The AWS collector needs that app registration: the postprovision step prints how an administrator'
  Say '  creates it; everything else is provisioned now.'
}

# --- 2. Names that outlive azd down ---------------------------------------------------------------
$suffix = Get-Env 'NAME_SUFFIX'
if ($suffix -and $suffix -cnotmatch '^[a-z0-9]{1,6}$') {
  Say "NAME_SUFFIX must be 1-6 lower-case letters and digits (got $suffix): azd env set NAME_SUFFIX <new>"
  exit 1
}
$vault = Get-Env 'AZURE_KEY_VAULT_NAME'
if ($vault -and $haveAz -and $vault.Length -ge 16 -and $vault.StartsWith('kv-')) {
  # kv-<13-character token><-suffix>: would this provisioning create the same name again?
  $rest = $vault.Substring(16)
  $expected = if ($suffix) { "-$suffix" } else { '' }
  # In azd's subscription (az's default one may be another).
  $inSubscription = @()
  if (Get-Env 'AZURE_SUBSCRIPTION_ID') { $inSubscription = @('--subscription', (Get-Env 'AZURE_SUBSCRIPTION_ID')) }
  if ($rest -eq $expected -and -not (Invoke-Az (@('keyvault', 'show', '--name', $vault, '--query', 'name', '-o', 'tsv') + $inSubscription)).Ok) {
    $deleted = Invoke-Az (@('keyvault', 'show-deleted', '--name', $vault, '--query', 'properties.scheduledPurgeDate', '-o', 'tsv') + $inSubscription)
    if ($deleted.Ok) {
      $suffix = -join ((1..3) | ForEach-Object { '{0:x2}' -f (Get-Random -Minimum 0 -Maximum 256) })
      Set-AzdEnv 'NAME_SUFFIX' $suffix
      $purgeDate = if ($deleted.Out) { $deleted.Out } else { 'the end of its retention' }
      Say "The Key Vault $vault of this environment is deleted but kept (soft delete, purge protection) until"
      Say "${purgeDate}; its name cannot be used again before. New NAME_SUFFIX=${suffix}: this"
      Say 'provisioning creates a new vault (and app registration) name. To get the old vault''s secrets back'
      Say "instead: az keyvault recover --name $vault, then azd env set NAME_SUFFIX '$($rest.TrimStart('-'))'."
    }
  }
}

# --- 3. An existing workspace ---------------------------------------------------------------------
$workspace = Get-Env 'LOG_ANALYTICS_WORKSPACE_ID'
if ($workspace) {
  if ($workspace -notmatch '^/subscriptions/[0-9a-fA-F-]{36}/resourcegroups/[^/]+/providers/microsoft\.operationalinsights/workspaces/[^/]+$') {
    Say 'LOG_ANALYTICS_WORKSPACE_ID must be a workspace''s resource ID,'
    Say '  /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.OperationalInsights/workspaces/<name>'
    Say "  (got $workspace). Find it with: az monitor log-analytics workspace list --query '[].id' -o tsv"
    exit 1
  }
  if (Get-Command azd -ErrorAction SilentlyContinue) {
    $versionText = (& azd version 2>$null) -join ' '
    if ($versionText -match 'azd version (\d+)\.(\d+)\.(\d+)') {
      $major = [int]$Matches[1]
      $minor = [int]$Matches[2]
      if ($major -lt 1 -or ($major -eq 1 -and $minor -lt 24)) {
        Say "azd $major.$minor is too old to deploy into an existing workspace: before 1.24.0, azd down deletes"
        Say 'every resource group the deployment put resources in, here the workspace''s'
        Say '(https://github.com/Azure/azure-dev/pull/7698). Update azd (https://aka.ms/azd), then run this again.'
        exit 1
      }
    }
    else {
      Say 'warning: could not read the azd version; azd 1.24.0 or later is needed with an existing workspace.'
    }
  }
  if ($haveAz) {
    $r = Invoke-Az @('resource', 'show', '--ids', $workspace, '--query', 'location', '-o', 'tsv')
    if (-not $r.Ok) {
      Say "LOG_ANALYTICS_WORKSPACE_ID names no workspace this account can read: $workspace"
      exit 1
    }
    Say "Existing workspace: $workspace ($($r.Out)). The tables and the data collection rule go into its"
    Say 'resource group (the DCR in its region); the workbooks, alerts and Application Insights use it; no'
    Say 'workspace is created. azd down leaves them there (the postdown step says how to remove them).'
    $sentinel = ''
    $s = Invoke-Az @('rest', '--method', 'get', '--url',
      "https://management.azure.com$workspace/providers/Microsoft.SecurityInsights/onboardingStates/default?api-version=2024-09-01",
      '--query', 'name', '-o', 'tsv')
    if ($s.Ok) { $sentinel = 'true' }
    elseif ($s.Err -match 'NotFound|not found|\(404\)') { $sentinel = 'false' }
    else { Say "warning: could not tell whether the workspace has Microsoft Sentinel ($($s.Err))." }
    if ($sentinel) {
      Say "Microsoft Sentinel on that workspace: $(if ($sentinel -eq 'true') { 'yes' } else { 'no' })."
      $current = Get-Env 'SENTINEL_ENABLED'
      if (-not $current) { Set-AzdEnv 'SENTINEL_ENABLED' $sentinel }
      elseif ($current.ToLowerInvariant() -ne $sentinel) { Say "  (SENTINEL_ENABLED=$current is kept as set.)" }
    }
  }
  else {
    Say 'warning: the Azure CLI is not signed in: the workspace and its Sentinel could not be checked.'
  }
}
elseif ((Get-Env 'SENTINEL_ENABLED').ToLowerInvariant() -eq 'true') {
  Say 'warning: SENTINEL_ENABLED=true with a new workspace: Microsoft Sentinel must be enabled on it for the'
  Say '         analytics rules (set LOG_ANALYTICS_WORKSPACE_ID to use the workspace that has Sentinel).'
}
exit 0
