#!/usr/bin/env bash
# Build the worker image: `npm run worker-image -- [tag]` (default do-rolling-deployer/worker:<version>).
# The build context is prepared here: the compiled worker, the workflow bundle prebuilt, and only the
# production dependencies (for this machine's platform). Then deploy/worker/Dockerfile copies it in.
#   NODE_IMAGE   base image with Node.js 20 (default node:20-bookworm-slim)
#   DOCKER       docker command (default docker; the tests point it at a local engine)
#   CONTEXT_ONLY=1  prepare the context and print its path, build nothing
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
tag=${1:-do-rolling-deployer/worker:$version}
ctx=${WORKER_CONTEXT:-.cache/worker-image}
rm -rf "$ctx" && mkdir -p "$ctx"

npx tsc -p tsconfig.build.json --outDir "$ctx/dist" --sourceMap false
npx tsx scripts/bundle-workflows.ts "$ctx/workflow-bundle.js"
cp package.json package-lock.json "$ctx/"
# Production dependencies only, from npm's cache when it has them.
(cd "$ctx" && npm ci --omit=dev --prefer-offline --no-audit --no-fund --loglevel=error >/dev/null)
# The Temporal core bridge ships a binary per platform; keep this one's.
here="$(node -p "({x64:'x86_64',arm64:'aarch64'})[process.arch]")-unknown-linux-gnu"
for d in "$ctx"/node_modules/@temporalio/core-bridge/releases/*; do
  [ "$(basename "$d")" = "$here" ] || rm -rf "$d"
done
rm -f "$ctx/package-lock.json"
if [ "${CONTEXT_ONLY:-}" = 1 ]; then echo "$ctx"; exit 0; fi
${DOCKER:-docker} build -f deploy/worker/Dockerfile --build-arg "NODE_IMAGE=${NODE_IMAGE:-node:20-bookworm-slim}" -t "$tag" "$ctx"
echo "built $tag"
