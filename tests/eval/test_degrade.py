import numpy as np
import pytest

from manifold_eval.degrade import box, degrade, low_size, nearest, reference


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
