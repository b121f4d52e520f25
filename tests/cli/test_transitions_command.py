"""`manifold transitions A B`: a sheet and a .tsx whose Wang set real Tiled loads, seamless joins, and the
output rules every command keeps (same seed same bytes, all or nothing, inputs never written).

The terrains are real game tiles: Dungeon Crawl's grass and sand floors (tests/data/terrain), both
seamless. Tiled is Debian's `tiled` (1.8.2) and its `tmxrasterizer`, run offscreen.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from conftest import missing_tool, run_cli
from PIL import Image
from tiled_helpers import need_tiled, tiled_export

from manifold_cli.transitions import sheet_layout
from manifold_core.tiles import read_rgba
from manifold_core.wang import KINDS, TILED_TYPES, neighbours, paint, terrain_points, tile_masks, wang_set
from manifold_eval.metrics import psnr_from_mse

TERRAIN = Path(__file__).resolve().parents[1] / "data" / "terrain"


@pytest.fixture
def terrains(tmp_path) -> tuple[Path, Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    return Path(shutil.copy(TERRAIN / "grass.png", folder)), Path(shutil.copy(TERRAIN / "sand.png", folder))


def transitions(*args):
    return run_cli("transitions", *args)


def summary(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def sheet_tiles(png: Path, size: int, columns: int) -> np.ndarray:
    sheet = read_rgba(png)
    rows = sheet.shape[0] // size
    return np.stack([sheet[r * size:(r + 1) * size, c * size:(c + 1) * size] for r in range(rows)
                     for c in range(columns)])


def write_map(folder: Path, tsx: Path, cells: np.ndarray, size: int) -> Path:
    """A map of the painted cells (tile ids) using the tileset, as Tiled 1.8 writes one."""
    rows = ",\n".join(",".join(str(int(c) + 1) for c in row) for row in cells)
    tmx = folder / "painted.tmx"
    tmx.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<map version="1.8" tiledversion="1.8.2" orientation="orthogonal" renderorder="right-down" '
        f'width="{cells.shape[1]}" height="{cells.shape[0]}" tilewidth="{size}" tileheight="{size}" infinite="0" '
        'nextlayerid="2" nextobjectid="1">\n'
        f' <tileset firstgid="1" source="{tsx.name}"/>\n'
        f' <layer id="1" name="ground" width="{cells.shape[1]}" height="{cells.shape[0]}">\n'
        f'  <data encoding="csv">\n{rows}\n</data>\n </layer>\n</map>\n')
    return tmx


def rasterize(tmx: Path, png: Path) -> np.ndarray:
    """The map as Tiled's own renderer draws it (tmxrasterizer, shipped with Debian's tiled)."""
    need_tiled()
    program = shutil.which("tmxrasterizer")
    if program is None:
        missing_tool("tmxrasterizer is missing: it comes with Debian's tiled package")
    runtime = png.parent / ".xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    done = subprocess.run([program, str(tmx), str(png)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return read_rgba(png)


@pytest.mark.parametrize("kind", KINDS)
def test_the_wang_set_loads_in_tiled_and_a_painted_map_renders(terrains, tmp_path, kind):
    grass, sand = terrains
    out = tmp_path / "out" / f"grass-sand-{kind}.tsx"
    data = summary(transitions(grass, sand, "-o", out, "--res", "24", "--wang", kind, "--variants", "1", "--json"))
    wang = wang_set(kind)
    assert data["tiles"] == 2 * len(wang) and data["files"] == [str(out), str(out.with_suffix(".png"))]
    joins = data["joins"]  # every pair Tiled may join, the variants' too
    assert joins["pairs"] == 4 * len(neighbours(wang)) and joins["edge_mean"] <= joins["inside_tiles"], joins
    block_rows, rows = sheet_layout(len(wang), wang.columns, 2)
    with Image.open(out.with_suffix(".png")) as image:
        assert image.size == (wang.columns * 24, rows * 24)

    # Tiled reads the Wang set as written: its type, the two colours named after the inputs, every tile's ID.
    tileset = tiled_export("tileset", out, tmp_path / "tileset.json")
    assert (tileset["tilewidth"], tileset["tileheight"], tileset["columns"]) == (24, 24, wang.columns)
    (wangset,) = tileset["wangsets"]
    assert wangset["type"] == TILED_TYPES[kind]
    assert [c["name"] for c in wangset["colors"]] == ["grass", "sand"]
    by_tile = {t["tileid"]: tuple(t["wangid"]) for t in wangset["wangtiles"]}
    first_variant = block_rows * wang.columns
    assert by_tile == {**dict(enumerate(wang.ids)), **{first_variant + i: wid for i, wid in enumerate(wang.ids)}}
    assert {t["id"]: t["probability"] for t in tileset["tiles"]} == {i: 0.5 for i in by_tile}

    # A map painted with the set (every cell the tile whose corners/edges the terrain asks for) loads and
    # exports, and Tiled draws it with exactly the tiles of the sheet.
    cells = paint(wang, terrain_points(kind, 4, 5, seed=1), copies=2, seed=1)
    cells = np.where(cells >= len(wang), cells - len(wang) + first_variant, cells)  # the variant block's ids
    tmx = write_map(out.parent, out, cells, 24)
    exported = tiled_export("map", tmx, tmp_path / "map.json")
    assert exported["layers"][0]["data"] == [int(c) + 1 for c in cells.ravel()]
    drawn = rasterize(tmx, tmp_path / "map.png")
    tiles = sheet_tiles(out.with_suffix(".png"), 24, wang.columns)
    expected = np.concatenate([np.concatenate([tiles[c] for c in row], axis=1) for row in cells], axis=0)
    assert np.array_equal(drawn, expected)


def test_same_seed_same_bytes_another_seed_another_set(terrains, tmp_path):
    grass, sand = terrains
    files = {}
    for name, seed in (("one", 3), ("two", 3), ("three", 4)):
        out = tmp_path / name / "set.tsx"
        summary(transitions(grass, sand, "-o", out, "--res", "24", "--seed", seed, "--variants", "1", "--json"))
        files[name] = (out.read_bytes(), out.with_suffix(".png").read_bytes())
    assert files["one"] == files["two"]
    assert files["one"][0] == files["three"][0] and files["one"][1] != files["three"][1]  # same XML, new shapes


def pure_consistency(tiles: np.ndarray, masks: np.ndarray, sources: np.ndarray, factor: int) -> list[float | None]:
    """PSNR (dB) of each terrain's pure regions (source pixels whose 3x3 neighbourhood is all that terrain),
    box-shrunk back to the source's pixels, against the source (None: no such region)."""
    def premultiplied(t):
        t = t.astype(np.float64)
        t[..., :3] *= t[..., 3:4] / 255
        return t[..., :3]
    shrunk = premultiplied(tiles).reshape(len(tiles), 32, factor, 32, factor, 3).mean((2, 4))
    found = []
    for k in (0, 1):
        pad = np.pad(masks == bool(k), ((0, 0), (1, 1), (1, 1)), mode="edge")
        pure = np.all([pad[:, 1 + dy:33 + dy, 1 + dx:33 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
        error = (shrunk - premultiplied(sources[k])[None]) ** 2
        found.append(psnr_from_mse(float(error[pure].mean())) if pure.any() else None)
    return found


def test_joins_are_no_steeper_than_the_terrains_and_pure_regions_keep_them(terrains, tmp_path, kind="blob"):
    """Across every pair of tiles Tiled may put side by side the mean colour step is at most the step
    between neighbouring pixels inside the two terrains (and inside the new tiles); each pure region,
    shrunk back, is as close to its terrain as upscale's own rendering of it (grass: exact). The blob
    set has both corners and edges; every kind's joins are checked where Tiled loads it, above."""
    grass, sand = terrains
    out = tmp_path / "set.tsx"
    data = summary(transitions(grass, sand, "-o", out, "--res", "64", "--wang", kind, "--json"))
    joins = data["joins"]
    assert joins["edge_mean"] <= joins["inside_sources"] and joins["edge_mean"] <= joins["inside_tiles"], joins
    wang = wang_set(kind)
    tiles = sheet_tiles(out.with_suffix(".png"), 64, wang.columns)[:len(wang)]
    masks = tile_masks(wang, 32, 32, seed=0, boundary="noisy", ring=0)
    sources = np.stack([read_rgba(grass), read_rgba(sand)])
    grass_db, sand_db = pure_consistency(tiles, masks, sources, 2)
    plain = summary(run_cli("upscale", sand, "--res", "64", "-o", tmp_path / "sand-64.png", "--json",
                            "--footprints", "free"))  # transitions render in the latent grid: the decoder's pixels
    _, plain_sand_db = pure_consistency(read_rgba(plain["output"])[None], np.ones((1, 32, 32), bool),
                                        sources, 2)
    assert grass_db == 100.0  # the pixel style: every 2x2 block is its grass pixel
    assert abs(sand_db - plain_sand_db) < 0.5, (sand_db, plain_sand_db)


def test_a_tileset_s_tiles_as_terrains(tmp_path):
    """TILESET.tsx#ID names a tile of a tileset (what the Tiled extension passes); the tileset's files are
    inputs and are never written."""
    sheet = np.concatenate([read_rgba(TERRAIN / "grass.png"), read_rgba(TERRAIN / "sand.png")], axis=1)
    Image.fromarray(sheet).save(tmp_path / "floor.png")
    tsx = tmp_path / "floor.tsx"
    tsx.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.8" name="floor" tilewidth="32" '
                   'tileheight="32" tilecount="2" columns="2">\n <image source="floor.png" width="64" height="32"/>\n'
                   '</tileset>\n')
    data = summary(transitions(f"{tsx}#0", f"{tsx}#1", "--res", "32", "--json"))
    out = tmp_path / "floor-0-floor-1.tsx"
    assert data["output"] == str(out) and out.with_suffix(".png").is_file()
    names = [c.get("name") for c in ET.parse(out).getroot().iter("wangcolor")]
    assert names == ["floor-0", "floor-1"]
    before = tsx.read_bytes(), (tmp_path / "floor.png").read_bytes()
    refused = transitions(f"{tsx}#0", f"{tsx}#1", "-o", tsx)
    assert refused.exit_code == 2 and "is an input" in refused.output
    assert (tsx.read_bytes(), (tmp_path / "floor.png").read_bytes()) == before
    missing = transitions(f"{tsx}#7", f"{tsx}#1")
    assert missing.exit_code == 1 and "tiles 0 to 1" in missing.output


@pytest.mark.parametrize("args,status,words", [
    (["{a}", "{small}"], 1, "give two terrain tiles of one size"),
    (["{a}", "{missing}"], 1, "no such file"),
    (["{a}", "{b}", "--boundary", "wavy"], 2, "--boundary 'wavy'"),
    (["{a}", "{b}", "-o", "{out}/set.png"], 2, "ending in .tsx"),
    (["{a}", "{b}", "--variants", "40"], 2, "--variants 40"),
    (["{a}", "{b}", "-o", "{a_tsx}"], 2, "is an input"),
    (["{a}", "{b}", "--res", "0"], 2, "--res"),
])
def test_mistakes_are_one_line_and_write_nothing(terrains, tmp_path, args, status, words):
    grass, sand = terrains
    small = tmp_path / "in" / "small.png"
    Image.fromarray(read_rgba(grass)[:16, :16]).save(small)
    names = {"a": grass, "b": sand, "small": small, "missing": tmp_path / "in" / "nope.png",
             "out": tmp_path / "in", "a_tsx": grass.with_suffix(".tsx")}
    before = sorted(p.name for p in (tmp_path / "in").iterdir())
    result = transitions(*[a.format(**names) for a in args])
    assert result.exit_code == status, result.output
    assert words in result.output and result.output.startswith("error: ") and result.output.count("\n") == 1
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == before


def test_a_factor_is_of_the_terrain_tiles_own_size(terrains, tmp_path):
    grass, sand = terrains
    side = read_rgba(grass).shape[0]
    data = summary(transitions(grass, sand, "-o", tmp_path / "set.tsx", "--res", "1.5x", "--json"))
    assert data["resolution"] == [side * 3 // 2] * 2
    too_big = transitions(grass, sand, "-o", tmp_path / "big.tsx", "--res", "17x")
    assert too_big.exit_code == 2 and "at most 16" in too_big.output and not (tmp_path / "big.tsx").exists()
