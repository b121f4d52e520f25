"""Shrink tiles the way low-resolution art comes about: `box` (area average: the blurred case)
and `nearest` (one pixel of each footprint: the crisp, aliased case real low-resolution pixel
art resembles).

Data flow: tiles -> **eval: shrink** -> scalers -> metrics -> report.

Tiles are [H, W, 4] uint8 RGBA. Colour is averaged premultiplied by alpha (a transparent
pixel's colour weighs nothing; core/tiles.py's premultiply), alpha is averaged as is; the
result is straight RGBA again, with colour 0 under fully transparent pixels.

Nearest has a *sampling phase*: which pixel of each footprint it keeps. Real low-resolution art
has no phase, so a fair score pools every phase (`phases`): for an integer scale s all s x s
offsets, for a fractional one a seeded, stratified spread of `count` offsets. A phase is a
pair (v, u) in [0, 1): output pixel i takes source pixel floor((i + v) * scale) (rows; u for
columns), so (0.5, 0.5), the default, is the pixel at the centre of each footprint (pixel 1, 3,
5, ... at scale 2, as PyTorch's `nearest-exact` takes). Box has no phase.

Integer scales: a tile whose sides are not multiples of the scale is first cropped to them
(top-left; `reference` gives that crop), so the shrunk tile times the scale is the reference
size exactly and integer-only methods (Scale2x, hqx, xBRZ, MMPX) apply. Fractional scales: the
shrunk side is round(side / scale) (at least 1) and the reference is the whole tile.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from manifold_core.tiles import premultiply, unpremultiply

DEGRADATIONS = ("box", "nearest")
CENTRE = (0.5, 0.5)
FRACTIONAL_PHASES = 8  # offsets drawn for a fractional scale (an integer one has exactly s x s)
PHASE_SEED = 0

Phase = tuple[float, float]


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


def phases(scale: float, count: int = FRACTIONAL_PHASES, seed: int = PHASE_SEED) -> list[Phase]:
    """The nearest sampling phases a fair score pools: every (dy, dx) offset of an integer scale,
    as the phase of its pixel's centre ((d + 0.5) / s), row-major; for a fractional scale `count`
    phases, one per row and per column stratum of [0, 1) (a Latin hypercube) drawn with `seed`."""
    if is_integer(scale):
        s = int(scale)
        return [((dy + 0.5) / s, (dx + 0.5) / s) for dy in range(s) for dx in range(s)]
    if count < 1:
        raise ValueError(f"phase count must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    rows = (rng.permutation(count) + rng.random(count)) / count
    cols = (rng.permutation(count) + rng.random(count)) / count
    return [(float(v), float(u)) for v, u in zip(rows, cols)]


def straight_to_premultiplied(tiles: np.ndarray) -> np.ndarray:
    """[..., 4] uint8 straight RGBA -> float64 premultiplied RGBA in 0..255 (core's premultiply)."""
    t = tiles.astype(np.float64).reshape(-1, 1, tiles.shape[-1]) / 255.0
    premultiply(t.transpose(0, 2, 1))  # every pixel as a [4, 1] image: core's layout, in place
    return (t * 255.0).reshape(tiles.shape)


def premultiplied_to_straight(t: np.ndarray) -> np.ndarray:
    """float premultiplied RGBA in 0..255 -> straight RGBA uint8, colour 0 where alpha rounds to 0."""
    flat = t.astype(np.float64).reshape(-1, 1, t.shape[-1]) / 255.0
    unpremultiply(flat.transpose(0, 2, 1))
    out = np.rint(flat.reshape(t.shape) * 255.0).clip(0, 255).astype(np.uint8)
    out[out[..., 3] == 0] = 0
    return out


def box(tile: np.ndarray, scale: float) -> np.ndarray:
    """Area average. Integer scales: the exact mean of each scale x scale block (premultiplied);
    fractional: Pillow's BOX filter (which premultiplies RGBA itself)."""
    if is_integer(scale):
        s = int(scale)
        ref = reference(tile, s)
        h, w = ref.shape[0] // s, ref.shape[1] // s
        blocks = straight_to_premultiplied(ref).reshape(h, s, w, s, 4).mean(axis=(1, 3))
        return premultiplied_to_straight(blocks)
    h, w = low_size(*tile.shape[:2], scale)
    out = np.array(Image.fromarray(tile, "RGBA").resize((w, h), Image.Resampling.BOX), dtype=np.uint8)
    out[out[..., 3] == 0] = 0
    return out


def shrink_to(tile: np.ndarray, height: int, width: int) -> np.ndarray:
    """Box-shrink `tile` to height x width, each output pixel the mean of its footprint: exact
    block means (premultiplied) when the sides are whole multiples, else Pillow's BOX filter (its
    weights are the footprint's area; it premultiplies RGBA itself)."""
    h, w = tile.shape[:2]
    if h % height == 0 and w % width == 0 and h // height == w // width:
        return box(tile, h // height)
    out = np.array(Image.fromarray(np.ascontiguousarray(tile), "RGBA").resize((width, height), Image.Resampling.BOX),
                   dtype=np.uint8)
    out[out[..., 3] == 0] = 0
    return out


def sample_indices(low: int, extent: int, phase: float) -> np.ndarray:
    """Source index floor((i + phase) * extent / low) of each of `low` output pixels."""
    return np.minimum(((np.arange(low) + phase) * extent / low).astype(int), extent - 1)


def nearest(tile: np.ndarray, scale: float, phase: Phase = CENTRE) -> np.ndarray:
    """One pixel of each output pixel's footprint, the one at `phase` (see the module docstring):
    the centre by default, so pixel 1, 3, 5, ... at scale 2 (0, 2, 4 would do as well: each art
    pixel of pixel-doubled art covers both)."""
    h, w = low_size(*tile.shape[:2], scale)
    ref = reference(tile, scale)
    rows = sample_indices(h, ref.shape[0], phase[0])
    cols = sample_indices(w, ref.shape[1], phase[1])
    return ref[rows[:, None], cols[None, :]].copy()


def degrade(tile: np.ndarray, scale: float, how: str, phase: Phase = CENTRE) -> np.ndarray:
    """Shrink one RGBA tile by `scale` with `how` (box or nearest; `phase` is nearest's)."""
    if how == "box":
        return box(tile, scale)
    if how == "nearest":
        return nearest(tile, scale, phase)
    raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)}, got {how!r}")
