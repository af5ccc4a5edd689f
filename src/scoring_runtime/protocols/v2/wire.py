"""The Open Inference Protocol's REST shapes, for reading request envelopes and for OpenAPI.

`data` is taken as it came (nested or flat JSON arrays) and converted to numpy in one step by
`tensors.from_values`: validating every element here would cost more than scoring a small model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class RequestInput(_Wire):
    name: str
    shape: list[int]
    datatype: str = Field(description="BOOL, UINT8-64, INT8-64, FP16, FP32, FP64 or BYTES.")
    parameters: dict[str, Any] | None = Field(default=None, description="binary_data_size, with the binary extension.")
    data: Any = Field(default=None, description="Row-major values, nested or flat; absent with binary data.")


class RequestOutput(_Wire):
    name: str
    parameters: dict[str, Any] | None = Field(default=None, description="binary_data: true for a binary output.")


class InferenceRequest(_Wire):
    id: str | None = None
    parameters: dict[str, Any] | None = Field(
        default=None,
        description='"shapley": "ORIGINAL" | "TRANSFORMED", "prediction_intervals": true, "binary_data_output": true.',
    )
    inputs: list[RequestInput]
    outputs: list[RequestOutput] | None = None


class ResponseOutput(_Wire):
    name: str
    shape: list[int]
    datatype: str
    parameters: dict[str, Any] | None = None
    data: list[Any] | None = None


class InferenceResponse(_Wire):
    model_name: str
    model_version: str | None = None
    id: str
    parameters: dict[str, Any] | None = None
    outputs: list[ResponseOutput]


class TensorMetadata(_Wire):
    name: str
    datatype: str
    shape: list[int]


class ModelMetadata(_Wire):
    name: str
    versions: list[str]
    platform: str
    inputs: list[TensorMetadata]
    outputs: list[TensorMetadata]
    parameters: dict[str, Any]


class ServerMetadata(_Wire):
    name: str
    version: str
    extensions: list[str]


class ErrorBody(_Wire):
    error: str
