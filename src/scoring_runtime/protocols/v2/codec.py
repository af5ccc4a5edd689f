"""The Open Inference Protocol over the core: tensors become the model's frame, results tensors.

Two input forms: one tensor per model input field (shape `[N]` or `[N, 1]`), or, when every input
is numeric, one 2-D tensor `[N, F]` whose columns follow the model's input order. One output
tensor per model output field, named as the H2O API names it, holding the same float64 numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from scoring_runtime.core.columns import ReadOptions, fields_to_read, objects, read_column
from scoring_runtime.core.errors import InvalidInput, TooLarge
from scoring_runtime.core.frame import Frame
from scoring_runtime.core.model import Job, Scored, ScoreOptions, ServedModel
from scoring_runtime.core.samples import sample_row
from scoring_runtime.core.text import names, value_columns
from scoring_runtime.core.types import Capability, DataType, Field, ShapleyKind
from scoring_runtime.protocols.v2.tensors import NUMERIC, NUMPY, Tensor

CONTRIBUTIONS = "contributions"
_FIELD_TYPES = {
    DataType.FLOAT64: "FP64",
    DataType.FLOAT32: "FP32",
    DataType.INT32: "INT32",
    DataType.INT64: "INT64",
    DataType.STR: "BYTES",
    DataType.BOOL: "BOOL",
    DataType.TIME64: "BYTES",
}


@dataclass
class InferRequest:
    """An inference request as every transport reads it."""

    inputs: list[Tensor]
    id: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    outputs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """The requested outputs, by name with their parameters; empty = all of them."""


def infer_job(model: ServedModel, request: InferRequest) -> Job[None, Scored, list[Tensor]]:
    """Everything a request can get wrong about its options is refused here, before any work."""
    options = _options(request.parameters)
    model.check(options)
    offered = output_names(model, options)
    unknown = [name for name, _ in request.outputs if name not in offered]
    if unknown:
        raise InvalidInput(f"The request asks for the output(s) {names(unknown)}; this request gives {names(offered)}.")
    wanted = [name for name, _ in request.outputs]
    rows = _rows(request.inputs)
    if rows > model.max_rows:
        raise TooLarge(f"The request has {rows} rows; at most {model.max_rows} are allowed per request.")

    def decode() -> tuple[None, Frame]:
        return None, frame_of(model, request.inputs)

    def encode(_: None, scored: Scored) -> list[Tensor]:
        tensors = {t.name: t for t in output_tensors(model, scored)}
        # all of them, named once scored: a model source without an output schema learns its
        # output fields from its first output record
        return [tensors[name] for name in wanted or output_names(model, options)]

    return Job(rows, decode, encode, options)


def output_names(model: ServedModel, options: ScoreOptions) -> list[str]:
    extra = [CONTRIBUTIONS] if options.shapley else []
    if options.intervals:
        extra += [f"{model.schema.target_name}.lower", f"{model.schema.target_name}.upper"]
    return [*model.schema.output_names, *extra]


def output_tensors(model: ServedModel, scored: Scored) -> list[Tensor]:
    rows = len(scored.predictions)
    tensors = [_output(f, scored.predictions[:, i]) for i, f in enumerate(model.schema.outputs)]
    if scored.contributions is not None:
        groups = [g.values for g in scored.contributions.groups]
        values = groups[0] if len(groups) == 1 else np.stack(groups, axis=1)
        features = ",".join(scored.contributions.features)
        tensors.append(Tensor(CONTRIBUTIONS, "FP64", list(values.shape), values, {"features": features}))
    if scored.intervals is not None:
        target = model.schema.target_name
        for column, bound in enumerate(("lower", "upper")):
            tensors.append(
                Tensor(f"{target}.{bound}", "FP64", [rows], np.ascontiguousarray(scored.intervals[:, column]))
            )
    return tensors


def _output_type(field: Field) -> str:
    """Numbers are FP64 as every runtime scores them; text and booleans (a model source's other
    output types) travel as the H2O API writes them, UTF-8 BYTES."""
    return "FP64" if field.data_type.is_numeric else "BYTES"


def _output(field: Field, column: np.ndarray) -> Tensor:
    shape = [len(column)]
    if column.dtype != object:
        return Tensor(field.name, "FP64", shape, np.ascontiguousarray(column))
    if field.data_type.is_numeric:
        values = np.array([np.nan if v is None else v for v in column.tolist()], dtype=np.float64)
        return Tensor(field.name, "FP64", shape, values)
    texts = value_columns(column.reshape(-1, 1))[0]
    return Tensor(field.name, "BYTES", shape, objects([t.encode() for t in texts]))


def frame_of(model: ServedModel, inputs: list[Tensor]) -> Frame:
    schema = model.schema
    by_name = {t.name: t for t in inputs}
    if not any(name in by_name for name in schema.input_names) and len(inputs) == 1 and len(inputs[0].shape) == 2:
        return _matrix_frame(model, inputs[0])
    missing = [name for name in schema.input_names if name not in by_name]
    if missing:
        raise InvalidInput(
            f"The request lacks the input tensor(s) {names(missing)}; send one tensor per model input field, "
            f"or one [N, {len(schema.inputs)}] tensor when every input is numeric."
        )
    fields = fields_to_read(schema, by_name)
    rows = _rows([by_name[f.name] for f in fields])
    media = set(schema.media_fields)
    columns = {
        f.name: _column(f, by_name[f.name], model.read_options, f.name in media, schema.free_form) for f in fields
    }
    return Frame(columns, rows)


def example_request(model: ServedModel) -> dict[str, Any]:
    """The model's sample row as one tensor per input field, each of its declared datatype."""
    row = sample_row(model.schema)
    tensors = []
    for input_field, text in zip(model.schema.inputs, row, strict=True):
        datatype = _FIELD_TYPES[input_field.data_type]
        value: Any = text if datatype == "BYTES" else text == "true" if datatype == "BOOL" else float(text)
        tensors.append({"name": input_field.name, "shape": [1], "datatype": datatype, "data": [value]})
    return {"inputs": tensors}


def tensor_metadata(model: ServedModel) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """What `GET /v2/models/<m>` lists: exactly the tensors this model takes and can give."""
    inputs = [{"name": f.name, "datatype": _FIELD_TYPES[f.data_type], "shape": [-1]} for f in model.schema.inputs]
    outputs = [{"name": f.name, "datatype": _output_type(f), "shape": [-1]} for f in model.schema.outputs]
    if model.capabilities & {Capability.CONTRIBUTION_ORIGINAL, Capability.CONTRIBUTION_TRANSFORMED}:
        shape = [-1, -1] if len(model.schema.class_labels) <= 2 else [-1, len(model.schema.class_labels), -1]
        outputs.append({"name": CONTRIBUTIONS, "datatype": "FP64", "shape": shape})
    if Capability.SCORE_PREDICTION_INTERVAL in model.capabilities:
        for bound in ("lower", "upper"):
            outputs.append({"name": f"{model.schema.target_name}.{bound}", "datatype": "FP64", "shape": [-1]})
    return inputs, outputs


def _options(parameters: dict[str, Any]) -> ScoreOptions:
    shapley = parameters.get("shapley")
    if shapley is not None and shapley not in ("ORIGINAL", "TRANSFORMED"):
        raise InvalidInput(f'The parameter \'shapley\' is {shapley!r}; it must be "ORIGINAL" or "TRANSFORMED".')
    intervals = parameters.get("prediction_intervals", False)
    if not isinstance(intervals, bool):
        raise InvalidInput("The parameter 'prediction_intervals' must be true or false.")
    return ScoreOptions(intervals=intervals, shapley=ShapleyKind(shapley) if shapley else None)


def _rows(tensors: Sequence[Tensor]) -> int:
    if not tensors:
        raise InvalidInput("The request has no inputs; send one tensor per model input field.")
    counts = {t.name: t.rows for t in tensors}
    if len(set(counts.values())) > 1:
        raise InvalidInput(f"The input tensors hold different numbers of rows: {counts}.")
    return next(iter(counts.values()))


def _matrix_frame(model: ServedModel, tensor: Tensor) -> Frame:
    schema = model.schema
    width = len(schema.inputs)
    if tensor.datatype not in NUMERIC or not all(f.data_type.is_numeric for f in schema.inputs):
        raise InvalidInput(
            f"The input tensor '{tensor.name}' is not one of the model's input fields ({names(schema.input_names)}); "
            "a single [N, F] tensor is read only when it is numeric and every model input is a number."
        )
    if tensor.shape[1] != width:
        raise InvalidInput(
            f"The input tensor '{tensor.name}' has {tensor.shape[1]} columns; this model takes {width}, "
            f"in the order {names(schema.input_names)}."
        )
    return Frame.of_block(schema.input_names, np.ascontiguousarray(tensor.data, dtype=np.float64))


def _column(field: Field, tensor: Tensor, options: ReadOptions, is_media: bool, free_form: bool) -> np.ndarray:
    if len(tensor.shape) > 2 or (len(tensor.shape) == 2 and tensor.shape[1] != 1):
        raise InvalidInput(f"Input '{tensor.name}' has the shape {tensor.shape}; a field's tensor is [N] or [N, 1].")
    data = tensor.data.reshape(-1)
    if tensor.datatype == "BYTES":
        if is_media:
            return objects([v or None for v in data.tolist()])
        return read_column(field, _texts(tensor.name, data), options)
    if field.data_type.is_numeric and tensor.datatype in NUMERIC:
        return data.astype(np.float64)
    if field.data_type is DataType.BOOL and tensor.datatype == "BOOL":
        return objects(data.tolist())
    if free_form and tensor.datatype in NUMPY:
        return read_column(field, data.tolist(), options)  # it converts the texts by its own schema
    if field.data_type.is_numeric:
        accepted = "a numeric datatype or BYTES"
    else:
        accepted = "BOOL or BYTES" if field.data_type is DataType.BOOL else "BYTES"
    raise InvalidInput(f"Input '{tensor.name}' is {tensor.datatype}; the field '{field.name}' takes {accepted}.")


def _texts(name: str, data: np.ndarray) -> list[str]:
    try:
        return [v.decode("utf-8") for v in data.tolist()]
    except UnicodeDecodeError:
        raise InvalidInput(f"Input '{name}' holds BYTES that are not UTF-8 text.") from None
