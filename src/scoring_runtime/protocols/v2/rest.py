"""V2 REST bodies: JSON, or the binary tensor extension (a JSON header, then raw tensor bytes).

A request whose `Inference-Header-Content-Length` header is set is binary: that many bytes of
JSON, then the inputs' bytes in input order for each input with `parameters.binary_data_size`.
An output is sent binary when it asks for `binary_data`, or the request for `binary_data_output`.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import orjson
from pydantic import ValidationError

from scoring_runtime.core.errors import InvalidInput, UnsupportedContent
from scoring_runtime.protocols.sentences import validation_sentence
from scoring_runtime.protocols.v2.codec import InferRequest
from scoring_runtime.protocols.v2.tensors import Tensor, from_buffer, from_values, to_buffer, to_values
from scoring_runtime.protocols.v2.wire import InferenceRequest

HEADER_LENGTH = "inference-header-content-length"
_BODY_TYPES = ("", "application/json", "application/octet-stream")


def read_request(body: bytes, content_type: str, header_length: str | None) -> InferRequest:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type not in _BODY_TYPES and not media_type.endswith("+json"):
        raise UnsupportedContent(
            f"An inference request is JSON, or JSON and binary tensors with an Inference-Header-Content-Length "
            f"header; not {media_type}."
        )
    length = _header_length(header_length, len(body))
    header, rest = (body, b"") if length is None else (body[:length], memoryview(body)[length:])
    if not header or header.isspace():  # isspace scans; strip would copy a big body
        raise InvalidInput("The request body is empty; send a JSON inference request.")
    document = _json(header)
    try:
        envelope = InferenceRequest.model_validate(document)
    except ValidationError as exc:
        raise InvalidInput(validation_sentence(exc.errors())) from None
    inputs, offset = [], 0
    for item in envelope.inputs:
        size = (item.parameters or {}).get("binary_data_size")
        if size is None:
            if item.data is None:
                raise InvalidInput(f"Input '{item.name}' has neither 'data' nor binary data.")
            inputs.append(from_values(item.name, item.datatype, item.shape, item.data))
            continue
        if not isinstance(size, int) or size < 0 or offset + size > len(rest):
            raise InvalidInput(f"Input '{item.name}' declares {size} binary bytes, more than the body holds.")
        inputs.append(from_buffer(item.name, item.datatype, item.shape, rest[offset : offset + size]))
        offset += size
    if offset != len(rest):
        raise InvalidInput(f"The body has {len(rest) - offset} bytes after the last binary input.")
    parameters = envelope.parameters or {}
    outputs = [(o.name, o.parameters or {}) for o in envelope.outputs or ()]
    return InferRequest(inputs, envelope.id, parameters, outputs)


def write_response(
    request: InferRequest, outputs: list[Tensor], model_name: str, model_version: str, model_id: str
) -> tuple[bytes, dict[str, str]]:
    """The response body and its headers (the header length when any output is binary)."""
    asked = dict(request.outputs)
    binary_default = bool(request.parameters.get("binary_data_output", False))
    described, buffers = [], []
    for tensor in outputs:
        entry: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype, "shape": tensor.shape}
        parameters = dict(tensor.parameters)
        if asked.get(tensor.name, {}).get("binary_data", binary_default):
            raw = to_buffer(tensor)
            buffers.append(raw)
            parameters["binary_data_size"] = len(raw)
        else:
            entry["data"] = to_values(tensor)
        if parameters:
            entry["parameters"] = parameters
        described.append(entry)
    header = orjson.dumps(
        {
            "model_name": model_name,
            "model_version": model_version,
            "id": request.id or str(uuid.uuid4()),
            "parameters": {"model_id": model_id},
            "outputs": described,
        },
        option=orjson.OPT_SERIALIZE_NUMPY,
    )
    if not buffers:
        return header, {"content-type": "application/json"}
    headers = {"content-type": "application/octet-stream", HEADER_LENGTH: str(len(header))}
    return b"".join((header, *buffers)), headers


def read_json_object(body: bytes) -> dict[str, Any]:
    """A small JSON object body (the repository requests)."""
    document = _json(body)
    if not isinstance(document, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return document


def _json(text: bytes | memoryview) -> Any:
    """orjson, or the standard library for what only it reads: the NaN and Infinity literals
    Python clients write for float tensors."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        try:
            return json.loads(bytes(text))
        except ValueError:
            raise InvalidInput(f"The request body is not valid JSON ({exc.msg}).") from None


def _header_length(value: str | None, body_length: int) -> int | None:
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        raise InvalidInput("The Inference-Header-Content-Length header is not a number.") from None
    if not 0 <= length <= body_length:
        raise InvalidInput(
            f"The Inference-Header-Content-Length header says {length}; the body has {body_length} bytes."
        )
    return length
