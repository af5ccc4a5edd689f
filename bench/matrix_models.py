"""The model kinds of `bench.matrix`: how each is fitted, handed to MLServer's own runtime, and
converted to ONNX for the in-process floor."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from scoring_runtime.runtimes.python.accelerate import accelerate


@dataclass(frozen=True)
class Kind:
    name: str
    build: Callable[[np.ndarray, np.ndarray], Any]
    mlserver_runtime: str = "mlserver_sklearn.SKLearnModel"
    mlserver_file: str = "model.joblib"
    mlserver_output: str | None = "predict_proba"
    """None: the runtime's only output (LightGBM's booster answers the positive class's probability)."""
    save_for_mlserver: Callable[[Any, Path], None] = lambda model, path: joblib.dump(model, path)
    to_onnx: Callable[[Any, int], Any] | None = None


def _sklearn_onnx(model: Any, inputs: int) -> Any:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    return convert_sklearn(model, initial_types=[("input", FloatTensorType([None, inputs]))])


def _xgboost(x: np.ndarray, y: np.ndarray) -> Any:
    from xgboost import XGBClassifier

    return XGBClassifier(n_estimators=100, random_state=0).fit(x, y)


def _xgboost_onnx(model: Any, inputs: int) -> Any:
    from onnxmltools import convert_xgboost
    from onnxmltools.convert.common.data_types import FloatTensorType

    return convert_xgboost(model, initial_types=[("input", FloatTensorType([None, inputs]))])


def _lightgbm(x: np.ndarray, y: np.ndarray) -> Any:
    from lightgbm import LGBMClassifier

    return LGBMClassifier(n_estimators=100, random_state=0, verbose=-1).fit(x, y)


def _lightgbm_onnx(model: Any, inputs: int) -> Any:
    from onnxmltools import convert_lightgbm
    from onnxmltools.convert.common.data_types import FloatTensorType

    return convert_lightgbm(model, initial_types=[("input", FloatTensorType([None, inputs]))])


def _sklearn(name: str, estimator: Callable[[], Any]) -> Kind:
    return Kind(name, lambda x, y: estimator().fit(x, y), to_onnx=_sklearn_onnx)


MODELS = {
    "gbm": _sklearn("gbm", lambda: GradientBoostingClassifier(n_estimators=100, random_state=0)),
    "rf": _sklearn("rf", lambda: RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0)),
    "hgb": _sklearn("hgb", lambda: HistGradientBoostingClassifier(max_iter=100, random_state=0)),
    "lr": _sklearn("lr", lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))),
    "xgboost": Kind(
        "xgboost",
        _xgboost,
        mlserver_runtime="mlserver_xgboost.XGBoostModel",
        mlserver_file="model.json",
        save_for_mlserver=lambda model, path: model.save_model(path),
        to_onnx=_xgboost_onnx,
    ),
    "lightgbm": Kind(
        "lightgbm",
        _lightgbm,
        mlserver_runtime="mlserver_lightgbm.LightGBMModel",
        mlserver_file="model.bst",
        mlserver_output=None,
        save_for_mlserver=lambda model, path: model.booster_.save_model(str(path)),
        to_onnx=_lightgbm_onnx,
    ),
}


def in_process_floors(model: Any, x: np.ndarray, kind: Kind) -> dict[str, float]:
    """Milliseconds for one row in this process: `predict_proba`, our verified path (the engine's
    name as key), onnxruntime on the float32 conversion; the verified path's max abs difference."""
    one = x[:1]
    floors = {"predict_proba": _timed(lambda: model.predict_proba(one), 200)}
    fast, _ = accelerate(model, x.shape[1], x[:100], model.predict_proba)
    if fast is not None:
        floors[f"verified ({fast.engine})"] = _timed(lambda: fast.predict(one), 2000)
        floors["verified max abs difference"] = fast.max_abs_diff
    if kind.to_onnx is not None:
        try:
            session = _session(kind.to_onnx(model, x.shape[1]))
        except Exception as exc:  # a converter that does not take this model: no floor, said so
            print(f"{kind.name}: no onnxruntime floor ({type(exc).__name__}: {exc})")
        else:
            name = session.get_inputs()[0].name
            row = one.astype(np.float32)
            floors["onnxruntime float32"] = _timed(lambda: session.run(None, {name: row}), 2000)
    return floors


def _session(onnx: Any) -> Any:
    import onnxruntime

    settings = onnxruntime.SessionOptions()
    settings.intra_op_num_threads = 1
    settings.inter_op_num_threads = 1
    return onnxruntime.InferenceSession(onnx.SerializeToString(), settings, providers=["CPUExecutionProvider"])


def _timed(call: Callable[[], object], repeat: int) -> float:
    call()
    started = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - started) / repeat * 1e3
