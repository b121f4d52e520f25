"""`manifold upscale level.tsx|map.tmx`: new Tiled files that real Tiled loads, with the same tile indices.

Fixtures are written here: procedural tiles (manifold_core.synthetic) on sheets and as single
images, and the .tsx/.tmx XML as Tiled 1.8 writes it. Every output is loaded by the real
`tiled` command line and compared with the input as Tiled sees both.
"""

import base64
import json
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image
from tiled_helpers import listing, make_sheet, need_tiled, save, tiled_export
from tiled_project import EMPTY, ITEMS, LEVEL_TMX, TERRAIN, TERRAIN_TSX, build_project

from manifold_cli.tiled import plan_tiled, write_tiled
from manifold_core.errors import UserError
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import Grid, is_empty, read_rgba, slice_sheet


@pytest.fixture
def level(tmp_path):
    return build_project(tmp_path)


def upscale(*args):
    return run_cli("upscale", *args)


def tile_indices(layers):
    """{layer name: GIDs} of every tile layer, groups included, base64/zlib decoded."""
    found = {}
    for layer in layers:
        if layer["type"] == "group":
            found.update(tile_indices(layer["layers"]))
        elif layer["type"] == "tilelayer":
            data = layer["data"]
            if layer.get("encoding") == "base64":
                raw = base64.b64decode(data)
                raw = zlib.decompress(raw) if layer.get("compression") in ("zlib", "gzip") else raw
                data = list(struct.unpack(f"<{len(raw) // 4}I", raw))
            found[layer["name"]] = data
    return found


def objects(layers):
    found = {}
    for layer in layers:
        if layer["type"] == "group":
            found.update(objects(layer["layers"]))
        elif layer["type"] == "objectgroup":
            found.update({o["id"]: o for o in layer["objects"]})
    return found


def offsets(layers):
    return {layer["name"]: (layer.get("offsetx", 0), layer.get("offsety", 0)) for layer in layers} | \
        {k: v for layer in layers if layer["type"] == "group" for k, v in offsets(layer["layers"]).items()}


def doubled(obj):
    return {k: (v * 2 if k in ("x", "y", "width", "height") else v) for k, v in obj.items()}


def test_map_with_three_tilesets_loads_in_tiled_with_the_same_tile_indices(level, tiny_model_dir):
    need_tiled()
    maps = level.parent
    result = upscale(level, "--res", 64, "--model", tiny_model_dir, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["output"] == str(maps / "level-64.tmx") and summary["tiles"] == 12 + 3 + 4
    assert sorted(Path(f).relative_to(maps).as_posix() for f in summary["files"]) == [
        "img/items-64.png", "level-64.tmx", "props-64x128/img/props/ghost.png",
        "props-64x128/img/props/rock.png", "props-64x128/img/props/tree.png", "terrain-64.png", "terrain-64.tsx"]

    before = tiled_export("map", level, maps / "before.json", "--embed-tilesets")
    after = tiled_export("map", maps / "level-64.tmx", maps / "after.json", "--embed-tilesets")
    indices = tile_indices(before["layers"])
    assert set(indices) == {"ground", "items"} and indices["items"] == ITEMS
    assert tile_indices(after["layers"]) == indices  # every tile index is the same
    assert (after["tilewidth"], after["tileheight"], after["width"], after["height"]) == (64, 64, 4, 3)
    assert after["properties"] == before["properties"]  # file property unchanged: same folder

    old, new = ({t["name"]: t for t in m["tilesets"]} for m in (before, after))
    assert [t["firstgid"] for t in after["tilesets"]] == [1, 13, 16]
    for name in old:
        assert new[name]["tilecount"] == old[name]["tilecount"] > 0  # Tiled found every image
        assert (new[name]["tilewidth"], new[name]["tileheight"]) == (2 * old[name]["tilewidth"],
                                                                     2 * old[name]["tileheight"])
    terrain_old, terrain_new = old["terrain"], new["terrain"]
    assert (terrain_new["margin"], terrain_new["spacing"], terrain_new["imagewidth"],
            terrain_new["imageheight"]) == (2, 4, 272, 204)
    assert terrain_new["tileoffset"] == {"x": 4, "y": -8}
    assert terrain_new["wangsets"] == terrain_old["wangsets"]
    assert terrain_new["properties"] == terrain_old["properties"]
    assert terrain_new["objectalignment"] == "bottom"
    tile3_old, tile3_new = ([t for t in ts["tiles"] if t["id"] == 3][0] for ts in (terrain_old, terrain_new))
    assert tile3_new["properties"] == tile3_old["properties"] and tile3_new["type"] == "wall"
    shapes_old, shapes_new = tile3_old["objectgroup"]["objects"], tile3_new["objectgroup"]["objects"]
    assert shapes_new[0] == doubled(shapes_old[0])
    assert shapes_new[1]["polygon"] == [{"x": 2 * p["x"], "y": 2 * p["y"]} for p in shapes_old[1]["polygon"]]
    assert [t for t in terrain_new["tiles"] if t["id"] == 4] == [t for t in terrain_old["tiles"] if t["id"] == 4]
    assert new["items"]["imagewidth"] == 128 and new["items"]["tileoffset"] == {"x": 0, "y": 8}

    props_new = {t["id"]: t for t in new["props"]["tiles"]}
    assert [(props_new[i]["imagewidth"], props_new[i]["imageheight"]) for i in range(3)] == \
        [(64, 128), (64, 64), (32, 32)]
    for tile in props_new.values():  # paths relative to after.json, which lies beside the new map
        assert Image.open(maps / tile["image"]).size == (tile["imagewidth"], tile["imageheight"])
    assert is_empty(read_rgba(maps / props_new[2]["image"])[None])[0]

    terrain = slice_sheet(read_rgba(maps / "terrain-64.png"), Grid(64, 64, 2, 4))
    assert list(np.flatnonzero(is_empty(terrain))) == [EMPTY]

    objs_old, objs_new = objects(before["layers"]), objects(after["layers"])
    for i in (1, 2):
        assert objs_new[i] == doubled(objs_old[i])
    assert objs_new[3]["polygon"] == [{"x": 2 * p["x"], "y": 2 * p["y"]} for p in objs_old[3]["polygon"]]
    assert objs_new[4]["polyline"] == [{"x": 2 * p["x"], "y": 2 * p["y"]} for p in objs_old[4]["polyline"]]
    assert objs_new[5]["text"]["pixelsize"] == 24 and objs_new[5]["text"]["text"] == "Hello"
    assert offsets(after["layers"]) == {k: (2 * x, 2 * y) for k, (x, y) in offsets(before["layers"]).items()}
    assert not [p for p in maps.rglob(".*") if p.name != ".xdg-runtime" and ".xdg-runtime" not in p.parts]


def test_tileset_alone_comes_out_at_64px_and_loads_in_tiled(level, tiny_model_dir):
    need_tiled()
    maps = level.parent
    result = upscale(maps / "terrain.tsx", "--res", 64, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0, result.output
    before = tiled_export("tileset", maps / "terrain.tsx", maps / "before.json")
    after = tiled_export("tileset", maps / "terrain-64.tsx", maps / "after.json")
    assert (after["tilewidth"], after["tileheight"], after["margin"], after["spacing"]) == (64, 64, 2, 4)
    assert (after["tilecount"], after["columns"]) == (before["tilecount"], before["columns"]) == (12, 4)
    assert (after["imagewidth"], after["imageheight"]) == Image.open(maps / "terrain-64.png").size == (272, 204)
    assert after["image"] == "terrain-64.png"
    text = (maps / "terrain-64.tsx").read_text()
    assert "<!-- hand-written for the tests -->" in text and 'format="json"' in text  # the rest is kept


def test_image_collection_tileset_alone(tmp_path, tiny_model_dir):
    need_tiled()
    save(tmp_path / "a.png", make_tiles(1, 32, seed=7)[0])
    save(tmp_path / "sub" / "b.png", make_tiles(1, 24, seed=8)[0][:, :20])  # 20x24
    (tmp_path / "things.tsx").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.8" tiledversion="1.8.2" name="things" '
        'tilewidth="32" tileheight="32" tilecount="2" columns="0">\n <grid orientation="orthogonal" width="1" '
        'height="1"/>\n <tile id="0"><image width="32" height="32" source="a.png"/></tile>\n <tile id="7">'
        '<properties><property name="n" type="int" value="2"/></properties><image width="20" height="24" '
        'source="sub/b.png"/></tile>\n</tileset>\n')
    result = upscale(tmp_path / "things.tsx", "--res", 48, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0, result.output
    before = tiled_export("tileset", tmp_path / "things.tsx", tmp_path / "before.json")
    after = tiled_export("tileset", tmp_path / "things-48.tsx", tmp_path / "after.json")
    assert after["tilewidth"] == 48 and after["tilecount"] == before["tilecount"] == 2
    sizes = {t["id"]: (t["imagewidth"], t["imageheight"], t["image"]) for t in after["tiles"]}
    assert sizes == {0: (48, 48, "things-48/a.png"), 7: (30, 36, "things-48/sub/b.png")}
    assert Image.open(tmp_path / "things-48" / "sub" / "b.png").size == (30, 36)
    assert [t.get("properties") for t in after["tiles"]] == [t.get("properties") for t in before["tiles"]]


def test_output_folder_elsewhere_rebases_paths(level, tiny_model_dir, tmp_path):
    need_tiled()
    out = tmp_path / "export" / "hd"
    result = upscale(level, "--res", 64, "-o", out, "--model", tiny_model_dir, "-q")
    assert result.exit_code == 0, result.output
    assert (out / "level-64.tmx").exists() and (out / "terrain-64.tsx").exists()
    before = tiled_export("map", level, tmp_path / "before.json", "--embed-tilesets")
    after = tiled_export("map", out / "level-64.tmx", tmp_path / "after.json", "--embed-tilesets")
    assert tile_indices(after["layers"]) == tile_indices(before["layers"])
    assert [t["tilecount"] for t in after["tilesets"]] == [t["tilecount"] for t in before["tilesets"]]
    text = (out / "level-64.tmx").read_text()
    assert 'value="../../maps/sound/theme.ogg"' in text and 'source="../../maps/img/bg.png"' in text
    assert 'value="../../maps/docs/terrain.txt"' in (out / "terrain-64.tsx").read_text()
    named = upscale(level, "--res", 64, "-o", tmp_path / "x" / "big.tmx", "--model", tiny_model_dir, "-q")
    assert named.exit_code == 0 and (tmp_path / "x" / "big.tmx").exists()


def test_infinite_map_keeps_its_chunks(level, tiny_model_dir):
    need_tiled()
    maps = level.parent
    chunk = ",".join(str(1 + i % 12) for i in range(16 * 16))
    (maps / "open.tmx").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<map version="1.8" tiledversion="1.8.2" orientation="orthogonal" '
        'renderorder="right-down" width="30" height="20" tilewidth="32" tileheight="32" infinite="1" '
        'nextlayerid="2" nextobjectid="1">\n <tileset firstgid="1" source="terrain.tsx"/>\n <layer id="1" '
        'name="L" width="30" height="20">\n  <data encoding="csv">\n   <chunk x="-16" y="0" width="16" '
        f'height="16">\n{chunk}\n</chunk>\n  </data>\n </layer>\n</map>\n')
    assert upscale(maps / "open.tmx", "--res", 64, "--model", tiny_model_dir, "-q").exit_code == 0
    before = tiled_export("map", maps / "open.tmx", maps / "before.json")
    after = tiled_export("map", maps / "open-64.tmx", maps / "after.json")
    assert after["layers"][0]["chunks"] == before["layers"][0]["chunks"] and after["tilewidth"] == 64


def test_colour_key_becomes_transparency(tmp_path, tiny_model_dir):
    tiles = make_tiles(4, 16, seed=9)
    tiles[1] = (255, 0, 255, 255)  # all magenta: transparent by the colour key, so it stays empty
    save(tmp_path / "keyed.png", make_sheet(tiles, 2, Grid(16, 16)))
    (tmp_path / "keyed.tsx").write_text(
        '<tileset name="k" tilewidth="16" tileheight="16" tilecount="4" columns="2">'
        '<image source="keyed.png" trans="ff00ff" width="32" height="32"/></tileset>')
    assert upscale(tmp_path / "keyed.tsx", "--res", 32, "--model", tiny_model_dir, "-q").exit_code == 0
    assert "trans=" not in (tmp_path / "keyed-32.tsx").read_text()
    cells = slice_sheet(read_rgba(tmp_path / "keyed-32.png"), Grid(32, 32))
    assert list(np.flatnonzero(is_empty(cells))) == [1]


BAD = {
    "broken tileset XML": ("terrain.tsx", lambda t: t[:300], "terrain.tsx: broken XML"),
    "broken map XML": ("level.tmx", lambda t: t.replace("</layer>", "", 1), "level.tmx: broken XML"),
    "external entity": ("terrain.tsx", lambda t: t.replace(
        "<tileset ", '<!DOCTYPE tileset [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<tileset name2="&x;" ', 1),
        "DOCTYPE"),
    "entity expansion": ("level.tmx", lambda t: t.replace(
        "<map ", '<!DOCTYPE map [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n<map name="&b;" ', 1),
        "DOCTYPE"),
    "missing sheet image": ("terrain.tsx", lambda t: t.replace("img/terrain.png", "img/nope.png"),
                            "image 'img/nope.png' not found"),
    "missing collection image": ("level.tmx", lambda t: t.replace("props/rock.png", "props/gone.png"),
                                 "image 'img/props/gone.png' not found"),
    "missing tileset": ("level.tmx", lambda t: t.replace('source="terrain.tsx"', 'source="other.tsx"'),
                        "tileset 'other.tsx' not found"),
    "JSON tileset": ("level.tmx", lambda t: t.replace('source="terrain.tsx"', 'source="terrain.tsj"'),
                     "is not a .tsx file"),
    "escaping image": ("terrain.tsx", lambda t: t.replace("img/terrain.png", "../outside.png"),
                       "image '../outside.png' is outside the folder"),
    "absolute image": ("level.tmx", lambda t: t.replace("img/items.png", "{root}/outside.png"),
                       "is outside the folder"),
    "escaping tileset": ("level.tmx", lambda t: t.replace('source="terrain.tsx"', 'source="../shared.tsx"'),
                         "tileset '../shared.tsx' is outside the folder"),
    "sheet too small": ("terrain.tsx", lambda t: t.replace('tilewidth="32"', 'tilewidth="200"', 1),
                        "too small for one 200x32 tile"),
    "not a number": ("level.tmx", lambda t: t.replace('tilewidth="32"', 'tilewidth="wide"', 1),
                     'tilewidth="wide"> is not a whole number'),
    "wrong root": ("level.tmx", lambda t: TERRAIN_TSX, "not a Tiled map"),
}


@pytest.mark.parametrize("case", BAD)
def test_errors_are_one_clear_line_and_leave_nothing_behind(level, tiny_model_dir, case):
    name, edit, message = BAD[case]
    root = level.parent.parent
    save(root / "outside.png", make_sheet(make_tiles(4, 32, seed=1), 2, Grid(32, 32)))
    (root / "shared.tsx").write_text(TERRAIN_TSX.replace("img/terrain.png", "maps/img/terrain.png"))
    path = level.parent / name
    path.write_text(edit(path.read_text()).replace("{root}", str(root)))
    before = listing(root)
    source = level if name == "level.tmx" else path
    result = upscale(source, "--res", 64, "--model", tiny_model_dir)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert listing(root) == before  # no partial file
    if name == "terrain.tsx":  # the same error through the map that uses the tileset
        through_map = upscale(level, "--res", 64, "--model", tiny_model_dir)
        assert through_map.exit_code == 1 and message in through_map.output
        assert listing(root) == before


def test_allow_outside_reads_escaping_paths(level, tiny_model_dir):
    need_tiled()
    maps, root = level.parent, level.parent.parent
    save(root / "outside.png", make_sheet(make_tiles(12, 32, seed=1), 4, TERRAIN))
    (maps / "terrain.tsx").write_text(TERRAIN_TSX.replace("img/terrain.png", "../outside.png"))
    (maps / "level.tmx").write_text(LEVEL_TMX.replace('source="terrain.tsx"', 'source="../shared/terrain.tsx"'))
    save(root / "shared" / "img" / "terrain.png", make_sheet(make_tiles(12, 32, seed=1), 4, TERRAIN))
    (root / "shared" / "terrain.tsx").write_text(TERRAIN_TSX)
    refused = upscale(level, "--res", 64, "--model", tiny_model_dir)
    assert refused.exit_code == 1 and "--allow-outside" in refused.output
    result = upscale(level, "--res", 64, "--model", tiny_model_dir, "--allow-outside", "-q")
    assert result.exit_code == 0, result.output
    assert (maps / "terrain-64.tsx").exists()  # an outside tileset's new file goes beside the new map
    after = tiled_export("map", maps / "level-64.tmx", maps / "after.json", "--embed-tilesets")
    assert [t["tilecount"] for t in after["tilesets"]] == [12, 3, 4]
    alone = upscale(maps / "terrain.tsx", "--res", 64, "--model", tiny_model_dir, "--allow-outside", "-q")
    assert alone.exit_code == 0, alone.output
    assert Image.open(maps / "terrain-64.png").size == (272, 204)


def test_a_failure_while_rendering_leaves_no_file(level, tiny_model_dir):
    from manifold_core.runtime import TileModel

    model = TileModel.load(tiny_model_dir, "cpu")
    plan = plan_tiled(level, None, (64, 64))
    calls = []

    def failing(tiles, height, width, *options, **more):
        calls.append(len(tiles))
        if len(calls) == 2:
            raise UserError("out of memory")
        yield np.zeros((len(tiles), height, width, 4), np.uint8)

    model.render = failing
    before = listing(level.parent.parent)
    with pytest.raises(UserError, match="out of memory"):
        write_tiled(model, plan)
    assert listing(level.parent.parent) == before


def test_inputs_are_never_overwritten(level, tiny_model_dir):
    result = upscale(level, "--res", 64, "-o", level, "--model", tiny_model_dir)
    assert result.exit_code == 2 and "inputs are never overwritten" in result.output
    tsx = level.parent / "terrain.tsx"
    assert upscale(tsx, "--res", 64, "-o", tsx, "--model", tiny_model_dir).exit_code == 2
    assert upscale(tsx, "--tile-size", 32, "--model", tiny_model_dir).exit_code == 2
    wrong = upscale(tsx, "--res", 64, "-o", level.parent / "x.tmx", "--model", tiny_model_dir)
    assert wrong.exit_code == 2 and "give a folder or a .tsx file name" in wrong.output


def test_a_factor_scales_the_map_and_every_tileset_by_it(level, tiny_model_dir):
    """--res 2x on a 32 px map is --res 64, but the files are named after the factor."""
    maps = level.parent
    by_size = upscale(level, "--res", 64, "--model", tiny_model_dir, "-o", maps / "by-size", "--json")
    by_factor = upscale(level, "--res", "2x", "--model", tiny_model_dir, "-o", maps / "by-factor", "--json")
    assert by_size.exit_code == 0 and by_factor.exit_code == 0, by_factor.output
    summary = json.loads(by_factor.stdout)
    assert summary["output"] == str(maps / "by-factor" / "level-2x.tmx") and summary["resolution"] == [64, 64]
    named = lambda s, root: sorted(Path(f).relative_to(root).as_posix().replace("-2x", "-64") for f in s["files"])
    assert named(summary, maps / "by-factor") == named(json.loads(by_size.stdout), maps / "by-size")
    assert (read_rgba(maps / "by-factor" / "terrain-64.png") == read_rgba(maps / "by-size" / "terrain-64.png")).all()
