"""The Driverless AI runtime: the real daimojo and pipelines for the license path, a documented
test double (tests/fake_daimojo.py) for the mapping, and the real thing whenever a license exists."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.model import ServedModel
from scoring_runtime.core.types import Capability, DataType, ScoringType
from scoring_runtime.protocols.h2o.wire import ContributionRequest, ScoreRequest
from scoring_runtime.runtimes import load_scorer
from scoring_runtime.runtimes.dai import pipeline as dai_mojo
from scoring_runtime.settings import load_settings
from tests.fake_daimojo import FakePipeline
from tests.served import contribution, score, serve
from tests.server_process import REPO, start_server

PIPELINES = REPO / "tests" / "fixtures" / "dai"


def _license_present() -> bool:
    """Where daimojo looks for a license: the two variables, then its fixed paths."""
    settings = load_settings().model
    fixed = (Path("/license/license.sig"), Path.home() / ".driverlessai" / "license.sig")
    return bool(settings.dai_license_key or settings.dai_license_file or any(p.is_file() for p in fixed))


LICENSED = _license_present()
needs_no_license = pytest.mark.skipif(LICENSED, reason="a Driverless AI license is configured; the pipelines load")
needs_license = pytest.mark.skipif(
    not LICENSED, reason="no Driverless AI license (DRIVERLESS_AI_LICENSE_KEY/FILE, /license or ~/.driverlessai)"
)


@needs_no_license
def test_without_a_license_the_real_daimojo_refuses_with_the_options():
    with pytest.raises(ModelLoadError) as caught:
        load_scorer(PIPELINES / "multinomial-pipeline.mojo")
    message = str(caught.value)
    assert "needs a license" in message
    for option in (
        "DRIVERLESS_AI_LICENSE_KEY",
        "DRIVERLESS_AI_LICENSE_FILE",
        "/license/",
        "~/.driverlessai/",
        "beside the pipeline",
    ):
        assert option in message


@needs_no_license
def test_an_old_toml_pipeline_the_cpp_runtime_cannot_read_is_one_sentence():
    """The 2018 TOML-format pipeline is rejected by daimojo's C++ runtime before any license check."""
    with pytest.raises(
        ModelLoadError, match=r"^daimojo could not load .*pipeline\.mojo \(Unable to create a mojo model\)\.$"
    ):
        load_scorer(PIPELINES / "pipeline.mojo")


@needs_no_license
def test_serve_exits_non_zero_at_start_without_a_license():
    result = subprocess.run(
        [sys.executable, "-m", "scoring_runtime", "serve", str(PIPELINES / "multinomial-pipeline.mojo"), "--port", "0"],
        capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert result.returncode == 2
    assert "scorer: The Driverless AI pipeline" in result.stderr and "needs a license" in result.stderr
    assert "Traceback" not in result.stderr


@needs_no_license
def test_a_license_shipped_beside_the_pipeline_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("DRIVERLESS_AI_LICENSE_FILE", raising=False)
    monkeypatch.delenv("DRIVERLESS_AI_LICENSE_KEY", raising=False)
    folder = tmp_path / "mojo-pipeline"
    folder.mkdir()
    shutil.copy(PIPELINES / "multinomial-pipeline.mojo", folder / "pipeline.mojo")
    (folder / "license.sig").write_text("not a valid license")
    with pytest.raises(ModelLoadError, match="needs a license"):  # read, and refused by daimojo
        load_scorer(tmp_path)
    assert os.environ["DRIVERLESS_AI_LICENSE_FILE"] == str(folder / "license.sig")


def test_the_exported_archive_layout_is_found(tmp_path):
    archive = tmp_path / "mojo.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(PIPELINES / "multinomial-pipeline.mojo", "mojo-pipeline/pipeline.mojo")
        bundle.writestr("mojo-pipeline/example.csv", "a\n1\n")
    assert dai_mojo.locate_pipeline(archive).as_posix().endswith("mojo-pipeline/pipeline.mojo")
    assert dai_mojo.locate_pipeline(PIPELINES / "pipeline.mojo") == PIPELINES / "pipeline.mojo"


@pytest.fixture
def fake(monkeypatch):
    """Every load returns the double; `loads` counts them."""
    made: list[FakePipeline] = []

    def factory(classes=("No", "Yes", "Maybe"), ops=(True, True, True, True)):
        def load(_path):
            made.append(FakePipeline(classes, ops))
            return made[-1]

        monkeypatch.setattr(dai_mojo, "load_pipeline", load)
        return made

    return factory


def _service(**settings) -> ServedModel:
    return serve(PIPELINES / "multinomial-pipeline.mojo", **settings)


ROW = ["12.5", "6.1", "N", "40"]
FIELDS = ["MinTemp", "Sunshine", "WindGustDir", "Humidity3pm"]


def test_schema_types_outputs_and_capabilities_come_from_the_pipeline(fake):
    fake()
    scorer = load_scorer(PIPELINES / "multinomial-pipeline.mojo")
    assert [(f.name, f.data_type) for f in scorer.schema.inputs] == [
        ("MinTemp", DataType.FLOAT64), ("Sunshine", DataType.FLOAT32), ("WindGustDir", DataType.STR), ("Humidity3pm", DataType.INT32)
    ]  # fmt: skip
    assert scorer.schema.output_names == ("RainTomorrow.No", "RainTomorrow.Yes", "RainTomorrow.Maybe")
    assert scorer.schema.scoring_type is ScoringType.CLASSIFICATION and scorer.schema.target_name == "RainTomorrow"
    assert "unknown" in scorer.schema.missing_values
    assert scorer.capabilities == set(Capability) - {Capability.MEDIA, Capability.TEST_TIME_AUGMENTATION}
    assert scorer.info.runtime == "dai_mojo" and scorer.info.artifact_id == "fake-0001"


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        ((True, False, False, False), {"SCORE"}),
        ((True, False, True, False), {"SCORE", "CONTRIBUTION_TRANSFORMED"}),
        ((True, True, False, True), {"SCORE", "SCORE_PREDICTION_INTERVAL", "CONTRIBUTION_ORIGINAL"}),
    ],
)
def test_capabilities_follow_supported_ops(fake, ops, expected):
    fake(ops=ops)
    assert {c.value for c in load_scorer(PIPELINES / "pipeline.mojo").capabilities} == expected


def test_scores_with_the_pipelines_own_missing_tokens(fake):
    made = fake()
    service = _service()
    body = score(service, ScoreRequest(fields=FIELDS, rows=[ROW, ["unknown", "?", "unknown", "NA"]]))
    probabilities = np.array(body["score"], dtype=float)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-12)
    assert body["fields"] == ["RainTomorrow.No", "RainTomorrow.Yes", "RainTomorrow.Maybe"]
    assert len(made) == 1


def test_multinomial_contributions_are_grouped_per_class_from_one_loaded_pipeline(fake):
    made = fake()
    service = _service()
    for kind in ("ORIGINAL", "TRANSFORMED"):
        answer = contribution(service, ContributionRequest(fields=FIELDS, rows=[ROW], request_shapley_value_type=kind))
        assert [g["outputGroup"] for g in answer["contributionGroups"]] == ["No", "Yes", "Maybe"]
        assert answer["features"][-1] == "contrib_bias"
        expected = "contrib_MinTemp" if kind == "ORIGINAL" else "contrib_0_MinTemp"
        assert answer["features"][0] == expected
    assert len(made) == 1 and [c["original"] for c in made[0].calls] == [True, False]


def test_regression_intervals_and_single_group_contributions(fake):
    fake(classes=())
    service = _service()
    body = score(service, ScoreRequest(fields=FIELDS, rows=[ROW], request_prediction_intervals=True))
    point = float(body["score"][0][0])
    assert body["fields"] == ["Rainfall"]
    assert body["predictionIntervals"] == {
        "fields": ["Rainfall.lower", "Rainfall.upper"],
        "rows": [[repr(point - 1.0), repr(point + 1.0)]],
    }
    answer = contribution(
        service, ContributionRequest(fields=FIELDS, rows=[ROW], request_shapley_value_type="ORIGINAL")
    )
    (group,) = answer["contributionGroups"]
    assert "outputGroup" not in group
    assert abs(sum(float(v) for v in group["contributions"][0]) - point) < 1e-9


def test_shapley_types_enabled_narrows_the_pipelines_offer(fake):
    fake()
    service = _service(shapley_types_enabled="TRANSFORMED")
    assert Capability.CONTRIBUTION_ORIGINAL not in service.capabilities
    assert Capability.CONTRIBUTION_TRANSFORMED in service.capabilities
    assert load_scorer(PIPELINES / "pipeline.mojo").schema.scoring_type is ScoringType.CLASSIFICATION


@needs_license
@pytest.mark.integration
def test_the_real_pipeline_scores_over_http_with_a_license(server_logs):
    server = start_server(PIPELINES / "multinomial-pipeline.mojo", server_logs)
    try:
        with server.client() as client:
            assert client.get("/readyz").text == "Ready"
            sample = client.get("/model/sample_request").json()
            body = client.post("/model/score", json=sample).json()
            assert len(body["score"]) == 1
            for capability in client.get("/model/capabilities").json():
                if capability.startswith("CONTRIBUTION_"):
                    kind = capability.removeprefix("CONTRIBUTION_")
                    answer = client.post("/model/contribution", json={**sample, "requestShapleyValueType": kind})
                    assert answer.status_code == 200, answer.text
    finally:
        server.stop()
