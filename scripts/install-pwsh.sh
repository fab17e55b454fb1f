#!/usr/bin/env bash
# Installs PowerShell 7 into .local/tools/pwsh/pwsh as a .NET tool from NuGet (the package "PowerShell"),
# so the tests of the azd hooks' PowerShell versions (test/contract/deployment.test.ts) run on machines
# without pwsh. Needs the dotnet SDK (its runtime must match the tool's: PowerShell 7.6 runs on .NET 10).
# Never fails the caller: without dotnet or the package it says so and exits 0 (those tests then skip).
#
#   PWSH_VERSION=7.6.10 bash scripts/install-pwsh.sh
set -uo pipefail

version="${PWSH_VERSION:-7.6.10}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.local/tools/pwsh"

if [ -x "$dest/pwsh" ] && "$dest/pwsh" -NoProfile -Command '$PSVersionTable.PSVersion.ToString()' 2>/dev/null | grep -qx "$version"; then
  echo "PowerShell $version"
  exit 0
fi
command -v dotnet >/dev/null 2>&1 || { echo 'install-pwsh: dotnet is not on PATH; PowerShell not installed.' >&2; exit 0; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
rm -rf "$dest"
if ! dotnet tool install PowerShell --version "$version" --tool-path "$dest" >&2; then
  echo "install-pwsh: dotnet tool install PowerShell $version failed; PowerShell not installed." >&2
  exit 0
fi
"$dest/pwsh" -NoProfile -Command '$PSVersionTable.PSVersion.ToString()'
