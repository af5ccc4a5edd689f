"""pydantic's list of validation errors as the one sentence every protocol promises."""

from __future__ import annotations


def validation_sentence(errors: list[dict]) -> str:
    """Only the first error is reported: a client fixes one thing at a time, and a long list is
    what the contracts forbid."""
    if not errors:
        return "The request is not valid."
    error = errors[0]
    kind = error.get("type", "")
    loc = [part for part in error.get("loc", ()) if part != "body"]
    where = _location(loc)
    if kind == "json_invalid":
        return f"The request body is not valid JSON ({error.get('ctx', {}).get('error', 'parse error')})."
    if kind == "missing":
        return f"The request is missing the required field '{where}'."
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "")
        return f"'{where}' must be one of {expected}."
    if kind in {"model_type", "model_attributes_type", "dict_type"} and not loc:
        return "The request body must be a JSON object."
    message = str(error.get("msg", "is not valid")).rstrip(".")
    return f"'{where}' is not valid: {message[0].lower() + message[1:]}." if where else f"{message}."


def _location(loc: list[object]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text
