"""`manifold blind` and `manifold blind-score`: blind comparison sheets for judges, and their
answers turned into win rates (manifold_eval.blind, manifold_eval.judging)."""

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


@app.command("blind")
def blind(
    tiles: List[Path] = typer.Argument(..., metavar="TILES...", help="Crisp original tiles: folders, images, "
                                       "sheets (with --tile-size) or Tiled files."),
    pair: str = typer.Option(..., "--pair", help="The two methods compared, comma-separated, as `manifold eval "
                             "--methods` names them: e.g. xbrz,manifold:default+pixel."),
    out: Path = typer.Option(..., "--out", "-o", help="The folder for the sheets (blind-2x-1.png, ...) and the "
                             "key (key.json; do not show it to the judges)."),
    scale: str = typer.Option("2,4", "--scale", help="Whole scales to compare at, comma-separated."),
    seed: int = typer.Option(0, "--seed", help="Seed of the left/right order."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Compare this many tiles, spread evenly over TILES."),
    tile_size: Optional[str] = typer.Option(None, "--tile-size", help="TILES are sheets of tiles this size."),
    margin: int = typer.Option(0, help="Sheet margin in pixels (with --tile-size)."),
    spacing: int = typer.Option(0, help="Sheet spacing between tiles in pixels (with --tile-size)."),
):
    """Draw blind sheets: rows of original | A | B (two methods, left/right random per row), 8 rows a
    sheet, pictures about 192 px, pixels shown by repetition on a checkerboard; the key apart.

    Exit status: 0 done; 1 an input cannot be used; 2 options that cannot work; 4 the folder cannot
    be written; 6 a model that cannot load or breaks.
    """
    from manifold_core.errors import UsageError
    from manifold_core.files import JSON_MARK, software
    from manifold_eval.blind import blind_sheets
    from manifold_eval.inputs import load_tiles
    from manifold_eval.outputs import Outputs
    from manifold_eval.scalers import make_methods

    from ..options import sheet_grid
    from .eval import parse_scales

    try:
        scales = parse_scales(scale)
        if not all(s.is_integer() and s >= 2 for s in scales):
            raise UsageError(f"--scale {scale}: blind sheets are drawn at whole scales of 2 or more")
        grid = sheet_grid(tile_size, margin, spacing) if tile_size is not None else None
        if grid is None and (margin or spacing):
            raise UsageError("--margin and --spacing describe a sheet; give its --tile-size too")
        chosen = make_methods([m.strip() for m in pair.split(",") if m.strip()])
        if len(chosen) != 2:
            raise UsageError(f"--pair {pair}: give exactly two methods, comma-separated")
        for method in chosen:
            method.validate()
        found = load_tiles(tiles, grid, limit)
        with Outputs(found.files) as outputs:
            key_path = outputs.claim(out / "key.json", "--out")
            sheets, key = blind_sheets(found.names, found.tiles, chosen, [int(s) for s in scales], seed)
            for name, picture in sheets:
                outputs.claim(out / name, "--out")
                outputs.image(out / name, picture)
            marked = {JSON_MARK: software(), **key}  # marked as manifold's: a rerun may replace it
            outputs.text(key_path, json.dumps(marked, indent=1) + "\n")
            outputs.commit()
    except UserError as exc:
        fail(str(exc), getattr(exc, "exit_status", 1))
    console.print(f"{len(key['rows'])} rows on {len(sheets)} sheets in {out}; the key: {key_path}",
                  highlight=False, markup=False)


@app.command("blind-score")
def blind_score(
    key: Path = typer.Argument(..., help="The key.json `manifold blind` wrote."),
    answers: List[Path] = typer.Argument(..., metavar="ANSWERS...", help="One text file per judge, lines like "
                                         "`2x-row1: A (2) reason`."),
    as_json: bool = typer.Option(False, "--json", help="Print the win rates as JSON on stdout."),
):
    """Turn judges' answers and the key into win rates per method and scale."""
    from rich.table import Table

    from manifold_core.errors import shown
    from manifold_eval.judging import parse_answers, read_key, win_rates

    def read(path: Path) -> str:
        try:
            with open(path, encoding="utf-8", errors="replace") as f:  # refuses a folder; a FIFO: see below
                return f.read(1 << 24)
        except OSError as exc:
            raise UserError(f"{shown(path)}: cannot be read ({exc.strerror or type(exc).__name__})") from None

    try:
        for path in [key, *answers]:
            if not path.is_file():
                raise UserError(f"{shown(path)}: no such file" if not path.exists() else f"{shown(path)}: not a file")
        rates = win_rates(read_key(read(key), shown(key)), {str(p): parse_answers(read(p)) for p in answers})
    except UserError as exc:
        fail(str(exc), getattr(exc, "exit_status", 1))
    if as_json:
        print(json.dumps(rates.as_dict()))
        return
    t = Table(title=f"blind comparison: {rates.judges} judge{'s' if rates.judges != 1 else ''}", title_justify="left")
    for head in ("scale", "method", "preferred", "answers", "share", "mean confidence"):
        t.add_column(head, justify="left" if head in ("scale", "method") else "right")
    for tally in rates.scales:
        for i, (method, m) in enumerate(tally.methods.items()):
            share = tally.share(method)
            t.add_row(f"{tally.scale}x" if i == 0 else "", method, str(m.wins), str(tally.answers),
                      "-" if share is None else f"{share:.0%}",
                      f"{sum(m.confidence) / len(m.confidence):.1f}" if m.confidence else "-",
                      end_section=i == len(tally.methods) - 1)
    Console(soft_wrap=False).print(t)
    missing = {j: n for j, n in rates.unanswered.items() if n}
    if missing or rates.repeated or rates.unknown:
        console.print("; ".join([f"{j}: {n} rows unanswered" for j, n in missing.items()]
                                + ([f"{rates.repeated} repeated answers (the first counted)"] if rates.repeated else [])
                                + ([f"{rates.unknown} answers name rows the key does not have"]
                                   if rates.unknown else [])), highlight=False, markup=False)
