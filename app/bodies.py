"""Reading request bodies: JSON into the contract's models, multipart into a media request.

Routes parse bodies here rather than through FastAPI's parameter binding so that a wrong content
type is a 415, a bad document a one-sentence 400, and the JSON is parsed once, in Rust.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from app.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType, validation_sentence
from app.schemas import MediaScoreRequest

M = TypeVar("M", bound=BaseModel)


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def parse_json(raw: bytes | str, model: type[M]) -> M:
    if not (raw.strip() if isinstance(raw, bytes | str) else raw):
        raise BadRequest("The request body is empty; send a JSON object.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise BadRequest(validation_sentence(exc.errors())) from None


async def json_body(request: Request, model: type[M]) -> M:
    media_type = _media_type(request)
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaType(f"The request body must be JSON (Content-Type: application/json), not {media_type}.")
    return parse_json(await request.body(), model)


async def media_body(
    request: Request, max_files: int, max_file_bytes: int
) -> tuple[MediaScoreRequest, dict[str, bytes]]:
    """The `scoreMediaRequest` part and the uploaded `files`, by file name. A form with no files
    arrives url-encoded (that is what HTTP clients send for it), so both encodings are read."""
    if _media_type(request) not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise UnsupportedMediaType(
            "/model/media-score takes multipart/form-data with a 'scoreMediaRequest' part and 'files' parts."
        )
    form = await request.form(max_files=max_files, max_fields=64, max_part_size=max_file_bytes)
    try:
        part = form.get("scoreMediaRequest")
        if part is None:
            raise BadRequest("The multipart body has no 'scoreMediaRequest' part with the JSON request.")
        raw = await part.read() if isinstance(part, UploadFile) else part
        score_request = parse_json(raw, MediaScoreRequest)
        files: dict[str, bytes] = {}
        for item in form.getlist("files"):
            if not isinstance(item, UploadFile) or not item.filename:
                raise BadRequest("Every 'files' part must be an uploaded file with a file name.")
            content = await item.read()
            if len(content) > max_file_bytes:
                raise PayloadTooLarge(f"The file '{item.filename}' is larger than {max_file_bytes} bytes.")
            files[item.filename] = content
        return score_request, files
    finally:
        await form.close()
