"""OpenAPI for bodies a route reads itself (to word its own 400/413/415), from the wire models."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


def request_body(model: type[BaseModel], *content_types: str) -> dict[str, Any]:
    """`openapi_extra` documenting `model` as the body, with wire names and no `$ref`s left (the
    schema stands inside the operation, where a local reference would point at the document)."""
    schema = model.model_json_schema(by_alias=True)
    definitions = schema.pop("$defs", {})
    inlined = _inline(schema, definitions)
    content = {kind: {"schema": inlined} for kind in content_types or ("application/json",)}
    return {"requestBody": {"required": True, "content": content}}


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/$defs/"):
            return _inline(definitions[reference.removeprefix("#/$defs/")], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node
