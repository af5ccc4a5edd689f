"""H2O-3 MOJOs against H2O's own in-cluster `predict` and `predict_contributions`.

The MOJOs and the ground truth were made by `models/train_h2o_mojos.sh` (h2o 3.46.0.11); the held-out
rows include missing values and levels the models never saw.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.types import Capability, DataType, ScoringType, ShapleyKind
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.options import LoadOptions
from scoring_runtime.settings import bundled_model
from tests.frames import OPTIONS, take, to_frame
from tests.server_process import REPO

FIXTURES = REPO / "tests" / "fixtures" / "h2o"
EXAMPLES = {"cool_cond_y": REPO / "models" / "hydraulic", "distance": REPO / "models" / "airlines"}
"""Where the example models' ground truth lies; the hydraulic MOJO itself is the package's default model."""
MATRIX = [
    f"{algo}_{task}" for algo in ("gbm", "drf", "glm", "xgboost") for task in ("regression", "binomial", "multinomial")
]


def _artifact(name: str) -> Path:
    return bundled_model() if name == "cool_cond_y" else EXAMPLES.get(name, FIXTURES) / f"{name}.zip"


def _truth(name: str, kind: str) -> pd.DataFrame:
    path = EXAMPLES.get(name, FIXTURES) / f"{name}.{kind}.csv"
    return pd.read_csv(path, dtype=str if kind == "input" else None, keep_default_na=False)


def _frame(scorer, name: str) -> Frame:
    rows = _truth(name, "input")
    frame, _ = to_frame(list(rows.columns), rows.to_numpy().tolist(), scorer.schema, OPTIONS)
    return frame


@pytest.fixture(scope="module")
def scorers() -> dict:
    return {}


def _scorer(scorers: dict, name: str):
    if name not in scorers:
        scorers[name] = load_scorer(_artifact(name))
    return scorers[name]


@pytest.mark.parametrize("name", [*MATRIX, *EXAMPLES])
def test_predictions_equal_h2o_in_cluster_predict(scorers, name):
    scorer = _scorer(scorers, name)
    frame = _frame(scorer, name)
    expected = _truth(name, "predict")
    expected = expected.iloc[:, :1] if scorer.schema.scoring_type is ScoringType.REGRESSION else expected.iloc[:, 1:]
    got = scorer.score(frame).predictions
    assert got.shape == expected.shape
    assert np.abs(got - expected.to_numpy()).max() <= 1e-9
    single = np.vstack([scorer.score(take(frame, [i])).predictions for i in range(5)])
    np.testing.assert_array_equal(single, got[:5])


EXPLAINED = [n for n in [*MATRIX, *EXAMPLES] if "multinomial" not in n and "glm" not in n and n != "cool_cond_y"]


def _margin(scorer, frame: Frame, name: str) -> np.ndarray:
    """What H2O explains: the value for regression, the log-odds for GBM/XGBoost, p1 for DRF."""
    predictions = scorer.score(frame).predictions
    if scorer.schema.scoring_type is ScoringType.REGRESSION:
        return predictions[:, 0]
    p1 = predictions[:, 1]
    return p1 if name.startswith("drf") else np.log(p1 / (1 - p1))


def _unseen_rows(scorer, name: str) -> np.ndarray:
    rows = _truth(name, "input")
    unseen = np.zeros(len(rows), dtype=bool)
    for field in scorer.schema.inputs:
        if field.levels:
            unseen |= ~rows[field.name].isin([*field.levels, "NA"]).to_numpy()
    return unseen


@pytest.mark.parametrize("name", EXPLAINED)
def test_contributions_equal_h2o_predict_contributions(scorers, name):
    """Equal to H2O's numbers on every row whose levels the model knows (unseen levels: next test)."""
    scorer = _scorer(scorers, name)
    frame = _frame(scorer, name)
    known = ~_unseen_rows(scorer, name)
    assert {Capability.CONTRIBUTION_ORIGINAL, Capability.CONTRIBUTION_TRANSFORMED} <= scorer.capabilities
    compact = "contrib_compact" if name.startswith("xgboost") else "contrib"
    for kind, truth in ((ShapleyKind.TRANSFORMED, "contrib"), (ShapleyKind.ORIGINAL, compact)):
        expected = _truth(name, truth)
        result = scorer.contributions(frame, kind)
        assert result.features == (*tuple(f"contrib_{c}" for c in expected.columns[:-1]), "contrib_bias")
        (group,) = result.groups
        assert group.output_group is None
        assert _within_row_scale(group.values[known], expected.to_numpy()[known], 1e-5), kind


@pytest.mark.parametrize("name", EXPLAINED)
def test_contributions_add_up_to_the_prediction_on_every_row(scorers, name):
    """API.md: contributions plus bias equal the model's output in the space explained (1e-5)."""
    scorer = _scorer(scorers, name)
    frame = _frame(scorer, name)
    margin = _margin(scorer, frame, name)
    for kind in ShapleyKind:
        total = scorer.contributions(frame, kind).groups[0].values.sum(axis=1)
        assert (np.abs(total - margin) <= np.maximum(1e-5, 1e-5 * np.abs(margin))).all(), kind


@pytest.mark.parametrize("name", ["gbm_binomial", "drf_regression"])
def test_unseen_levels_are_explained_as_missing(scorers, name):
    scorer = _scorer(scorers, name)
    rows = _truth(name, "input")
    unseen = _unseen_rows(scorer, name)
    assert unseen.any()
    as_missing = rows.copy()
    for field in scorer.schema.inputs:
        if field.levels:
            as_missing.loc[~as_missing[field.name].isin(field.levels), field.name] = "NA"
    sent, _ = to_frame(list(rows.columns), rows.to_numpy().tolist(), scorer.schema, OPTIONS)
    missing, _ = to_frame(list(rows.columns), as_missing.to_numpy().tolist(), scorer.schema, OPTIONS)
    got = scorer.contributions(sent, ShapleyKind.ORIGINAL).groups[0].values
    np.testing.assert_array_equal(got, scorer.contributions(missing, ShapleyKind.ORIGINAL).groups[0].values)
    np.testing.assert_allclose(
        scorer.score(sent).predictions[unseen],
        _truth(name, "predict").to_numpy()[unseen][:, -scorer.score(sent).predictions.shape[1] :],
        atol=1e-9,
    )


def _within_row_scale(got: np.ndarray, expected: np.ndarray, tolerance: float) -> bool:
    """H2O adds a hundred trees' contributions in float32, so its values carry an error relative to
    the row's largest value (the bias), not to each value; the server sums in double."""
    scale = np.maximum(1.0, np.abs(expected).max(axis=1, keepdims=True))
    return bool((np.abs(got - expected) <= tolerance * scale).all())


def test_original_contributions_sum_one_hot_columns_back_per_input(scorers):
    scorer = _scorer(scorers, "xgboost_regression")
    frame = _frame(scorer, "xgboost_regression")
    transformed = scorer.contributions(frame, ShapleyKind.TRANSFORMED)
    original = scorer.contributions(frame, ShapleyKind.ORIGINAL)
    assert len(transformed.features) > len(original.features) == len(scorer.schema.inputs) + 1
    np.testing.assert_allclose(
        transformed.groups[0].values.sum(axis=1), original.groups[0].values.sum(axis=1), rtol=1e-9, atol=1e-6
    )


@pytest.mark.parametrize(
    "name", ["glm_binomial", "glm_regression", "gbm_multinomial", "xgboost_multinomial", "drf_multinomial"]
)
def test_models_without_genmodel_contributions_only_score(scorers, name):
    assert _scorer(scorers, name).capabilities == {Capability.SCORE}


def test_schema_follows_the_mojo_feature_order_and_domains(scorers):
    scorer = _scorer(scorers, "distance")
    schema = scorer.schema
    assert set(schema.input_names) == {
        "Origin", "Dest", "fDayofMonth", "fYear", "UniqueCarrier", "fDayOfWeek", "fMonth", "IsDepDelayed"
    }  # fmt: skip
    assert all(f.data_type is DataType.STR and f.levels for f in schema.inputs)
    assert schema.output_names == ("Distance",) and schema.scoring_type is ScoringType.REGRESSION
    glm = _scorer(scorers, "glm_binomial").schema
    categorical_first = [f.data_type is DataType.STR for f in glm.inputs]
    assert categorical_first == sorted(categorical_first, reverse=True)
    hydraulic = _scorer(scorers, "cool_cond_y").schema
    assert hydraulic.output_names == ("cool_cond_y.3", "cool_cond_y.20", "cool_cond_y.100")
    assert hydraulic.class_labels == ("3", "20", "100")
    assert hydraulic.scoring_type is ScoringType.CLASSIFICATION


def test_swapped_request_columns_cannot_swap_model_inputs(scorers):
    scorer = _scorer(scorers, "gbm_binomial")
    rows = _truth("gbm_binomial", "input")
    reversed_rows = rows[list(reversed(rows.columns))]
    frame, _ = to_frame(list(reversed_rows.columns), reversed_rows.to_numpy().tolist(), scorer.schema, OPTIONS)
    np.testing.assert_array_equal(
        scorer.score(frame).predictions, scorer.score(_frame(scorer, "gbm_binomial")).predictions
    )


def test_large_batches_use_the_thread_pool_and_agree(scorers):
    scorer = load_scorer(_artifact("gbm_binomial"), LoadOptions(mojo_threads=2))
    frame = _frame(scorer, "gbm_binomial")
    big = take(frame, np.tile(np.arange(frame.rows), 30))  # 6,000 rows: three tasks of 2,000
    expected = np.tile(scorer.score(frame).predictions, (30, 1))
    np.testing.assert_array_equal(scorer.score(big).predictions, expected)


def test_info_names_the_java_runtime_and_artifact_uuid(scorers):
    info = _scorer(scorers, "gbm_binomial").info
    assert info.runtime == "h2o3_mojo" and info.artifact_id
    assert "gbm MOJO, Binomial, trained with H2O 3.46.0.11" in info.description
    assert any(note.startswith("Java runtime:") for note in info.notes)


def test_unsupported_categories_are_refused_at_load():
    with pytest.raises(ModelLoadError, match="is an H2O-3 kmeans Clustering model; this server scores Regression"):
        load_scorer(FIXTURES / "kmeans_clustering.zip")


def test_a_corrupt_mojo_is_a_load_error(tmp_path):
    import zipfile

    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(broken, "w") as archive:
        archive.writestr("model.ini", "[info]\nalgorithm = gbm\n")
    with pytest.raises(ModelLoadError, match="is not a readable H2O-3 MOJO"):
        load_scorer(broken)
