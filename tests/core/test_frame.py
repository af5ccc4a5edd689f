"""The Frame the runtimes receive."""

from __future__ import annotations

import numpy as np

from scoring_runtime.core.frame import Frame


def test_matrix_from_a_block_is_a_fresh_array_the_model_may_change():
    table = np.arange(6, dtype=np.float64).reshape(3, 2)
    frame = Frame({"a": table[:, 0], "b": table[:, 1]}, 3, block=(("a", "b"), table))
    matrix = frame.matrix(["a", "b"])
    np.testing.assert_array_equal(matrix, table)
    matrix[:] = -1
    np.testing.assert_array_equal(frame["a"], [0.0, 2.0, 4.0])


def test_matrix_in_another_order_is_built_from_the_columns():
    table = np.arange(6, dtype=np.float64).reshape(3, 2)
    frame = Frame({"a": table[:, 0], "b": table[:, 1]}, 3, block=(("a", "b"), table))
    np.testing.assert_array_equal(frame.matrix(["b", "a"]), table[:, ::-1])
    np.testing.assert_array_equal(Frame({"a": table[:, 0]}, 3).matrix(["a"]), table[:, :1])
