"""PSNR and SSIM of upscaled tiles against the originals.

Data flow: tiles -> degrade -> scalers -> **metrics** -> report.

Colour is scored premultiplied by alpha, which is the same as composited over black: a
pixel's colour counts as much as it is visible, and the colour under a fully transparent
pixel (arbitrary in most tilesets) counts not at all. Alpha is scored on its own, on the
tiles that have any transparency. Both in 0..255.

PSNR is pooled over a set: 10 log10(255^2 / mean squared error over every pixel of every
tile), so one exact tile does not make the mean infinite; an exact set scores PSNR_CAP.
SSIM is scikit-image's (uniform 7x7 window, or the largest odd window that fits a smaller
tile, at least 3), the mean over tiles and channels.
"""

from __future__ import annotations

import numpy as np

PSNR_CAP = 100.0  # dB: what an exact result scores (JSON has no infinity)


def colour(tile: np.ndarray) -> np.ndarray:
    """[..., 4] uint8 RGBA -> [..., 3] float64 premultiplied colour in 0..255."""
    t = tile.astype(np.float64)
    return t[..., :3] * t[..., 3:] / 255.0


def psnr_from_mse(mse: float) -> float:
    if mse <= 0:
        return PSNR_CAP
    return float(min(PSNR_CAP, 10 * np.log10(255.0 ** 2 / mse)))


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB of two arrays of values in 0..255 (any shape, same shape)."""
    diff = reference.astype(np.float64) - test.astype(np.float64)
    return psnr_from_mse(float(np.mean(diff * diff)))


def ssim_window(height: int, width: int) -> int:
    """SSIM window: 7, or the largest odd size that fits the tile (at least 3)."""
    return max(3, min(7, (min(height, width) - 1) // 2 * 2 + 1))


def ssim(reference: np.ndarray, test: np.ndarray) -> float:
    """Mean SSIM of [H, W, C] (or [N, H, W, C], one mean over tiles) arrays in 0..255."""
    from skimage.metrics import structural_similarity

    ref, out = reference.astype(np.float64), test.astype(np.float64)
    if ref.ndim == 4:  # tiles side by side as channels: the mean over channels is the mean over tiles
        ref = ref.transpose(1, 2, 0, 3).reshape(ref.shape[1], ref.shape[2], -1)
        out = out.transpose(1, 2, 0, 3).reshape(out.shape[1], out.shape[2], -1)
    if ref.ndim == 2:
        ref, out = ref[..., None], out[..., None]
    if min(ref.shape[:2]) < 3:
        return float("nan")
    return float(structural_similarity(ref, out, data_range=255.0, channel_axis=-1,
                                       win_size=ssim_window(*ref.shape[:2])))


class Score:
    """Running totals for one method on one degradation: pooled colour and alpha MSE, mean SSIM."""

    def __init__(self):
        self.sq, self.count = 0.0, 0
        self.alpha_sq, self.alpha_count = 0.0, 0
        self.ssim_sum, self.ssim_tiles = 0.0, 0

    def add(self, references: np.ndarray, outputs: np.ndarray) -> None:
        """A group of same-size tiles: [N, H, W, 4] uint8 originals and results."""
        ref, out = colour(references), colour(outputs)
        self.sq += float(np.sum((ref - out) ** 2))
        self.count += ref.size
        has_alpha = (references[..., 3] < 255).any(axis=(1, 2))
        if has_alpha.any():
            a = references[has_alpha][..., 3].astype(np.float64) - outputs[has_alpha][..., 3]
            self.alpha_sq += float(np.sum(a * a))
            self.alpha_count += a.size
        value = ssim(ref, out)
        if not np.isnan(value):
            self.ssim_sum += value * len(ref)
            self.ssim_tiles += len(ref)

    @property
    def psnr(self) -> float:
        return psnr_from_mse(self.sq / self.count) if self.count else float("nan")

    @property
    def alpha_psnr(self) -> float | None:
        return psnr_from_mse(self.alpha_sq / self.alpha_count) if self.alpha_count else None

    @property
    def ssim(self) -> float:
        return self.ssim_sum / self.ssim_tiles if self.ssim_tiles else float("nan")
