"""Image media: checking that a cell decodes, and the named test-time augmentations.

A model declares `media_type: image` and its augmentations (MLflow: `metadata.scorer` in MLmodel;
pickles: `mediaType` / `testTimeAugmentation` in the schema sidecar). Names:
`identity`, `flip_horizontal`, `flip_vertical`, `rotate_<degrees>`, `shift_<dx>_<dy>` (pixels).
Scoring with `requestTestTimeAugmentation` averages the outputs over every augmented copy.
"""

from __future__ import annotations

import io
import re

from scoring_runtime.core.columns import objects
from scoring_runtime.core.errors import InvalidInput, ModelLoadError
from scoring_runtime.core.frame import Frame

_ROTATE = re.compile(r"^rotate_(-?\d+(?:\.\d+)?)$")
_SHIFT = re.compile(r"^shift_(-?\d+)_(-?\d+)$")
_FIXED = frozenset({"identity", "flip_horizontal", "flip_vertical"})


def check_augmentations(names: list[str] | tuple[str, ...], where: str) -> tuple[str, ...]:
    unknown = [n for n in names if n not in _FIXED and not _ROTATE.match(n) and not _SHIFT.match(n)]
    if unknown:
        raise ModelLoadError(
            f"{where} declares unknown test-time augmentations {unknown}; use identity, flip_horizontal, "
            "flip_vertical, rotate_<degrees> or shift_<dx>_<dy>."
        )
    return tuple(names)


def check_images(frame: Frame, media_fields: tuple[str, ...]) -> None:
    """For a model whose media are images: every cell must be present and decode."""
    for name in media_fields:
        for row, blob in enumerate(frame[name]):
            if blob is None:
                raise InvalidInput(f"Media field '{name}' in row {row} is empty; this model needs an image.")
            if not readable_image(blob):
                raise InvalidInput(f"Media field '{name}' in row {row} is not a readable image.")


def augmented_frame(frame: Frame, media_fields: tuple[str, ...], augmentation: str) -> Frame:
    """The frame with every image cell transformed by one named augmentation."""
    columns = dict(frame.items())
    for name in media_fields:
        columns[name] = objects([augment(blob, augmentation) for blob in frame[name]])
    return Frame(columns, frame.rows)


def readable_image(blob: bytes) -> bool:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(blob)) as image:
            image.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return False
    return True


def augment(blob: bytes, name: str) -> bytes:
    """The image transformed by one named augmentation, re-encoded in its own format (PNG if none)."""
    if name == "identity":
        return blob
    from PIL import Image, ImageChops

    with Image.open(io.BytesIO(blob)) as image:
        image.load()
        if name == "flip_horizontal":
            result = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        elif name == "flip_vertical":
            result = image.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        elif match := _ROTATE.match(name):
            result = image.rotate(float(match.group(1)), resample=Image.Resampling.BILINEAR)
        elif match := _SHIFT.match(name):
            result = ImageChops.offset(image, int(match.group(1)), int(match.group(2)))
        else:
            raise ValueError(f"unknown augmentation {name}")
        out = io.BytesIO()
        result.save(out, format=image.format or "PNG")
    return out.getvalue()
