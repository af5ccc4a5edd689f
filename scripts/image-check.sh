#!/usr/bin/env bash
# Builds the container image and proves it on this machine, with no registry:
#   lint + build + start read-only as uid 10001 + /readyz (scripts/container-check),
#   then the default-model tests (README curl, H2O ground truth, probes, metrics) against the
#   running container, and the Helm chart check for the default and the all-options values.
# Usage: scripts/image-check.sh [EXTRAS [MODEL]]
#   EXTRAS defaults to "h2o" (the default image); MODEL (a path in the repo) is baked in instead of
#   the default MOJO, e.g. scripts/image-check.sh sklearn models/hydraulic/cool_cond_y.joblib
set -euo pipefail
cd "$(dirname "$0")/.."
cc=scripts/container-check
extras=${1-h2o}
model=${2:-}
tag=localhost/scoring-runtime:${extras:-pickle}
tag=${tag//,/-}

if [ ! -x /opt/container-check/bin/helm ] || ! podman image exists docker.io/library/python:3.11-slim 2>/dev/null; then
  "$cc/00-setup-host.sh"
  "$cc/10-make-base.sh"
fi

scripts/helm-check.sh

"$cc/20-build-run.sh" . --path /readyz --tag "$tag" --build-arg "EXTRAS=$extras" ${model:+--build-arg "MODEL=$model"} --timeout 120 \
  --run-arg=--read-only --run-arg=--user=10001 --run-arg=--tmpfs=/tmp

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
container=$(podman run -d --read-only --user 10001 --tmpfs /tmp --cap-drop ALL -p "127.0.0.1:$port:8080" "$tag")
trap 'podman logs "$container" > /tmp/image-check-container.log 2>&1 || true; podman rm -f "$container" >/dev/null' EXIT
for _ in $(seq 1 120); do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/readyz")" = 200 ] && break
  sleep 0.5
done
if [ -z "$model" ]; then
  SCORER_EXTERNAL_URL="http://127.0.0.1:$port" .venv/bin/python -m pytest -q -p no:cacheprovider tests/integration/test_default_model.py
else  # another model: its own sample request must score
  curl -sf "http://127.0.0.1:$port/model/sample_request" \
    | curl -sf -X POST -H "Content-Type: application/json" -d @- "http://127.0.0.1:$port/model/score"
  echo
fi
size=$(podman image inspect "$tag" --format '{{.Size}}')
base=$(podman image inspect docker.io/library/python:3.11-slim --format '{{.Size}}')
echo "image-check: PASS $tag: $((size / 1000000)) MB ($(((size - base) / 1000000)) MB above the python:3.11-slim base)"
