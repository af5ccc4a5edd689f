#!/usr/bin/env bash
# Installs what serving needs and serves a model on port 8080 (default: the bundled hydraulic
# classifier, an H2O-3 MOJO, which needs only the h2o extra). Extra arguments go to `scorer serve`.
# Another model may need other extras (the README's table): EXTRAS=h2o,sklearn scripts/serve.sh m.joblib
# EXTRAS=all installs every runtime (the test command does; the dai extra alone is a 241 MB wheel).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh "${EXTRAS:-h2o}"
exec .venv/bin/scorer serve "$@"
