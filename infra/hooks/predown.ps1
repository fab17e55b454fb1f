# azd predown hook (PowerShell 7). Same behaviour as predown.sh (read its header): with an existing
# workspace, stops `azd down` when azd is older than 1.24.0, which would delete the workspace's resource
# group (https://github.com/Azure/azure-dev/pull/7698).
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest

$workspace = [Environment]::GetEnvironmentVariable('LOG_ANALYTICS_WORKSPACE_ID')
if (-not $workspace) { exit 0 }

$versionText = ''
if (Get-Command azd -ErrorAction SilentlyContinue) {
  $ErrorActionPreference = 'Continue'
  $versionText = (& azd version 2>$null) -join ' '
  $ErrorActionPreference = 'Stop'
}
if ($versionText -notmatch 'azd version (\d+)\.(\d+)\.(\d+)') {
  Write-Output "predown: could not read the azd version. This environment uses the existing workspace $workspace;"
  Write-Output 'predown: azd before 1.24.0 would delete its whole resource group. Stopping: run `azd version`, update'
  Write-Output 'predown: azd if it is older than 1.24.0, and run azd down again.'
  exit 1
}
$major = [int]$Matches[1]
$minor = [int]$Matches[2]
if ($major -lt 1 -or ($major -eq 1 -and $minor -lt 24)) {
  Write-Output "predown: STOPPED. azd $major.$minor deletes every resource group this deployment put resources in,"
  Write-Output "predown: including the one of the existing workspace $workspace"
  Write-Output 'predown: (https://github.com/Azure/azure-dev/pull/7698). Update azd to 1.24.0 or later'
  Write-Output 'predown: (https://aka.ms/azd), then run azd down again.'
  exit 1
}
Write-Output "predown: the existing workspace $workspace and its resource group are kept."
exit 0
