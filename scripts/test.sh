#!/usr/bin/env bash
# Installs everything and runs the whole test suite: lint, format check, import contracts, the
# container image and Helm chart checks, then pytest.
# Extra arguments go to pytest, e.g. scripts/test.sh -m "not integration"; SKIP_IMAGE_CHECK=1
# skips the image and chart checks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install.sh all,dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/lint-imports
if [ -n "${SKIP_IMAGE_CHECK:-}" ]; then
  echo "test: container image and Helm checks skipped (SKIP_IMAGE_CHECK is set)"
elif command -v podman >/dev/null || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }; then
  scripts/image-check.sh h2o
else
  echo "test: container image and Helm checks skipped: podman is missing and cannot be installed here (needs root and apt-get)"
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
