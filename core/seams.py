"""How well tiles join: the colour step across a shared edge against the steps inside tiles. numpy only.

Data flow: beside the runtime; `manifold transitions` and `manifold variants` report these for
what they wrote, the tests and the README's figures use the same functions.

    step = edge_step(left_tile, right_tile, "x")     # mean |difference| across the shared edge
    inside = inside_step(tiles)                      # the same between neighbouring pixels inside tiles

A step is the mean absolute difference of the RGBA values (0..255, colour premultiplied by
alpha, so a transparent pixel's hidden colour does not count) of two neighbouring pixels,
averaged over the four channels and over every pair: for an edge, each pixel of one tile's last
column (row) against the pixel beside it in the next tile's first column (row); inside a tile,
every horizontally and vertically adjacent pair. A seam shows as edge steps larger than inside
steps; a join as good as the art's own texture has them equal.
"""

from __future__ import annotations

import numpy as np


def _values(tiles: np.ndarray) -> np.ndarray:
    t = tiles.astype(np.float64)
    t[..., :3] *= t[..., 3:4] / 255
    return t


def edge_step(first: np.ndarray, second: np.ndarray, axis: str) -> float:
    """Mean step across the edge where `second` follows `first` ("x": to its right, "y": below it)."""
    a, b = _values(first), _values(second)
    if axis == "x":
        return float(np.abs(a[:, -1] - b[:, 0]).mean())
    return float(np.abs(a[-1] - b[0]).mean())


def inside_step(tiles: np.ndarray, source_shape: tuple[int, int] | None = None) -> float:
    """Mean step between neighbouring pixels inside tiles [N, h, w, 4] (or one tile [h, w, 4]).

    With `source_shape` (the size of the tiles they were rendered from), only the pairs that straddle
    a boundary between two source pixels count: a tile's edge is always such a boundary, while two
    output pixels drawn from one source pixel are nearly equal, so this is the inside step an edge
    step must be compared with."""
    t = _values(tiles if tiles.ndim == 4 else tiles[None])
    h, w = t.shape[1:3]
    cols, rows = np.ones(w - 1, bool), np.ones(h - 1, bool)
    if source_shape is not None:
        sh, sw = source_shape
        cols = (np.arange(1, w) * sw // w) != (np.arange(w - 1) * sw // w)
        rows = (np.arange(1, h) * sh // h) != (np.arange(h - 1) * sh // h)
    across = np.abs(np.diff(t, axis=2))[:, :, cols]
    down = np.abs(np.diff(t, axis=1))[:, rows]
    return float(np.concatenate([across.reshape(-1), down.reshape(-1)]).mean())


def join_report(tiles: np.ndarray, pairs: list[tuple[int, int, str]], sources: np.ndarray) -> dict:
    """The steps across every edge in `pairs` ((i, j, axis): j after i), against the steps inside the
    source tiles and inside the new tiles across source-pixel boundaries: {"pairs", "edge_mean",
    "edge_max", "inside_sources", "inside_tiles"}."""
    t = _values(tiles)
    steps = []
    for axis in ("x", "y"):
        first = np.array([i for i, _, a in pairs if a == axis], np.int64)
        second = np.array([j for _, j, a in pairs if a == axis], np.int64)
        if len(first):
            last, head = (t[:, :, -1], t[:, :, 0]) if axis == "x" else (t[:, -1], t[:, 0])  # [N, side, 4]
            steps.append(np.abs(last[first] - head[second]).mean(axis=(1, 2)))
    steps = np.concatenate(steps) if steps else np.zeros(0)
    return {"pairs": int(len(steps)), "edge_mean": float(steps.mean()) if len(steps) else 0.0,
            "edge_max": float(steps.max()) if len(steps) else 0.0, "inside_sources": inside_step(sources),
            "inside_tiles": inside_step(tiles, sources.shape[1:3])}
