from __future__ import annotations

import numpy as np

from scoring_runtime.core.text import cell_text, number_columns


def test_number_columns_are_shortest_round_trip_text():
    matrix = np.array([[0.1, 1e-20, np.nan], [1 / 3, 1e16, np.inf]])
    columns = number_columns(matrix)
    assert [list(row) for row in zip(*columns, strict=True)] == [
        ["0.1", "1e-20", "NaN"],
        ["0.3333333333333333", "1e+16", "Infinity"],
    ]
    assert [float(v) for v in columns[0]] == [0.1, 1 / 3]


def test_number_columns_write_what_repr_writes_for_every_double():
    rng = np.random.default_rng(0)
    values = rng.random(20_000) * 10.0 ** rng.integers(-300, 300, 20_000) * rng.choice([-1, 1], 20_000)
    values[:5_000] = rng.random(5_000) * 10.0 ** rng.integers(-8, 20, 5_000)  # around both style boundaries
    edges = [1e-4, 9.999999999999999e-05, 1e16, 9999999999999998.0, 1e15, 123456789012345.6, 1.0, 100.0]
    values = np.concatenate([values, edges, [0.0, -0.0, 5e-324, 1.7976931348623157e308, -np.inf]])
    texts = number_columns(values.reshape(-1, 1))[0]
    assert texts[-1] == "-Infinity" and texts[-4] == "-0.0"
    assert texts[:-1] == [repr(v) for v in values[:-1].tolist()]


def test_number_columns_respell_orjsons_small_numbers_as_repr_does():
    rng = np.random.default_rng(1)
    small = rng.random(20_000) * 10.0 ** rng.integers(-12, -3, 20_000) * rng.choice([-1, 1], 20_000)
    rounded = [round(v, int(d)) for v, d in zip(small[:5_000].tolist(), rng.integers(5, 17, 5_000), strict=True)]
    edges = [1e-5, -1e-5, 1.5e-5, 1.00001e-5, 3.0000004e-5, 1e-9, -1e-9, 1e-10, 9.99e-6, 1.0000000000000001e-05]
    values = np.concatenate([small, rounded, edges])
    assert number_columns(values.reshape(-1, 1))[0] == [repr(v) for v in values.tolist()]


def test_cell_text_reads_json_values_as_their_text():
    assert [cell_text(v) for v in (True, False, 3, 2.5, "x")] == ["true", "false", "3", "2.5", "x"]
