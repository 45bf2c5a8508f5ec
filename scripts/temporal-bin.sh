# Sourced: sets TEMPORAL_CLI to the `temporal` binary (PATH first, else the project venv that setup.sh fills).
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -n "${TEMPORAL_CLI:-}" ]; then :
elif command -v temporal >/dev/null 2>&1; then TEMPORAL_CLI="$(command -v temporal)"
elif [ -x "$here/.tools/venv/bin/temporal" ]; then TEMPORAL_CLI="$here/.tools/venv/bin/temporal"
else echo "temporal CLI not found: run 'npm run setup' first" >&2; return 1 2>/dev/null || exit 1
fi
export TEMPORAL_CLI
