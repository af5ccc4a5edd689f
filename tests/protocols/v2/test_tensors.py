"""V2 tensors: JSON values, binary buffers and gRPC raw contents read to the same arrays."""

from __future__ import annotations

import numpy as np
import pytest

from scoring_runtime.core.errors import InvalidInput
from scoring_runtime.protocols.v2.tensors import NUMPY, from_buffer, from_values, to_buffer, to_values


@pytest.mark.parametrize("datatype", sorted(NUMPY))
def test_every_fixed_size_datatype_reads_the_same_from_json_and_from_bytes(datatype):
    values = [[1, 0], [1, 1], [0, 1]] if datatype == "BOOL" else [[1, 2], [3, 4], [5, 6]]
    if datatype == "BOOL":
        values = [[bool(v) for v in row] for row in values]
    from_json = from_values("x", datatype, [3, 2], values)
    from_bytes = from_buffer("x", datatype, [3, 2], to_buffer(from_json))
    assert from_json.data.dtype == NUMPY[datatype] and from_json.data.shape == (3, 2)
    np.testing.assert_array_equal(from_json.data, from_bytes.data)


def test_flat_and_nested_data_are_the_same_row_major_tensor():
    nested = from_values("x", "FP64", [2, 3], [[1.5, 2, 3], [4, 5, 6]])
    flat = from_values("x", "FP64", [2, 3], [1.5, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(nested.data, flat.data)
    assert to_values(nested).tolist() == [1.5, 2.0, 3.0, 4.0, 5.0, 6.0]


def test_bytes_elements_carry_their_4_byte_length_in_binary():
    tensor = from_values("t", "BYTES", [3], ["a", "", "héllo"])
    raw = to_buffer(tensor)
    assert raw[:5] == b"\x01\x00\x00\x00a" and len(raw) == 4 * 3 + 1 + 0 + len("héllo".encode())
    assert from_buffer("t", "BYTES", [3], raw).data.tolist() == [b"a", b"", "héllo".encode()]
    assert to_values(tensor) == ["a", "", "héllo"]


def test_float64_survives_json_and_binary_to_the_last_bit():
    values = np.random.default_rng(1).random(1000) * 10.0 ** np.random.default_rng(2).integers(-300, 300, 1000)
    tensor = from_values("x", "FP64", [1000], values.tolist())
    np.testing.assert_array_equal(from_buffer("x", "FP64", [1000], to_buffer(tensor)).data, values)


@pytest.mark.parametrize(
    ("call", "fragment"),
    [
        (lambda: from_values("x", "FP128", [1], [1]), "datatype 'FP128'"),
        (lambda: from_values("x", "FP64", [2, 2], [1, 2, 3]), "has 3 values but its shape [2, 2] holds 4"),
        (lambda: from_values("x", "FP64", [1], ["a"]), "not FP64 values"),
        (lambda: from_values("x", "BOOL", [1], [3]), "not BOOL values"),
        (lambda: from_values("x", "BYTES", [1], [3]), "not BYTES values"),
        (lambda: from_values("x", "INT8", [1], [1000]), "not INT8 values"),
        (lambda: from_buffer("x", "FP64", [1], b"\x00" * 7), "not a whole number of FP64 values"),
        (lambda: from_buffer("x", "BYTES", [1], b"\x05\x00\x00\x00ab"), "longer than its data"),
        (lambda: from_values("x", "FP64", [-1], []), "every dimension must be 0 or more"),
    ],
)
def test_malformed_tensors_are_one_sentence(call, fragment):
    with pytest.raises(InvalidInput) as caught:
        call()
    assert fragment in caught.value.detail


def test_nulls_in_float_data_are_nan_and_ragged_rows_are_refused():
    tensor = from_values("x", "FP64", [2, 2], [[1.5, None], [3, 4]])
    assert np.isnan(tensor.data[0, 1]) and tensor.data[1].tolist() == [3.0, 4.0]
    with pytest.raises(InvalidInput, match="not FP64 values"):
        from_values("x", "FP64", [3], [[1, 2], [3]])
