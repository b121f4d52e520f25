"""Keeping each source pixel's footprint: an upscaled tile, shrunk back over every source
pixel's footprint, should give that pixel again. Where a renderer swells a shape, adds an
outline or shifts an edge, the footprint's average moves; these two steps move it back.

Data flow: ... -> runtime renders -> **footprints** (and pixel-art finishing) -> written files. numpy only.

Coordinates: source pixel i of a side of n pixels covers [i, i + 1) x N / n of the output side
of N pixels (pixel edges, not centres), the same footprint `manifold eval`'s consistency shrinks
over. Colour is compared premultiplied by alpha, so a transparent pixel's colour weighs nothing.

- `back_project` (tiles rendered smooth, new colours allowed): iterative back-projection. The
  footprint errors, spread smoothly (bilinear) over the output, are added back ITERATIONS times,
  and what is left is closed by the least change that does (the pseudo-inverse of the shrink);
  the result keeps each footprint's mean (to within clipping to 0..255), and the correction is
  mostly smooth, so it sharpens rather than blocks.
- `repair_footprints` (tiles kept to their palette, alpha 0 or 255): no new colour may appear,
  so in each footprint whose mean has moved more than `tolerance` from its source pixel, output
  pixels get the source pixel's own colour back, one at a time, the one that helps most first,
  until it is within the tolerance (a footprint no single pixel helps goes back whole).
  Small moves (a diagonal step rounded off, where one of four sub-pixels takes a neighbour's
  colour of similar shade) stay; a shape that swells or gains an outline goes back to the source's.

The runtime (`--footprints keep`, the default) runs them after every pass, each pass against
its own input: 4x as 2x twice moves no more than 2x does, twice (once at the end, against the
original, left 4x edges ragged where whole runs of a smoothed edge went back).
"""

from __future__ import annotations

import numpy as np

from .tiles import channels_to_rgba, premultiply, unpremultiply

ITERATIONS = 10
EXACT_STEPS = 5  # then what is left (a fractional scale converges slowly) closed by the exact projection
TOLERANCE = 24  # levels of 0..255, premultiplied, the largest channel: a footprint's mean may move this much


def footprint_matrix(low: int, high: int) -> np.ndarray:
    """[low, high] float32: row i averages the output pixels over source pixel i's footprint, by
    the area of each output pixel inside it (rows sum to 1)."""
    edges = np.arange(low + 1) * high / low
    left, right = np.arange(high), np.arange(high) + 1
    overlap = np.minimum(edges[1:, None], right[None, :]) - np.maximum(edges[:-1, None], left[None, :])
    weights = np.maximum(overlap, 0)
    return (weights / weights.sum(1, keepdims=True)).astype(np.float32)


def bilinear_matrix(low: int, high: int) -> np.ndarray:
    """[high, low] float32: bilinear resampling of a side of `low` pixels to `high`, pixel centres
    aligned ((j + 0.5) x low / high - 0.5), the border pixels held beyond the edge."""
    position = np.clip((np.arange(high) + 0.5) * low / high - 0.5, 0, low - 1)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, low - 1)
    frac = position - below
    m = np.zeros((high, low), np.float32)
    np.add.at(m, (np.arange(high), below), 1 - frac)
    np.add.at(m, (np.arange(high), above), frac)
    return m


def premultiplied(tiles: np.ndarray) -> np.ndarray:
    """[N, H, W, 4] uint8 straight RGBA -> [N, 4, H, W] float32 premultiplied in [0, 1] (the runtime's layout)."""
    return premultiply(tiles.transpose(0, 3, 1, 2).astype(np.float32) / 255)


def grows(rendered: np.ndarray, sources: np.ndarray) -> bool:
    """Whether there is a footprint to keep: tiles to render, larger than their sources (neither side smaller)."""
    (height, width), (h, w) = rendered.shape[1:3], sources.shape[1:3]
    return len(rendered) > 0 and height >= h and width >= w and (height, width) != (h, w)


def back_project(rendered: np.ndarray, sources: np.ndarray, iterations: int = ITERATIONS) -> np.ndarray:
    """Rendered tiles [N, H, W, 4] uint8 whose footprints keep their sources' colours [N, h, w, 4]."""
    if not grows(rendered, sources):
        return rendered.copy()
    (height, width), (h, w) = rendered.shape[1:3], sources.shape[1:3]
    shrink_rows, shrink_cols = footprint_matrix(h, height), footprint_matrix(w, width)
    smooth = bilinear_matrix(h, height), bilinear_matrix(w, width)
    # the pseudo-inverse: the least change that closes what is left
    exact = np.linalg.pinv(shrink_rows).astype(np.float32), np.linalg.pinv(shrink_cols).astype(np.float32)
    y, x = premultiplied(rendered), premultiplied(sources)  # [n, 4, H, W]: each resampling two matrix products
    for spread_rows, spread_cols in [smooth] * iterations + [exact] * EXACT_STEPS:
        error = x - shrink_rows @ y @ shrink_cols.T
        y += spread_rows @ error @ spread_cols.T
        np.clip(y, 0, 1, out=y)
        np.minimum(y[:, :3], y[:, 3:4], out=y[:, :3])  # premultiplied colour never exceeds its alpha
    return channels_to_rgba(unpremultiply(y))


def owners(low: int, high: int) -> np.ndarray:
    """[high]: the source pixel whose footprint holds each output pixel's centre."""
    return np.minimum(((np.arange(high) + 0.5) * low / high).astype(int), low - 1)


def repair_footprints(rendered: np.ndarray, sources: np.ndarray, tolerance: float = TOLERANCE) -> np.ndarray:
    """Rendered tiles [N, H, W, 4] uint8 with each source pixel's colour put back on output pixels
    of its footprint (each output pixel belongs to the footprint holding its centre), greedily,
    until the footprint's mean is within `tolerance` of it (module docstring). Colours and
    alphas stay ones the rendering or the source already had."""
    out = rendered.copy()
    if not grows(rendered, sources):
        return out
    n, height, width = rendered.shape[:3]
    h, w = sources.shape[1:3]
    rows, cols = owners(h, height), owners(w, width)
    owner = ((np.arange(n)[:, None, None] * h + rows[None, :, None]) * w + cols[None, None, :]).ravel()
    size = np.bincount(owner, minlength=n * h * w)
    # members[f]: the output pixels of footprint f (-1 beyond its size), so a round is one array operation
    order = np.argsort(owner, kind="stable")
    slot = np.arange(len(order)) - np.repeat(np.cumsum(size) - size, size)
    members = np.full((n * h * w, size.max()), -1)
    members[owner[order], slot] = order
    pixels_of = lambda tiles: premultiplied(tiles).transpose(0, 2, 3, 1).reshape(-1, 4) * 255  # one row a pixel
    target = pixels_of(sources)
    source_colour = sources.reshape(-1, 4)
    flat_out = out.reshape(-1, 4)
    current = pixels_of(rendered)
    active = np.arange(n * h * w)
    for _ in range(members.shape[1]):  # a pixel per footprint each round: at most every pixel of the largest
        pixels = members[active]
        valid = pixels >= 0
        colour = np.where(valid[..., None], current[pixels], 0)
        error = target[active] - colour.sum(1) / size[active, None]
        worst = np.abs(error).max(1)
        moved = worst > tolerance
        active, pixels, valid, colour, error, worst = (a[moved] for a in (active, pixels, valid, colour, error, worst))
        if not len(active):
            break
        change = (target[active, None] - colour) / size[active, None, None]  # putting the source colour back
        gain = worst[:, None] - np.abs(error[:, None] - change).max(-1)
        gain[~valid | ~(np.abs(change).max(-1) > 0)] = -np.inf
        best = gain.argmax(1)
        helps = gain[np.arange(len(active)), best] > 0
        # Where no single pixel helps (the channels pull different ways), the footprint goes back whole.
        chosen = np.concatenate([pixels[helps, best[helps]], pixels[~helps][valid[~helps]]])
        current[chosen] = target[owner[chosen]]
        flat_out[chosen] = source_colour[owner[chosen]]
    return out
