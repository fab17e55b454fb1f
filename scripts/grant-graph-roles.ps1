# Grants the collector's managed identity the Microsoft Graph application roles the Entra collectors
# need (AuditLog.Read.All, Directory.Read.All), and optionally creates the Entra app registration AWS
# trusts. Same behaviour as grant-graph-roles.sh (read its header for the why); keep the two in step.
#
#   pwsh scripts/grant-graph-roles.ps1 -PrincipalId <managed identity object id>
#   pwsh scripts/grant-graph-roles.ps1 -CreateApp <unique-name> [-DisplayName <name>]
#
# Needs the Azure CLI signed in as an administrator: Privileged Role Administrator or Global
# Administrator for the grants (https://learn.microsoft.com/graph/api/serviceprincipal-post-approleassignedto),
# Application Developer or more for -CreateApp where users may not register applications.
# Exit status: 0 done, 1 failed (the message says why), 2 usage.
[CmdletBinding()]
param(
  [string] $PrincipalId = '',
  [string] $CreateApp = '',
  [string] $DisplayName = '',
  [int] $MaxWaitSeconds = 600,
  [int] $RetryDelay = 5
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$graph = 'https://graph.microsoft.com/v1.0'
$graphAppId = '00000003-0000-0000-c000-000000000000'
# Microsoft Graph application role IDs (the same in every tenant).
$roles = [ordered]@{
  'AuditLog.Read.All'  = 'b0afded3-3588-46d8-8b3d-9842eff778da'
  'Directory.Read.All' = '7ab1d382-f21e-4acd-a863-ba3e13f7da61'
}

function Say([string] $Message) { Write-Output "grant-graph-roles: $Message" }
function Fail([string] $Message) {
  [Console]::Error.WriteLine("grant-graph-roles: $Message")
  exit 1
}

# Runs az; returns @{ Ok; Out; Err } with the output (no carriage returns) and the error text on one line.
function Invoke-Az([string[]] $Arguments) {
  $errFile = [System.IO.Path]::GetTempFileName()
  # A native command's stderr must not become a terminating error (Windows PowerShell 5.1 does that).
  $ErrorActionPreference = 'Continue'
  try {
    $out = & az @Arguments 2>$errFile
    $ok = $LASTEXITCODE -eq 0
    $err = (Get-Content -Raw -ErrorAction SilentlyContinue $errFile)
    if ($null -eq $err) { $err = '' }
    return @{
      Ok  = $ok
      Out = ((@($out) -join "`n") -replace "`r", '').Trim()
      Err = ($err -replace "[`r`n]+", ' ').Trim()
    }
  }
  finally { Remove-Item -Force -ErrorAction SilentlyContinue $errFile }
}

if (-not (Get-Command az -ErrorAction SilentlyContinue)) {
  Fail 'the Azure CLI (az) is not on PATH: install it and run `az login` as the administrator.'
}
$tenant = Invoke-Az @('account', 'show', '--query', 'tenantId', '-o', 'tsv')
if (-not $tenant.Ok) { Fail 'the Azure CLI is not signed in: run `az login` as the administrator, then this again.' }

$deadline = (Get-Date).AddSeconds($MaxWaitSeconds)
$script:currentDelay = $RetryDelay
# Sleeps before the next attempt (doubling from -RetryDelay, at most 30 s); $false once past the deadline.
function Wait-Backoff {
  $left = ($deadline - (Get-Date)).TotalSeconds
  if ($left -le 0) { return $false }
  Start-Sleep -Seconds ([Math]::Min($script:currentDelay, [Math]::Ceiling($left)))
  $script:currentDelay = [Math]::Min([Math]::Max($script:currentDelay * 2, 0), 30)
  return $true
}

$guid = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$'

if ($CreateApp) {
  if ($CreateApp -notmatch '^[A-Za-z0-9._-]+$') {
    Fail "-CreateApp takes a unique name of letters, digits, '.', '_' and '-' ($CreateApp)"
  }
  $audience = "api://$($tenant.Out)/$CreateApp"
  if (-not $DisplayName) { $DisplayName = "crosscloud-identity-monitor AWS federation ($CreateApp)" }
  # Upsert by uniqueName (https://learn.microsoft.com/graph/api/application-upsert), v1 tokens.
  $body = @{
    displayName            = $DisplayName
    signInAudience         = 'AzureADMyOrg'
    identifierUris         = @($audience)
    api                    = @{ requestedAccessTokenVersion = 1 }
  } | ConvertTo-Json -Compress -Depth 5
  $bodyFile = [System.IO.Path]::GetTempFileName()
  try {
    Set-Content -NoNewline -Path $bodyFile -Value $body
    $r = Invoke-Az @('rest', '--method', 'patch', '--url', "$graph/applications(uniqueName='$CreateApp')",
      '--headers', 'Prefer=create-if-missing', 'Content-Type=application/json', '--body', "@$bodyFile")
  }
  finally { Remove-Item -Force -ErrorAction SilentlyContinue $bodyFile }
  if (-not $r.Ok) { Fail "could not create the app registration ${CreateApp}: $($r.Err)" }
  $r = Invoke-Az @('rest', '--method', 'get', '--url', "$graph/applications(uniqueName='$CreateApp')?`$select=appId",
    '--query', 'appId', '-o', 'tsv')
  if (-not $r.Ok) { Fail "could not read the app registration ${CreateApp}: $($r.Err)" }
  $appId = $r.Out
  # Entra issues tokens for an app only when it has a service principal (else AADSTS500011).
  if (-not (Invoke-Az @('ad', 'sp', 'show', '--id', $appId, '--query', 'id', '-o', 'tsv')).Ok) {
    $script:currentDelay = $RetryDelay
    while (-not ($r = Invoke-Az @('ad', 'sp', 'create', '--id', $appId)).Ok) {
      if (-not (Wait-Backoff)) { Fail "could not create the service principal of ${CreateApp}: $($r.Err)" }
    }
  }
  Say "app registration $CreateApp (appId $appId) is ready; its identifier URI is the federation audience."
  Say 'Next, in the azd environment of this deployment:'
  Say "  azd env set AWS_FEDERATION_AUDIENCE $audience; azd provision"
  if (-not $PrincipalId) { exit 0 }
}

if (-not $PrincipalId) { $PrincipalId = [Environment]::GetEnvironmentVariable('AZURE_MANAGED_IDENTITY_PRINCIPAL_ID') }
if (-not $PrincipalId -and (Get-Command azd -ErrorAction SilentlyContinue)) {
  $PrincipalId = (& azd env get-value AZURE_MANAGED_IDENTITY_PRINCIPAL_ID 2>$null)
  if ($LASTEXITCODE -ne 0) { $PrincipalId = '' }
}
if (-not $PrincipalId) {
  [Console]::Error.WriteLine('usage: grant-graph-roles.ps1 -PrincipalId <object-id> [-MaxWaitSeconds N] [-RetryDelay N]')
  [Console]::Error.WriteLine('       grant-graph-roles.ps1 -CreateApp <unique-name> [-DisplayName <name>]')
  exit 2
}
$PrincipalId = "$PrincipalId".Trim()
if ($PrincipalId -notmatch $guid) {
  Fail "-PrincipalId must be the managed identity's object (principal) ID, a GUID ($PrincipalId)"
}

$r = Invoke-Az @('ad', 'sp', 'show', '--id', $graphAppId, '--query', 'id', '-o', 'tsv')
if (-not $r.Ok) { Fail "could not read the Microsoft Graph service principal: $($r.Err)" }
$graphSp = $r.Out

# 1. Wait until Graph knows the identity (a just-created one replicates for a while).
$script:currentDelay = $RetryDelay
$first = $true
while ($true) {
  $r = Invoke-Az @('rest', '--method', 'get', '--url', "$graph/servicePrincipals/$PrincipalId`?`$select=id",
    '--query', 'id', '-o', 'tsv')
  if ($r.Ok -and $r.Out -eq $PrincipalId) { break }
  if ($r.Err -match 'Authorization_RequestDenied|Forbidden') { Fail "not allowed to read service principals: $($r.Err)" }
  if ($first) {
    Say "waiting for Microsoft Graph to know the identity $PrincipalId (a new identity takes a while to replicate)..."
    $first = $false
  }
  if (-not (Wait-Backoff)) {
    Fail ("Microsoft Graph does not know the service principal $PrincipalId after ${MaxWaitSeconds}s: is it " +
      "the managed identity's principal (object) ID? ($($r.Err))")
  }
}

function Get-Granted {
  $r = Invoke-Az @('rest', '--method', 'get', '--url', "$graph/servicePrincipals/$PrincipalId/appRoleAssignments",
    '--query', "value[?resourceId=='$graphSp'].appRoleId", '-o', 'tsv')
  if (-not $r.Ok) { Fail "could not list the identity's app role assignments: $($r.Err)" }
  return @($r.Out -split "`n" | Where-Object { $_ } | ForEach-Object { $_.Trim().ToLowerInvariant() })
}

# 2. Grant each missing role, retrying while the identity is still replicating.
$have = Get-Granted
foreach ($name in $roles.Keys) {
  $id = $roles[$name]
  if ($have -contains $id) {
    Say "$name is already granted."
    continue
  }
  $body = @{ principalId = $PrincipalId; resourceId = $graphSp; appRoleId = $id } | ConvertTo-Json -Compress
  $bodyFile = [System.IO.Path]::GetTempFileName()
  Set-Content -NoNewline -Path $bodyFile -Value $body
  $script:currentDelay = $RetryDelay
  try {
    while ($true) {
      $r = Invoke-Az @('rest', '--method', 'post', '--url', "$graph/servicePrincipals/$graphSp/appRoleAssignedTo",
        '--headers', 'Content-Type=application/json', '--body', "@$bodyFile")
      if ($r.Ok) { Say "granted $name."; break }
      if ($r.Err -match 'already exists') { Say "$name is already granted."; break }
      if ($r.Err -match 'Authorization_RequestDenied|Insufficient privileges|Forbidden') {
        Fail ("not allowed to grant ${name}: granting Microsoft Graph app roles needs Privileged Role " +
          "Administrator or Global Administrator (activate the role first if it is eligible in PIM). ($($r.Err))")
      }
      # "Not a valid reference update" / "does not exist" while replicating, 429, 5xx: try again.
      if (-not (Wait-Backoff)) { Fail "could not grant $name within ${MaxWaitSeconds}s: $($r.Err)" }
    }
  }
  finally { Remove-Item -Force -ErrorAction SilentlyContinue $bodyFile }
}

# 3. Check: both roles are there.
$have = Get-Granted
foreach ($name in $roles.Keys) {
  if ($have -notcontains $roles[$name]) {
    Fail "$name is not listed among the identity's app role assignments after granting it."
  }
}
Say ("done: the identity $PrincipalId has AuditLog.Read.All and Directory.Read.All on Microsoft Graph (the " +
  'next Entra collector run uses them; a token cached before the grant lasts up to 24 h).')
exit 0
