"""Procedural pixel-art tiles: stripes, checkers, blobs and bricks, some with transparency.

Data flow: a stand-in for real tiles at the start of the pipeline (tests, demo).

Used by the tests (small, fast, nothing downloaded) and by the demo where the real tiles
cannot be fetched. Deterministic for a given seed.
"""

from __future__ import annotations

import numpy as np

PALETTE = np.array([
    [20, 12, 28], [68, 36, 52], [48, 52, 109], [78, 74, 78], [133, 76, 48], [52, 101, 36], [208, 70, 72],
    [117, 113, 97], [89, 125, 206], [210, 125, 44], [133, 149, 161], [109, 170, 44], [210, 170, 153],
    [109, 194, 202], [218, 212, 94], [222, 238, 214],
], dtype=np.uint8)  # DawnBringer's 16-colour palette, a pixel-art staple

KINDS = ("stripes", "checker", "blob", "bricks")


def make_tile(kind: str, size: int, rng: np.random.Generator, transparent: bool = False) -> np.ndarray:
    """One [size, size, 4] uint8 RGBA tile of the given kind with random colours and scale."""
    a, b = PALETTE[rng.choice(len(PALETTE), 2, replace=False)]
    yy, xx = np.mgrid[:size, :size]
    if kind == "stripes":
        width = int(rng.integers(2, max(3, size // 4)))
        mask = ((xx + yy * int(rng.integers(0, 2))) // width) % 2 == 0
    elif kind == "checker":
        cell = int(rng.integers(2, max(3, size // 4)))
        mask = (xx // cell + yy // cell) % 2 == 0
    elif kind == "blob":
        cy, cx = rng.uniform(size * 0.3, size * 0.7, 2)
        r = rng.uniform(size * 0.2, size * 0.45)
        mask = (yy - cy) ** 2 + (xx - cx) ** 2 < r * r
    elif kind == "bricks":
        h = max(2, size // 4)
        w = 2 * h
        offset = ((yy // h) % 2) * (w // 2)
        mask = ((yy % h) != 0) & (((xx + offset) % w) != 0)
    else:
        raise ValueError(f"kind must be one of {KINDS}")
    rgb = np.where(mask[..., None], a, b)
    alpha = np.full((size, size, 1), 255, np.uint8)
    if transparent:
        alpha[..., 0] = np.where(mask, 255, 0)
    return np.concatenate([rgb, alpha], axis=-1).astype(np.uint8)


def make_tiles(count: int, size: int = 32, seed: int = 0, transparent_share: float = 0.25) -> np.ndarray:
    """[count, size, size, 4] tiles cycling through the kinds; a share of them has transparent background."""
    rng = np.random.default_rng(seed)
    return np.stack([make_tile(KINDS[i % len(KINDS)], size, rng, rng.random() < transparent_share)
                     for i in range(count)])
