#!/usr/bin/env bash
# Installs everything and serves a model on port 8080 (default: the bundled hydraulic classifier).
# Extra arguments go to `scorer serve`, e.g. scripts/serve.sh path/to/model.joblib --workers 2.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh all
exec .venv/bin/scorer serve "$@"
