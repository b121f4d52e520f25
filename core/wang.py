"""Wang sets of two terrains for Tiled's terrain brush: which tiles, and the A/B mask of each. numpy only.

Data flow: tiles -> **Wang set (masks)** -> core/regenerate.py (renders under the masks) -> the
CLI's sheet and .tsx (manifold_cli/transitions.py).

    wang = wang_set("corner")                       # 16 tiles; "edge": 16; "blob": 47 (Tiled's "mixed")
    masks = tile_masks(wang, 32, 32, seed=0)        # [16, 34, 34] bool, True = terrain B, one ring of cells around
    pairs = neighbours(wang)                        # every (left, right, "x") and (top, bottom, "y") Tiled may place

A tile is its Wang ID, Tiled's eight colours (top, top right, right, bottom right, bottom,
bottom left, left, top left; 1 = terrain A, 2 = terrain B, 0 = not used by this kind of set).

**The mask** of a tile is the level set F = 0.5 of a field over the tile (tile units, u across,
v down), so it can be drawn at any number of cells. Tiles that Tiled puts side by side must
join, so near each edge F depends on that edge alone:

- each side has a *profile*: its colours in order (corner set: the two corners; edge set: the
  edge's colour between two A corners, so B is drawn as paths across A; blob: corner, edge,
  corner) and, where they change, a crossing point whose position is drawn from a generator
  keyed by the --seed, the side's direction and its colours only. Every tile with that side
  therefore draws the same crossing;
- within `band` of an edge (and one ring of cells beyond it, which the decoder reads) the field
  is that edge's profile and nothing else: a Coons patch of the four profiles over the tile
  with its coordinates flattened there (`_flat`), so the patch reduces exactly to the edge's
  profile in its band and to the corner's colour in a corner's square;
- the noise (none for `smooth`) is, within a band, the edge's own noise, keyed like its
  crossing and a function of the map's coordinates along and across the edge, so both tiles
  draw the same ragged boundary across it; inside, it blends into the tile's own noise. (A
  boundary pinned straight at every edge and ragged between showed as teeth at each tile edge.)

With the mixture decoder reading the 3x3 cells around each output pixel and the band at least
two cells wide, the pixels on either side of an edge come out exactly as if the two tiles had
been rendered as one picture (tests/core/test_wang.py, tests/core/test_regenerate.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .noise import seeded, smoothstep, value_noise

KINDS = ("corner", "edge", "blob")
TILED_TYPES = {"corner": "corner", "edge": "edge", "blob": "mixed"}  # <wangset type="..."> in Tiled 1.5+
A, B = 1, 2  # Tiled's colour indexes in a Wang ID (0: unset)
TOP, TOP_RIGHT, RIGHT, BOTTOM_RIGHT, BOTTOM, BOTTOM_LEFT, LEFT, TOP_LEFT = range(8)
CORNERS = (TOP_RIGHT, BOTTOM_RIGHT, BOTTOM_LEFT, TOP_LEFT)
EDGES = (TOP, RIGHT, BOTTOM, LEFT)

# The corner set laid out on a 4x4 torus (vertex colours, the top-left corner of tile (r, c) is
# VERTICES[r][c]): all 16 corner combinations appear once and every neighbour in the sheet, across
# its wrap-around too, matches, so the sheet itself is a seamless map (found by exhaustive search;
# tests/core/test_wang.py checks it).
VERTICES = ((1, 1, 1, 2), (1, 1, 2, 1), (2, 1, 2, 2), (1, 2, 2, 2))
EDGE_CYCLE = (1, 1, 2, 2)  # the edge set's torus: row r's top edges and column c's left edges

BAND = 0.125  # the width of an edge's band, in tile units (at least BAND_CELLS cells)
BAND_CELLS = 2.5  # the ring the decoder reads plus the cell at the edge, with room to spare
JITTER = 0.08  # how far a crossing point moves from its place (a quarter, half or three quarters along)
# The width of a profile's step: exactly flat beyond it (so a corner's square is pure), gentle enough
# for the noise to move the boundary where it crosses an edge too (a steep step would pin it there).
SOFT = {"corner": 0.6, "edge": 0.24, "blob": 0.24}
ROUND = {"corner": 1.0, "edge": 0.5, "blob": 0.5}  # ... and inside the tile, where wide steps round the shapes
RAMP = 0.15  # the inside's rounder patch fades in over this distance beyond the bands
NOISE = 0.3  # the noise's amplitude; below 0.5, so a pure tile stays pure
INSIDE_WEIGHT = 16.0  # the tile's own noise against its edges' (inverse squared distance) in the middle


@dataclass(frozen=True)
class WangSet:
    """The tiles of one kind of two-terrain Wang set, in sheet order (row by row, `columns` wide)."""

    kind: str
    ids: tuple[tuple[int, ...], ...]
    columns: int

    @property
    def tiled_type(self) -> str:
        return TILED_TYPES[self.kind]

    def __len__(self) -> int:
        return len(self.ids)

    def pure(self, colour: int) -> int:
        """The index of the tile that is all `colour` (A or B) at every point its kind uses."""
        used = [i for i in range(8) if self.ids[0][i]]
        return next(k for k, wid in enumerate(self.ids) if all(wid[i] == colour for i in used))


def _corner_id(tl: int, tr: int, br: int, bl: int) -> tuple[int, ...]:
    return (0, tr, 0, br, 0, bl, 0, tl)


def _edge_id(top: int, right: int, bottom: int, left: int) -> tuple[int, ...]:
    return (top, 0, right, 0, bottom, 0, left, 0)


@lru_cache(maxsize=None)
def wang_set(kind: str) -> WangSet:
    """The tiles of a `kind` set: corner and edge as a 4x4 torus (the sheet is itself a valid,
    seamless map), blob as the 47 Wang IDs where a corner is B only when both edges beside it are
    (the classic 47-tile blob set), in ascending order of their neighbour bits, 7 wide."""
    if kind == "corner":
        v = VERTICES
        ids = [_corner_id(v[r][c], v[r][(c + 1) % 4], v[(r + 1) % 4][(c + 1) % 4], v[(r + 1) % 4][c])
               for r in range(4) for c in range(4)]
        return WangSet(kind, tuple(ids), 4)
    if kind == "edge":
        e = EDGE_CYCLE
        ids = [_edge_id(e[r], e[(c + 1) % 4], e[(r + 1) % 4], e[c]) for r in range(4) for c in range(4)]
        return WangSet(kind, tuple(ids), 4)
    if kind == "blob":
        ids = []
        for bits in range(256):  # bit i set: position i of the Wang ID is B
            wid = tuple(B if bits >> i & 1 else A for i in range(8))
            if all(wid[c] == A or (wid[(c - 1) % 8] == B and wid[(c + 1) % 8] == B) for c in CORNERS):
                ids.append(wid)
        return WangSet(kind, tuple(ids), 7)
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


# ---------------------------------------------------------------- which tiles may touch
def side(wid: tuple[int, ...], which: str) -> tuple[int, int, int]:
    """The three colours along one side, in the order they run in the map (left to right along top
    and bottom, top to bottom along left and right): corner, middle, corner."""
    return {"top": (wid[TOP_LEFT], wid[TOP], wid[TOP_RIGHT]),
            "bottom": (wid[BOTTOM_LEFT], wid[BOTTOM], wid[BOTTOM_RIGHT]),
            "left": (wid[TOP_LEFT], wid[LEFT], wid[BOTTOM_LEFT]),
            "right": (wid[TOP_RIGHT], wid[RIGHT], wid[BOTTOM_RIGHT])}[which]


def neighbours(wang: WangSet) -> list[tuple[int, int, str]]:
    """Every ordered pair Tiled's rules allow side by side: (i, j, "x") with j right of i, (i, j,
    "y") with j below i: the colours along the shared side agree."""
    pairs = []
    for i, a in enumerate(wang.ids):
        for j, b in enumerate(wang.ids):
            if side(a, "right") == side(b, "left"):
                pairs.append((i, j, "x"))
            if side(a, "bottom") == side(b, "top"):
                pairs.append((i, j, "y"))
    return pairs


# ---------------------------------------------------------------- the masks
def boundary_scale(boundary: str, tile_pixels: int) -> float | None:
    """--boundary as the noise's bump size in tile units (None: smooth). noisy: an eighth of the tile;
    a number: that many source pixels."""
    if boundary == "smooth":
        return None
    if boundary == "noisy":
        return 0.125
    value = float(boundary)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(boundary)
    return value / tile_pixels


def _profile(colours: tuple[int, int, int], kind: str) -> list[tuple[float, int]]:
    """(nominal crossing, colour after it) for one side, from its three colours: corner sets cross
    half-way, edge and blob sets a quarter of the way in from each corner (edge sets: A corners)."""
    c0, mid, c1 = colours
    if kind == "corner":
        points = [(0.0, c0), (1.0, c1)]
    else:
        if kind == "edge":
            c0 = c1 = A
        points = [(0.0, c0), (0.5, mid), (1.0, c1)]
    crossings, current = [], points[0][1]
    for (t0, _), (t1, colour) in zip(points, points[1:]):
        if colour != current:
            crossings.append(((t0 + t1) / 2, colour))
            current = colour
    return [(-1.0, points[0][1])] + crossings


def _side_field(colours: tuple[int, int, int], direction: str, kind: str, t: np.ndarray, seed: int,
                soft: float) -> np.ndarray:
    """One side's profile at position t along it (0 or 1 per colour, a smooth step `soft` wide at each
    crossing, exactly flat beyond). Keyed by the seed, the direction and the colours only."""
    steps = _profile(colours, kind)
    value = np.full(np.shape(t), float(steps[0][1] == B))
    for index, (nominal, colour) in enumerate(steps[1:]):
        place = nominal + seeded(seed, "side", direction, kind, *colours, index).uniform(-JITTER, JITTER)
        value = value + (float(colour == B) - value) * smoothstep((t - place) / soft + 0.5)
    return value


def _flat(x: np.ndarray, band: float) -> np.ndarray:
    """Tile coordinate -> the patch's coordinate: 0 within `band` of the start, 1 within it of the
    end, linear between (so inside an edge's band the patch is that edge's profile alone)."""
    return np.clip((x - band) / (1 - 2 * band), 0.0, 1.0)


def tile_field(wid: tuple[int, ...], kind: str, u: np.ndarray, v: np.ndarray, seed: int,
               boundary: str = "noisy", tile_pixels: int = 32, variant: int = 0,
               band: tuple[float, float] = (BAND, BAND)) -> np.ndarray:
    """The field F over one tile at tile coordinates (u, v) (outside [0, 1] too: the neighbours'
    side of each edge); the mask is F > 0.5. `band` = (across u, across v)."""
    scale = boundary_scale(boundary, tile_pixels)
    bu, bv = band
    fu, fv = _flat(u, bu), _flat(v, bv)
    inside = (smoothstep((u - bu) / RAMP) * smoothstep((1 - bu - u) / RAMP)
              * smoothstep((v - bv) / RAMP) * smoothstep((1 - bv - v) / RAMP))
    # The bands' steps are as soft as a corner's square allows; inside, wider ones round the shapes.
    joins = _patch(wid, kind, fu, fv, seed, SOFT[kind])
    rounder = _patch(wid, kind, fu, fv, seed, ROUND[kind])
    if kind != "corner":  # edges meet in the middle: B there when any edge is B (paths join, dead ends end)
        centre = float(any(wid[i] == B for i in EDGES))
        middle = _patch(wid, kind, np.array(0.5), np.array(0.5), seed, ROUND[kind])
        bump = smoothstep(1 - np.hypot(u - 0.5, v - 0.5) / (0.5 - max(band)))
        rounder = rounder + (centre - middle) * bump
    field = joins + inside * (rounder - joins)
    if scale:
        field = field + NOISE * _noise(wid, kind, u, v, fu, fv, seed, scale, variant)
    return field


def _patch(wid, kind, fu, fv, seed, soft) -> np.ndarray:
    """The Coons patch of the four sides' profiles (steps `soft` wide) over the flattened coordinates:
    where fu is 0 (the left band) it is the left side's profile alone, and so on."""
    colour = lambda i: float(wid[i] == B) if kind != "edge" else 0.0  # edge sets: A corners
    left = _side_field(side(wid, "left"), "v", kind, fv, seed, soft)
    right = _side_field(side(wid, "right"), "v", kind, fv, seed, soft)
    top = _side_field(side(wid, "top"), "h", kind, fu, seed, soft)
    bottom = _side_field(side(wid, "bottom"), "h", kind, fu, seed, soft)
    corners = ((1 - fu) * (1 - fv) * colour(TOP_LEFT) + fu * (1 - fv) * colour(TOP_RIGHT)
               + (1 - fu) * fv * colour(BOTTOM_LEFT) + fu * fv * colour(BOTTOM_RIGHT))
    return (1 - fu) * left + fu * right + (1 - fv) * top + fv * bottom - corners


def _noise(wid, kind, u, v, fu, fv, seed, scale, variant) -> np.ndarray:
    """Noise in [-1, 1] that is, within an edge's band, that edge's own (keyed by its direction and
    colours, a function of the map's coordinates along and across it, the same in both tiles), and
    blends towards the tile's own (keyed by the tile and the variant) inside: inverse squared distance
    weights, infinite on a band. Corner squares mix two edges' noise, but there the field is pure."""
    sides = (("left", "v", v, u), ("right", "v", v, u - 1), ("top", "h", u, v), ("bottom", "h", u, v - 1))
    distances = (fu, 1 - fu, fv, 1 - fv)
    on_band = np.any([d <= 0 for d in distances], axis=0)
    total, weight = np.zeros(np.shape(u)), np.zeros(np.shape(u))
    for (name, direction, along, across), d in zip(sides, distances):
        noise = _octaves(seeded(seed, "band", direction, kind, *side(wid, name)), along, across, scale)
        w = np.where(on_band, (d <= 0).astype(float), 1 / np.maximum(d, 1e-9) ** 2)
        total, weight = total + w * noise, weight + w
    own = np.where(on_band, 0.0, INSIDE_WEIGHT)
    total = total + own * _octaves(seeded(seed, "inside", kind, *wid, variant), u, v, scale)
    return total / (weight + own)


def _octaves(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, scale: float) -> np.ndarray:
    """Bumps of `scale` on a wander three times broader (in [-1, 1]): ragged, and not along a ruler."""
    return 0.5 * value_noise(rng, x, y, scale, (-1.5, 1.5)) + 0.5 * value_noise(rng, x, y, 3 * scale, (-1.5, 1.5))


def band_for(cells_h: int, cells_w: int) -> tuple[float, float]:
    """The bands (across u, across v) for a grid of cells: BAND, or BAND_CELLS cells where that is wider."""
    return max(BAND, BAND_CELLS / cells_w), max(BAND, BAND_CELLS / cells_h)


def cell_centres(cells_h: int, cells_w: int, ring: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(u, v) at the centres of a cells_h x cells_w grid and `ring` cells beyond it on every side."""
    u = (np.arange(-ring, cells_w + ring) + 0.5) / cells_w
    v = (np.arange(-ring, cells_h + ring) + 0.5) / cells_h
    return np.meshgrid(u, v)


def tile_masks(wang: WangSet, cells_h: int, cells_w: int, seed: int = 0, boundary: str = "noisy",
               tile_pixels: int = 32, variant: int = 0, ring: int = 1) -> np.ndarray:
    """[tiles, cells_h + 2 ring, cells_w + 2 ring] bool, True where terrain B: every tile's mask at the
    centres of a cells_h x cells_w grid and `ring` cells beyond it."""
    u, v = cell_centres(cells_h, cells_w, ring)
    band = band_for(cells_h, cells_w)
    return np.stack([tile_field(wid, wang.kind, u, v, seed, boundary, tile_pixels, variant, band) > 0.5
                     for wid in wang.ids])


def min_cells() -> int:
    """The fewest cells across a tile for which the bands (BAND_CELLS cells each) leave half the tile
    between them for the transitions."""
    return int(np.ceil(BAND_CELLS / 0.25))


# ---------------------------------------------------------------- painting a map
def terrain_points(kind: str, height: int, width: int, seed: int = 0, share: float = 0.5) -> np.ndarray:
    """A random terrain for a height x width map as its (2H + 1) x (2W + 1) grid of Wang points (1 = A,
    2 = B), as a painter with the terrain brush leaves it: blobs of B in A, covering about `share`,
    with the rules of the kind (blob: a corner is B only when the four edges around it are)."""
    yy, xx = np.mgrid[:2 * height + 1, :2 * width + 1] / 2.0
    noise = value_noise(seeded(seed, "map"), xx / max(height, width), yy / max(height, width), 0.35,
                        (-0.1, 1.1))
    points = np.where(noise > np.quantile(noise, 1 - share), B, A)
    if kind == "blob":
        corner = points[::2, ::2]
        edges_b = np.ones_like(corner, bool)
        padded = np.pad(points, 1, constant_values=B)
        for dy, dx in ((-1, 0), (1, 0), (0, -1), (0, 1)):
            edges_b &= padded[1 + dy::2, 1 + dx::2][:corner.shape[0], :corner.shape[1]] == B
        points[::2, ::2] = np.where(edges_b, corner, A)
    return points


def paint(wang: WangSet, points: np.ndarray, copies: int = 1, seed: int = 0) -> np.ndarray:
    """The tile index for every cell of the map whose Wang points are `points` ((2H + 1) x (2W + 1)),
    as Tiled's terrain brush chooses: the tile with those colours, one of its `copies` (laid out one
    block of len(wang) after another) picked at random; -1 where the set has no such tile."""
    h, w = (points.shape[0] - 1) // 2, (points.shape[1] - 1) // 2
    used = [i for i in range(8) if wang.ids[0][i]]
    index = {tuple(wid[i] for i in used): k for k, wid in enumerate(wang.ids)}
    offsets = {TOP: (0, 1), TOP_RIGHT: (0, 2), RIGHT: (1, 2), BOTTOM_RIGHT: (2, 2), BOTTOM: (2, 1),
               BOTTOM_LEFT: (2, 0), LEFT: (1, 0), TOP_LEFT: (0, 0)}
    rng = seeded(seed, "paint")
    out = np.full((h, w), -1, np.int64)
    for r in range(h):
        for c in range(w):
            key = tuple(int(points[2 * r + offsets[i][0], 2 * c + offsets[i][1]]) for i in used)
            if key in index:
                out[r, c] = index[key] + len(wang) * int(rng.integers(copies))
    return out
