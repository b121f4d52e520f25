"""The tiles `manifold eval` scores: folders of tile images (walked to any depth), single
images, sheets (with a tile size), Tiled tilesets (.tsx) and maps (.tmx), read with the same
readers as `upscale`; and the files read, which no output may replace (outputs.py).

Data flow: **tiles for eval** -> degrade -> scalers -> metrics -> report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import numpy as np

from manifold_core.errors import UserError
from manifold_core.tiled import TILED_SUFFIXES, tiled_tiles
from manifold_core.tiles import Grid, collect_tiles


class Loaded(NamedTuple):
    names: list[str]
    tiles: list[np.ndarray]
    files: set[Path]  # every file read, resolved


SHEET_CELL = re.compile(r"#\d+,\d+$")  # collect_tiles names a sheet's cell `sheet.png#row,col`


def load_tiles(sources: list[Path], grid: Grid | None = None, limit: int | None = None) -> Loaded:
    """(names, RGBA tiles, files read) of every source; `limit` keeps that many tiles, spread evenly."""
    names: list[str] = []
    tiles: list[np.ndarray] = []
    files: set[Path] = set()
    for source in sources:
        source = Path(source)
        if source.is_file() and source.suffix.lower() in TILED_SUFFIXES:
            if grid is not None:
                raise UserError(f"--tile-size is for sheet images; {source} says its own tile size")
            found = tiled_tiles(source)
            files |= found[2]
        else:
            found = collect_tiles([source], grid)
            files |= {Path(SHEET_CELL.sub("", n) if grid is not None else n).resolve() for n in found[0]}
        names += found[0]
        tiles += found[1]
    if not tiles:
        raise UserError("no tiles to evaluate")
    if limit is not None and limit < len(tiles):
        if limit < 1:
            raise UserError(f"--limit {limit}: give at least 1")
        keep = np.unique(np.linspace(0, len(tiles) - 1, limit).round().astype(int))
        names, tiles = [names[i] for i in keep], [tiles[i] for i in keep]
    return Loaded(names, tiles, files)
