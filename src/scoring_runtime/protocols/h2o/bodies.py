"""Reading H2O API request bodies: JSON into the wire models, multipart into a media request.

Routes parse bodies here rather than through FastAPI's parameter binding so that a wrong content
type is a 415, a bad document a one-sentence 400, and the JSON is parsed once, in compiled code.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, TypeVar

import msgspec
import numpy as np
import orjson
from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from scoring_runtime.core.errors import InvalidInput, TooLarge, UnsupportedContent
from scoring_runtime.protocols.h2o.rows import CellRows, FloatRows
from scoring_runtime.protocols.h2o.wire import MediaScoreRequest, TableRequest
from scoring_runtime.protocols.offload import parsed_body
from scoring_runtime.protocols.sentences import validation_sentence

M = TypeVar("M", bound=BaseModel)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


_TOP_LEVEL = msgspec.json.Decoder(dict[str, msgspec.Raw])
_FLOAT_ROWS = msgspec.json.Decoder(list[list[float]], strict=False)
_ECHO_KEYS = ("includeFieldsInOutput", "include_fields_in_output")
_SEARCHED_BYTES = 64 * 1024
"""From this size a body's numeric rows are found by searching its text (`_found_rows`) rather
than by scanning its top level: the scan and the copy of the rows out of it cost ~0.15 ms of a
1,000-row body's ~1.7 ms; below it they cost less than the search's own small decodes."""
_CHUNK_BYTES = 512 * 1024
"""Rows are read into floats this much text at a time (~1,500 rows of 30 numbers), so a big
request never holds more Python floats than that: holding all 300,000 of a 10,000-row request at
once left ~10 MB with the allocator afterwards."""
_FLAT_FROM_ROWS = 64


def parse_json(raw: bytes | str, model: type[M], *, numeric_rows: bool = False) -> M:
    """The document is split into its top-level values without parsing them; with `numeric_rows`
    (every model input is a number) `rows` is read straight into floats in one compiled pass,
    which is most of the cost of a big request, and every other value by orjson. Whatever those
    refuse (invalid JSON, but also a valid 1e400 or NaN literal) pydantic reads, accepting what is
    valid and wording the error for the rest."""
    if not (raw.strip() if isinstance(raw, bytes | str) else raw):
        raise InvalidInput("The request body is empty; send a JSON object.")
    try:
        read = _read_document(raw, numeric_rows and issubclass(model, TableRequest))
        if read is None:
            return model.model_validate_json(raw)
        document, block = read
        if block is not None:
            return model.model_validate({**document, "rows": FloatRows(block)})
        if issubclass(model, TableRequest) and _lists_of_cells(rows := document.get("rows")):
            return model.model_validate({**document, "rows": CellRows(rows)})
        return model.model_validate(document)
    except ValidationError as exc:
        raise InvalidInput(validation_sentence(exc.errors())) from None


def _read_document(raw: bytes | str, numeric_rows: bool) -> tuple[dict[str, Any], np.ndarray | None] | None:
    """The JSON object (without `rows` when they were read as floats) and the rows as one float
    block, or None when the fast readers refuse the text. Floats are exactly what the cells' texts
    parse to, so only a request that echoes input fields (whose texts must come back unchanged)
    keeps its rows as JSON values. One nuance: the text "-0" reads as 0.0 where `float("-0")` is -0.0 (equal numbers; looking
    for it cost more than reading a 10,000-row body)."""
    try:
        if numeric_rows and isinstance(raw, bytes) and len(raw) > _SEARCHED_BYTES and (found := _found_rows(raw)):
            return found
        values = _TOP_LEVEL.decode(raw)
        numeric_rows = numeric_rows and not any(key in values for key in _ECHO_KEYS)
        document: dict[str, Any] = {}
        block = None
        for key, value in values.items():
            if key == "rows" and numeric_rows:
                text = memoryview(value).tobytes()
                block = _float_block(text, 0, len(text))
                if block is not None:
                    continue  # else a missing token, a text cell, a null, a short row: read as JSON values
            document[key] = orjson.loads(memoryview(value))
        return document, block
    except (msgspec.DecodeError, orjson.JSONDecodeError):
        return None


def _found_rows(raw: bytes) -> tuple[dict[str, Any], np.ndarray] | None:
    """A big body's top-level `rows` found by searching its text, not by scanning the whole
    document: that scan, and copying the rows out of it, each kept the GIL (and the event loop
    waiting) for ~70 ms on a 64 MiB body. Sound because every part is checked: the text before the
    key must close as an object (so the key is at the top level), the rows must read as floats, and
    the rest, with `null` in their place, must be an object whose `rows` is that null and nothing
    after them may name `rows` again. Anything else (pretty-printed rows, a field named "rows",
    echoed inputs) is None: the document is scanned."""
    key = raw.find(b'"rows"')
    if key < 0:
        return None
    head = raw[:key].rstrip()
    if not head.endswith((b",", b"{")):
        return None
    colon = _after_space(raw, key + len(b'"rows"'))
    start = _after_space(raw, colon + 1)
    end = raw.rfind(b"]]", start) + 2  # from the end: the rows are most often the last value
    if raw[colon : colon + 1] != b":" or raw[start : start + 1] != b"[" or end < 2 or raw.find(b'"rows"', end) >= 0:
        return None  # (the last: a duplicate key after these rows would be the one that counts)
    try:
        _TOP_LEVEL.decode(head[:-1] + b"}" if head.endswith(b",") else head + b"}")
        rest = _TOP_LEVEL.decode(b"".join((raw[:start], b"null", raw[end:])))
    except msgspec.DecodeError:
        return None
    if bytes(rest.get("rows", b"")) != b"null" or any(k in rest for k in _ECHO_KEYS):
        return None
    block = _float_block(raw, start, end)
    if block is None:
        return None
    return {k: orjson.loads(memoryview(v)) for k, v in rest.items() if k != "rows"}, block


def _lists_of_cells(rows: Any) -> bool:
    """Rows already a list of lists are kept as they are: pydantic would copy every row to check
    only that (~3 ms for 10,000 rows); the cell reader checks the cells."""
    return type(rows) is list and set(map(type, rows)) == {list}


def _after_space(text: bytes, at: int) -> int:
    while text[at : at + 1] in (b" ", b"\t", b"\r", b"\n"):
        at += 1
    return at


def _float_block(text: bytes, start: int, end: int) -> np.ndarray | None:
    """`text[start:end]`, the rows, as a 2-D float array, read `_CHUNK_BYTES` of text at a time,
    or None unless every row is a list of the same number of numbers. A chunk ends after a row's
    `],`; one that ends inside a string instead leaves that string open, so the chunk cannot decode."""
    view = memoryview(text)
    if end - start <= _CHUNK_BYTES:
        block = _rectangle(view[start:end])
    else:
        at = text.find(b"[", start, end) + 1
        blocks = []
        while (split := text.find(b"],", at + _CHUNK_BYTES, end)) >= 0:
            blocks.append(_rectangle(b"".join((b"[", view[at : split + 1], b"]"))))
            at = split + 2
        blocks.append(_rectangle(b"".join((b"[", view[at:end]))))
        if any(b is None or b.shape[1] != blocks[0].shape[1] for b in blocks):
            return None
        block = np.concatenate(blocks)
    # msgspec reads the texts "inf", "nan" and "Infinity" as floats too: the cell reader decides on
    # them (a sum is cheaper than isfinite().all(); one that overflows only sends a finite block the
    # slow way). Once for the whole block: numpy lets go of the GIL in a sum and takes it straight
    # back, and doing that once per chunk kept every other thread, the event loop too, from getting
    # it until the last chunk (~300 ms on a 64 MiB body).
    return block if block is not None and math.isfinite(block.sum()) else None


def _rectangle(text: bytes | memoryview) -> np.ndarray | None:
    """The rows as a 2-D array, or None unless they are lists of one length. From
    `_FLAT_FROM_ROWS` rows numpy fills the array from one flat iterator, ~20% faster than it
    discovers the shape of nested lists (and ~1 µs slower for one row)."""
    try:
        rows = _FLOAT_ROWS.decode(text)
        if len(rows) < _FLAT_FROM_ROWS:
            block = np.array(rows, dtype=np.float64)
            return block if block.ndim == 2 else None
    except (msgspec.DecodeError, ValueError):  # ValidationError is a DecodeError; ValueError: rows of unequal length
        return None
    if len(set(map(len, rows))) != 1:
        return None
    width = len(rows[0])
    flat = np.fromiter(itertools.chain.from_iterable(rows), np.float64, count=len(rows) * width)
    return flat.reshape(len(rows), width)


async def json_body(request: Request, model: type[M], *, numeric_rows: bool = False) -> M:
    media_type = _media_type(request)
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedContent(f"The request body must be JSON (Content-Type: application/json), not {media_type}.")
    return await parsed_body(request, lambda raw: parse_json(raw, model, numeric_rows=numeric_rows))


async def media_body(
    request: Request, max_files: int, max_file_bytes: int
) -> tuple[MediaScoreRequest, dict[str, bytes]]:
    """The `scoreMediaRequest` part and the uploaded `files`, by file name. A form with no files
    arrives url-encoded (that is what HTTP clients send for it), so both encodings are read."""
    if _media_type(request) not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UnsupportedContent(
            "/model/media-score takes multipart/form-data with a 'scoreMediaRequest' part and 'files' parts."
        )
    form = await request.form(max_files=max_files, max_fields=64, max_part_size=max_file_bytes)
    try:
        part = form.get("scoreMediaRequest")
        if part is None:
            raise InvalidInput("The multipart body has no 'scoreMediaRequest' part with the JSON request.")
        raw = await part.read() if isinstance(part, UploadFile) else part
        score_request = parse_json(raw, MediaScoreRequest)
        files: dict[str, bytes] = {}
        for item in form.getlist("files"):
            if not isinstance(item, UploadFile) or not item.filename:
                raise InvalidInput("Every 'files' part must be an uploaded file with a file name.")
            content = await item.read()
            if len(content) > max_file_bytes:
                raise TooLarge(f"The file '{item.filename}' is larger than {max_file_bytes} bytes.")
            files[item.filename] = content
        return score_request, files
    finally:
        await form.close()
