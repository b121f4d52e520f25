"""footprints.py: back-projection keeps each source pixel's footprint mean, footprint repair puts
swollen shapes back with the source's own colours and leaves small moves alone."""

import numpy as np
import pytest
from PIL import Image

from manifold_core.footprints import (
    TOLERANCE,
    back_project,
    bilinear_matrix,
    footprint_matrix,
    premultiplied,
    repair_footprints,
)
from manifold_core.tiles import channels_to_rgba, unpremultiply

premul = lambda tiles: premultiplied(tiles).transpose(0, 2, 3, 1) * 255  # [N, h, w, 4] in 0..255
WHITE, BLACK, CLEAR = (255, 255, 255, 255), (0, 0, 0, 255), (0, 0, 0, 0)


def shrink_back(rendered: np.ndarray, h: int, w: int) -> np.ndarray:
    """[N, H, W, 4] -> the premultiplied mean over each of h x w source footprints, 0..255."""
    rows, cols = footprint_matrix(h, rendered.shape[1]), footprint_matrix(w, rendered.shape[2])
    return np.einsum("ih,nchw,jw->nijc", rows, premultiplied(rendered), cols) * 255


def bilinear(tiles: np.ndarray, height: int, width: int) -> np.ndarray:
    return np.stack([np.asarray(Image.fromarray(t, "RGBA").resize((width, height), Image.Resampling.BILINEAR))
                     for t in tiles])


def test_footprint_rows_average_by_area():
    m = footprint_matrix(2, 3)  # 2 source pixels over 3 output pixels: the middle one is split
    np.testing.assert_allclose(m, [[2 / 3, 1 / 3, 0], [0, 1 / 3, 2 / 3]], atol=1e-6)
    np.testing.assert_allclose(footprint_matrix(4, 8).sum(1), 1, atol=1e-6)
    assert (footprint_matrix(4, 8) > 0).sum(1).tolist() == [2, 2, 2, 2]


def test_bilinear_rows_sum_to_one_and_hold_the_border():
    m = bilinear_matrix(3, 6)
    np.testing.assert_allclose(m.sum(1), 1, atol=1e-6)
    assert m[0].tolist() == [1, 0, 0] and m[-1].tolist() == [0, 0, 1]


def test_premultiplied_round_trip():
    rng = np.random.default_rng(0)
    tiles = rng.integers(0, 256, (2, 5, 5, 4), dtype=np.uint8)
    tiles[..., 3] = 255
    np.testing.assert_array_equal(channels_to_rgba(unpremultiply(premultiplied(tiles))), tiles)


def footprint_error(rendered: np.ndarray, sources: np.ndarray) -> np.ndarray:
    return np.abs(shrink_back(rendered, *sources.shape[1:3]) - premul(sources))


def noisy_sources(seed: int) -> np.ndarray:
    sources = np.random.default_rng(seed).integers(0, 256, (3, 8, 8, 4), dtype=np.uint8)
    sources[..., 3] = 255
    sources[0, :4] = 0  # a transparent part: its colour weighs nothing
    return sources


@pytest.mark.parametrize("size", [16, 24, 32])
def test_back_projection_gives_each_footprint_its_source_colour(size):
    sources = noisy_sources(1)
    rendered = bilinear(sources, size, size)  # blurs across footprints
    assert np.percentile(footprint_error(rendered, sources), 99) > 20
    after = footprint_error(back_project(rendered, sources), sources)
    assert np.percentile(after, 99) < 3.5 and after.mean() < 0.5  # what clipping to 0..255 and rounding leave


def test_back_projection_at_fractional_scales_comes_as_close_as_0_to_255_allows():
    # 1.5x: a white source pixel beside a black one cannot both be met exactly (they share an
    # output pixel), so the error shrinks without reaching zero
    sources = noisy_sources(2)
    rendered = bilinear(sources, 12, 20)
    before, after = footprint_error(rendered, sources), footprint_error(back_project(rendered, sources), sources)
    assert after.mean() < before.mean() / 2


def test_back_projection_leaves_a_consistent_render_alone():
    rng = np.random.default_rng(2)
    sources = rng.integers(0, 256, (2, 6, 6, 4), dtype=np.uint8)
    sources[..., 3] = 255
    nearest = sources.repeat(2, 1).repeat(2, 2)
    assert np.abs(back_project(nearest, sources).astype(int) - nearest).max() <= 1


def test_back_projection_skips_same_size_and_shrinking():
    tiles = np.full((1, 4, 4, 4), 200, np.uint8)
    assert back_project(tiles, tiles).tobytes() == tiles.tobytes()
    small = np.zeros((1, 2, 2, 4), np.uint8)
    np.testing.assert_array_equal(back_project(small, tiles), small)


def tile(rows) -> np.ndarray:
    return np.array([[list(p) for p in row] for row in rows], np.uint8)


def test_repair_puts_a_swollen_shape_back():
    # source: a black pixel with white to its right; the render swelled black over half of the
    # white pixel's footprint (two of its four sub-pixels), a move of half of 255
    source = tile([[BLACK, WHITE]])
    rendered = tile([[BLACK, BLACK, BLACK, WHITE],
                     [BLACK, BLACK, BLACK, WHITE]])
    out = repair_footprints(rendered[None], source[None])[0]
    # one sub-pixel put back leaves the mean 64 levels off, more than the tolerance: both go back
    assert (out[:, 2:] == WHITE).all()
    assert (out[:, :2] == BLACK).all()  # the black footprint was never off


def test_repair_leaves_small_moves_alone():
    grey, lighter = (100, 100, 100, 255), (140, 140, 140, 255)
    source = tile([[grey, lighter]])
    rendered = tile([[grey, grey, grey, lighter],  # one sub-pixel of four takes a shade 40 levels away:
                     [grey, grey, lighter, lighter]])  # the mean moves by 10, within the tolerance
    out = repair_footprints(rendered[None], source[None])[0]
    np.testing.assert_array_equal(out, rendered)


def test_repair_uses_only_colours_the_render_or_source_had_and_keeps_alpha_hard():
    rng = np.random.default_rng(3)
    palette = np.array([WHITE, BLACK, CLEAR, (200, 30, 30, 255)], np.uint8)
    sources = palette[rng.integers(0, 4, (4, 6, 6))]
    rendered = palette[rng.integers(0, 4, (4, 18, 18))]  # 3x, unrelated to the source: much to repair
    out = repair_footprints(rendered, sources)
    assert set(map(tuple, out.reshape(-1, 4))) <= set(map(tuple, palette))
    assert np.isin(out[..., 3], (0, 255)).all()
    error = lambda r: np.abs(shrink_back(r, 6, 6) - premul(sources)).max(-1)
    assert (error(out) <= TOLERANCE + 1e-3).mean() > (error(rendered) <= TOLERANCE).mean()
    assert error(out).max() <= TOLERANCE + 1e-3  # every footprint can be put back whole: each gets within it


def test_repair_works_at_a_fractional_scale():
    rng = np.random.default_rng(4)
    palette = np.array([WHITE, BLACK], np.uint8)
    sources = palette[rng.integers(0, 2, (1, 4, 4))]
    rendered = palette[rng.integers(0, 2, (1, 6, 6))]  # 1.5x
    out = repair_footprints(rendered, sources)
    changed = (out != rendered).any(-1)
    assert changed.any()
    rows = np.minimum(((np.arange(6) + 0.5) * 4 / 6).astype(int), 3)
    own = sources[0][rows[:, None], rows[None, :]]
    assert (out[0][changed[0]] == own[changed[0]]).all()  # a changed pixel takes its own footprint's colour
