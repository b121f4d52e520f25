"""Shrink tiles the way low-resolution art comes about: `box` (area average: the blurred case)
and `nearest` (every n-th pixel: the crisp, aliased case real low-resolution pixel art resembles).

Data flow: tiles -> **eval: shrink** -> scalers -> metrics -> report.

Tiles are [H, W, 4] uint8 RGBA. Colour is averaged premultiplied by alpha (a transparent
pixel's colour weighs nothing), alpha is averaged as is; the result is straight RGBA again,
with colour 0 under fully transparent pixels.

Integer scales: a tile whose sides are not multiples of the scale is first cropped to them
(top-left; `reference` gives that crop), so the shrunk tile times the scale is the reference
size exactly and integer-only methods (Scale2x, hqx, xBRZ) apply. Fractional scales: the
shrunk side is round(side / scale) (at least 1) and the reference is the whole tile.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

DEGRADATIONS = ("box", "nearest")


def is_integer(scale: float) -> bool:
    return float(scale).is_integer()


def reference(tile: np.ndarray, scale: float) -> np.ndarray:
    """The part of `tile` that a round trip through `scale` compares against."""
    if not is_integer(scale):
        return tile
    s = int(scale)
    h, w = tile.shape[0] // s * s, tile.shape[1] // s * s
    return tile[:h, :w]


def low_size(height: int, width: int, scale: float) -> tuple[int, int]:
    """(height, width) of a tile of this size shrunk by `scale`."""
    if is_integer(scale):
        return height // int(scale), width // int(scale)
    return max(1, round(height / scale)), max(1, round(width / scale))


def premultiply(tile: np.ndarray) -> np.ndarray:
    """[..., 4] uint8 straight RGBA -> float64 premultiplied RGBA in 0..255."""
    t = tile.astype(np.float64)
    return np.concatenate([t[..., :3] * t[..., 3:] / 255.0, t[..., 3:]], axis=-1)


def unpremultiply(t: np.ndarray) -> np.ndarray:
    """float premultiplied RGBA in 0..255 -> straight RGBA uint8, colour 0 where alpha rounds to 0."""
    alpha = np.rint(t[..., 3:]).clip(0, 255)
    rgb = np.where(alpha > 0, t[..., :3] * 255.0 / np.maximum(t[..., 3:], 1e-9), 0.0)
    return np.concatenate([np.rint(rgb).clip(0, 255), alpha], axis=-1).astype(np.uint8)


def box(tile: np.ndarray, scale: float) -> np.ndarray:
    """Area average. Integer scales: the exact mean of each scale x scale block (premultiplied);
    fractional: Pillow's BOX filter (which premultiplies RGBA itself)."""
    if is_integer(scale):
        s = int(scale)
        ref = reference(tile, s)
        h, w = ref.shape[0] // s, ref.shape[1] // s
        blocks = premultiply(ref).reshape(h, s, w, s, 4).mean(axis=(1, 3))
        return unpremultiply(blocks)
    h, w = low_size(*tile.shape[:2], scale)
    out = np.array(Image.fromarray(tile, "RGBA").resize((w, h), Image.Resampling.BOX), dtype=np.uint8)
    out[out[..., 3] == 0] = 0
    return out


def nearest(tile: np.ndarray, scale: float) -> np.ndarray:
    """Every scale-th pixel, the one at the centre of each output pixel's footprint:
    source index floor((i + 0.5) * scale), so pixel 1, 3, 5, ... at scale 2 (0, 2, 4 would do
    as well: each art pixel of pixel-doubled art covers both)."""
    h, w = low_size(*tile.shape[:2], scale)
    ref = reference(tile, scale)
    rows = np.minimum(((np.arange(h) + 0.5) * ref.shape[0] / h).astype(int), ref.shape[0] - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * ref.shape[1] / w).astype(int), ref.shape[1] - 1)
    return ref[rows[:, None], cols[None, :]].copy()


def degrade(tile: np.ndarray, scale: float, how: str) -> np.ndarray:
    """Shrink one RGBA tile by `scale` with `how` (box or nearest)."""
    if how == "box":
        return box(tile, scale)
    if how == "nearest":
        return nearest(tile, scale)
    raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)}, got {how!r}")
