"""manifold_core.wang: the tiles of each kind of set, Tiled's rules between them, and masks that join."""

from __future__ import annotations

import numpy as np
import pytest

from manifold_core.wang import (
    BOTTOM_LEFT,
    BOTTOM_RIGHT,
    KINDS,
    TOP_LEFT,
    TOP_RIGHT,
    A,
    B,
    band_for,
    boundary_scale,
    neighbours,
    paint,
    side,
    terrain_points,
    tile_masks,
    wang_set,
)


def test_the_kinds_have_their_tiles():
    corner, edge, blob = (wang_set(k) for k in KINDS)
    assert (len(corner), len(edge), len(blob)) == (16, 16, 47)
    assert (corner.tiled_type, edge.tiled_type, blob.tiled_type) == ("corner", "edge", "mixed")
    for wang in (corner, edge, blob):
        assert len(set(wang.ids)) == len(wang), "every Wang ID once"
    assert all(wid[0] == wid[2] == wid[4] == wid[6] == 0 for wid in corner.ids)  # corner sets: no edge colours
    assert all(wid[1] == wid[3] == wid[5] == wid[7] == 0 for wid in edge.ids)
    # the blob set: a corner is B only when both edges beside it are (and then it may be either)
    for wid in blob.ids:
        for c in (TOP_RIGHT, BOTTOM_RIGHT, BOTTOM_LEFT, TOP_LEFT):
            assert wid[c] == A or (wid[(c - 1) % 8] == B and wid[(c + 1) % 8] == B)
    assert all(wid[i] in (A, B) for wid in blob.ids for i in range(8))
    assert corner.ids[corner.pure(A)] == (0, 1, 0, 1, 0, 1, 0, 1) and blob.ids[blob.pure(B)] == (2,) * 8


@pytest.mark.parametrize("kind", ["corner", "edge"])
def test_the_sheet_is_itself_a_seamless_map(kind):
    """Corner and edge sets are laid out on a 4x4 torus: every neighbour in the sheet, across its
    wrap-around too, is a pair Tiled's rules allow."""
    wang = wang_set(kind)
    allowed = set(neighbours(wang))
    for r in range(4):
        for c in range(4):
            here = 4 * r + c
            assert (here, 4 * r + (c + 1) % 4, "x") in allowed
            assert (here, 4 * ((r + 1) % 4) + c, "y") in allowed


def test_neighbours_follow_the_shared_side():
    corner = wang_set("corner")
    pairs = neighbours(corner)
    assert len(pairs) == 2 * 16 * 4  # a corner tile's right side (two corners) is the left side of 4 tiles
    for i, j, axis in pairs:
        a, b = corner.ids[i], corner.ids[j]
        assert (side(a, "right") == side(b, "left")) if axis == "x" else (side(a, "bottom") == side(b, "top"))
    assert len(neighbours(wang_set("blob"))) == 982


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("boundary", ["smooth", "noisy", "2"])
@pytest.mark.parametrize("cells", [16, 40])
def test_masks_agree_across_every_edge_tiled_may_join(kind, boundary, cells):
    """The promise the seams rest on: on both sides of a shared edge, the two cells each tile's
    decoder reads there (its ring and its first cell) are the same in both tiles."""
    wang = wang_set(kind)
    m = tile_masks(wang, cells, cells, seed=5, boundary=boundary)
    assert m.shape == (len(wang), cells + 2, cells + 2)
    for i, j, axis in neighbours(wang):
        a, b = (m[i], m[j]) if axis == "x" else (m[i].T, m[j].T)
        assert np.array_equal(a[:, -2:], b[:, :2]), (kind, i, j, axis)


@pytest.mark.parametrize("kind", KINDS)
def test_corners_and_pure_tiles_are_pure(kind):
    wang = wang_set(kind)
    m = tile_masks(wang, 32, 32, seed=1, boundary="noisy", ring=0)
    assert not m[wang.pure(A)].any()
    if kind != "edge":  # edge sets keep A at the corners
        assert m[wang.pure(B)].all()
    corner_cells = int(np.floor(band_for(32, 32)[0] * 32))
    for wid, mask in zip(wang.ids, m):
        expect = {TOP_LEFT: mask[:corner_cells, :corner_cells], TOP_RIGHT: mask[:corner_cells, -corner_cells:],
                  BOTTOM_LEFT: mask[-corner_cells:, :corner_cells], BOTTOM_RIGHT: mask[-corner_cells:, -corner_cells:]}
        for position, square in expect.items():
            colour = wid[position] if kind != "edge" else A
            assert (square == (colour == B)).all(), (wid, position)


def test_seeds_and_variants():
    wang = wang_set("corner")
    one, again, other = (tile_masks(wang, 32, 32, seed=s) for s in (3, 3, 4))
    assert np.array_equal(one, again) and not np.array_equal(one, other)
    variant = tile_masks(wang, 32, 32, seed=3, variant=1)
    assert not np.array_equal(one, variant)
    band = int(np.ceil(band_for(32, 32)[0] * 32)) + 1  # the ring and the band: the same in every variant
    for a, b in zip(one, variant):
        assert np.array_equal(a[:band], b[:band]) and np.array_equal(a[-band:], b[-band:])
        assert np.array_equal(a[:, :band], b[:, :band]) and np.array_equal(a[:, -band:], b[:, -band:])
    smooth = tile_masks(wang, 32, 32, seed=3, boundary="smooth")
    assert not np.array_equal(one, smooth)


def test_boundary_scale():
    assert boundary_scale("smooth", 32) is None and boundary_scale("noisy", 32) == 0.125
    assert boundary_scale("4", 32) == 0.125 and boundary_scale("2.5", 10) == 0.25
    for bad in ("-1", "0", "nan", "inf", "ragged"):
        with pytest.raises(ValueError):
            boundary_scale(bad, 32)


@pytest.mark.parametrize("kind", KINDS)
def test_a_painted_map_uses_only_allowed_neighbours(kind):
    wang = wang_set(kind)
    points = terrain_points(kind, 6, 8, seed=2)
    cells = paint(wang, points, copies=3, seed=1)
    assert cells.shape == (6, 8) and (cells >= 0).all() and cells.max() < 3 * len(wang)
    allowed = set(neighbours(wang))
    n = len(wang)
    for r in range(6):
        for c in range(8):
            if c + 1 < 8:
                assert (cells[r, c] % n, cells[r, c + 1] % n, "x") in allowed
            if r + 1 < 6:
                assert (cells[r, c] % n, cells[r + 1, c] % n, "y") in allowed
    assert len({int(t) % n for t in cells.ravel()}) > 3  # a terrain with transitions, not one tile everywhere
    assert len({int(t) // n for t in cells.ravel()}) == 3  # every copy used
