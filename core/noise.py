"""Seeded smooth noise for the masks of `manifold transitions` and `manifold variants`. numpy only.

Data flow: beside the runtime; core/wang.py and core/variants.py draw their masks with it.

    rng = seeded(7, 3, 1)                        # one generator per (seed, purpose, ...): the same numbers
    n = value_noise(rng, u, v, scale=0.125)      # in [-1, 1] at tile coordinates u, v (any shape)

Value noise (random values on a square lattice, interpolated with smoothstep) rather than a
library's Perlin noise: it is a few lines, needs no dependency, and is evaluated at continuous
tile coordinates, so a mask drawn at 32 or at 64 cells across is the same shape.
"""

from __future__ import annotations

import zlib

import numpy as np


def seeded(*key: int | str) -> np.random.Generator:
    """A generator determined by `key` alone (the user's --seed first, then what the numbers are for),
    so each use of randomness is independent of the order in which the others were drawn."""
    words = [v if isinstance(v, int) else zlib.crc32(v.encode()) for v in key]
    return np.random.default_rng(np.random.SeedSequence([w & 0xFFFFFFFF for w in words]))


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, 3x^2 - 2x^3 between: exactly flat outside [0, 1]."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def value_noise(rng: np.random.Generator, u: np.ndarray, v: np.ndarray, scale: float,
                extent: tuple[float, float] = (-0.5, 1.5)) -> np.ndarray:
    """Smooth noise in [-1, 1] at the points (u, v), in tile units; `scale` is the lattice spacing
    (the size of a bump). The lattice covers `extent` on both axes (points outside it are clamped)."""
    lo, hi = extent
    cells = int(np.ceil((hi - lo) / scale)) + 2
    lattice = rng.uniform(-1.0, 1.0, (cells, cells))
    x = np.clip((np.asarray(u, np.float64) - lo) / scale, 0, cells - 1.001)
    y = np.clip((np.asarray(v, np.float64) - lo) / scale, 0, cells - 1.001)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    fx, fy = smoothstep(x - x0), smoothstep(y - y0)
    top = lattice[y0, x0] * (1 - fx) + lattice[y0, x0 + 1] * fx
    bottom = lattice[y0 + 1, x0] * (1 - fx) + lattice[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy
