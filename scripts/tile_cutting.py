"""Generic cutting of game art into tiles: sheets as RGBA arrays, grid cells, packed sprites,
colour keys, and the measures a tile set is summarised by (used by scripts/tile_sets.py).

Every function here works on numpy arrays (H x W x 4 uint8, RGBA) and knows nothing of any game.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

MIN_COVER = 0.04  # tiles with fewer opaque pixels (a lone digit, a health bar) are dropped
CRISP_COLOURS = 64  # a tile with hard alpha and at most this many colours counts as crisp


def rgba(source: Path | bytes) -> np.ndarray:
    """An image file (or its bytes) as an RGBA array; a palette's transparent index becomes alpha 0."""
    with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as image:
        if image.mode == "P" and "transparency" in image.info:
            image = image.convert("RGBA")
        return np.array(image.convert("RGBA"), dtype=np.uint8)


def has_alpha(path: Path) -> bool:
    """Whether the file itself says which pixels are transparent (an alpha channel or a tRNS entry)."""
    with Image.open(path) as image:
        return image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info


def grid_cells(sheet: np.ndarray, w: int, h: int, x0: int = 0, y0: int = 0, border: int = 0):
    """(row, col, tile) of every whole w x h cell of a regular grid."""
    rows = (sheet.shape[0] - y0 + border) // (h + border)
    cols = (sheet.shape[1] - x0 + border) // (w + border)
    for r in range(rows):
        for c in range(cols):
            y, x = y0 + r * (h + border), x0 + c * (w + border)
            yield r, c, sheet[y:y + h, x:x + w]


def components(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (y0, x0, y1, x1) of the 8-connected regions of a bool mask (union-find on runs)."""
    parent: list[int] = []

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    runs: list[tuple[int, int, int]] = []  # (y, start, end)
    prev: list[int] = []
    for y in range(mask.shape[0]):
        line = np.concatenate([[0], mask[y].astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(line))
        current = []
        j = 0
        for s, e in zip(edges[::2], edges[1::2]):
            idx = len(runs)
            runs.append((y, int(s), int(e)))
            parent.append(idx)
            while j < len(prev) and runs[prev[j]][2] < s:  # prev run ends left of s-1
                j += 1
            k = j
            while k < len(prev) and runs[prev[k]][1] <= e:  # overlaps [s-1, e] (8-connected)
                ra, rb = find(prev[k]), find(idx)
                if ra != rb:
                    parent[rb] = ra
                k += 1
            current.append(idx)
        prev = current
    boxes: dict[int, list[int]] = {}
    for i, (y, s, e) in enumerate(runs):
        b = boxes.setdefault(find(i), [y, s, y + 1, e])
        b[0], b[1], b[2], b[3] = min(b[0], y), min(b[1], s), max(b[2], y + 1), max(b[3], e)
    return sorted(tuple(b) for b in boxes.values())


def sprites(sheet: np.ndarray, size: int, smallest: int = 12):
    """(y, x, tile) of each trimmed sprite of a packed atlas, centred on a size x size tile.

    A sprite is an 8-connected opaque region whose bounding box fits in size x size and whose
    longer side is at least `smallest`; regions that touch a neighbour come out larger and
    are skipped, as are stray dots. Opaque pixels of neighbours inside the box are kept.
    """
    opaque = sheet[..., 3] > 0
    for y0, x0, y1, x1 in components(opaque):
        h, w = y1 - y0, x1 - x0
        if h > size or w > size or max(h, w) < smallest:
            continue
        tile = np.zeros((size, size, 4), np.uint8)
        oy, ox = (size - h) // 2, (size - w) // 2
        tile[oy:oy + h, ox:ox + w] = sheet[y0:y1, x0:x1]
        yield y0, x0, tile


def sprite_boxes(mask: np.ndarray, smallest: int, largest: int) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (y0, x0, y1, x1) of the 8-connected regions of `mask` whose longer side is
    in smallest..largest: the sprites of a sheet packed without a grid, trimmed to their pixels."""
    return [(y0, x0, y1, x1) for y0, x0, y1, x1 in components(mask)
            if smallest <= max(y1 - y0, x1 - x0) <= largest]


def colour_key(tile: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """A copy whose pixels of exactly colour `rgb` are transparent: how games without an alpha
    channel (SDL colour keys, magic background colours) mark what is not drawn."""
    out = tile.copy()
    out[(tile[..., :3] == np.array(rgb, np.uint8)).all(-1), 3] = 0
    return out


def border_key(tile: np.ndarray, rgb: tuple[int, int, int]) -> np.ndarray:
    """A copy whose pixels of colour `rgb` connected (4-way) to the tile's border are transparent:
    the background around a shape (the black corners of a hexagon) without the same colour inside it."""
    match = (tile[..., :3] == np.array(rgb, np.uint8)).all(-1)
    seen = np.zeros_like(match)
    h, w = match.shape
    stack = [(y, x) for y in range(h) for x in (0, w - 1)] + [(y, x) for x in range(w) for y in (0, h - 1)]
    while stack:
        y, x = stack.pop()
        if 0 <= y < h and 0 <= x < w and match[y, x] and not seen[y, x]:
            seen[y, x] = True
            stack += [(y + 1, x), (y - 1, x), (y, x + 1), (y, x - 1)]
    out = tile.copy()
    out[seen, 3] = 0
    return out


def square_frames(sheet: np.ndarray):
    """(index, frame) of a strip of square frames (width w, height a multiple of w, or the other way)."""
    h, w = sheet.shape[:2]
    side = min(h, w)
    for i, (_, _, frame) in enumerate(grid_cells(sheet, side, side)):
        yield i, frame


# ---------------------------------------------------------------- measures
def colour_count(tile: np.ndarray) -> int:
    """Distinct RGB colours among the pixels that are not fully transparent."""
    seen = tile[tile[..., 3] > 0][:, :3]
    if not len(seen):
        return 0
    packed = (seen[:, 0].astype(np.uint32) << 16) | (seen[:, 1].astype(np.uint32) << 8) | seen[:, 2]
    return int(np.unique(packed).size)


def hard_alpha(tile: np.ndarray) -> bool:
    """Whether every pixel is either fully transparent or fully opaque."""
    a = tile[..., 3]
    return bool(((a == 0) | (a == 255)).all())


def opaque(tile: np.ndarray) -> bool:
    return bool((tile[..., 3] == 255).all())


def summary(tiles: list[np.ndarray]) -> dict:
    """Counts, sizes, colour counts and alpha of a list of tiles, as a JSON-ready dict."""
    sizes: dict[str, int] = {}
    for t in tiles:
        key = f"{t.shape[1]}x{t.shape[0]}"
        sizes[key] = sizes.get(key, 0) + 1
    order = sorted(sizes, key=lambda s: [int(v) for v in s.split("x")])
    colours = np.array([colour_count(t) for t in tiles]) if tiles else np.zeros(0)
    pct = (lambda q: int(np.percentile(colours, q))) if len(colours) else (lambda q: 0)
    share = (lambda xs: round(float(np.mean(xs)), 3)) if tiles else (lambda xs: 0.0)
    return {
        "tiles": len(tiles),
        "sizes": {s: sizes[s] for s in order},
        "colours": {"p10": pct(10), "median": pct(50), "p90": pct(90)},
        "alpha": {"hard": share([hard_alpha(t) for t in tiles]), "opaque": share([opaque(t) for t in tiles])},
        "crisp": share([hard_alpha(t) and c <= CRISP_COLOURS for t, c in zip(tiles, colours)]),
    }
