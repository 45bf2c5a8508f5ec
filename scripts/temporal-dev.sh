#!/usr/bin/env bash
# A local Temporal dev server with the Web UI on :8233 and the search attributes rollouts carry.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
source scripts/temporal-bin.sh
mkdir -p .cache
exec "$TEMPORAL_CLI" server start-dev \
  --ip 127.0.0.1 --port "${TEMPORAL_PORT:-7233}" --ui-port "${TEMPORAL_UI_PORT:-8233}" \
  --db-filename .cache/temporal-dev.db \
  --search-attribute DeployApp=Keyword --search-attribute DeployEnv=Keyword --search-attribute DeployRelease=Keyword \
  --log-level warn
