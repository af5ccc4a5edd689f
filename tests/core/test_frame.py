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


def test_a_frame_of_a_block_is_the_frame_of_its_columns():
    """Columns are made from the block only when asked for; every view of the frame agrees."""
    names = ("a", "b", "c")
    block = np.arange(12, dtype=np.float64).reshape(4, 3)
    lazy, eager = Frame.of_block(names, block), Frame({n: block[:, i] for i, n in enumerate(names)}, 4, (names, block))
    assert list(lazy) == list(names) and len(lazy) == 3 and lazy.rows == 4
    np.testing.assert_array_equal(lazy.matrix(names), eager.matrix(names))
    np.testing.assert_array_equal(lazy.matrix(["c", "a"]), block[:, [2, 0]])
    for name in names:
        np.testing.assert_array_equal(lazy[name], eager[name])
    table = Frame.of_block(names, block).to_pandas()
    assert list(table.columns) == list(names)
    table.iloc[0, 0] = -1.0  # a model may change its DataFrame in place: the request's block stays
    assert block[0, 0] == 0.0
    np.testing.assert_array_equal(Frame.of_block(names, block).to_pandas(["b"]).to_numpy(), block[:, [1]])
