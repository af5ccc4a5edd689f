#!/usr/bin/env bash
# Installs everything and runs the whole test suite: lint, format check, then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not integration".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh all,dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
if [ -d ../shared/tools/container-check ] && [ -z "${SKIP_IMAGE_CHECK:-}" ]; then
  scripts/image-check.sh h2o
else
  echo "test: container image and Helm checks skipped (no ../shared/tools/container-check, or SKIP_IMAGE_CHECK set)"
fi
set +e
.venv/bin/python -m pytest "$@"
status=$?
set -e
if [ "$status" = 5 ]; then
  echo "test: pytest collected no tests; that is a failure" >&2
  exit 1
fi
exit "$status"
