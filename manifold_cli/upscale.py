"""What `manifold upscale` does with each kind of input: read tiles, render, write results.

Inputs are never written to: outputs go to a new path, each file written to a temporary
name and renamed, so an interrupted run leaves no half-written image behind.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .runtime import TileModel
from .tiles import TileError, find_images, read_rgba, write_png

FILES_PER_CHUNK = 256  # input files read, rendered and written together


@dataclass
class Summary:
    tiles: int
    seconds: float
    provider: str
    output: Path

    @property
    def tiles_per_s(self) -> float:
        return self.tiles / self.seconds if self.seconds > 0 else float("inf")


def resolution_tag(height: int, width: int) -> str:
    return str(width) if width == height else f"{width}x{height}"


def default_output(source: Path, height: int, width: int) -> Path:
    """tiles/ -> tiles-64/ ; sheet.png -> sheet-64.png (beside the input)."""
    tag = resolution_tag(height, width)
    if source.is_dir():
        return source.with_name(f"{source.name}-{tag}")
    return source.with_name(f"{source.stem}-{tag}.png")


def check_output(source: Path, out: Path) -> None:
    src, dst = source.resolve(), out.resolve()
    if src == dst:
        raise TileError(f"-o {out} is the input itself; inputs are never overwritten, choose another output")
    if source.is_dir() and dst.is_relative_to(src):
        raise TileError(f"-o {out} is inside the input folder {source}; choose a folder outside it")
    if source.is_dir() and dst.exists() and not dst.is_dir():
        raise TileError(f"-o {out} is a file; give a folder for a folder of tiles")


def save_atomic(path: Path, rgba: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp.png")
    write_png(tmp, rgba)
    os.replace(tmp, path)


def upscale_folder(model: TileModel, source: Path, out: Path, height: int, width: int,
                   advance: Callable[[int], None] = lambda n: None, files: list[Path] | None = None) -> Summary:
    """One PNG per input image, same relative name (suffix .png), into `out`."""
    files = files if files is not None else find_images(source)
    if not files:
        raise TileError(f"{source}: no tile images in this folder")
    targets = [out / path.relative_to(source).with_suffix(".png") for path in files]
    if len(set(targets)) < len(targets):
        raise TileError(f"{source}: two images differ only in their suffix (e.g. a.png and a.gif); "
                        f"both would become the same .png")
    t0 = time.perf_counter()
    for start in range(0, len(files), FILES_PER_CHUNK):
        chunk = files[start:start + FILES_PER_CHUNK]
        tiles = [read_rgba(p) for p in chunk]
        shapes = {t.shape for t in tiles}
        # Tiles of one size render as one batch; mixed sizes go one by one.
        batches = [np.stack(tiles)] if len(shapes) == 1 else [t[None] for t in tiles]
        rendered = np.concatenate([np.concatenate(list(model.render(b, height, width))) for b in batches])
        for target, rgba in zip(targets[start:start + FILES_PER_CHUNK], rendered):
            save_atomic(target, rgba)
        advance(len(chunk))
    return Summary(len(files), time.perf_counter() - t0, model.provider, out)


def upscale_image(model: TileModel, source: Path, out: Path, height: int, width: int,
                  advance: Callable[[int], None] = lambda n: None) -> Summary:
    """A single tile image -> one rendered PNG."""
    t0 = time.perf_counter()
    tile = read_rgba(source)
    rgba = np.concatenate(list(model.render(tile[None], height, width)))[0]
    save_atomic(out, rgba)
    advance(1)
    return Summary(1, time.perf_counter() - t0, model.provider, out)
