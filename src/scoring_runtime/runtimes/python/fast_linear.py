"""scikit-learn linear models, alone or after affine scalers, compiled into onnxruntime in float64.

For a logistic regression the estimator's own `predict_proba` is ~0.4 ms a row here, nearly all of
it input validation and pipeline dispatch; onnxruntime answers the same row in ~0.013 ms. skl2onnx
converts in double precision (`DoubleTensorType`), so the answers are the estimator's to ~1e-16
for probabilities (the 1e-9 rule is checked, not assumed).

Only scalers whose arithmetic is an affine map per column are taken before the model: anything
with thresholds (binning, encoders) would need rows placed on its edges to be verified.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scoring_runtime.runtimes.python.compiled import SYNTHETIC_ROWS, Compiled, Predict, known_without_missing

LINEAR = {
    "LogisticRegression",
    "SGDClassifier",
    "LinearRegression",
    "Ridge",
    "Lasso",
    "ElasticNet",
    "SGDRegressor",
}
SCALERS = {"StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler"}


def linear_steps(estimator: Any) -> list[Any] | None:
    """The estimator's steps when it is a linear model or a pipeline of scalers ending in one."""
    steps = [step for _, step in estimator.steps] if type(estimator).__name__ == "Pipeline" else [estimator]
    if not all(type(step).__module__.startswith("sklearn.") for step in steps):
        return None
    if type(steps[-1]).__name__ not in LINEAR or not all(type(s).__name__ in SCALERS for s in steps[:-1]):
        return None
    return steps


def compile_linear(estimator: Any, steps: list[Any], inputs: int, known_rows: np.ndarray) -> Compiled | str:
    """onnxruntime's predictor for the model, or why there is none."""
    kind = type(steps[-1]).__name__
    try:
        import onnxruntime
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import DoubleTensorType
    except ModuleNotFoundError:
        return (
            f"scored by scikit-learn: install onnxruntime and skl2onnx ('scoring-runtime[sklearn]') "
            f"to accelerate this {kind}"
        )
    classifier = hasattr(steps[-1], "predict_proba")
    options = {id(steps[-1]): {"zipmap": False}} if classifier else None
    try:
        onnx = convert_sklearn(estimator, initial_types=[("input", DoubleTensorType([None, inputs]))], options=options)
        settings = onnxruntime.SessionOptions()
        settings.intra_op_num_threads = 1  # the server's thread budget decides parallelism, not the model
        settings.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(onnx.SerializeToString(), settings, providers=["CPUExecutionProvider"])
    except Exception as exc:  # a converter or runtime version that cannot take it: the estimator serves
        return f"scored by scikit-learn: onnxruntime could not take this {kind} ({type(exc).__name__})"
    rows = np.vstack([known_without_missing(known_rows, inputs), _range_rows(steps[0], inputs, known_rows)])
    return Compiled("onnxruntime", "scikit-learn", (_predictor(session),), rows)


def _predictor(session: Any) -> Predict:
    name = session.get_inputs()[0].name
    answer = session.get_outputs()[-1].name  # a classifier's probabilities, a regressor's only output

    def predict(matrix: np.ndarray) -> np.ndarray:
        result = session.run([answer], {name: np.ascontiguousarray(matrix, dtype=np.float64)})[0]
        return np.asarray(result, dtype=np.float64).reshape(len(matrix), -1)

    return predict


def _range_rows(first: Any, inputs: int, known_rows: np.ndarray) -> np.ndarray:
    """Rows drawn inside the training ranges: the first scaler's fitted ranges, or the known rows'
    (widened by a tenth); where neither exists, magnitudes from 1e-3 to 1e3 of both signs."""
    rng = np.random.default_rng(0)
    low, high = _training_range(first, inputs, known_rows)
    if low is None:
        magnitude = 10.0 ** rng.uniform(-3, 3, size=(SYNTHETIC_ROWS, inputs))
        return magnitude * rng.choice([-1.0, 1.0], size=magnitude.shape)
    span = np.where(high > low, high - low, 1.0)
    return rng.uniform(low - 0.1 * span, high + 0.1 * span, size=(SYNTHETIC_ROWS, inputs))


def _training_range(first: Any, inputs: int, known_rows: np.ndarray) -> tuple[Any, Any]:
    kind = type(first).__name__
    if kind == "MinMaxScaler":
        return first.data_min_, first.data_max_
    if kind == "MaxAbsScaler":
        return -first.max_abs_, first.max_abs_
    if kind == "StandardScaler" and first.scale_ is not None:
        centre = first.mean_ if first.mean_ is not None else np.zeros(inputs)
        return centre - 3 * first.scale_, centre + 3 * first.scale_
    if kind == "RobustScaler" and first.scale_ is not None:
        centre = first.center_ if first.center_ is not None else np.zeros(inputs)
        return centre - 3 * first.scale_, centre + 3 * first.scale_
    known = known_without_missing(known_rows, inputs)
    if len(known) >= 2:
        return known.min(axis=0), known.max(axis=0)
    return None, None
