"""`manifold eval`: quality against classic and neural scalers (manifold_eval)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from manifold_core.errors import UserError

from ..app import (
    app,
    console,
    fail,
)


@app.command("eval")
def eval_(
    tiles: List[Path] = typer.Argument(..., metavar="TILES...", help="Folders of tiles, tile images, tileset "
                                       "sheets (with --tile-size), or Tiled tilesets (.tsx) / maps (.tmx)."),
    model: Optional[List[str]] = typer.Option(None, "--model", help="A model: an embedded one by name (default) "
                                              "or an exported model's folder; repeat to compare several."),
    scale: float = typer.Option(2.0, "--scale", help="Shrink by this factor, then upscale by it (2, 3, 1.5...). "
                                "Scale2x, hqx, xBRZ and Real-ESRGAN only do whole factors."),
    degrade: str = typer.Option("box,nearest", "--degrade", help="How tiles are shrunk, comma-separated: box "
                                "(area average: blurred) and/or nearest (every n-th pixel: crisp, aliased)."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated subset of: nearest, bicubic, "
                                          "lanczos, scalenx, hqx, xbrz, realesrgan, manifold (default: all)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Score this many tiles, spread evenly over TILES."),
    tile_size: Optional[str] = typer.Option(None, "--tile-size", help="TILES are sheets of tiles this size (32, "
                                            "or WxH like 32x16)."),
    margin: int = typer.Option(0, help="Sheet margin in pixels (with --tile-size)."),
    spacing: int = typer.Option(0, help="Sheet spacing between tiles in pixels (with --tile-size)."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Also draw a contact sheet PNG: a few tiles, "
                                         "original | shrunk | each method, pixels doubled."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr."),
):
    """Measure upscaling quality: shrink each tile, bring it back with every method, compare (PSNR, SSIM)."""
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("skimage", "scalenx", "hqx")):
        fail("manifold eval needs the [eval] extra: pip install 'manifold-tiles[eval]'")
    from manifold_core.errors import UsageError
    from manifold_core.runtime import parse_resolution
    from manifold_core.tiles import Grid
    from manifold_eval.degrade import DEGRADATIONS
    from manifold_eval.evaluate import evaluate
    from manifold_eval.inputs import load_tiles
    from manifold_eval.report import table
    from manifold_eval.scalers import make_methods
    from manifold_eval.sheet import contact_sheet

    try:
        if not 1 <= scale <= 16:
            raise UsageError(f"--scale {scale:g}: give a factor from 1 to 16")
        degradations = [d.strip() for d in degrade.split(",") if d.strip()]
        wrong = [d for d in degradations if d not in DEGRADATIONS]
        if wrong or not degradations:
            raise UsageError(f"--degrade {degrade!r}: choose from {', '.join(DEGRADATIONS)} (comma-separated)")
        grid = None
        if tile_size is not None:
            try:
                th, tw = parse_resolution(tile_size)
            except UserError:
                raise UsageError(f"--tile-size {tile_size!r}: give a size like 32 or WxH like 32x16") from None
            grid = Grid(tw, th, margin, spacing)
        elif margin or spacing:
            raise UsageError("--margin and --spacing describe a sheet; give its --tile-size too")
        if sheet is not None and sheet.suffix.lower() != ".png":
            raise UsageError(f"--sheet {sheet}: give a .png file name")
        chosen = make_methods([m.strip() for m in methods.split(",") if m.strip()] if methods else None, model)
        _, found = load_tiles(tiles, grid, limit)
        log = (lambda s: None) if quiet else (lambda s: console.print(f"[dim]{s}[/]", highlight=False))
        result = evaluate(found, chosen, scale, degradations, log=log)
        if not result.tiles:
            raise UserError(f"no tile is big enough to shrink by {scale:g} (and not fully transparent)")
        if sheet is not None:
            contact_sheet(result, sheet)
    except UserError as exc:
        fail(str(exc), getattr(exc, "exit_status", 1))
    if as_json:
        print(json.dumps({**result.as_dict(), "sheet": str(sheet) if sheet else None}))
    else:
        Console(soft_wrap=False).print(table(result))
        if result.left_out:
            console.print(f"{result.left_out} tiles left out: fully transparent or under 2 px once shrunk",
                          highlight=False, markup=False)
        if sheet is not None:
            console.print(f"contact sheet: {sheet}", highlight=False, markup=False)

