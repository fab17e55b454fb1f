#!/usr/bin/env bash
# Installs the Bicep CLI into .local/tools/bicep/bicep from the NuGet package
# Azure.Bicep.CommandLine.<rid> (a self-contained single-file binary), using the dotnet SDK's own
# package restore — so it needs nothing but a NuGet feed. Idempotent: does nothing when the pinned
# version is already there. test/contract/infra.test.ts compiles the templates with it when present.
#
# Never fails the caller: when dotnet or the package is unavailable it says so and exits 0, and the
# infra contract tests skip their compile step.
#
#   BICEP_VERSION=0.49.2 bash scripts/install-bicep.sh
set -uo pipefail

version="${BICEP_VERSION:-0.49.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.local/tools/bicep"
bin="$dest/bicep"

unavailable() {
  echo "install-bicep: $1; Bicep CLI not installed (the infra tests will skip compiling)." >&2
  exit 0
}

if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "version $version "; then
  "$bin" --version
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) rid=linux-x64 ;;
  Linux-aarch64 | Linux-arm64) rid=linux-arm64 ;;
  Darwin-x86_64) rid=osx-x64 ;;
  Darwin-arm64) rid=osx-arm64 ;;
  *) unavailable "no Bicep CLI package for $(uname -s)-$(uname -m)" ;;
esac

command -v dotnet >/dev/null 2>&1 || unavailable "dotnet (used to restore the NuGet package) is not on PATH"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
package="Azure.Bicep.CommandLine.$rid"
# The target framework only has to be one the installed SDK knows; PackageDownload copies the package as is.
tfm="net$(dotnet --version 2>/dev/null | cut -d. -f1).0"
cat >"$work/bicep-download.csproj" <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>$tfm</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$package" Version="[$version]" />
  </ItemGroup>
</Project>
EOF

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
if ! dotnet restore "$work/bicep-download.csproj" --packages "$work/packages" >"$work/restore.log" 2>&1; then
  tail -n 20 "$work/restore.log" >&2
  unavailable "dotnet restore of $package $version failed"
fi

lower="$(echo "$package" | tr '[:upper:]' '[:lower:]')"
found="$work/packages/$lower/$version/tools/bicep"
[ -f "$found" ] || unavailable "$package $version has no tools/bicep"

mkdir -p "$dest"
cp "$found" "$bin.tmp" && chmod +x "$bin.tmp" && mv "$bin.tmp" "$bin"
"$bin" --version || unavailable "the installed binary does not run"
