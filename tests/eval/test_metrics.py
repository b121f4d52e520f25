import math

import numpy as np
import pytest

from manifold_eval.metrics import PSNR_CAP, Score, colour, psnr, ssim, ssim_window


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
