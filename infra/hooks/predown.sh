#!/bin/sh
# azd predown hook (POSIX sh); predown.ps1 does the same on Windows. With an existing workspace
# (LOG_ANALYTICS_WORKSPACE_ID) it stops `azd down` when azd is older than 1.24.0: those versions delete
# every resource group the deployment put resources in (https://github.com/Azure/azure-dev/pull/7698),
# and this deployment puts its tables and data collection rule into the workspace's resource group, so
# they would delete the workspace with everything else in that group. A failing predown hook stops azd
# down before it deletes anything.
set -u

workspace=${LOG_ANALYTICS_WORKSPACE_ID:-}
[ -n "$workspace" ] || exit 0

version=''
if command -v azd >/dev/null 2>&1; then
  version=$(azd version 2>/dev/null | sed -n 's/.*azd version \([0-9][0-9]*\)\.\([0-9][0-9]*\)\.\([0-9][0-9]*\).*/\1 \2/p' | head -n 1)
fi
if [ -z "$version" ]; then
  echo "predown: could not read the azd version. This environment uses the existing workspace $workspace;"
  echo 'predown: azd before 1.24.0 would delete its whole resource group. Stopping: run `azd version`, update'
  echo 'predown: azd if it is older than 1.24.0, and run azd down again.'
  exit 1
fi
major=${version% *}
minor=${version#* }
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 24 ]; }; then
  echo "predown: STOPPED. azd $major.$minor deletes every resource group this deployment put resources in,"
  echo "predown: including the one of the existing workspace $workspace"
  echo 'predown: (https://github.com/Azure/azure-dev/pull/7698). Update azd to 1.24.0 or later'
  echo 'predown: (https://aka.ms/azd), then run azd down again.'
  exit 1
fi
echo "predown: the existing workspace $workspace and its resource group are kept."
exit 0
