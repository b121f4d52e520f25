"""Property-based fuzzing of the tile loader: any bytes under any image name give an RGBA array or
one UserError, never another exception; sheet geometry likewise."""

from __future__ import annotations

import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from manifold_core.errors import UserError
from manifold_core.tiles import IMAGE_SUFFIXES, Grid, read_rgba, slice_sheet

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
FORMATS = {"PNG": ".png", "GIF": ".gif", "BMP": ".bmp", "WEBP": ".webp", "JPEG": ".jpg", "TGA": ".tga"}
MODES = ("RGBA", "RGB", "L", "LA", "P", "1", "I;16", "I", "F")


@st.composite
def encoded_images(draw):
    """A real small image in some mode and format, as bytes, with its suffix."""
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    h, w = draw(st.integers(1, 12)), draw(st.integers(1, 12))
    pixels = np.frombuffer(draw(st.binary(min_size=h * w * 4, max_size=h * w * 4)), np.uint8).reshape(h, w, 4)
    image = Image.fromarray(pixels.copy(), "RGBA").convert(draw(st.sampled_from(MODES)))
    buffer = io.BytesIO()
    try:
        image.save(buffer, fmt)
    except (OSError, ValueError, KeyError):  # this format cannot hold this mode
        image.convert("RGBA" if fmt in ("PNG", "WEBP", "TGA") else "RGB").save(buffer, fmt)
    return buffer.getvalue(), FORMATS[fmt]


@st.composite
def hostile_files(draw):
    """Random bytes, or a real image cut short, with bytes flipped or spliced in, under an image suffix."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=600)), draw(st.sampled_from(IMAGE_SUFFIXES))
    data, suffix = draw(encoded_images())
    data = bytearray(data)
    for _ in range(draw(st.integers(0, 6))):
        if not data:
            break
        i = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "splice"]))
        if action == "flip":
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif action == "cut":
            del data[i:]
        else:
            data[i:i] = draw(st.binary(min_size=1, max_size=16))
    suffix = draw(st.sampled_from([suffix, *IMAGE_SUFFIXES]))  # a wrong suffix too
    return bytes(data), suffix


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(case=hostile_files())
def test_read_rgba_gives_an_rgba_array_or_one_user_error(folder, case):
    data, suffix = case
    path = folder / f"tile{suffix}"
    path.write_bytes(data)
    try:
        rgba = read_rgba(path)
    except UserError as exc:
        message = str(exc)
        assert message.startswith(str(path)) and "\n" not in message
        return
    assert rgba.dtype == np.uint8 and rgba.ndim == 3 and rgba.shape[2] == 4 and min(rgba.shape[:2]) >= 1


@FUZZ
@given(case=encoded_images())
def test_every_real_image_reads(folder, case):
    data, suffix = case
    path = folder / f"real{suffix}"
    path.write_bytes(data)
    assert read_rgba(path).shape[2] == 4


@FUZZ
@given(w=st.integers(1, 200), h=st.integers(1, 200), tw=st.integers(1, 64), th=st.integers(1, 64),
       margin=st.integers(0, 8), spacing=st.integers(0, 8))
def test_sheet_geometry_cuts_exactly_or_says_what_fits(w, h, tw, th, margin, spacing):
    grid = Grid(tw, th, margin, spacing)
    try:
        cols, rows = grid.shape(w, h)
    except UserError as exc:
        assert "widths that fit" in str(exc)
        return
    assert (grid.extent(cols, tw), grid.extent(rows, th)) == (w, h)
    tiles = slice_sheet(np.zeros((h, w, 4), np.uint8), grid)
    assert tiles.shape == (cols * rows, th, tw, 4)
