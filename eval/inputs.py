"""The tiles `manifold eval` scores: folders of tile images, single images, sheets (with a
tile size), Tiled tilesets (.tsx) and maps (.tmx), read with the same readers as `upscale`.

Data flow: **tiles for eval** -> degrade -> scalers -> metrics -> report.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from manifold_core.errors import UserError
from manifold_core.tiled import TILED_SUFFIXES, tiled_tiles
from manifold_core.tiles import Grid, collect_tiles


def load_tiles(sources: list[Path], grid: Grid | None = None, limit: int | None = None
               ) -> tuple[list[str], list[np.ndarray]]:
    """(names, RGBA tiles) of every source; `limit` keeps that many, spread evenly over them."""
    names: list[str] = []
    tiles: list[np.ndarray] = []
    for source in sources:
        source = Path(source)
        if source.is_file() and source.suffix.lower() in TILED_SUFFIXES:
            if grid is not None:
                raise UserError(f"--tile-size is for sheet images; {source} says its own tile size")
            found = tiled_tiles(source)
        else:
            found = collect_tiles([source], grid)
        names += found[0]
        tiles += found[1]
    if not tiles:
        raise UserError("no tiles to evaluate")
    if limit is not None and limit < len(tiles):
        if limit < 1:
            raise UserError(f"--limit {limit}: give at least 1")
        keep = np.unique(np.linspace(0, len(tiles) - 1, limit).round().astype(int))
        names, tiles = [names[i] for i in keep], [tiles[i] for i in keep]
    return names, tiles
