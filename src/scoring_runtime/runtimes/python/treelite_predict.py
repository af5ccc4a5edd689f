"""treelite's tree walker (GTIL) bound once per model, for calls of a few rows.

`treelite.gtil.predict` builds a JSON configuration and has the library parse it, then asks the
model for its input and output types and the output's shape, all through ctypes, on every call:
~25 µs for one row of a 100-tree model, of which the walk is ~8. Bound here, with the types and
the shape per row read once, a call is ~11 µs. Whatever is bound is verified at load with the
rest of the accelerated path (`accelerate.py`), so a wrong binding is refused, never served.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

import numpy as np

_DOUBLE = ctypes.POINTER(ctypes.c_double)


def bound_predict(model: Any) -> Callable[[np.ndarray], np.ndarray]:
    """`matrix (rows by features, float64) -> outputs (one row each)` for a treelite `Model`; the
    library's own `gtil.predict` where the model does not read and write float64."""
    import treelite.gtil

    if model.input_type != "float64" or model.output_type != "float64":
        return lambda matrix: treelite.gtil.predict(model, matrix, nthread=1)
    from treelite.core import _LIB, _check_call
    from treelite.gtil.gtil import GTILConfig

    config = GTILConfig(predict_type="default", nthread=1)
    shape = ctypes.POINTER(ctypes.c_uint64)()
    dimensions = ctypes.c_uint64()
    _check_call(
        _LIB.TreeliteGTILGetOutputShape(
            model.handle, ctypes.c_uint64(1), config.handle, ctypes.byref(shape), ctypes.byref(dimensions)
        )
    )
    per_row = tuple(int(shape[i]) for i in range(1, dimensions.value))
    walk = _LIB.TreeliteGTILPredict

    def predict(matrix: np.ndarray) -> np.ndarray:
        # `model` and `config` are named here, not just their handles: the closure keeps them
        # alive, and each frees its handle when it is collected.
        matrix = np.ascontiguousarray(matrix, dtype=np.float64)
        answer = np.zeros((len(matrix), *per_row), dtype=np.float64)
        rows = ctypes.c_uint64(len(matrix))
        into = answer.ctypes.data_as(_DOUBLE)
        _check_call(walk(model.handle, matrix.ctypes.data_as(_DOUBLE), b"float64", rows, into, config.handle))
        return answer

    return predict
