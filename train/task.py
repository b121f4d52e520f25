"""The upscaling task: a shrunk, degraded copy of each tile in, the tile asked for.

Data flow: dataset -> **task** (driven by config.TaskConfig) -> the kinds that learn to upscale
(their training_query) -> trainer. The networks know nothing of degradations; this module
owns them, as basicsr's "model" owns the degradations apart from its "arch".

Shrinking works on colour premultiplied by alpha, as `manifold eval` shrinks tiles, so a
transparent pixel's (meaningless) colour never bleeds into its neighbours. These are torch
versions of core/tiles.py's numpy premultiply, on [B, C, H, W] float batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .config import DEGRADATIONS, TaskConfig

CENTER = (0.5, 0.5)  # nearest shrinking at each footprint's centre, like Pillow's NEAREST


def premultiply(x: torch.Tensor) -> torch.Tensor:
    """RGBA [B, 4, H, W] straight -> colour times alpha (other channel counts unchanged)."""
    return torch.cat([x[:, :3] * x[:, 3:], x[:, 3:]], 1) if x.shape[1] == 4 else x


def unpremultiply(x: torch.Tensor) -> torch.Tensor:
    """The inverse, colour 0 where alpha is (almost) 0."""
    if x.shape[1] != 4:
        return x
    alpha = x[:, 3:]
    return torch.cat([torch.where(alpha > 0.5 / 255, x[:, :3] / alpha.clamp_min(1e-6), 0).clamp(0, 1), alpha], 1)


def nearest_indices(source: int, size: int, phase: float, device=None) -> torch.Tensor:
    """Which of `source` pixels nearest shrinking to `size` keeps: floor((i + phase) * source / size)
    for phase in [0, 1); 0.5 is each footprint's centre (Pillow's NEAREST, torch's nearest-exact)."""
    i = torch.arange(size, device=device, dtype=torch.float64)
    return torch.floor((i + phase) * source / size).clamp(0, source - 1).to(torch.int64)


def shrink(x: torch.Tensor, size: int, degradation: str, phase: tuple[float, float] = CENTER) -> torch.Tensor:
    """[B, C, S, S] in [0, 1], RGBA premultiplied -> [B, C, size, size], as `manifold eval` shrinks
    tiles: box: area average (the blurred case); nearest: one pixel of each footprint, at `phase`
    (x, y) inside it (the crisp, aliased case); bicubic: antialiased bicubic; majority: the pixel
    of each footprint closest to its average (crisp, and no phase: how art drawn at the small size
    covers a shape; where size does not divide S, nearest at `phase`); none: unchanged."""
    S = x.shape[-1]
    if degradation == "none" or size == S:
        return x
    if degradation == "majority":
        if S % size or x.shape[-2] % size:
            return shrink(x, size, "nearest", phase)
        return majority(x, S // size)
    if degradation == "nearest":
        rows = nearest_indices(x.shape[-2], size, phase[1], x.device)
        cols = nearest_indices(S, size, phase[0], x.device)
        return x[:, :, rows][:, :, :, cols]
    if degradation == "box":
        return F.interpolate(x, size=(size, size), mode="area")
    if degradation == "bicubic":
        return F.interpolate(x, size=(size, size), mode="bicubic", antialias=True, align_corners=False).clamp(0, 1)
    raise ValueError(f"degradation must be one of {DEGRADATIONS} or 'none', got {degradation!r}")


def majority(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Each factor x factor footprint -> the one of its pixels closest to the footprint's average
    colour (premultiplied RGBA): a crisp shrink that keeps the colour covering most of it."""
    B, C, H, W = x.shape
    blocks = x.reshape(B, C, H // factor, factor, W // factor, factor).permute(0, 2, 4, 1, 3, 5)
    blocks = blocks.reshape(B, H // factor, W // factor, C, factor * factor)
    mean = blocks.mean(-1, keepdim=True)
    pick = ((blocks - mean) ** 2).sum(-2).argmin(-1)  # [B, h, w]
    chosen = blocks.gather(-1, pick[..., None, None].expand(B, H // factor, W // factor, C, 1))[..., 0]
    return chosen.permute(0, 3, 1, 2)


@dataclass(frozen=True)
class Draw:
    """One batch's task: the shrunk tiles (premultiplied, 8-bit colours, as the runtime feeds
    them), their size, and the edge mode the encoder's padding uses."""

    low: torch.Tensor  # [B, C, size, size]
    size: int
    edges: str  # "clamp" or "wrap"
    degradation: str


def draw(x: torch.Tensor, generator: torch.Generator, task: TaskConfig) -> Draw:
    """A random task for tiles x [B, C, S, S] (premultiplied): the scale, the degradation, the
    sampling phase and the edges are drawn once per batch from `task`'s shares."""
    S = x.shape[-1]
    rand = lambda: torch.rand((), generator=generator).item()
    r = rand()
    if r < task.round_trip:
        size, degradation = S, "none"
    else:
        scale = 2.0 if r < task.round_trip + task.scale_two else 1 + (task.max_scale - 1) * rand()
        size = max(2, min(S, round(S / scale)))
        degradation = task.degradations[int(rand() * len(task.degradations))]
    phase = (rand(), rand()) if task.phase == "random" and degradation == "nearest" else CENTER
    low = torch.round(shrink(x, size, degradation, phase) * 255) / 255
    return Draw(low, size, "wrap" if rand() < task.wrap else "clamp", degradation)

