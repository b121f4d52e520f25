"""--palette keep and --alpha cut."""

import numpy as np
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays

from manifold_core.pixelart import MAX_PALETTE, cut_alpha, finish, palette_of, snap_to_palette


def test_palette_of_counts_transparent_pixels_as_one_colour():
    tile = np.zeros((2, 2, 4), np.uint8)
    tile[0, 0] = (255, 0, 0, 255)
    tile[0, 1] = (9, 9, 9, 0)  # transparent, any colour
    tile[1, 0] = (0, 255, 0, 255)
    colours = {tuple(c) for c in palette_of(tile)}
    assert colours == {(255, 0, 0, 255), (0, 255, 0, 255), (0, 0, 0, 0)}


def test_more_than_256_colours_is_not_a_palette():
    tile = np.zeros((1, MAX_PALETTE + 1, 4), np.uint8)
    tile[0, :, 0] = np.arange(MAX_PALETTE + 1) % 256
    tile[0, :, 1] = np.arange(MAX_PALETTE + 1) // 256
    tile[..., 3] = 255
    assert palette_of(tile) is None


def test_snapping_picks_the_nearest_colour_and_faint_pixels_go_transparent():
    palette = np.array([[0, 0, 0, 0], [200, 0, 0, 255], [0, 0, 200, 255]], np.uint8)
    pixels = np.array([[[190, 10, 5, 250], [20, 10, 180, 255], [200, 0, 0, 10]]], np.uint8)
    snapped = snap_to_palette(pixels, palette)
    np.testing.assert_array_equal(snapped[0], palette[[1, 2, 0]])


@settings(max_examples=30, deadline=None)
@given(arrays(np.uint8, (6, 6, 4)), arrays(np.uint8, (12, 12, 4)))
def test_kept_palette_output_uses_only_source_colours(source, rendered):
    out = finish(rendered[None], source[None], palette="keep")[0]
    allowed = {tuple(c) for c in palette_of(source)}
    assert {tuple(c) for c in out.reshape(-1, 4)} <= allowed


def test_cut_alpha_is_binary():
    rgba = np.array([[[10, 20, 30, 127], [10, 20, 30, 128], [1, 2, 3, 0]]], np.uint8)
    out = cut_alpha(rgba)
    assert out[..., 3].tolist() == [[0, 255, 0]]
    assert out[0, 0].tolist() == [0, 0, 0, 0] and out[0, 1].tolist() == [10, 20, 30, 255]


def test_a_shared_sheet_palette_is_used_for_every_tile():
    sheet_palette = np.array([[0, 0, 0, 255], [255, 255, 255, 255]], np.uint8)
    rendered = np.full((2, 4, 4, 4), 100, np.uint8)
    rendered[..., 3] = 255
    out = finish(rendered, rendered, palette="keep", shared_palette=sheet_palette)
    assert (out[..., :3] == 0).all()  # grey 100 is nearer black than white


def test_auto_alpha_cuts_only_the_tiles_whose_own_alpha_is_hard():
    hard = np.zeros((4, 4, 4), np.uint8)
    hard[:2, :, 3] = 255  # half opaque, half transparent: a hard-edged sprite
    soft = hard.copy()
    soft[2, :, 3] = 90  # a soft shadow: alpha between 0 and 255
    rendered = np.full((2, 8, 8, 4), 120, np.uint8)  # both rendered with half alpha everywhere
    out = finish(rendered, np.stack([hard, soft]), "off", "auto")
    assert set(np.unique(out[0, ..., 3])) == {0} and (out[1] == rendered[1]).all()


def test_styles_name_the_palette_and_alpha_pairs():
    from manifold_core.pixelart import ALPHAS, PALETTES, STYLES

    assert STYLES["pixel"] == ("keep", "cut") and STYLES["smooth"] == ("off", "smooth")
    assert all(p in PALETTES and a in ALPHAS for p, a in STYLES.values())
