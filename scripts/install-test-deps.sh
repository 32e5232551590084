#!/usr/bin/env bash
# Installs the system packages the test suite runs for real, when missing:
#   redis-server (e2e/harness/redis.ts), postgresql (e2e/harness/postgres.ts),
#   chromium (viewer tests, launched by playwright-core), lua5.4 (the Argo CD health check of
#   docs/guides/gitops.md, run by e2e/test/chart-docs.test.ts).
# Idempotent: checks the binaries first; runs `apt-get update` only when something must be installed.
# Runs as root (CI, dev containers) or through sudo when available.
set -euo pipefail

log() { echo "install-test-deps: $*"; }

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# Debian's postgresql keeps the server outside PATH, one directory per major version.
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)

if [ "${#missing[@]}" -eq 0 ]; then
  log "nothing to install (redis-server, postgresql, chromium, lua5.4 present)"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo -n)
else
  log "missing ${missing[*]}, and not root and no sudo: install them with apt-get" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log "missing: ${missing[*]}; running apt-get update"
"${as_root[@]}" apt-get update -qq
log "installing: ${missing[*]}"
"${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Debian's packages start their services where an init system runs; the tests start their own
# instances on private ports, so a system-wide one is only left alone, never relied on.
command -v redis-server >/dev/null 2>&1 || { log "redis-server still missing" >&2; exit 1; }
compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || { log "postgres still missing" >&2; exit 1; }
[ -x /usr/bin/chromium ] || { log "chromium still missing" >&2; exit 1; }
log "installed: ${missing[*]}"
