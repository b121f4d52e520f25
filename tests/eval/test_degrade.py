import numpy as np
import pytest

from manifold_core import tiles as core_tiles
from manifold_eval import degrade as degrade_module
from manifold_eval.degrade import (
    box,
    degrade,
    low_size,
    nearest,
    phases,
    premultiplied_to_straight,
    reference,
    shrink_to,
    straight_to_premultiplied,
)


def opaque(values):
    """[H, W] grey values -> opaque RGBA tile."""
    v = np.asarray(values, np.uint8)
    return np.stack([v, v, v, np.full_like(v, 255)], axis=-1)


def test_box_is_the_exact_mean_of_each_block():
    tile = opaque([[0, 2, 10, 10],
                   [4, 6, 20, 30],
                   [1, 1, 1, 1],
                   [1, 1, 1, 5]])
    out = box(tile, 2)
    assert out.shape == (2, 2, 4) and out.dtype == np.uint8
    assert out[..., 0].tolist() == [[3, 18], [1, 2]]  # 17.5 -> 18, 2.0 -> 2 (round half to even)
    assert (out[..., 3] == 255).all()


def test_box_weighs_colour_by_alpha():
    tile = np.zeros((2, 2, 4), np.uint8)
    tile[0, 0] = (255, 0, 0, 255)  # one opaque red pixel, three transparent ones (whatever their colour)
    tile[1, 1] = (0, 255, 0, 0)
    out = box(tile, 2)
    assert out[0, 0].tolist() == [255, 0, 0, 64]  # red at a quarter of the alpha, not darkened


def test_nearest_takes_the_pixel_at_the_centre_of_each_block():
    tile = opaque(np.arange(36).reshape(6, 6))
    assert nearest(tile, 2)[..., 0].tolist() == [[7, 9, 11], [19, 21, 23], [31, 33, 35]]
    assert nearest(tile, 3)[..., 0].tolist() == [[7, 10], [25, 28]]


def test_integer_scales_crop_to_a_multiple_and_fractional_scales_round():
    tile = opaque(np.arange(35).reshape(5, 7))
    assert reference(tile, 2).shape == (4, 6, 4)
    assert box(tile, 2).shape == nearest(tile, 2).shape == (2, 3, 4)
    assert reference(tile, 1.5).shape == tile.shape
    assert low_size(5, 7, 1.5) == (3, 5)
    assert degrade(tile, 1.5, "box").shape == degrade(tile, 1.5, "nearest").shape == (3, 5, 4)
    six = opaque(np.arange(36).reshape(6, 6))
    assert nearest(six, 1.5)[0, :, 0].tolist() == [0, 2, 3, 5]  # floor((i + 0.5) * 1.5)


def test_fractional_box_keeps_a_flat_colour_and_scale_1_is_the_identity():
    flat = np.zeros((9, 9, 4), np.uint8) + np.array([40, 80, 120, 255], np.uint8)
    assert (degrade(flat, 1.5, "box") == flat[0, 0]).all()
    tile = opaque(np.arange(16).reshape(4, 4))
    assert (degrade(tile, 1, "box") == tile).all() and (degrade(tile, 1, "nearest") == tile).all()


def test_unknown_degradation():
    with pytest.raises(ValueError, match="box, nearest"):
        degrade(opaque([[1, 2], [3, 4]]), 2, "bilinear")


def test_integer_scales_have_every_offset_as_a_phase():
    assert phases(2) == [(0.25, 0.25), (0.25, 0.75), (0.75, 0.25), (0.75, 0.75)]
    assert len(phases(3)) == 9 and len(phases(4)) == 16
    tile = opaque(np.arange(36).reshape(6, 6))
    picked = [nearest(tile, 2, p)[..., 0] for p in phases(2)]
    grid = tile[..., 0]
    assert [p.tolist() for p in picked] == [grid[dy::2, dx::2].tolist() for dy in (0, 1) for dx in (0, 1)]
    patterns = {nearest(tile, 3, p)[..., 0].tobytes() for p in phases(3)}
    assert len(patterns) == 9  # every one of the 3 x 3 offsets, each once


def test_fractional_phases_are_a_seeded_stratified_spread():
    spread = phases(1.5, 8, seed=0)
    assert len(spread) == 8 and spread == phases(1.5, 8, seed=0) and spread != phases(1.5, 8, seed=1)
    rows, cols = zip(*spread)
    assert sorted(int(v * 8) for v in rows) == list(range(8)) and sorted(int(u * 8) for u in cols) == list(range(8))
    tile = opaque(np.arange(100).reshape(10, 10))
    shrunk = {nearest(tile, 2.5, p)[..., 0].tobytes() for p in phases(2.5)}
    assert len(shrunk) > 1 and all(nearest(tile, 2.5, p).shape == (4, 4, 4) for p in phases(2.5))


def test_the_default_phase_is_the_centre_and_box_has_none():
    tile = opaque(np.arange(36).reshape(6, 6))
    assert (degrade(tile, 2, "nearest") == nearest(tile, 2, (0.5, 0.5))).all()
    assert (degrade(tile, 2, "box", (0.25, 0.25)) == box(tile, 2)).all()


def test_premultiplied_round_trip_uses_the_core_premultiply():
    tile = np.array([[[200, 100, 50, 128], [10, 20, 30, 0], [255, 255, 255, 255]]], np.uint8)
    pre = straight_to_premultiplied(tile)
    assert pre[0, 0].tolist() == pytest.approx([200 * 128 / 255, 100 * 128 / 255, 50 * 128 / 255, 128])
    assert pre[0, 1].tolist() == [0, 0, 0, 0]
    back = premultiplied_to_straight(pre)
    assert back[0, 1].tolist() == [0, 0, 0, 0] and back[0, 2].tolist() == [255] * 4
    assert np.abs(back[0, 0].astype(int) - tile[0, 0]).max() <= 1
    assert degrade_module.premultiply is core_tiles.premultiply  # no copy of its own: core/tiles.py's one


def test_shrink_to_is_the_mean_over_each_footprint():
    tile = opaque([[0, 2, 10, 10], [4, 6, 20, 30]])
    assert shrink_to(tile, 1, 2)[..., 0].tolist() == [[3, 18]]
    flat = np.zeros((9, 6, 4), np.uint8) + np.array([40, 80, 120, 255], np.uint8)
    assert (shrink_to(flat, 6, 4) == flat[0, 0]).all()  # 1.5x: footprints of fractional size
