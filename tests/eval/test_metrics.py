import math

import numpy as np
import pytest

from manifold_eval.metrics import (
    PALETTE_TOLERANCE,
    PSNR_CAP,
    OriginalsScore,
    Score,
    colour,
    has_hard_alpha,
    palette_hits,
    psnr,
    ssim,
    ssim_window,
)


def test_psnr_known_values():
    a = np.zeros((4, 4, 3))
    assert psnr(a, a + 1) == pytest.approx(10 * math.log10(255 ** 2))  # MSE 1: 48.13 dB
    assert psnr(a, a + 1) == pytest.approx(48.1308, abs=1e-4)
    b = a.copy()
    b[0, 0, 0] = 255  # one value off by 255 out of 48: MSE 255^2 / 48
    assert psnr(a, b) == pytest.approx(10 * math.log10(48))
    assert psnr(a, a) == PSNR_CAP


def test_ssim_of_flat_images_is_the_luminance_term():
    # Zero variance: SSIM = (2 a b + C1) / (a^2 + b^2 + C1), C1 = (0.01 * 255)^2.
    a, b = np.full((8, 8, 3), 100.0), np.full((8, 8, 3), 110.0)
    c1 = (0.01 * 255) ** 2
    assert ssim(a, b) == pytest.approx((2 * 100 * 110 + c1) / (100 ** 2 + 110 ** 2 + c1), rel=1e-9)
    assert ssim(a, a) == pytest.approx(1.0)


def test_ssim_window_fits_small_tiles():
    assert [ssim_window(n, n) for n in (3, 4, 5, 6, 7, 8, 32)] == [3, 3, 5, 5, 7, 7, 7]
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (4, 6, 3)).astype(float)  # a 4 px side: window 3, no error
    assert ssim(tile, tile) == pytest.approx(1.0)
    assert ssim(tile, 255 - tile) < 0.5


def test_ssim_of_a_stack_is_the_mean_over_tiles():
    rng = np.random.default_rng(1)
    ref = rng.integers(0, 256, (3, 8, 8, 3)).astype(float)
    out = np.clip(ref + rng.normal(0, 20, ref.shape), 0, 255)
    assert ssim(ref, out) == pytest.approx(np.mean([ssim(r, o) for r, o in zip(ref, out)]))


def test_colour_is_premultiplied_and_alpha_is_scored_only_where_there_is_transparency():
    assert colour(np.array([200, 100, 0, 128], np.uint8)).tolist() == pytest.approx([200 * 128 / 255, 100 * 128 / 255, 0])
    opaque = np.full((1, 4, 4, 4), 255, np.uint8)
    score = Score()
    score.add(opaque, opaque)
    assert score.psnr == PSNR_CAP and score.alpha_psnr is None
    hidden = np.zeros((1, 4, 4, 4), np.uint8)
    other = hidden.copy()
    other[..., :3] = 99  # colour under alpha 0 does not count
    score = Score()
    score.add(hidden, other)
    assert score.psnr == PSNR_CAP and score.alpha_psnr == PSNR_CAP
    half = hidden.copy()
    half[..., 3] = 1  # alpha off by 1 everywhere: 48.13 dB
    score.add(hidden, half)
    assert score.alpha_psnr == pytest.approx(10 * math.log10(255 ** 2 * 2))  # pooled over both tiles: MSE 1/2


def test_pooled_score_is_one_score_over_every_pixel():
    rng = np.random.default_rng(2)
    ref = rng.integers(0, 256, (4, 8, 8, 4)).astype(np.uint8)
    outs = [np.clip(ref.astype(int) + rng.integers(-k, k + 1, ref.shape), 0, 255).astype(np.uint8) for k in (5, 30)]
    parts = []
    for out in outs:
        s = Score()
        s.add(ref, out)
        parts.append(s)
    together = Score()
    for out in outs:
        together.add(ref, out)
    pooled = Score.pooled(parts)
    assert pooled.psnr == pytest.approx(together.psnr) and pooled.alpha_psnr == pytest.approx(together.alpha_psnr)
    assert pooled.ssim == pytest.approx(together.ssim)
    assert parts[1].psnr < pooled.psnr < parts[0].psnr


def test_palette_hits_count_pixels_within_the_tolerance_of_a_source_colour():
    source = np.array([[[100, 100, 100, 255], [0, 0, 0, 0]]], np.uint8)
    t = PALETTE_TOLERANCE
    output = np.array([[[100, 100, 100, 255], [100 + t, 100 - t, 100, 255], [100 + t + 1, 100, 100, 255],
                        [7, 8, 9, 0], [100, 100, 100, 255 - t - 1]]], np.uint8)
    # exact, within t in every channel, one channel t + 1 off, transparent (any colour under it), alpha off
    assert palette_hits(source, output) == 3
    assert palette_hits(source, output, tolerance=0) == 2


def test_hard_alpha_means_some_transparency_and_only_0_or_255():
    tile = np.full((2, 2, 4), 255, np.uint8)
    assert not has_hard_alpha(tile)  # opaque: nothing to keep hard
    tile[0, 0, 3] = 0
    assert has_hard_alpha(tile)
    tile[0, 1, 3] = 128
    assert not has_hard_alpha(tile)


def test_originals_score_consistency_palette_and_alpha_hardness():
    source = np.zeros((1, 2, 2, 4), np.uint8)
    source[0, 0, 0] = (200, 0, 0, 255)
    source[0, 1, 1] = (0, 0, 200, 255)
    exact = source.repeat(2, axis=1).repeat(2, axis=2)
    score = OriginalsScore()
    score.add(source, exact)
    assert score.consistency == PSNR_CAP and score.palette == 1.0 and score.alpha_hardness == 1.0
    soft = exact.copy()
    soft[0, 0, 1] = (200, 0, 0, 128)  # one of 16 pixels half transparent and off the palette
    score = OriginalsScore()
    score.add(source, soft)
    assert score.palette == 15 / 16 and score.alpha_hardness == 15 / 16
    grey = np.full((1, 2, 2, 4), 100, np.uint8)
    grey[..., 3] = 255
    shifted = grey.repeat(2, axis=1).repeat(2, axis=2)
    shifted[0, 0, 0, 0] = 140  # one of the 4 output pixels of a source pixel 40 levels off in red
    score = OriginalsScore()
    score.add(grey, shifted)
    # box back: that source pixel's red is 110 instead of 100; 1 of 12 values 10 off
    assert score.consistency == pytest.approx(10 * math.log10(255 ** 2 * 12 / 10 ** 2))
    opaque = OriginalsScore()
    opaque.add(np.full((1, 2, 2, 4), 255, np.uint8), np.full((1, 4, 4, 4), 255, np.uint8))
    assert opaque.alpha_hardness is None  # no source with transparency to keep hard
