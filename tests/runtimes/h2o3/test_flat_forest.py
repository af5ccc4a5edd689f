"""GBM and DRF MOJOs are scored by the helper's flattened trees, which must give genmodel's
`score0` to the bit, or not serve at all."""

from __future__ import annotations

import numpy as np
import pytest

from scoring_runtime.core.frame import Frame
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.options import LoadOptions
from tests.frames import take
from tests.runtimes.h2o3.test_mojo import FIXTURES, _frame

TREES = [f"{algo}_{task}" for algo in ("gbm", "drf") for task in ("regression", "binomial", "multinomial")]
FLAT = "scored by: flattened trees, equal to genmodel's score0 to the bit on"


def _path(scorer) -> str:
    return next(note for note in scorer.info.notes if note.startswith("scored by: "))


def _noisy(scorer, frame: Frame, rows: int) -> Frame:
    """The fixture's rows resampled, a fifth of the cells of every column missing, and (categoricals)
    codes the model never saw: every branch direction a row can take."""
    rng = np.random.default_rng(0)
    big = take(frame, rng.integers(0, frame.rows, rows))
    columns = {}
    for field in scorer.schema.inputs:
        values = np.array(big[field.name], dtype=object if field.levels else np.float64)
        values[rng.random(rows) < 0.2] = None if field.levels else np.nan
        if field.levels:
            values[rng.random(rows) < 0.05] = "never-seen"
        columns[field.name] = values
    return Frame({**dict(big.items()), **columns}, rows)


@pytest.mark.parametrize("name", TREES)
def test_tree_mojos_are_served_by_flattened_trees_equal_to_score0(name):
    fast = load_scorer(FIXTURES / f"{name}.zip")
    slow = load_scorer(FIXTURES / f"{name}.zip", LoadOptions(accelerate=False))
    assert _path(fast).startswith(FLAT)
    assert fast.info.description.endswith(_path(fast).removeprefix("scored by: ").join(("; scored by ", "")))
    assert _path(slow) == "scored by: genmodel's score0 (SCORER_ACCELERATE=off)"
    frame = _frame(fast, name)
    for rows in (frame, take(frame, [0]), _noisy(fast, frame, 3000)):
        np.testing.assert_array_equal(fast.score(rows).predictions, slow.score(rows).predictions)


def test_flattened_trees_agree_across_the_thread_pool():
    fast = load_scorer(FIXTURES / "gbm_binomial.zip", LoadOptions(mojo_threads=2))
    slow = load_scorer(FIXTURES / "gbm_binomial.zip", LoadOptions(accelerate=False))
    frame = _noisy(fast, _frame(fast, "gbm_binomial"), 6000)
    np.testing.assert_array_equal(fast.score(frame).predictions, slow.score(frame).predictions)


@pytest.mark.parametrize("name", ["glm_binomial", "xgboost_regression"])
def test_other_mojos_stay_on_score0_and_say_why(name):
    assert _path(load_scorer(FIXTURES / f"{name}.zip")) == (
        "scored by: genmodel's score0 (the flattened trees cover GBM and DRF MOJOs)"
    )


def test_the_check_refuses_trees_that_differ_from_score0():
    """The check compares one model's flattened trees with another model's score0 (the same
    credit-card inputs): a forest that is not the model's must be refused, with the row."""
    import jpype

    load_scorer(FIXTURES / "gbm_binomial.zip")  # starts the JVM with the helper on its classpath
    mojo = jpype.JClass("hex.genmodel.MojoModel")
    drf = mojo.load(str(FIXTURES / "drf_binomial.zip"), True)
    gbm = mojo.load(str(FIXTURES / "gbm_binomial.zip"), True)
    forest, _ = jpype.JClass("ai.scoringruntime.FlatForest").of(drf)
    check = jpype.JClass("ai.scoringruntime.ForestCheck")
    assert str(check.mismatch(forest, drf, 2048, 0)[0]) == ""
    found = str(check.mismatch(forest, gbm, 2048, 0)[0])
    assert found.startswith("the flattened trees gave ") and " where score0 gives " in found
