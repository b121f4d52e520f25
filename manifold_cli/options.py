"""Options more than one command takes, defined once: the output resolution, a sheet's grid
(--tile-size, --margin, --spacing) and the image suffixes read; `upscale` and `eval` use them.

Each comes with the one function that turns it into a checked value (a UsageError, exit
status 2, for a value that cannot work), so two commands cannot check it differently.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Optional

import typer

from manifold_core.errors import UsageError, UserError
from manifold_core.tiles import IMAGE_SUFFIXES, Grid

SUFFIXES = ", ".join(IMAGE_SUFFIXES)

Resolution = Annotated[str, typer.Option("--res", "-r", help="Output tile size: 64, WxH like 64x48, or a factor "
                                         "like 4x or 1.5x (each tile times its own size, so a folder of 16 and 32 px "
                                         "tiles gives 64 and 128 px). For a .tmx, the map's new tile size (or the "
                                         "map's times the factor); every tileset scales by the same factor.")]
TileSize = Annotated[Optional[str], typer.Option("--tile-size", help="The input is a tileset sheet of tiles this "
                                                 "size (32, or WxH like 32x16).")]
Margin = Annotated[int, typer.Option("--margin", help="Sheet margin in pixels (with --tile-size).")]
Spacing = Annotated[int, typer.Option("--spacing", help="Sheet spacing between tiles in pixels (with --tile-size).")]


MAX_SIDE = 4096  # pixels, as parse_resolution allows
MAX_FACTOR = 16


@dataclass(frozen=True)
class Scale:
    """--res 4x: every tile `factor` times its own size, each side rounded half up (at least 1 px)."""

    factor: float

    @property
    def tag(self) -> str:  # in default output names: tiles-4x/, sheet-1.5x.png
        return f"{self.factor:g}x"

    def check(self, height: int, width: int, what: str) -> tuple[int, int]:
        """(height, width) of `what`, a tile of this size, times the factor; a UsageError when a side
        would be larger than MAX_SIDE."""
        new = tuple(max(1, math.floor(side * self.factor + 0.5)) for side in (height, width))
        if max(new) > MAX_SIDE:
            raise UsageError(f"--res {self.tag}: {what} is {width}x{height} px and would be {new[1]}x{new[0]}; at "
                             f"most {MAX_SIDE} px a side: choose a smaller factor")
        return new


def size_for(size: tuple[int, int] | Scale, height: int, width: int, what: str) -> tuple[int, int]:
    """The output size of `what`, a tile of height x width: `size` itself, or a Scale of the tile's."""
    return size.check(height, width, what) if isinstance(size, Scale) else size


def output_size(text: str, option: str = "--res") -> tuple[int, int] | Scale:
    """'64' -> (64, 64), '64x48' (W x H) -> (48, 64), '4x' or '1.5x' -> Scale; a UsageError otherwise."""
    if text.lower().endswith("x") and text[:-1].replace(".", "", 1).isdigit():
        factor = float(text[:-1])
        if not 0 < factor <= MAX_FACTOR:
            raise UsageError(f"{option} {text!r}: a factor is more than 0 and at most {MAX_FACTOR}, like 2x or 1.5x")
        return Scale(factor)
    return resolution(text, option, ", or a factor like 4x")


def resolution(text: str, option: str = "--res", also: str = "") -> tuple[int, int]:
    """'64' -> (64, 64), '64x48' (W x H) -> (48, 64); a UsageError otherwise."""
    from manifold_core.runtime import parse_resolution

    try:
        return parse_resolution(text)
    except UserError:
        raise UsageError(f"{option} {text!r}: give a size like 64 or WxH like 64x48 (1 to 4096 pixels){also}") from None


def sheet_grid(tile_size: str | None, margin: int = 0, spacing: int = 0) -> Grid | None:
    """--tile-size, --margin and --spacing as a Grid (None without --tile-size); a UsageError for a
    malformed size, a negative margin or spacing, or either without --tile-size."""
    if tile_size is None:
        if margin or spacing:
            raise UsageError("--margin and --spacing describe a sheet; give its --tile-size too")
        return None
    height, width = resolution(tile_size, "--tile-size")
    if margin < 0 or spacing < 0:
        raise UsageError(f"--margin and --spacing must be at least 0 (got {margin}, {spacing})")
    return Grid(width, height, margin, spacing)
