from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from scoring_runtime.core.errors import ModelLoadError
from scoring_runtime.core.images import augment, check_augmentations, readable_image
from tests.server_process import REPO

PNG = (REPO / "models" / "data" / "mnist" / "images" / "t10k_00000.png").read_bytes()


def _pixels(blob: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(blob)))


def test_readable_image_tells_images_from_other_bytes():
    assert readable_image(PNG)
    assert not readable_image(b"not an image") and not readable_image(PNG[:40])


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("identity", lambda p: p),
        ("flip_horizontal", lambda p: p[:, ::-1]),
        ("flip_vertical", lambda p: p[::-1, :]),
        ("shift_2_0", lambda p: np.roll(p, 2, axis=1)),
        ("shift_0_-1", lambda p: np.roll(p, -1, axis=0)),
    ],
)
def test_augmentations_transform_the_pixels(name, expected):
    np.testing.assert_array_equal(_pixels(augment(PNG, name)), expected(_pixels(PNG)))


def test_rotation_keeps_size_and_format():
    rotated = augment(PNG, "rotate_10")
    assert Image.open(io.BytesIO(rotated)).format == "PNG"
    assert _pixels(rotated).shape == (28, 28) and not np.array_equal(_pixels(rotated), _pixels(PNG))


def test_unknown_augmentations_are_refused_at_load():
    assert check_augmentations(["identity", "rotate_-7.5", "shift_1_-1"], "m") == (
        "identity",
        "rotate_-7.5",
        "shift_1_-1",
    )
    with pytest.raises(ModelLoadError, match=r"unknown test-time augmentations \['blur'\]"):
        check_augmentations(["identity", "blur"], "m")
