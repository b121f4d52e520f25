"""PSNR and SSIM of upscaled tiles against the originals; consistency, palette fidelity and
alpha hardness of upscaled crisp originals (which have no ground truth).

Data flow: tiles -> degrade -> scalers -> **metrics** -> report.

Colour is scored premultiplied by alpha, which is the same as composited over black: a
pixel's colour counts as much as it is visible, and the colour under a fully transparent
pixel (arbitrary in most tilesets) counts not at all. Alpha is scored on its own, on the
tiles that have any transparency. Both in 0..255.

PSNR is pooled over a set: 10 log10(255^2 / mean squared error over every pixel of every
tile), so one exact tile does not make the mean infinite; an exact set scores PSNR_CAP.
SSIM is scikit-image's (uniform 7x7 window, or the largest odd window that fits a smaller
tile, at least 3), the mean over tiles and channels.

Originals (`OriginalsScore`, for tiles upscaled by s with no ground truth):
- consistency: the output shrunk back by box over each source pixel's footprint (degrade.shrink_to),
  against the source: PSNR of the premultiplied colour, pooled. Added outlines, swelling, shifts
  and colour drift lower it; nearest scores exact.
- palette fidelity: the share of output pixels within PALETTE_TOLERANCE levels, in every RGBA
  channel (Chebyshev distance on straight RGBA; fully transparent pixels are all (0, 0, 0, 0)),
  of some colour of their own source tile.
- alpha hardness: over the sources with transparency whose alpha is only 0 or 255, the share of
  output pixels whose alpha is 0 or 255.
"""

from __future__ import annotations

import numpy as np

from .degrade import shrink_to, straight_to_premultiplied

PSNR_CAP = 100.0  # dB: what an exact result scores (JSON has no infinity)
PALETTE_TOLERANCE = 8  # levels of 255, per channel: within this of a source colour is "in the palette"


def colour(tile: np.ndarray) -> np.ndarray:
    """[..., 4] uint8 RGBA -> [..., 3] float64 premultiplied colour in 0..255."""
    return straight_to_premultiplied(tile)[..., :3]


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

    @classmethod
    def pooled(cls, scores: list["Score"]) -> "Score":
        """One Score over every pixel of several (the phases of one method): the sums added up."""
        total = cls()
        for s in scores:
            total.sq, total.count = total.sq + s.sq, total.count + s.count
            total.alpha_sq, total.alpha_count = total.alpha_sq + s.alpha_sq, total.alpha_count + s.alpha_count
            total.ssim_sum, total.ssim_tiles = total.ssim_sum + s.ssim_sum, total.ssim_tiles + s.ssim_tiles
        return total


# ---------------------------------------------------------------- originals (no ground truth)
def has_hard_alpha(tile: np.ndarray) -> bool:
    """Some transparency, and every alpha value 0 or 255 (a sprite cut out with hard edges)."""
    alpha = tile[..., 3]
    return bool((alpha < 255).any() and np.isin(alpha, (0, 255)).all())


def palette_hits(source: np.ndarray, output: np.ndarray, tolerance: int = PALETTE_TOLERANCE) -> int:
    """How many pixels of `output` lie within `tolerance` (every RGBA channel) of a colour of `source`;
    both [H, W, 4] uint8, fully transparent pixels counted as (0, 0, 0, 0)."""
    from scipy.spatial import cKDTree

    def colours(tile):  # the distinct colours (as [K, 4] floats) and how often each occurs
        t = np.array(tile, dtype=np.uint8).reshape(-1, 4)
        t[t[:, 3] == 0] = 0
        values, counts = np.unique(t.view("<u4")[:, 0], return_counts=True)  # one 32-bit value a pixel: fast
        return values[:, None].view(np.uint8).astype(np.float64), counts

    palette, _ = colours(source)
    seen, counts = colours(output)
    distance, _ = cKDTree(palette).query(seen, k=1, p=np.inf, distance_upper_bound=tolerance + 0.5)
    return int(counts[np.isfinite(distance)].sum())


class OriginalsScore:
    """Running totals for one method on crisp originals: consistency, palette fidelity, alpha hardness."""

    def __init__(self):
        self.sq, self.count = 0.0, 0
        self.hits, self.pixels = 0, 0
        self.hard, self.alpha_pixels, self.alpha_tiles = 0, 0, 0

    def add(self, sources: np.ndarray, outputs: np.ndarray) -> None:
        """Same-size sources [N, h, w, 4] and their upscaled outputs [N, H, W, 4], uint8."""
        h, w = sources.shape[1:3]
        back = np.stack([shrink_to(o, h, w) for o in outputs])
        diff = colour(sources) - colour(back)
        self.sq += float(np.sum(diff * diff))
        self.count += diff.size
        for source, output in zip(sources, outputs):
            self.hits += palette_hits(source, output)
            self.pixels += output.shape[0] * output.shape[1]
            if has_hard_alpha(source):
                self.hard += int(np.isin(output[..., 3], (0, 255)).sum())
                self.alpha_pixels += output.shape[0] * output.shape[1]
                self.alpha_tiles += 1

    @property
    def consistency(self) -> float:
        return psnr_from_mse(self.sq / self.count) if self.count else float("nan")

    @property
    def palette(self) -> float:
        return self.hits / self.pixels if self.pixels else float("nan")

    @property
    def alpha_hardness(self) -> float | None:
        return self.hard / self.alpha_pixels if self.alpha_pixels else None
