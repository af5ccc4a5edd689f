"""The Spark worker's reading of an Arrow batch, without Spark: a text column for a categorical
field is read against its levels at pandas' speed, and must read exactly as the H2O API reads the
same cells."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from scoring_runtime.core.columns import read_column
from scoring_runtime.core.types import DataType, Field, ModelSchema, ScoringType
from scoring_runtime.spark.worker import _levels_of, frame_of
from tests.frames import OPTIONS
from tests.server_process import REPO

FIELD = Field("EDUCATION", DataType.STR, levels=("1", "2", "3", "NA"))
CELLS = ["1", "3", None, "NA", "", "never-seen", "2", " 2", "1"]


@pytest.mark.parametrize("dtype", [object, "string", "string[pyarrow]"])
def test_levels_read_as_the_h2o_api_reads_the_cells(dtype):
    values = pd.Series(CELLS, dtype=dtype)
    expected = read_column(FIELD, CELLS, OPTIONS)
    got = _levels_of(values, FIELD.levels)
    assert got.dtype == object and got.tolist() == expected.tolist()
    assert got.tolist() == ["1", "3", None, "NA", None, None, "2", None, "1"]


@pytest.mark.parametrize("cells", [[2, None, 3, 9], ["2", 3, None]])
def test_a_column_of_other_objects_is_read_cell_by_cell_as_before(cells):
    """An object column that is not all texts is read cell by cell: a number's text ('2') matches a level."""
    model = SimpleNamespace(
        schema=ModelSchema(inputs=(FIELD,), outputs=(), targets=(), scoring_type=ScoringType.REGRESSION),
        read_options=OPTIONS,
    )
    got = frame_of(model, pd.DataFrame({"EDUCATION": pd.Series(cells, dtype=object)}))
    assert got["EDUCATION"].tolist() == read_column(FIELD, cells, OPTIONS).tolist()


def test_an_empty_batch_reads_as_an_empty_column():
    assert _levels_of(pd.Series([], dtype="string"), FIELD.levels).shape == (0,)
    assert np.array_equal(_levels_of(pd.Series([None], dtype=object), FIELD.levels), np.array([None], dtype=object))


def test_a_workers_model_is_reused_by_the_next_job_on_the_same_files(tmp_path, monkeypatch):
    """A notebook scoring again ships the files in a new folder; the worker keeps its load while
    the digest matches, and a job on other files closes the old model first."""
    from scoring_runtime.core.model import ScoreOptions
    from scoring_runtime.spark import worker

    monkeypatch.setattr(worker, "_models", {})
    artifact = REPO / "tests" / "fixtures" / "h2o" / "glm_regression.zip"
    job = worker.Job("bundle-1", "digest-a", artifact.name, None, (), ScoreOptions(), False)
    first = worker.model_for(job, artifact.parent)
    again = worker.model_for(dataclasses.replace(job, bundle="bundle-2"), artifact.parent)
    assert again is first
    closed = []
    monkeypatch.setattr(first, "close", lambda: closed.append(True))
    other = worker.model_for(dataclasses.replace(job, digest="digest-b"), artifact.parent)
    assert other is not first and closed == [True] and list(worker._models) == ["digest-b"]
    other.close()
