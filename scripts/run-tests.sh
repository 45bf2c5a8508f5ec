#!/usr/bin/env bash
# Runs every test file under test/ with node's test runner (tsx for TypeScript). Pass files to run a subset.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
checkout=$(printf %s "$root" | sha256sum | cut -c1-8) # as sandbox/docker-engine.ts names this checkout's exec roots
# Whatever a test run started (sandbox droplets, HAProxy, sample apps) ends with it, even after a crash.
cleanup() {
  pkill -f "$root/.sandbox/" 2>/dev/null || true            # droplets' sshd and engines, registries, HAProxy
  pkill -f "$root/.cache/docker-builder" 2>/dev/null || true # the image builder's engine
  pkill -f "/run/dodeploy-sandbox-$checkout/" 2>/dev/null || true # the engines' containerd and shims
}
trap cleanup EXIT
if [ $# -gt 0 ]; then files=("$@"); else mapfile -t files < <(find test -name '*.test.ts' | sort); fi
# A file counts as one test for the timeout: the longest e2e files run 4–5 minutes on 2 cores.
node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "${files[@]}"
