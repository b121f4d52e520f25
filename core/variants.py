"""Variants of a tile: the same art, reshuffled inside, with the border kept so they tile together.

Data flow: tiles -> **variant masks** -> core/regenerate.py (renders under them) -> the CLI
(`manifold variants`, and `manifold transitions --variants`).

    copies = rolled_copies(tile[None], variants=8, seed=0)          # the tile and shifted copies of it
    labels = variant_labels(copies, strength=0.5, seed=0, wraps=[True])
    tiles = render_composite(model, copies.sources, labels, 64, 64)  # [8, 64, 64, 4]

A variant is the tile with patches taken from copies of itself shifted by seeded offsets: the
cells of its latent grid inside the patches come from a shifted copy (whose latent, for a
seamless tile, is exactly the shifted latent), so the decoder draws the art of the tile
everywhere and the patch boundaries from its own colours. `strength` is the share of the
tile's inside (everything but the band along its edges) covered by patches: 0 gives the tile
itself, 1 replaces all of its inside. The band (core/wang.py's, at least the two cells the
decoder reads across an edge) always keeps the tile's own cells, so every variant meets every
other along every edge exactly as the tile meets itself: a seamless tile's variants tile with
each other in any order.

For a tile that is not seamless, a shifted copy has the tile's own border seam inside it; the
cells within SEAM_CELLS of that seam keep the tile's cells instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .noise import seeded, value_noise
from .wang import band_for, cell_centres

SHIFTS = 2  # shifted copies per variant and source: patches come from either
PATCH = 0.25  # the patches' bump size, in tile units
SEAM_CELLS = 2  # cells on each side of a shifted copy's wrap-around seam that stay the tile's (not seamless tiles)


@dataclass
class Copies:
    """The originals first, then for each variant and original SHIFTS copies rolled by `offsets`."""

    sources: np.ndarray  # [K, h, w, 4]
    offsets: list[tuple[int, int]]  # (dy, dx) in source pixels, per source; (0, 0) for the originals
    of: dict[tuple[int, int], list[int]] = field(default_factory=dict)  # (variant, original) -> source indexes


def rolled_copies(originals: np.ndarray, variants: int, seed: int = 0) -> Copies:
    """The originals [M, h, w, 4] and SHIFTS copies of each per variant 1..variants, rolled by seeded
    offsets of a quarter to three quarters of the tile on each axis (so a copy shows other art)."""
    h, w = originals.shape[1:3]
    sources, offsets, of = list(originals), [(0, 0)] * len(originals), {}
    for variant in range(1, variants + 1):
        for m, tile in enumerate(originals):
            rng = seeded(seed, "shift", variant, m)
            of[(variant, m)] = []
            for _ in range(SHIFTS):
                dy = int(rng.integers(max(1, h // 4), max(2, 3 * h // 4 + 1)))
                dx = int(rng.integers(max(1, w // 4), max(2, 3 * w // 4 + 1)))
                of[(variant, m)].append(len(sources))
                sources.append(np.roll(tile, (dy, dx), axis=(0, 1)))
                offsets.append((dy, dx))
    return Copies(np.stack(sources), offsets, of)


def inside_cells(cells_h: int, cells_w: int, ring: int = 1) -> np.ndarray:
    """[cells_h + 2 ring, cells_w + 2 ring] bool: the cells beyond the bands along the edges (which a
    variant may change)."""
    u, v = cell_centres(cells_h, cells_w, ring)
    bu, bv = band_for(cells_h, cells_w)
    return (u > bu) & (u < 1 - bu) & (v > bv) & (v < 1 - bv)


def patches(cells_h: int, cells_w: int, strength: float, seed: int, *key, ring: int = 1) -> np.ndarray:
    """[cells_h + 2 ring, cells_w + 2 ring] int: 0 where the cell stays, i > 0 where it comes from shifted
    copy i (1..SHIFTS); `strength` of the inside cells change, the bands never do."""
    inside = inside_cells(cells_h, cells_w, ring)
    out = np.zeros(inside.shape, np.int64)
    if strength <= 0 or not inside.any():
        return out
    u, v = cell_centres(cells_h, cells_w, ring)
    score = value_noise(seeded(seed, "patches", *key), u, v, PATCH)
    threshold = np.quantile(score[inside], min(1.0, strength))
    chosen = inside & (score <= threshold) if strength < 1 else inside
    which = value_noise(seeded(seed, "which", *key), u, v, PATCH) > 0
    out[chosen] = np.where(which[chosen], 1, 2)
    return out


def seam_cells(offset: tuple[int, int], tile_shape: tuple[int, int], cells_h: int, cells_w: int,
               ring: int = 1) -> np.ndarray:
    """The cells (with the ring) within SEAM_CELLS of the wrap-around seam of a copy rolled by `offset`."""
    (dy, dx), (h, w) = offset, tile_shape
    y = np.arange(-ring, cells_h + ring) + 0.5
    x = np.arange(-ring, cells_w + ring) + 0.5
    near_y = np.abs(y - dy * cells_h / h) < SEAM_CELLS
    near_x = np.abs(x - dx * cells_w / w) < SEAM_CELLS
    return near_y[:, None] | near_x[None, :]


def shuffle(labels: np.ndarray, copies: Copies, variant: int, strength: float, seed: int, wraps: list[bool],
            key: tuple = ()) -> np.ndarray:
    """Labels [cells_h + 2, cells_w + 2] of originals with patches from variant `variant`'s copies: a
    cell of original m inside a patch takes the same cell of one of m's shifted copies."""
    if variant == 0 or strength <= 0:
        return labels
    cells_h, cells_w = labels.shape[0] - 2, labels.shape[1] - 2
    tile_shape = copies.sources.shape[1:3]
    chosen = patches(cells_h, cells_w, strength, seed, variant, *key)
    out = labels.copy()
    for m, wrap in enumerate(wraps):
        for i, source in enumerate(copies.of[(variant, m)], start=1):
            take = (labels == m) & (chosen == i)
            if not wrap:
                take &= ~seam_cells(copies.offsets[source], tile_shape, cells_h, cells_w)
            out[take] = source
    return out


def variant_labels(copies: Copies, count: int, strength: float, seed: int, wraps: list[bool]):
    """labels(cells_h, cells_w) for render_composite: `count` variants 1..count of original 0."""
    def labels(cells_h: int, cells_w: int) -> np.ndarray:
        base = np.zeros((cells_h + 2, cells_w + 2), np.int64)
        return np.stack([shuffle(base, copies, k, strength, seed, wraps) for k in range(1, count + 1)])
    return labels
