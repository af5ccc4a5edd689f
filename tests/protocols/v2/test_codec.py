"""V2 requests over the core on real pickles: both input forms, output selection, every refusal."""

from __future__ import annotations

import asyncio

import joblib
import numpy as np
import pytest

from scoring_runtime.core.errors import InvalidInput
from scoring_runtime.protocols.v2 import codec
from scoring_runtime.protocols.v2.codec import InferRequest
from scoring_runtime.protocols.v2.tensors import from_values
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.calibration import Calibration, ConformalScorer
from scoring_runtime.runtimes.options import LoadOptions
from tests.model_builders import CREDIT_CATEGORICAL, CREDIT_NUMERIC, CREDIT_TARGET
from tests.served import serve

INPUTS = CREDIT_CATEGORICAL + CREDIT_NUMERIC


def _infer(model, request: InferRequest) -> dict:
    outputs = asyncio.run(model.score(codec.infer_job(model, request)))
    return {t.name: t for t in outputs}


def _columns(frame) -> list:
    return [
        from_values(name, "BYTES", [len(frame)], frame[name].astype(str).tolist())
        if name in CREDIT_CATEGORICAL
        else from_values(name, "FP64", [len(frame), 1], frame[[name]].to_numpy().tolist())
        for name in INPUTS
    ]


@pytest.fixture(scope="module")
def credit(credit_model):
    return serve(credit_model)


def test_a_tensor_per_field_scores_like_predict_proba(credit, credit_model, credit_frame):
    sample = credit_frame.sample(200, random_state=4)
    outputs = _infer(credit, InferRequest(_columns(sample)))
    expected = joblib.load(credit_model).predict_proba(sample[INPUTS])
    assert list(outputs) == [f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1"]
    np.testing.assert_array_equal(outputs[f"{CREDIT_TARGET}.1"].data, expected[:, 1])
    assert outputs[f"{CREDIT_TARGET}.1"].shape == [200]


def test_one_2d_tensor_follows_the_model_input_order(pump_model):
    """Exactly the estimator's numbers by its own path; within the accelerated path's verified 1e-9 by default."""
    artifact, features = pump_model
    rows = features.head(50)
    tensor = from_values("input-0", "FP32", list(rows.shape), rows.to_numpy(dtype=np.float32).tolist())
    expected = joblib.load(artifact).predict(rows.astype(np.float32).astype(np.float64))
    exact = _infer(serve(load_scorer(artifact, LoadOptions(accelerate=False))), InferRequest([tensor]))
    np.testing.assert_array_equal(exact["target"].data, expected)
    accelerated = _infer(serve(artifact), InferRequest([tensor]))
    np.testing.assert_allclose(accelerated["target"].data, expected, rtol=0, atol=1e-9)


def test_contributions_and_output_selection(credit, credit_frame):
    request = InferRequest(
        _columns(credit_frame.head(3)), parameters={"shapley": "ORIGINAL"}, outputs=[("contributions", {})]
    )
    outputs = _infer(credit, request)
    assert list(outputs) == ["contributions"]
    contributions = outputs["contributions"]
    assert contributions.shape == [3, len(INPUTS) + 1]
    assert contributions.parameters["features"].split(",")[-1] == "contrib_bias"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda r: r.inputs.pop(0), "lacks the input tensor(s) 'SEX'"),
        (lambda r: r.inputs.__setitem__(0, from_values("SEX", "FP64", [3], [1, 2, 1])), "the field 'SEX' takes BYTES"),
        (
            lambda r: r.inputs.__setitem__(3, from_values("LIMIT_BAL", "BYTES", [2], ["1", "2"])),
            "different numbers of rows",
        ),
        (
            lambda r: r.inputs.__setitem__(3, from_values("LIMIT_BAL", "BYTES", [3], ["1", "x", "2"])),
            "'x', which is not a number",
        ),
        (
            lambda r: r.inputs.__setitem__(3, from_values("LIMIT_BAL", "FP64", [3, 2], [1] * 6)),
            "a field's tensor is [N] or [N, 1]",
        ),
        (lambda r: r.parameters.update(shapley="SOME"), 'must be "ORIGINAL" or "TRANSFORMED"'),
        (lambda r: r.parameters.update(prediction_intervals=True), "does not offer prediction intervals"),
        (lambda r: r.outputs.append(("nope", {})), "asks for the output(s) 'nope'"),
    ],
)
def test_refusals_name_what_is_wrong(credit, credit_frame, change, fragment):
    request = InferRequest(_columns(credit_frame.head(3)))
    change(request)
    with pytest.raises(InvalidInput) as caught:
        _infer(credit, request)
    assert fragment in caught.value.detail


def test_a_2d_tensor_is_refused_for_a_model_with_text_inputs(credit):
    tensor = from_values("input-0", "FP64", [1, len(INPUTS)], [[1.0] * len(INPUTS)])
    with pytest.raises(InvalidInput, match="only when it is numeric and every model input is a number"):
        _infer(credit, InferRequest([tensor]))


def test_metadata_lists_exactly_what_the_model_offers(credit, pump_model):
    inputs, outputs = codec.tensor_metadata(credit)
    assert [(t["name"], t["datatype"]) for t in inputs[:2]] == [("SEX", "BYTES"), ("EDUCATION", "BYTES")]
    assert [t["name"] for t in outputs] == [f"{CREDIT_TARGET}.0", f"{CREDIT_TARGET}.1", "contributions"]
    _, plain = codec.tensor_metadata(serve(pump_model[0], shapley_types_enabled="NONE"))
    assert [t["name"] for t in plain] == ["target"]


def test_prediction_intervals_come_as_two_tensors(pump_model):
    artifact, features = pump_model
    scorer = ConformalScorer(load_scorer(artifact), Calibration("split-conformal", 0.9, 1.5, 100, "pump_eff", "0" * 64))
    model = serve(scorer)
    rows = features.head(4)
    request = InferRequest(
        [from_values(n, "FP64", [4], rows[n].tolist()) for n in rows.columns], parameters={"prediction_intervals": True}
    )
    outputs = _infer(model, request)
    assert list(outputs) == ["target", "target.lower", "target.upper"]
    np.testing.assert_array_equal(outputs["target.upper"].data - outputs["target"].data, np.full(4, 1.5))
    _, described = codec.tensor_metadata(model)
    assert [t["name"] for t in described][-2:] == ["target.lower", "target.upper"]
