"""Tile image I/O: read any image as RGBA, cut tileset sheets, convert to a model's channels.

Data flow: **tiles** -> dataset (training) or runtime (upscaling); the first step of both.

numpy + Pillow only; training and the runtime both read tiles through here, so a tile looks
the same to the model at training time and at upscaling time.
Arrays are uint8, tiles are [H, W, 4] RGBA, batches of model input are [N, C, S, S].
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .errors import UserError, shown
from .files import is_temporary

IMAGE_SUFFIXES = (".png", ".gif", ".bmp", ".webp", ".jpg", ".jpeg", ".tga")


# ---------------------------------------------------------------- reading
def image_to_rgba(image: Image.Image) -> np.ndarray:
    """Any PIL mode (palette, grey, grey+alpha, RGB, RGBA, 16- and 32-bit grey) -> [H, W, 4] uint8."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # Pillow's convert() clips 16-bit grey to 255 instead of scaling it.
        grey = np.asarray(image, dtype=np.uint32)
        peak = 65535 if image.mode != "I" or grey.max() > 255 else 255
        grey = (grey * 255 // peak).clip(0, 255).astype(np.uint8)
        image = Image.fromarray(grey, "L")
    elif image.mode == "F":
        grey = np.asarray(image, dtype=np.float32)
        image = Image.fromarray((grey.clip(0, 1) * 255 + 0.5).astype(np.uint8), "L")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")  # via PA keeps the palette's transparent index
    return np.array(image.convert("RGBA"), dtype=np.uint8)


def read_rgba(path: str | Path) -> np.ndarray:
    """An image file -> [H, W, 4] uint8 RGBA (first frame); a UserError naming the file for anything
    that is not a readable image: missing, a folder, a FIFO or device (refused before reading, so
    it cannot block), a broken or hostile file, one over Pillow's decompression-bomb limit."""
    path = Path(path)
    try:  # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then refuses it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise UserError(f"{shown(path)}: no such file") from None
    except OSError as exc:
        raise UserError(f"{shown(path)}: cannot be read ({exc.strerror or exc.__class__.__name__})") from None
    with os.fdopen(fd, "rb") as stream:
        kind = os.fstat(fd).st_mode
        if not stat.S_ISREG(kind):
            what = "a folder" if stat.S_ISDIR(kind) else "a FIFO" if stat.S_ISFIFO(kind) else "not a regular file"
            raise UserError(f"{shown(path)}: {what}, not an image file; give a file")
        try:
            with Image.open(stream) as image:
                image.seek(0)  # first frame of an animated gif/webp
                return image_to_rgba(image)
        except Image.DecompressionBombError:
            raise UserError(f"{shown(path)}: larger than Pillow opens safely ({Image.MAX_IMAGE_PIXELS:,} pixels; "
                            "its guard against decompression bombs); split the image") from None
        except MemoryError:
            raise UserError(f"{shown(path)}: too large to read into memory") from None
        except Exception as exc:  # noqa: BLE001 - whatever a decoder raises on a broken or hostile file
            raise UserError(f"{shown(path)}: not an image Pillow can read ({exc.__class__.__name__})") from None


def find_images(folder: str | Path) -> list[Path]:
    """Image files under `folder`, recursively, in a stable order; our own temporaries (an
    interrupted run's leftovers, see manifold_core.files) are never picked up.

    The walk keeps its own stack (a folder nested thousands of levels deep is no RecursionError);
    as pathlib's rglob did, it lists symlinked files but does not descend into symlinked folders,
    so a link loop cannot make it run forever."""
    folder = Path(folder)
    found, stack, seen = [], [folder], set()
    while stack:
        current = stack.pop()
        try:
            st = os.stat(current)
            if (st.st_dev, st.st_ino) in seen:
                continue
            seen.add((st.st_dev, st.st_ino))
            entries = list(os.scandir(current))
        except OSError:
            continue  # unreadable or gone: its files are not there to read
        for entry in entries:
            if is_temporary(entry.name):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif Path(entry.name).suffix.lower() in IMAGE_SUFFIXES and entry.is_file():
                    found.append(Path(entry.path))
            except OSError:
                continue
    return sorted(found)


# ---------------------------------------------------------------- sheets
@dataclass(frozen=True)
class Grid:
    """Tiled's tileset geometry: `margin` around the sheet, `spacing` between tiles."""

    tile_width: int
    tile_height: int
    margin: int = 0
    spacing: int = 0

    def count(self, extent: int, tile: int) -> tuple[int, int]:
        """(whole tiles, pixels left over) along one side: integer arithmetic, so a spacing of 2**63
        is not rounded into a fit."""
        return divmod(extent - 2 * self.margin + self.spacing, tile + self.spacing)

    def extent(self, n: int, tile: int) -> int:
        return 2 * self.margin + n * tile + max(n - 1, 0) * self.spacing

    def shape(self, width: int, height: int, name: str = "sheet") -> tuple[int, int]:
        """(columns, rows) of a width x height sheet, or a UserError naming the sizes that fit."""
        (cols, cols_left), (rows, rows_left) = self.count(width, self.tile_width), self.count(height, self.tile_height)
        if cols >= 1 and rows >= 1 and not cols_left and not rows_left:
            return cols, rows
        fits = lambda n, tile: sorted({self.extent(max(1, k), tile) for k in (max(n, 0), max(n, 0) + 1)})
        widths, heights = fits(cols, self.tile_width), fits(rows, self.tile_height)
        raise UserError(
            f"{name} is {width}x{height} px, which is not a grid of {self.tile_width}x{self.tile_height} tiles "
            f"with margin {self.margin} and spacing {self.spacing}; widths that fit: {' or '.join(map(str, widths))}, "
            f"heights that fit: {' or '.join(map(str, heights))} (check --tile-size, --margin, --spacing)")

    def origin(self, col: int, row: int) -> tuple[int, int]:
        return (self.margin + col * (self.tile_width + self.spacing),
                self.margin + row * (self.tile_height + self.spacing))


@dataclass
class Sheet:
    """A tileset sheet cut into its cells: tiles [rows * cols, th, tw, 4] in Tiled's order."""

    tiles: np.ndarray
    cols: int
    rows: int
    grid: Grid


def slice_sheet(sheet: np.ndarray, grid: Grid, name: str = "sheet") -> np.ndarray:
    """[H, W, 4] sheet -> [rows * columns, th, tw, 4] tiles in row-major order (Tiled's tile ids)."""
    cols, rows = grid.shape(sheet.shape[1], sheet.shape[0], name)
    tiles = np.empty((rows * cols, grid.tile_height, grid.tile_width, sheet.shape[2]), dtype=sheet.dtype)
    for r in range(rows):
        for c in range(cols):
            x, y = grid.origin(c, r)
            tiles[r * cols + c] = sheet[y:y + grid.tile_height, x:x + grid.tile_width]
    return tiles


# ---------------------------------------------------------------- conversion
def resize_tile(tile: np.ndarray, size: int) -> np.ndarray:
    """Bring an RGBA tile to size x size: nearest for integer factors (pixel art stays crisp), Lanczos otherwise."""
    h, w = tile.shape[:2]
    if (h, w) == (size, size):
        return tile
    integer = all(size % n == 0 or n % size == 0 for n in (h, w))
    resample = Image.Resampling.NEAREST if integer else Image.Resampling.LANCZOS
    # Pillow premultiplies alpha for the filtered modes, so transparent colours do not bleed.
    return np.array(Image.fromarray(tile, "RGBA").resize((size, size), resample), dtype=np.uint8)


def is_empty(tiles: np.ndarray) -> np.ndarray:
    """[N, H, W, 4] -> [N] bool: fully transparent tiles."""
    return (tiles[..., 3] == 0).all(axis=(1, 2))


def rgba_to_channels(tiles: np.ndarray, channels: int) -> np.ndarray:
    """[N, H, W, 4] RGBA -> [N, C, H, W] uint8 model input.

    4: RGBA, with the colour under fully transparent pixels set to 0 (it is arbitrary in most
    tilesets and would only be noise to learn). 3: colour composited over black. 1: the
    luminance (ITU-R 601) of that.
    """
    tiles = tiles.astype(np.float32)
    alpha = tiles[..., 3:4] / 255.0
    if channels == 4:
        rgb = np.where(alpha > 0, tiles[..., :3], 0.0)
        out = np.concatenate([rgb, tiles[..., 3:4]], axis=-1)
    elif channels == 3:
        out = tiles[..., :3] * alpha
    elif channels == 1:
        out = (tiles[..., :3] * alpha) @ np.array([[0.299], [0.587], [0.114]], dtype=np.float32)
    else:
        raise ValueError(f"channels must be 1, 3 or 4, got {channels}")
    return np.rint(out).clip(0, 255).astype(np.uint8).transpose(0, 3, 1, 2)


def premultiply(images: np.ndarray) -> np.ndarray:
    """Float RGBA [N, 4, H, W] in [0, 1]: colour times alpha, in place (fewer channels: unchanged)."""
    if images.shape[1] == 4:
        images[:, :3] *= images[:, 3:4]
    return images


def unpremultiply(images: np.ndarray) -> np.ndarray:
    """The inverse of premultiply, in place; colour 0 where alpha rounds to 0."""
    if images.shape[1] == 4:
        alpha = images[:, 3:4]
        images[:, :3] = np.where(alpha > 0.5 / 255, images[:, :3] / np.maximum(alpha, 1e-6), 0)
    return images


def channels_to_rgba(images: np.ndarray, alpha: np.ndarray | None = None) -> np.ndarray:
    """[N, C, H, W] float in [0, 1] -> [N, H, W, 4] uint8; `alpha` [N, H, W] uint8 for models without one."""
    images = np.rint(np.clip(images, 0, 1) * 255).astype(np.uint8).transpose(0, 2, 3, 1)
    n, h, w, c = images.shape
    if c == 4:
        return np.ascontiguousarray(images)
    rgb = np.repeat(images, 3, axis=-1) if c == 1 else images
    a = alpha[..., None] if alpha is not None else np.full((n, h, w, 1), 255, np.uint8)
    return np.concatenate([rgb, a], axis=-1)


def checkerboard(height: int, width: int, cell: int = 4) -> np.ndarray:
    """A light/dark grey checkerboard [height, width, 3] in [0, 1], the usual backdrop for transparency."""
    yy, xx = np.mgrid[:height, :width]
    board = ((yy // cell + xx // cell) % 2).astype(np.float32)
    return np.repeat((0.75 + 0.15 * board)[..., None], 3, axis=-1)


def write_png(path: str | Path, rgba: np.ndarray) -> None:
    """An RGBA PNG marked as manifold's (files.png_info), so a rerun may replace it and nothing else."""
    from .files import png_info

    Image.fromarray(rgba, "RGBA").save(path, format="PNG", pnginfo=png_info())  # a temporary's name may not end in .png


def collect_tiles(inputs: list[str | Path], grid: Grid | None = None) -> tuple[list[str], list[np.ndarray]]:
    """Every tile in files and folders: one tile per image, or, with a `grid`, every cell of each sheet.

    Returns (names, RGBA tiles); a sheet cell is named `sheet.png#row,col`.
    """
    names, tiles = [], []
    for source in inputs:
        source = Path(source)
        if source.is_dir():
            files = find_images(source)
            if not files:
                raise UserError(f"{source}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        elif source.exists():
            files = [source]
        else:
            raise UserError(f"{source}: no such file or folder")
        for path in files:
            image = read_rgba(path)
            if grid is None:
                names.append(str(path))
                tiles.append(image)
                continue
            cols, _ = grid.shape(image.shape[1], image.shape[0], str(path))
            for i, tile in enumerate(slice_sheet(image, grid, str(path))):
                names.append(f"{path}#{i // cols},{i % cols}")
                tiles.append(tile)
    return names, tiles
