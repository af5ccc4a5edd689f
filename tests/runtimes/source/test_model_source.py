"""The model source runtime, driven as the server drives it (`tests/served.py`), on sources
written by the tests; the bundled example is served for real in tests/integration."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import zipfile

import numpy as np
import pytest

from scoring_runtime.core.errors import InvalidInput, ModelFailed, ModelLoadError, NotFound
from scoring_runtime.core.types import Capability, DataType
from scoring_runtime.protocols.h2o import codec
from scoring_runtime.protocols.h2o.wire import ScoreRequest
from scoring_runtime.protocols.v2.codec import frame_of, output_tensors, tensor_metadata
from scoring_runtime.protocols.v2.tensors import Tensor
from scoring_runtime.runtimes.artifacts import detect_runtime
from tests.runtimes.source.sources import DOUBLER, DOUBLER_INPUTS, DOUBLER_OUTPUTS, write_source
from tests.served import score, serve


@pytest.fixture
def doubler(tmp_path):
    return write_source(
        tmp_path / "doubler", DOUBLER, inputs=DOUBLER_INPUTS, outputs=DOUBLER_OUTPUTS, files={"factor.txt": "2"}
    )


def _request(fields, rows):
    return ScoreRequest(fields=fields, rows=rows)


def test_init_opens_its_attachment_from_the_model_folder_without_moving_the_process(doubler):
    before = os.getcwd()
    model = serve(doubler)
    assert os.getcwd() == before != str(doubler)
    assert detect_runtime(doubler) == "model_source" and model.info.runtime == "model_source"
    assert model.capabilities == {Capability.SCORE}
    body = score(model, _request(["x", "ignored"], [["0.5", "a"], [3, "b"]]))
    assert body["fields"] == ["y", "label"]
    assert body["score"] == [["1.0", "small"], ["6.0", "big"]]


def test_the_schemas_give_the_schema_document_and_sample_request(doubler):
    model = serve(doubler)
    document = codec.schema_document(model)["schema"]
    assert document["inputFields"] == [{"name": "x", "dataType": "Float64"}]
    assert document["outputFields"] == [{"name": "y", "dataType": "Float64"}, {"name": "label", "dataType": "Str"}]
    assert codec.sample_request(model)["fields"] == ["x"]
    assert model.self_check()


def test_v2_reads_numeric_tensors_and_writes_text_outputs_as_bytes(doubler):
    model = serve(doubler)
    frame = frame_of(model, [Tensor("x", "FP64", [2], np.array([0.5, 3.0]))])
    tensors = {t.name: t for t in output_tensors(model, model.score_now(frame))}
    assert tensors["y"].datatype == "FP64" and tensors["y"].data.tolist() == [1.0, 6.0]
    assert tensors["label"].datatype == "BYTES" and tensors["label"].data.tolist() == [b"small", b"big"]
    outputs = tensor_metadata(model)[1]
    assert [(o["name"], o["datatype"]) for o in outputs] == [("y", "FP64"), ("label", "BYTES")]


def test_a_record_the_input_schema_refuses_fails_the_request_naming_row_and_field(doubler):
    model = serve(doubler)
    with pytest.raises(InvalidInput, match=r"^Row 1 was rejected by schema: field 'x' has the value 'two'"):
        score(model, _request(["x"], [["1"], ["two"]]))
    with pytest.raises(InvalidInput, match=r"Row 0 was rejected by schema: field 'x' is missing"):
        score(model, _request(["x"], [[None]]))
    assert score(model, _request(["x"], [["1"]]))["score"] == [["2.0", "small"]]


@pytest.mark.parametrize(
    "body",
    [
        'return {"y": record["x"]}',
        'yield {"y": record["x"]}',
        'return [{"y": record["x"]}]',
        'yield [{"y": record["x"]}]',
    ],
)
def test_score_may_return_or_yield_a_dict_or_a_list_of_one(tmp_path, body):
    source = write_source(tmp_path / "m", f"# modelop.score\ndef action(record):\n    {body}\n", inputs=DOUBLER_INPUTS)
    assert score(serve(source), _request(["x"], [["1.5"], ["2"]]))["score"] == [["1.5"], ["2.0"]]


def test_score_giving_other_than_one_record_is_the_models_failure(tmp_path):
    source = write_source(tmp_path / "m", "# modelop.score\ndef action(record):\n    return [record, record]\n")
    with pytest.raises(ModelFailed, match="gave 2 records for one input record"):
        score(serve(source), _request(["x"], [["1"]]))


def test_without_an_input_schema_every_field_arrives_as_text_and_missing_as_none(tmp_path):
    source = write_source(
        tmp_path / "m",
        "# modelop.score\ndef action(record):\n    return {'seen': repr(sorted(record.items()))}\n",
    )
    model = serve(source)
    assert model.self_check() and codec.schema_document(model)["schema"]["inputFields"] == []
    with pytest.raises(NotFound, match="declares no input schema"):
        codec.sample_request(model)
    body = score(model, _request(["a", "b"], [[1, None], ["x", ""]]))
    assert body["score"] == [["[('a', '1'), ('b', None)]"], ["[('a', 'x'), ('b', None)]"]]
    assert [f.data_type for f in model.schema.outputs] == [DataType.STR]


def test_without_an_output_schema_a_record_with_other_keys_is_the_models_failure(tmp_path):
    code = """
        # modelop.score
        def action(record):
            return {"a": 1} if record["x"] == "1" else {"a": 1, "b": 2}
    """
    model = serve(write_source(tmp_path / "m", code))
    assert score(model, _request(["x"], [["1"]]))["score"] == [["1"]]
    with pytest.raises(ModelFailed, match=r"output for row 1 has the fields \['a', 'b'\], not \['a'\]"):
        score(model, _request(["x"], [["1"], ["2"]]))


def test_an_output_record_the_output_schema_refuses_is_a_model_failure(tmp_path):
    code = "# modelop.score\ndef action(record):\n    return {'y': 'high' if record['x'] > 1 else 0.5, 'label': 'l'}\n"
    model = serve(write_source(tmp_path / "m", code, inputs=DOUBLER_INPUTS, outputs=DOUBLER_OUTPUTS))
    with pytest.raises(ModelFailed, match="output for row 1 was rejected by the output schema: field 'y' is 'high'"):
        score(model, _request(["x"], [["1"], ["2"]]))


def test_an_exception_in_score_fails_that_request_only(tmp_path):
    code = "# modelop.score\ndef action(record):\n    return {'y': 1 / record['x']}\n"
    model = serve(write_source(tmp_path / "m", code, inputs=DOUBLER_INPUTS))
    with pytest.raises(ModelFailed, match=r"The model failed to score this request \(ZeroDivisionError\)"):
        score(model, _request(["x"], [["1"], ["0"]]))
    assert score(model, _request(["x"], [["4"]]))["score"] == [["0.25"]]


def test_an_exception_in_init_refuses_the_model_with_its_type_and_message(tmp_path):
    code = "# modelop.init\ndef begin():\n    raise RuntimeError('no weights')\n\n# modelop.score\ndef action(r):\n    return r\n"
    with pytest.raises(
        ModelLoadError, match=r"init function of the model source model.py failed \(RuntimeError: no weights\)"
    ):
        serve(write_source(tmp_path / "m", code))


@pytest.mark.parametrize("nested", [False, True])
def test_a_zipped_model_folder_loads_and_its_extraction_is_removed_on_close(doubler, tmp_path, nested):
    archive = tmp_path / "doubler.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for item in doubler.iterdir():
            bundle.write(item, f"doubler/{item.name}" if nested else item.name)
    shutil.rmtree(doubler)
    assert detect_runtime(archive) == "model_source"
    model = serve(archive)
    assert score(model, _request(["x"], [["2"]]))["score"] == [["4.0", "big"]]
    folder = model.scorer.folder
    model.close()
    assert not folder.exists()


def test_v2_answers_every_learned_output_of_a_first_request_to_a_schemaless_source(tmp_path):
    from scoring_runtime.protocols.v2.codec import InferRequest, infer_job

    code = (
        "# modelop.score\ndef action(record):\n    return {'upper': record['name'].upper(), 'n': len(record['name'])}\n"
    )
    model = serve(write_source(tmp_path / "m", code))
    name = Tensor("name", "BYTES", [2], np.array([b"ab", b"xyz"], dtype=object))
    tensors = asyncio.run(model.score(infer_job(model, InferRequest([name]))))
    assert [(t.name, t.datatype, t.data.tolist()) for t in tensors] == [
        ("upper", "BYTES", [b"AB", b"XYZ"]), ("n", "FP64", [2.0, 3.0]),
    ]  # fmt: skip


def test_loading_writes_nothing_into_the_model_folder(doubler, monkeypatch):
    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    before = sorted(p.name for p in doubler.rglob("*"))
    serve(doubler).close()
    assert sorted(p.name for p in doubler.rglob("*")) == before
