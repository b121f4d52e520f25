"""One tile named on the command line: an image file, or a tile of a Tiled tileset as TILESET.tsx#ID.

Data flow: tiles -> **tile references** -> `manifold transitions` and `manifold variants`.

    ref = read_tile_ref("grass.png")          # ref.tile [h, w, 4] uint8, ref.name "grass", ref.files
    ref = read_tile_ref("terrain.tsx#3")      # tile 3 of the tileset (its sheet or its image collection)

`files` holds every file the reference read or names (a tileset's image and anything else the
.tsx names), so the command can protect them: none of them is ever an output.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from manifold_core.errors import UserError, shown

TILE_ID = re.compile(r"^(?P<path>.+\.tsx)#(?P<id>\d+)$", re.IGNORECASE)


@dataclass
class TileRef:
    tile: np.ndarray
    name: str  # for file names and the Wang colour: the image's stem, or STEM-ID for a tileset's tile
    path: Path  # the image or the .tsx
    files: set[Path] = field(default_factory=set)


def read_tile_ref(text: str | Path) -> TileRef:
    """Read the tile `text` names; a UserError (one line) when it cannot be used."""
    from .upscale import MAX_TILE_ASPECT, read_image

    text = str(text)
    match = TILE_ID.match(text)
    if match is None:
        path = Path(text)
        if not os.path.lexists(path):
            raise UserError(f"{shown(path)}: no such file")
        if not path.is_file():
            raise UserError(f"{shown(path)}: not a tile image (a folder or a device); give an image file or "
                            f"TILESET.tsx#ID")
        if path.suffix.lower() in (".tsx", ".tmx"):
            raise UserError(f"{shown(path)}: a Tiled file; name one of its tiles as {shown(path)}#ID (its tile id)")
        tile = read_image(path)
        h, w = tile.shape[:2]
        if max(h, w) > MAX_TILE_ASPECT * min(h, w):
            raise UserError(f"{shown(path)} is {w}x{h} px, not one tile; give one tile's image, or a tile of a "
                            f"tileset as TILESET.tsx#ID")
        return TileRef(tile, path.stem, path, {path})
    return _tileset_tile(Path(match["path"]), int(match["id"]))


def _tileset_tile(tsx: Path, tile_id: int) -> TileRef:
    from manifold_core.tiled import read_tiled

    if not tsx.is_file():
        raise UserError(f"{shown(tsx)}: no such tileset")
    found = read_tiled(tsx)
    tileset = found.tilesets[0].tileset
    name = f"{tsx.stem}-{tile_id}"
    files = {Path(p) for p in found.read | found.references if not os.path.isdir(p)} | {tsx}
    if tileset.sheet is not None:
        tiles = tileset.sheet.sheet.tiles
        if tile_id >= len(tiles):
            raise UserError(f"{shown(tsx)}#{tile_id}: the tileset has tiles 0 to {len(tiles) - 1}")
        return TileRef(tiles[tile_id], name, tsx, files)
    for image in tileset.images:
        if image.id == tile_id:
            return TileRef(image.rgba, name, tsx, files)
    ids = ", ".join(str(i.id) for i in tileset.images[:10]) or "none"
    raise UserError(f"{shown(tsx)}#{tile_id}: the tileset has no tile {tile_id} (its tiles: {ids})")
