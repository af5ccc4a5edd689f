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
from typing import Any, Literal

import numpy as np

_TYPES = {"float32": (np.float32, ctypes.c_float), "float64": (np.float64, ctypes.c_double)}


def bound_predict(
    model: Any, predict_type: Literal["default", "score_per_tree"] = "default"
) -> Callable[[np.ndarray], np.ndarray]:
    """`matrix (rows by features) -> outputs (one row each)` for a treelite `Model`, in the
    model's own input and output types: its sums (`default`) or each tree's leaf value
    (`score_per_tree`, rows by trees by values); the library's own functions for a model whose
    input and output types differ."""
    import treelite.gtil

    if model.input_type != model.output_type or model.input_type not in _TYPES:
        if predict_type == "score_per_tree":
            return lambda matrix: treelite.gtil.predict_per_tree(model, matrix, nthread=1)
        return lambda matrix: treelite.gtil.predict(model, matrix, nthread=1)
    from treelite.core import _LIB, _check_call
    from treelite.gtil.gtil import GTILConfig

    dtype, c_type = _TYPES[model.input_type]
    pointer, type_name = ctypes.POINTER(c_type), model.input_type.encode()
    config = GTILConfig(predict_type=predict_type, nthread=1)
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
        matrix = np.ascontiguousarray(matrix, dtype=dtype)
        answer = np.zeros((len(matrix), *per_row), dtype=dtype)
        rows = ctypes.c_uint64(len(matrix))
        into = answer.ctypes.data_as(pointer)
        _check_call(walk(model.handle, matrix.ctypes.data_as(pointer), type_name, rows, into, config.handle))
        return answer

    return predict
