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
from manifold_core.errors import UserError
from manifold_core.tiles import Grid, find_images, read_rgba, slice_sheet, write_png

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
        raise UserError(f"-o {out} is the input itself; inputs are never overwritten, choose another output")
    if source.is_dir() and dst.is_relative_to(src):
        raise UserError(f"-o {out} is inside the input folder {source}; choose a folder outside it")
    if source.is_dir() and dst.exists() and not dst.is_dir():
        raise UserError(f"-o {out} is a file; give a folder for a folder of tiles")


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
        raise UserError(f"{source}: no tile images in this folder")
    targets = [out / path.relative_to(source).with_suffix(".png") for path in files]
    if len(set(targets)) < len(targets):
        raise UserError(f"{source}: two images differ only in their suffix (e.g. a.png and a.gif); "
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


# ---------------------------------------------------------------- tileset sheets
@dataclass
class Sheet:
    """A tileset sheet cut into its cells: tiles [rows * cols, th, tw, 4] in Tiled's order."""

    tiles: np.ndarray
    cols: int
    rows: int
    grid: Grid


def scale_length(value: int, factor: float) -> int:
    """A pixel length scaled and rounded half up (never Python's round-half-to-even)."""
    return int(np.floor(value * factor + 0.5))


def scaled_grid(grid: Grid, height: int, width: int) -> Grid:
    """The grid of the rendered sheet: tiles width x height, margin and spacing scaled alike.

    Margin and spacing are one number each for both axes (as in Tiled), so with different
    factors per axis they follow the smaller one.
    """
    factor = min(width / grid.tile_width, height / grid.tile_height)
    return Grid(width, height, scale_length(grid.margin, factor), scale_length(grid.spacing, factor))


def read_sheet(source: Path, grid: Grid) -> Sheet:
    """Read and cut a sheet; a UserError naming the sizes that fit when it is not a grid of `grid`."""
    if grid.tile_width < 1 or grid.tile_height < 1 or grid.margin < 0 or grid.spacing < 0:
        raise UserError(f"--tile-size must be at least 1 and --margin, --spacing at least 0 "
                        f"(got {grid.tile_width}x{grid.tile_height}, {grid.margin}, {grid.spacing})")
    image = read_rgba(source)
    cols, rows = grid.shape(image.shape[1], image.shape[0], str(source))
    return Sheet(slice_sheet(image, grid, str(source)), cols, rows, grid)


def render_sheet(model: TileModel, sheet: Sheet, height: int, width: int,
                 advance: Callable[[int], None] = lambda n: None) -> tuple[np.ndarray, Grid]:
    """Render every cell at width x height and lay them out on the scaled grid (empty cells stay empty)."""
    grid = scaled_grid(sheet.grid, height, width)
    out = np.zeros((grid.extent(sheet.rows, height), grid.extent(sheet.cols, width), 4), np.uint8)
    index = 0
    for chunk in model.render(sheet.tiles, height, width):
        for tile in chunk:
            x, y = grid.origin(index % sheet.cols, index // sheet.cols)
            out[y:y + height, x:x + width] = tile
            index += 1
        advance(len(chunk))
    return out, grid


def upscale_sheet(model: TileModel, sheet: Sheet, out: Path, height: int, width: int,
                  advance: Callable[[int], None] = lambda n: None) -> Summary:
    """A tileset sheet -> one sheet with the same grid of tiles rendered at width x height."""
    t0 = time.perf_counter()
    image, _ = render_sheet(model, sheet, height, width, advance)
    save_atomic(out, image)
    return Summary(len(sheet.tiles), time.perf_counter() - t0, model.provider, out)
