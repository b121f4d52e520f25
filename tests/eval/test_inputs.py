from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from manifold_core.errors import UserError
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import Grid
from manifold_eval.inputs import load_tiles


@pytest.fixture
def sheet(tmp_path):
    tiles = make_tiles(6, 8, seed=2)
    image = np.concatenate([np.concatenate(list(tiles[r * 3:(r + 1) * 3]), axis=1) for r in range(2)], axis=0)
    path = tmp_path / "sheet.png"
    Image.fromarray(image).save(path)
    return path, tiles


def test_a_sheet_with_a_grid_and_a_tsx_give_the_same_tiles_and_name_the_files_read(sheet, tmp_path):
    path, tiles = sheet
    _, from_grid, files = load_tiles([path], Grid(8, 8))
    assert files == {path.resolve()}
    tsx = tmp_path / "set.tsx"
    tsx.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                   '<tileset version="1.10" name="set" tilewidth="8" tileheight="8" tilecount="6" columns="3">\n'
                   ' <image source="sheet.png" width="24" height="16"/>\n</tileset>\n')
    names, from_tsx, files = load_tiles([tsx])
    assert len(from_grid) == len(from_tsx) == 6 and len(names) == 6
    assert all((a == b).all() for a, b in zip(from_grid, from_tsx))
    assert all((a == b).all() for a, b in zip(from_grid, tiles))
    assert files == {tsx.resolve(), path.resolve()}


def test_folder_and_limit_spread_evenly(tile_folder):
    names, tiles, files = load_tiles([tile_folder])
    assert len(tiles) == 48 and len(files) == 48
    picked = load_tiles([tile_folder], limit=4).names
    assert picked == [names[i] for i in (0, 16, 31, 47)]


def test_a_folder_nested_1100_deep_is_read(deep_folder):
    names, tiles, files = load_tiles([deep_folder])
    assert len(tiles) == 1 and names[0].endswith("deep.png") and Path(names[0]).parts.count("d") == 1100
    assert files == {Path(names[0]).resolve()}


def test_errors_are_user_errors(tmp_path, sheet):
    with pytest.raises(UserError, match="no such file"):
        load_tiles([tmp_path / "nope"])
    with pytest.raises(UserError, match="not a grid"):
        load_tiles([sheet[0]], Grid(7, 7))
