"""`manifold upscale sheet.png --tile-size ...`: a tileset sheet comes back on the same grid."""

import json

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image
from tiled_helpers import listing, make_sheet, need_tiled, save, tiled_export

from manifold_cli.upscale import scaled_grid
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import Grid, is_empty, read_rgba, slice_sheet

GRID = Grid(32, 32, margin=1, spacing=2)
EMPTY = 5  # a fully transparent cell


@pytest.fixture
def sheet_path(tmp_path):
    tiles = make_tiles(12, 32, seed=1)
    tiles[EMPTY] = 0
    return save(tmp_path / "sheet.png", make_sheet(tiles, 4, GRID))


def upscale(*args):
    return run_cli("upscale", *args)


def test_sheet_keeps_its_grid_with_margin_and_spacing_scaled(sheet_path, tiny_model_dir):
    result = upscale(sheet_path, "--tile-size", 32, "--margin", 1, "--spacing", 2, "--res", 64,
                     "--model", tiny_model_dir, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tiles"] == 12
    out = sheet_path.with_name("sheet-64.png")  # default: beside the input, named after --res
    new = Grid(64, 64, margin=2, spacing=4)
    assert scaled_grid(GRID, 64, 64) == new
    sheet = read_rgba(out)
    assert sheet.shape == (new.extent(3, 64), new.extent(4, 64), 4) == (204, 272, 4)
    cells = slice_sheet(sheet, new)
    assert list(np.flatnonzero(is_empty(cells))) == [EMPTY]  # the empty cell stays empty, the others do not
    gaps = sheet.copy()
    for i in range(12):
        x, y = new.origin(i % 4, i // 4)
        gaps[y:y + 64, x:x + 64] = 0
    assert not gaps.any()  # margin and spacing stay transparent
    assert listing(sheet_path.parent) == ["sheet-64.png", "sheet.png"]  # no temporary files


def test_upscaled_sheet_loads_in_tiled_with_the_same_tiles(sheet_path, tiny_model_dir, tmp_path):
    need_tiled()
    assert upscale(sheet_path, "--tile-size", 32, "--margin", 1, "--spacing", 2, "--res", 64,
                   "--model", tiny_model_dir, "-q").exit_code == 0
    for name, size, margin, spacing in (("sheet", 32, 1, 2), ("sheet-64", 64, 2, 4)):
        width, height = Image.open(tmp_path / f"{name}.png").size
        (tmp_path / f"{name}.tsx").write_text(
            f'<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.8" name="{name}" tilewidth="{size}" '
            f'tileheight="{size}" spacing="{spacing}" margin="{margin}" tilecount="12" columns="4">\n'
            f' <image source="{name}.png" width="{width}" height="{height}"/>\n</tileset>\n')
    before = tiled_export("tileset", tmp_path / "sheet.tsx", tmp_path / "before.json")
    after = tiled_export("tileset", tmp_path / "sheet-64.tsx", tmp_path / "after.json")
    assert before["tilecount"] == after["tilecount"] == 12 and before["columns"] == after["columns"] == 4
    assert (after["tilewidth"], after["imagewidth"], after["imageheight"]) == (64, 272, 204)


def test_non_square_tiles_and_output_path(tmp_path, tiny_model_dir):
    grid = Grid(16, 8, margin=0, spacing=1)
    source = save(tmp_path / "wide.png", make_sheet(make_tiles(6, 16, seed=2)[:, :8], 3, grid))
    out = tmp_path / "out" / "big.png"
    result = upscale(source, "--tile-size", "16x8", "--spacing", 1, "--res", "48x24", "-o", out,
                     "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (scaled_grid(grid, 24, 48).extent(3, 48), scaled_grid(grid, 24, 48).extent(2, 24))
    assert Image.open(out).size == (3 * 48 + 2 * 3, 2 * 24 + 3)


@pytest.mark.parametrize("args,message,status", [
    (["--tile-size", 30, "--margin", 1, "--spacing", 2], "widths that fit: 128 or 160, heights that fit: 96 or 128", 1),
    (["--tile-size", 32, "--spacing", 3], "widths that fit", 1),
    (["--tile-size", "big"], "--tile-size 'big'", 2),
    (["--tile-size", 0], "--tile-size '0'", 2),
    (["--tile-size", 32, "--margin", -1], "at least 0", 2),
    (["--margin", 1], "give its --tile-size too", 2),
    (["--tile-size", 32, "-o", "{src}"], "inputs are never overwritten", 2),
])
def test_bad_sheets_get_one_clear_line_and_no_output(sheet_path, tiny_model_dir, args, message, status):
    before = listing(sheet_path.parent)
    result = upscale(sheet_path, "--res", 64, "--model", tiny_model_dir,
                     *[str(a).format(src=sheet_path) for a in args])
    assert result.exit_code == status
    assert message in result.output and "Traceback" not in result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert listing(sheet_path.parent) == before


def test_tile_size_is_for_one_sheet_not_a_folder(tile_folder, tiny_model_dir):
    result = upscale(tile_folder, "--tile-size", 16, "--model", tiny_model_dir)
    assert result.exit_code == 2 and "is a folder" in result.output


def test_output_folder_gets_the_default_name(sheet_path, tiny_model_dir, tmp_path):
    (tmp_path / "out").mkdir()
    result = upscale(sheet_path, "--tile-size", 32, "--margin", 1, "--spacing", 2, "--res", 48, "-o",
                     tmp_path / "out", "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "out" / "sheet-48.png").size == (Grid(48, 48, 2, 3).extent(4, 48), 2 * 2 + 3 * 48 + 2 * 3)


def test_palette_keep_snaps_a_sheet_to_its_own_colours(sheet_path, tiny_model_dir, tmp_path):
    from manifold_core.pixelart import palette_of

    out = tmp_path / "kept.png"
    result = upscale(sheet_path, "--tile-size", 32, "--margin", 1, "--spacing", 2, "--res", 48,
                     "--model", tiny_model_dir, "--palette", "keep", "--alpha", "cut", "-o", out)
    assert result.exit_code == 0, result.output
    source = {tuple(c) for c in palette_of(read_rgba(sheet_path))}
    rendered = read_rgba(out)
    assert {tuple(c) for c in palette_of(rendered)} <= source
    assert set(np.unique(rendered[..., 3])) <= {0, 255}


def test_a_factor_scales_the_sheets_cells(sheet_path, tiny_model_dir):
    result = upscale(sheet_path, "--tile-size", 32, "--margin", 1, "--spacing", 2, "--res", "1.5x",
                     "--model", tiny_model_dir, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["resolution"] == [48, 48]
    new = scaled_grid(GRID, 48, 48)
    assert read_rgba(sheet_path.with_name("sheet-1.5x.png")).shape == (new.extent(3, 48), new.extent(4, 48), 4)
