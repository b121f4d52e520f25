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

DEFAULT_SCALES = "2,3,4"


def parse_scales(text: str, option: str = "--scale") -> list[float]:
    """'2,3,4' -> [2.0, 3.0, 4.0]; a UsageError for anything that is not factors from 1 to 16."""
    from manifold_core.errors import UsageError

    try:
        scales = [float(p) for p in text.split(",") if p.strip()]
    except ValueError:
        scales = []
    if not scales or not all(1 <= s <= 16 for s in scales):
        raise UsageError(f"{option} {text}: give factors from 1 to 16, comma-separated (like 2,3,4 or 1.5)")
    return list(dict.fromkeys(scales))


def sheet_path(sheet: Path, scale: float, several: bool) -> Path:
    """--sheet eval.png: that name for one scale, eval-2x.png, eval-3x.png ... for several."""
    return sheet.with_name(f"{sheet.stem}-{scale:g}x{sheet.suffix}") if several else sheet


def method_help() -> str:
    from manifold_eval.scalers import RENDER_OPTIONS, method_names

    return (f"Comma-separated: {', '.join(method_names())} (default: all). manifold:MODEL+OPTION... names a model "
            f"and render options ({', '.join(RENDER_OPTIONS)}; pixel = --palette keep --alpha cut), e.g. "
            f"manifold:default+pixel.")


@app.command("eval")
def eval_(
    tiles: List[Path] = typer.Argument(..., metavar="TILES...", help="Folders of tiles, tile images, tileset "
                                       "sheets (with --tile-size), or Tiled tilesets (.tsx) / maps (.tmx)."),
    model: Optional[List[str]] = typer.Option(None, "--model", help="A model: an embedded one by name (default) "
                                              "or an exported model's folder; repeat to compare several."),
    scale: str = typer.Option(DEFAULT_SCALES, "--scale", help="Shrink by each factor, then upscale by it, comma-"
                              "separated (2,3,4 is the standard table; 1.5 works too). Scale2x/3x, hqx, xBRZ, MMPX "
                              "and Real-ESRGAN only do some whole factors (n/a otherwise)."),
    degrade: str = typer.Option("box,nearest", "--degrade", help="How tiles are shrunk, comma-separated: box "
                                "(area average: blurred) and/or nearest (one pixel per footprint: crisp, aliased; "
                                "scored at every sampling phase, pooled)."),
    phases: int = typer.Option(8, "--phases", help="Nearest's sampling phases at a fractional scale (seeded); a "
                               "whole scale s always uses all s x s."),
    originals: bool = typer.Option(False, "--originals", help="TILES are crisp originals (no ground truth): "
                                   "upscale each by the scale and score consistency, palette fidelity and alpha "
                                   "hardness instead."),
    methods: Optional[str] = typer.Option(None, "--methods", help=method_help()),
    limit: Optional[int] = typer.Option(None, "--limit", help="Score this many tiles, spread evenly over TILES."),
    tile_size: Optional[str] = typer.Option(None, "--tile-size", help="TILES are sheets of tiles this size (32, "
                                            "or WxH like 32x16)."),
    margin: int = typer.Option(0, help="Sheet margin in pixels (with --tile-size)."),
    spacing: int = typer.Option(0, help="Sheet spacing between tiles in pixels (with --tile-size)."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Also draw a contact sheet PNG: a few tiles, "
                                         "original | shrunk | each method, pixels doubled (NAME-2x.png, ... for "
                                         "several scales)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr."),
):
    """Measure upscaling quality: shrink each tile, bring it back with every method, compare (PSNR, SSIM);
    or, with --originals, score upscaled originals without ground truth.

    Exit status: 0 done; 1 an input cannot be used; 2 options that cannot work (or an output that
    is an input); 4 the sheet cannot be written there; 6 a model that cannot load or breaks.
    """
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("skimage", "scalenx", "hqx", "scipy")):
        fail("manifold eval needs the [eval] extra: pip install 'manifold-tiles[eval]'")
    from manifold_core.errors import UsageError, shown
    from manifold_eval.degrade import DEGRADATIONS
    from manifold_eval.evaluate import evaluate
    from manifold_eval.inputs import load_tiles
    from manifold_eval.originals import score_originals
    from manifold_eval.outputs import Outputs
    from manifold_eval.report import originals_table, table
    from manifold_eval.scalers import make_methods
    from manifold_eval.sheet import contact_sheet, originals_sheet

    from ..options import sheet_grid

    try:
        scales = parse_scales(scale)
        degradations = [d.strip() for d in degrade.split(",") if d.strip()]
        wrong = [d for d in degradations if d not in DEGRADATIONS]
        if wrong or not degradations:
            raise UsageError(f"--degrade {degrade!r}: choose from {', '.join(DEGRADATIONS)} (comma-separated)")
        if phases < 1:
            raise UsageError(f"--phases {phases}: give at least 1")
        grid = sheet_grid(tile_size, margin, spacing) if tile_size is not None else None
        if grid is None and (margin or spacing):
            raise UsageError("--margin and --spacing describe a sheet; give its --tile-size too")
        if sheet is not None and sheet.suffix.lower() != ".png":
            raise UsageError(f"--sheet {shown(sheet)}: give a .png file name")
        chosen = make_methods([m.strip() for m in methods.split(",") if m.strip()] if methods else None, model)
        for method in chosen:
            method.validate()  # a model that cannot load: status 6 now, not a note after the run
        found = load_tiles(tiles, grid, limit)
        log = (lambda s: None) if quiet else (lambda s: console.print(f"[dim]{s}[/]", highlight=False, markup=False))
        with Outputs(found.files) as out:
            sheets = [out.claim(sheet_path(sheet, s, len(scales) > 1), "--sheet") for s in scales] if sheet else []
            results = []
            for s in scales:
                if originals:
                    result = score_originals(found.tiles, chosen, s, log=log)
                else:
                    result = evaluate(found.tiles, chosen, s, degradations, log=log, phase_count=phases)
                if not result.tiles:
                    raise UserError(f"no tile is big enough to shrink by {s:g} (and not fully transparent)"
                                    if not originals else "no tile to upscale (every one is fully transparent)")
                results.append(result)
            for path, result in zip(sheets, results):
                out.image(path, originals_sheet(result) if originals else contact_sheet(result))
            out.commit()
    except UserError as exc:
        fail(str(exc), getattr(exc, "exit_status", 1))
    if as_json:
        print(json.dumps({"mode": "originals" if originals else "shrink", "scales": scales,
                          "methods": [m.name for m in chosen], "runs": [r.as_dict() for r in results],
                          "sheets": [str(p) for p in sheets]}))
        return
    printer = Console(soft_wrap=False)
    for result in results:
        printer.print(originals_table(result) if originals else table(result))
        if result.left_out:
            console.print(f"{result.scale:g}x: {result.left_out} tiles left out: fully transparent or too small",
                          highlight=False, markup=False)
    for path in sheets:
        console.print(f"contact sheet: {path}", highlight=False, markup=False)
