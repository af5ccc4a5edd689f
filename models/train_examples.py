"""Train the bundled example models from the datasets in `models/data/`.

    python models/train_examples.py            # writes models/hydraulic/cool_cond_y.joblib (+ sidecar)

Training is deterministic (fixed seeds), so the committed artifacts can be rebuilt and checked.
The hydraulic classifier reproduces the seed tutorial's model: the cooler condition (3, 20 or 100 %)
from the 16 sensor means its curl example sends (all sensors except the cooling efficiency).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import joblib
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier

MODELS = Path(__file__).resolve().parent
DATA = MODELS / "data"
HYDRAULIC_TARGET = "cool_cond_y"
HYDRAULIC_FEATURES = [
    "psa_bar", "psb_bar", "psc_bar", "psd_bar", "pse_bar", "psf_bar", "fsa_vol_flow", "fsb_vol_flow",
    "tsa_temp", "tsb_temp", "tsc_temp", "tsd_temp", "pump_eff", "vs_vib", "cool_pwr_pct", "eff_fact_pct",
]  # fmt: skip


def train_hydraulic(out_dir: Path) -> Path:
    frame = pd.read_csv(DATA / "hydraulic.csv")
    model = GradientBoostingClassifier(n_estimators=50, max_depth=3, random_state=0)
    model.fit(frame[HYDRAULIC_FEATURES], frame[HYDRAULIC_TARGET])
    out_dir.mkdir(parents=True, exist_ok=True)
    artifact = out_dir / f"{HYDRAULIC_TARGET}.joblib"
    joblib.dump(model, artifact, compress=3)
    sidecar = {
        "inputFields": [{"name": name, "dataType": "Float64"} for name in HYDRAULIC_FEATURES],
        "targetFields": [{"name": HYDRAULIC_TARGET, "dataType": "Int32"}],
        "outputFields": [{"name": f"{HYDRAULIC_TARGET}.{c}", "dataType": "Float64"} for c in model.classes_],
    }
    artifact.with_name(artifact.name + ".schema.json").write_text(json.dumps(sidecar, indent=2) + "\n")
    return artifact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=MODELS / "hydraulic", help="output folder")
    args = parser.parse_args()
    print(train_hydraulic(args.out))


if __name__ == "__main__":
    main()
