#!/usr/bin/env bash
# Everything `make test` runs, in order: what is missing gets installed, what is expensive gets
# built once and cached (.cache/), then type checks, lint and every test suite. Tests start their
# own Redis, Postgres and kube-apiserver + etcd on private loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "test dependencies (redis-server, postgresql, chromium)"
scripts/install-test-deps.sh

step "control-plane binaries (cached in .cache/envtest)"
if [ -z "${KUBEBUILDER_ASSETS:-}" ]; then
  KUBEBUILDER_ASSETS="$(scripts/build-envtest.sh)"
fi
export KUBEBUILDER_ASSETS
export CRA_REQUIRE_CONTROL_PLANE=1
export CRA_REQUIRE_BROWSER=1

step "type check"
npx tsc -b
npx tsc -p tsconfig.test.json
npx tsc -p e2e --noEmit
npx tsc -p bench --noEmit

step "lint (eslint, prettier, dependency direction)"
npx eslint . --quiet
npx prettier --check . --log-level warn
npx depcruise --config .dependency-cruiser.cjs core/src runtime/src operator/src

step "tests"
npx vitest run "$@"
