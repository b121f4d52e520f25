"""What `manifold upscale` does with each kind of input: a plan that reads and checks, then renders
and writes.

Data flow: tiles -> runtime -> **CLI input/output** (folders, images, sheets; Tiled in tiled.py)
-> files on disk.

    plan = make_plan(source, out, (height, width), grid)   # reads and checks; nothing is written
    plan = make_plan(source, out, Scale(4), grid)           # --res 4x: each tile times its own size
    summary = plan.run(model, RenderOptions(...), advance)

Every kind of input is a Plan with the same small interface (`tiles`, `output`, `files`,
`inputs`, `run`), chosen by `make_plan` alone, so the command does not branch on the input.

Inputs are never written to: `run` protects every file it read (manifold_core.files refuses
them as outputs). Outputs go through manifold_core.files: each file is written to a new
temporary beside it and renamed, so an interrupted run leaves no half-written image, and a
killed run's temporaries are removed by the next run over that folder.

A folder is done file by file: every readable tile is rendered and written, and each file that
cannot be read is named in `Summary.skipped` (the CLI then exits with status 3, "done, some
files skipped"). One image, a sheet and a Tiled file are all-or-nothing.

Before anything is allocated, `check_memory` compares what the render will need (the figures
measured for `TileModel.render`, below: the output side and the input side) with the memory
this machine has free, and refuses with both numbers what cannot work.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, ClassVar

import numpy as np

from manifold_core.errors import TooLargeError, UsageError, UserError, shown
from manifold_core.files import Staging, inputs_protected, make_folder, remove_folders
from manifold_core.pixelart import palette_of
from manifold_core.runtime import ENCODE_BATCH, RenderOptions, TileModel
from manifold_core.tiles import Grid, Sheet, find_images, read_rgba, slice_sheet, write_png

from .options import Scale, size_for

FILES_PER_CHUNK = 256  # at most this many input files read, rendered and written together
CHUNK_BYTES = 512 << 20  # ... and fewer when their rendered outputs would need more memory than this
MAX_TILE_ASPECT = 4  # one image is one tile, squeezed into a square: a 100000x1 strip is refused
# Peak memory of TileModel.render, measured with the default model (hidden width 128; 1024x1024:
# 2.2 GB for one decoder run, 2.1 KB per pixel): about 17 bytes per output pixel of a decoder run
# per hidden unit, and about 100 bytes per output pixel of a chunk (its RGBA and float copies).
DECODER_BYTES_PER_PIXEL_UNIT = 18
CHUNK_BYTES_PER_PIXEL = 104
# The input side, measured the same way with the default model (one opaque tile to --res 64:
# 256x256 1.29 KB, 512x512 1.10 KB, 1024x1024 1.05 KB per input pixel): the encoder's
# activations over the padded tile, for the ENCODE_BATCH tiles of one encoder run.
ENCODER_BYTES_PER_INPUT_PIXEL = 1100
MEMORY_RESERVE = 256 << 20  # left for Python, onnxruntime and the model


@dataclass
class Summary:
    tiles: int
    seconds: float
    provider: str
    output: Path
    skipped: list[str] = field(default_factory=list)  # one line per input file not done

    @property
    def tiles_per_s(self) -> float:
        return self.tiles / self.seconds if self.seconds > 0 else float("inf")


def resolution_tag(height: int, width: int) -> str:
    return str(width) if width == height else f"{width}x{height}"


def size_tag(size: tuple[int, int] | Scale) -> str:
    """What --res said, as default output names carry it: 64, 64x48, 4x."""
    return size.tag if isinstance(size, Scale) else resolution_tag(*size)


def default_output(source: Path, tag: str) -> Path:
    """tiles/ -> tiles-64/ ; sheet.png -> sheet-64.png (beside the input); `tag`: size_tag."""
    if source.is_dir():
        return source.with_name(f"{source.name}-{tag}")
    return source.with_name(f"{source.stem}-{tag}.png")


def check_output(source: Path, out: Path) -> None:
    src, dst = source.resolve(), out.resolve()
    if src == dst:
        raise UsageError(f"-o {shown(out)} is the input itself; inputs are never overwritten, choose another output")
    if source.is_dir() and dst.is_relative_to(src):
        raise UsageError(f"-o {shown(out)} is inside the input folder {shown(source)}; choose a folder outside it")
    if source.is_dir() and dst.exists() and not dst.is_dir():
        raise UsageError(f"-o {shown(out)} is a file; give a folder for a folder of tiles")


DECODE_BYTES_PER_PIXEL = 12  # reading an image: Pillow's decoded frame, its RGBA conversion, our array


def header_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from an image's header, without decoding it; None when it cannot tell
    (read_rgba then says what is wrong). Never blocks: only a regular file is opened."""
    import stat
    import warnings

    from PIL import Image

    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as stream:
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # read_image checks the size
                with Image.open(stream) as image:
                    return image.size
        except Exception:  # noqa: BLE001 - any decoder's complaint: read_rgba words it
            return None


def read_image(path: Path) -> np.ndarray:
    """read_rgba, after checking from the header that decoding fits in memory (status 5 with the
    figures); Pillow's decompression-bomb warning is replaced by this check."""
    import warnings

    from PIL import Image

    size = header_size(path)
    if size is not None:
        check_memory(size[0] * size[1] * DECODE_BYTES_PER_PIXEL, f"{shown(path)}: reading its {size[0]:,}x{size[1]:,} "
                     f"px", "split the image or cut it as a sheet")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        return read_rgba(path)


def read_tile(path: Path) -> np.ndarray:
    """One image as one tile; a UserError for an unreadable file or a strip that is no tile."""
    tile = read_image(path)
    h, w = tile.shape[:2]
    if max(h, w) > MAX_TILE_ASPECT * min(h, w):
        raise UserError(f"{shown(path)} is {w}x{h} px, not a tile: each image is rendered as one tile and would "
                        f"be squeezed into a square (at most {MAX_TILE_ASPECT}:1 is taken); for a sheet of tiles "
                        f"give --tile-size")
    return tile


# ---------------------------------------------------------------- memory
def available_memory() -> int | None:
    """Bytes this process can still allocate: the system's available memory, or the cgroup's
    (container) limit minus its use where that is lower; None where neither can be read."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, OSError, ValueError):
            pass
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            text = Path(limit).read_text().strip()
            if text != "max" and int(text) < 1 << 60:
                found.append(int(text) - int(Path(usage).read_text()))
            break
        except (OSError, ValueError):
            continue
    return min(found) if found else None


def gib(n: float) -> str:
    return f"{n / (1 << 30):,.1f} GiB" if n >= 1 << 30 else f"{n / (1 << 20):,.0f} MiB"


def _decoder_width(model: TileModel) -> int:
    """Floats per output pixel the decoder holds at once (model.json's decoder_width; 256 if unsaid)."""
    return model.card.decoder_width or 256


def input_memory(model: TileModel, tiles: int, in_height: int, in_width: int) -> int:
    """Peak bytes of the encoder side for `tiles` input tiles of in_height x in_width: the tiles as
    read, and the activations of one encoder run over the grid the encoder sees (the tile padded
    by `pad`, or resampled to the card's input size)."""
    if not in_height or not in_width:
        return 0
    if model.card.input_size:
        grid = model.card.input_size ** 2
    else:
        grid = (in_height + 2 * model.card.pad) * (in_width + 2 * model.card.pad)
    return tiles * in_height * in_width * 4 + min(tiles, ENCODE_BATCH) * grid * ENCODER_BYTES_PER_INPUT_PIXEL


def render_memory(model: TileModel, tiles: int, height: int, width: int,
                  input_shape: tuple[int, int] = (0, 0)) -> int:
    """Peak bytes of rendering `tiles` tiles of input_shape (h, w) at height x width in one chunk
    (see the figures above): the encoder's side and the decoder's.

    A decoder run covers about `pixel_budget` output pixels: whole tiles when they are small,
    bands of rows of one tile when it is large (a model exported with bands; older ones render
    a whole tile per run)."""
    pixels = height * width
    budget = model.pixel_budget
    if pixels > budget and model.bands:
        per_run = max(1, budget // width) * width
    else:
        per_run = max(1, budget // pixels) * pixels
    return (per_run * _decoder_width(model) * DECODER_BYTES_PER_PIXEL_UNIT + tiles * pixels * CHUNK_BYTES_PER_PIXEL
            + input_memory(model, tiles, *input_shape))


def tiles_per_chunk(height: int, width: int) -> int:
    """Tiles rendered together: up to FILES_PER_CHUNK, fewer for large outputs."""
    return int(max(1, min(FILES_PER_CHUNK, CHUNK_BYTES // (height * width * CHUNK_BYTES_PER_PIXEL))))


def check_memory(need: int, what: str, hint: str) -> None:
    """A TooLargeError with the figures when `need` bytes will not fit in the memory available."""
    free = available_memory()
    if free is not None and need + MEMORY_RESERVE > free:
        raise TooLargeError(f"{what} needs about {gib(need)} of memory and {gib(free)} is available; {hint}")




# ---------------------------------------------------------------- the plans
class NothingDone(UserError):
    """Every file of a folder was skipped: `skipped` has a line for each (the CLI prints them first)."""

    def __init__(self, message: str, skipped: list[str]):
        super().__init__(message)
        self.skipped = skipped


class Plan:
    """One upscale job, read and checked, nothing written yet. Every kind has:

    tiles   how many tiles run() renders (a progress bar's total)
    output  the file or folder the summary names
    files   every file it will write when known up front (Tiled), else None
    inputs  every file or folder it read or that must never be written
    run(model, options, advance) -> Summary   renders and writes; inputs are refused as outputs
    """

    kind: ClassVar[str] = ""
    files: list[Path] | None = None

    def run(self, model: TileModel, options: RenderOptions = RenderOptions(),
            advance: Callable[[int], None] = lambda n: None) -> Summary:
        with inputs_protected(self.inputs):
            return self.render(model, options, advance)

    def render(self, model: TileModel, options: RenderOptions, advance: Callable[[int], None]) -> Summary:
        raise NotImplementedError


def make_plan(source: Path, out: Path | None, size: tuple[int, int] | Scale, grid: Grid | None = None,
              allow_outside: bool = False) -> Plan:
    """The plan for `source`: a Tiled file, a sheet (a `grid` given), a folder or one image, at
    `size` (height, width) or, for a Scale, each tile (a sheet's cell, a map's tile) times the factor."""
    from .tiled import TILED_SUFFIXES, TiledPlan

    if not os.path.lexists(source):
        raise UserError(f"{shown(source)}: no such file or folder")
    try:
        os.stat(source)
    except OSError as exc:  # a symlink loop, a dangling link, a name too long
        raise UserError(f"{shown(source)}: cannot be opened ({describe(exc)})") from None
    if not (source.is_file() or source.is_dir()):
        raise UserError(f"{shown(source)}: not a regular file or folder (a FIFO or a device); give a file")
    tiled = source.suffix.lower() in TILED_SUFFIXES and source.is_file()
    if grid is not None and (tiled or source.is_dir()):
        raise UsageError(f"--tile-size is for one sheet image; {shown(source)} is "
                         f"{'a folder' if source.is_dir() else 'a Tiled file, which says its own tile size'}")
    if allow_outside and not tiled:
        raise UsageError("--allow-outside is for Tiled files (.tsx, .tmx)")
    if tiled:
        return TiledPlan.make(source, out, size, allow_outside)
    if grid is not None:
        return SheetPlan.make(source, out, size, grid)
    if source.is_dir():
        return FolderPlan.make(source, out, size)
    return ImagePlan.make(source, out, size)


def describe(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ELOOP:
        return "a symbolic link loop"
    if exc.errno == errno.ENOENT:
        return "a symbolic link to nothing"
    return exc.strerror or exc.__class__.__name__


def file_output(source: Path, out: Path | None, tag: str) -> Path:
    """-o for one image or sheet: a file, or a folder to put the default name in."""
    out = out or default_output(source, tag)
    if out.is_dir():
        out = out / default_output(source, tag).name
    check_output(source, out)
    return out


@dataclass
class FolderPlan(Plan):
    """Every image of a folder, recursively -> one PNG each under `output`, same relative names."""

    source: Path
    output: Path
    height: int  # the output size; with a Scale, the largest tile's (for memory and chunks)
    width: int
    images: list[Path] = field(default_factory=list)
    scale: Scale | None = None  # --res 4x: each tile times its own size
    kind: ClassVar[str] = "folder"

    @classmethod
    def make(cls, source: Path, out: Path | None, size: tuple[int, int] | Scale) -> "FolderPlan":
        out = out or default_output(source, size_tag(size))
        check_output(source, out)
        files = find_images(source)
        if not files:
            raise UserError(f"{shown(source)}: no tile images in this folder")
        targets: dict[Path, Path] = {}
        for path in files:
            target = path.relative_to(source).with_suffix(".png")
            if target in targets:
                raise UserError(f"{shown(targets[target])} and {shown(path)} differ only in their suffix; both "
                                f"would become {shown(out / target)}: rename one")
            targets[target] = path
        if not isinstance(size, Scale):
            return cls(source, out, *size, files)
        sizes = [size.check(*header[::-1], shown(path)) for path in files if (header := header_size(path))]
        largest = max(sizes, key=lambda hw: hw[0] * hw[1], default=(1, 1))
        return cls(source, out, *largest, files, size)

    @property
    def tiles(self) -> int:
        return len(self.images)

    @property
    def inputs(self) -> list[Path]:
        return [self.source]

    def render(self, model, options, advance) -> Summary:
        return upscale_folder(model, self.source, self.output, self.height, self.width, advance, self.images, options,
                              self.scale)


@dataclass
class ImagePlan(Plan):
    """One tile image -> one rendered PNG."""

    source: Path
    output: Path
    height: int
    width: int
    tile: np.ndarray = None
    kind: ClassVar[str] = "image"

    @classmethod
    def make(cls, source: Path, out: Path | None, size: tuple[int, int] | Scale) -> "ImagePlan":
        out = file_output(source, out, size_tag(size))
        tile = read_tile(source)
        height, width = size_for(size, *tile.shape[:2], shown(source))
        return cls(source, out, height, width, tile)

    tiles = 1

    @property
    def inputs(self) -> list[Path]:
        return [self.source]

    def render(self, model, options, advance) -> Summary:
        return upscale_image(model, self.tile, self.output, self.height, self.width, advance, options)


@dataclass
class SheetPlan(Plan):
    """A tileset sheet -> one sheet with the same grid, every cell rendered at width x height."""

    source: Path
    output: Path
    height: int
    width: int
    sheet: Sheet = None
    kind: ClassVar[str] = "sheet"

    @classmethod
    def make(cls, source: Path, out: Path | None, size: tuple[int, int] | Scale, grid: Grid) -> "SheetPlan":
        out = file_output(source, out, size_tag(size))
        height, width = size_for(size, grid.tile_height, grid.tile_width, f"{shown(source)}'s tile")
        return cls(source, out, height, width, read_sheet(source, grid))

    @property
    def tiles(self) -> int:
        return len(self.sheet.tiles)

    @property
    def inputs(self) -> list[Path]:
        return [self.source]

    def render(self, model, options, advance) -> Summary:
        return upscale_sheet(model, self.sheet, self.output, self.height, self.width, advance, options)


# ---------------------------------------------------------------- folders and single images
def upscale_folder(model: TileModel, source: Path, out: Path, height: int, width: int,
                   advance: Callable[[int], None] = lambda n: None, files: list[Path] | None = None,
                   options: RenderOptions = RenderOptions(), scale: Scale | None = None) -> Summary:
    """One PNG per input image, same relative name (suffix .png), into `out`, each at height x
    width, or with `scale` at its own size times the factor (height x width: the largest of them).

    Every readable tile is done; a file that cannot be read is skipped and named in
    `Summary.skipped`. Nothing readable at all: a UserError, and nothing is left behind.
    """
    files = files if files is not None else find_images(source)
    if not files:
        raise UserError(f"{shown(source)}: no tile images in this folder")
    targets = [out / path.relative_to(source).with_suffix(".png") for path in files]
    per_chunk = tiles_per_chunk(height, width)
    check_memory(render_memory(model, per_chunk, height, width), f"--res {width}x{height}",
                 "choose a smaller --res")
    t0 = time.perf_counter()
    done, skipped = 0, []
    made = make_folder(out)
    try:
        with Staging(durable=False, root=out) as stage:
            stage.refuse_foreign(targets)  # a user's own file among them: the whole run is refused, nothing written
            stage.reserve(out / "probe")  # an output folder that cannot be written fails before any work
            stage.discard()
            for start in range(0, len(files), per_chunk):
                chunk = list(zip(files[start:start + per_chunk], targets[start:start + per_chunk]))
                by_shape: dict[tuple, list[tuple[np.ndarray, Path]]] = {}
                for path, target in chunk:
                    try:
                        tile = read_tile(path)
                    except UserError as exc:
                        skipped.append(str(exc))
                        continue
                    by_shape.setdefault(tile.shape, []).append((tile, target))
                for shape, group in by_shape.items():  # tiles of one size render as one batch
                    new_h, new_w = scale.check(*shape[:2], shown(source)) if scale else (height, width)
                    check_memory(render_memory(model, len(group), new_h, new_w, shape[:2]),
                                 f"{len(group)} tiles of {shape[1]}x{shape[0]} px at {new_w}x{new_h}",
                                 "choose a smaller --res or cut large images as sheets (--tile-size)")
                    rendered = model.render(np.stack([t for t, _ in group]), new_h, new_w, options, chunk=per_chunk)
                    for (_, target), rgba in zip(group, np.concatenate(list(rendered))):
                        stage.write_stream(target, lambda f, rgba=rgba: write_png(f, rgba))
                stage.commit()
                done += sum(len(g) for g in by_shape.values())
                advance(len(chunk))
    finally:
        if not done:
            remove_folders(made)
    if not done:
        raise NothingDone(f"{shown(source)}: none of its {len(files)} images could be read; nothing written",
                          skipped)
    return Summary(done, time.perf_counter() - t0, model.provider, out, skipped)


def upscale_image(model: TileModel, tile: np.ndarray, out: Path, height: int, width: int,
                  advance: Callable[[int], None] = lambda n: None, options: RenderOptions = RenderOptions()
                  ) -> Summary:
    """A single tile (as read_tile read it) -> one rendered PNG."""
    t0 = time.perf_counter()
    check_memory(render_memory(model, 1, height, width, tile.shape[:2]), f"a {tile.shape[1]}x{tile.shape[0]} px "
                 f"tile at --res {width}x{height}", "choose a smaller --res or a smaller image")
    with Staging(root=out.parent) as stage:
        stage.reserve(out)  # fails before rendering when `out` cannot be written
        rgba = np.concatenate(list(model.render(tile[None], height, width, options, chunk=1)))[0]
        stage.write_stream(out, lambda f: write_png(f, rgba))
        stage.commit()
    advance(1)
    return Summary(1, time.perf_counter() - t0, model.provider, out)


# ---------------------------------------------------------------- tileset sheets
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
    """Read and cut a sheet; a UserError naming the sizes that fit when it is not a grid of `grid`,
    a UsageError when the margin or spacing alone is larger than the sheet."""
    image = read_image(source)
    height, width = image.shape[:2]
    if 2 * grid.margin > min(width, height) or grid.spacing > max(width, height):
        raise UsageError(f"--margin {grid.margin} and --spacing {grid.spacing} do not fit in {shown(source)}, "
                         f"which is {width}x{height} px; check them")
    cols, rows = grid.shape(width, height, shown(source))
    return Sheet(slice_sheet(image, grid, shown(source)), cols, rows, grid)


def sheet_memory(model: TileModel, sheet: Sheet, height: int, width: int) -> tuple[int, int, int]:
    """(bytes, width, height) of rendering `sheet` at height x width per tile: the new sheet twice
    (the array and Pillow's copy while it encodes the PNG) and one chunk of rendered tiles."""
    grid = scaled_grid(sheet.grid, height, width)
    sheet_w, sheet_h = grid.extent(sheet.cols, width), grid.extent(sheet.rows, height)
    chunk = min(len(sheet.tiles), tiles_per_chunk(height, width))
    need = 2 * 4 * sheet_w * sheet_h + render_memory(model, chunk, height, width, sheet.tiles.shape[1:3])
    return need, sheet_w, sheet_h


def check_sheet_memory(model: TileModel, sheet: Sheet, height: int, width: int, name: str) -> None:
    need, sheet_w, sheet_h = sheet_memory(model, sheet, height, width)
    check_memory(need, f"{name}: its {sheet.cols}x{sheet.rows} tiles at {width}x{height} make a "
                 f"{sheet_w:,}x{sheet_h:,} px sheet, which", "choose a smaller --res")


def render_sheet(model: TileModel, sheet: Sheet, height: int, width: int, options: RenderOptions = RenderOptions(),
                 advance: Callable[[int], None] = lambda n: None) -> tuple[np.ndarray, Grid]:
    """Render every cell at width x height and lay them out on the scaled grid (empty cells stay empty).

    With --palette keep every cell snaps to the colours of the whole sheet (when it has at most
    256), so cells that shared a palette still do."""
    grid = scaled_grid(sheet.grid, height, width)
    out = np.zeros((grid.extent(sheet.rows, height), grid.extent(sheet.cols, width), 4), np.uint8)
    index = 0
    shared = palette_of(sheet.tiles) if options.palette == "keep" else None
    for chunk in model.render(sheet.tiles, height, width, options, chunk=tiles_per_chunk(height, width),
                              shared_palette=shared):
        for tile in chunk:
            x, y = grid.origin(index % sheet.cols, index // sheet.cols)
            out[y:y + height, x:x + width] = tile
            index += 1
        advance(len(chunk))
    return out, grid


def upscale_sheet(model: TileModel, sheet: Sheet, out: Path, height: int, width: int,
                  advance: Callable[[int], None] = lambda n: None, options: RenderOptions = RenderOptions()
                  ) -> Summary:
    """A tileset sheet -> one sheet with the same grid of tiles rendered at width x height."""
    t0 = time.perf_counter()
    check_sheet_memory(model, sheet, height, width, shown(out))
    with Staging(root=out.parent) as stage:
        stage.reserve(out)  # fails before rendering when `out` cannot be written
        image, _ = render_sheet(model, sheet, height, width, options, advance)
        stage.write_stream(out, lambda f: write_png(f, image))
        stage.commit()
    return Summary(len(sheet.tiles), time.perf_counter() - t0, model.provider, out)
