"""The tile dataset: read once into one uint8 tensor, split by content, augment on the fly.

Data flow: tiles (manifold_core.tiles) -> **dataset** -> model -> trainer.

No PIL work inside the training loop: `load_tileset` decodes every image up front
(a few thousand 32x32 tiles are a few MB), and `augment` works on whole batches of tensors.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from manifold_core.tiles import Grid, collect_tiles, is_empty, resize_tile, rgba_to_channels


@dataclass
class TileSet:
    train: torch.Tensor  # uint8 [N, C, S, S]
    val: torch.Tensor  # uint8 [M, C, S, S]
    stats: dict = field(default_factory=dict)


def content_hash(tile: np.ndarray) -> str:
    return hashlib.sha1(tile.tobytes()).hexdigest()


def crops(tile: np.ndarray, size: int) -> list[np.ndarray]:
    """The size x size squares a tile is made of, row by row; none when it is smaller."""
    h, w = tile.shape[:2]
    return [tile[y:y + size, x:x + size] for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]


def load_tileset(inputs: list[str | Path], channels: int, size: int, grid: Grid | None = None,
                 val_percent: int = 10, resample: bool = True) -> TileSet:
    """Tiles from files, folders or sheets -> deduplicated train/validation tensors.

    resample: every tile is resized to size x size (the global kind's encoder input); without
    it tiles keep their pixels (the local kind learns to upscale real pixels): larger tiles are
    cut into size x size squares and smaller ones are left out (counted as too_small).
    Fully transparent tiles and exact duplicates (after conversion) are dropped. A tile goes
    to validation when its content hash falls in the first `val_percent` of 100 buckets, so
    the split never depends on file order or on which other tiles are present.
    """
    names, tiles = collect_tiles(inputs, grid)
    too_small = 0
    if resample:
        tiles = [resize_tile(t, size) for t in tiles]
    else:
        squares = [crops(t, size) for t in tiles]
        too_small = sum(not s for s in squares)
        tiles = [c for s in squares for c in s]
    rgba = np.stack(tiles) if tiles else np.zeros((0, size, size, 4), np.uint8)
    empty = is_empty(rgba)
    data = rgba_to_channels(rgba[~empty], channels)
    seen, train, val = set(), [], []
    for tile in data:
        digest = content_hash(tile)
        if digest in seen:
            continue
        seen.add(digest)
        (val if int(digest[:8], 16) % 100 < val_percent else train).append(tile)
    stats = {"found": len(names), "empty": int(empty.sum()), "duplicates": int((~empty).sum()) - len(seen),
             "too_small": too_small, "train": len(train), "val": len(val)}
    stack = lambda xs: torch.from_numpy(np.stack(xs)) if xs else torch.zeros((0, channels, size, size), dtype=torch.uint8)
    return TileSet(stack(train), stack(val), stats)


def augment(batch: torch.Tensor, generator: torch.Generator, max_shift: int = 1) -> torch.Tensor:
    """Random horizontal and vertical flips and cyclic shifts of up to `max_shift` pixels, per tile.

    Works on a uint8 or float batch [B, C, H, W] on any device; every tile gets its own draw.
    """
    B, C, H, W = batch.shape
    device = batch.device
    draw = lambda *shape, high=2: torch.randint(0, high, shape, generator=generator, device=generator.device).to(device)
    flip_x, flip_y = draw(B).bool(), draw(B).bool()
    shift_x, shift_y = draw(B, high=2 * max_shift + 1) - max_shift, draw(B, high=2 * max_shift + 1) - max_shift
    cols = torch.arange(W, device=device).expand(B, W)
    rows = torch.arange(H, device=device).expand(B, H)
    # A flip reverses the index order; a shift rolls it. Both become one gather per axis.
    cols = (torch.where(flip_x[:, None], W - 1 - cols, cols) - shift_x[:, None]) % W
    rows = (torch.where(flip_y[:, None], H - 1 - rows, rows) - shift_y[:, None]) % H
    batch = batch.gather(3, cols[:, None, None, :].expand(B, C, H, W))
    return batch.gather(2, rows[:, None, :, None].expand(B, C, H, W))
