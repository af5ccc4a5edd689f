#!/usr/bin/env bash
# Lints, renders and validates the Helm chart for its default values and for every option turned on.
set -euo pipefail
cd "$(dirname "$0")/.."
cc=scripts/container-check
[ -x /opt/container-check/bin/helm ] || "$cc/00-setup-host.sh"
"$cc/30-helm-check.sh" helm/scorer
"$cc/30-helm-check.sh" helm/scorer -f helm/scorer/ci/pvc-values.yaml
"$cc/30-helm-check.sh" helm/scorer -f helm/scorer/ci/all-options-values.yaml --allow-kinds ServiceMonitor
