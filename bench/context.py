"""What every section of a run shares: the model measured, the held-out tiles, the notes, a
temporary work folder, and the run's options (`Context`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from manifold_core.card import ModelCard
from manifold_core.tiles import Grid, channels_to_rgba, is_empty, rgba_to_channels

SHEETS = ("wall", "floor", "feat")  # the Crawl sheets in --data (scripts/crawl_tiles.py fetches them)
TILE = 32  # the tile size fed to models that take any size (local kind), and the RGBA tiles' size


class Tiles(NamedTuple):
    """Held-out and training tiles [N, C, S, S] uint8 in some model's channels, and where they came from."""

    val: np.ndarray
    train: np.ndarray
    source: str


@dataclass
class Context:
    """One run's shared state. Sections read it and add notes; the tiles are loaded on first use."""

    model_dir: Path  # the model measured: --model, else the embedded default
    given: Path | None  # --model as given (None: the embedded default)
    card: ModelCard
    data: Path  # where the Crawl sheets are (procedural tiles where they are not)
    quick: bool
    work: Path  # a temporary folder of this run, removed after it
    log: Callable[[str], None] = lambda s: None
    memory_tiles: int | None = None  # the memory section's tile count (default: its own)
    quality_inputs: int | None = None  # the quality section's inputs per recipe (default: its own)
    notes: list[str] = field(default_factory=list)  # what was skipped or compared instead

    @property
    def rounds(self) -> int:
        """Rounds of the interleaved timings, unless a section says otherwise."""
        return 3 if self.quick else 5

    def note(self, text: str) -> None:
        self.notes.append(text)

    @cached_property
    def tiles(self) -> Tiles:
        """Tiles in the model's channels at its input size (32 px for a model that takes any size)."""
        return held_out_tiles(self.data, self.card.channels, self.card.input_size or TILE)

    @cached_property
    def rgba_tiles(self) -> Tiles:
        """RGBA tiles at 32 px (the upscalers' input and the training step's): the same as `tiles` where
        the model takes those."""
        if (self.card.channels, self.card.input_size or TILE) == (4, TILE):
            return self.tiles
        return held_out_tiles(self.data, 4, TILE)


def held_out_tiles(data: Path, channels: int, size: int) -> Tiles:
    """The Crawl sheets' tiles as the trainer splits them (10 % held out by content hash); procedural
    tiles where the sheets are missing."""
    sheets = [data / f"{s}.png" for s in SHEETS]
    if all(p.exists() for p in sheets):
        from manifold_train.data import load_tileset

        tiles = load_tileset([str(p) for p in sheets], channels, size, Grid(TILE, TILE), val_percent=10)
        return Tiles(tiles.val.numpy(), tiles.train.numpy(), f"Dungeon Crawl held-out split ({data}/)")
    from manifold_core.synthetic import make_tiles
    from manifold_core.tiles import resize_tile

    def procedural(count, seed):
        rgba = make_tiles(count, TILE, seed=seed)
        rgba = np.stack([resize_tile(t, size) for t in rgba[~is_empty(rgba)]])
        return rgba_to_channels(rgba, channels)

    return Tiles(procedural(300, 1), procedural(1024, 2), f"procedural tiles (no Crawl sheets in {data})")


def to_rgba(tiles: np.ndarray) -> np.ndarray:
    """[N, C, S, S] uint8 model channels -> [N, S, S, 4] RGBA uint8, what the runtime takes."""
    return channels_to_rgba(tiles.astype(np.float32) / 255)


def write_tiles(folder: Path, count: int, seed: int = 0) -> None:
    """`count` procedural 32x32 RGBA tiles as one PNG each (tile_00000.png, ...) in a new folder."""
    from manifold_core.synthetic import make_tiles
    from manifold_core.tiles import write_png

    folder.mkdir(parents=True, exist_ok=True)
    done = 0
    while done < count:  # in parts: never all tiles in memory at once
        part = make_tiles(min(1000, count - done), TILE, seed=seed + done)
        for tile in part:
            write_png(folder / f"tile_{done:05d}.png", tile)
            done += 1
