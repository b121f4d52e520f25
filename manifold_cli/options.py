"""Options more than one command takes, defined once: the output resolution, a sheet's grid
(--tile-size, --margin, --spacing) and the image suffixes read; `upscale` and `eval` use them.

Each comes with the one function that turns it into a checked value (a UsageError, exit
status 2, for a value that cannot work), so two commands cannot check it differently.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from manifold_core.errors import UsageError, UserError
from manifold_core.tiles import IMAGE_SUFFIXES, Grid

SUFFIXES = ", ".join(IMAGE_SUFFIXES)

Resolution = Annotated[str, typer.Option("--res", "-r", help="Output tile size: 64, or WxH like 64x48. For a .tmx, "
                                         "the map's new tile size; every tileset scales by the same factor.")]
TileSize = Annotated[Optional[str], typer.Option("--tile-size", help="The input is a tileset sheet of tiles this "
                                                 "size (32, or WxH like 32x16).")]
Margin = Annotated[int, typer.Option("--margin", help="Sheet margin in pixels (with --tile-size).")]
Spacing = Annotated[int, typer.Option("--spacing", help="Sheet spacing between tiles in pixels (with --tile-size).")]


def resolution(text: str, option: str = "--res") -> tuple[int, int]:
    """'64' -> (64, 64), '64x48' (W x H) -> (48, 64); a UsageError otherwise."""
    from manifold_core.runtime import parse_resolution

    try:
        return parse_resolution(text)
    except UserError:
        raise UsageError(f"{option} {text!r}: give a size like 64 or WxH like 64x48 (1 to 4096 pixels)") from None


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
