"""`manifold upscale` against hostile input: hostile Tiled files, planted folder links, inputs claimed as
outputs, huge numbers, odd names, deep folders, memory that counts the input. Every case checks
the error line (one line, the documented status, no traceback) and that no file was lost."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from manifold_cli.cli import app
from manifold_core.files import is_temporary
from manifold_core.synthetic import make_tiles

runner = CliRunner()


def upscale(*args):
    return runner.invoke(app, ["upscale", *map(str, args), "-q"])


def digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


def one_error(result, status: int) -> str:
    assert result.exit_code == status, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output, result.output
    return lines[0]


def tiles(n=4, size=16, seed=3):
    return make_tiles(n, size, seed=seed)


@pytest.fixture
def project(tmp_path):
    """maps/ with a 4-tile sheet, single tile images and a victim file outside."""
    maps = tmp_path / "maps"
    (maps / "img").mkdir(parents=True)
    t = tiles()
    Image.fromarray(np.concatenate(list(t), axis=1)).save(maps / "sheet.png")
    for i, tile in enumerate(t):
        Image.fromarray(tile).save(maps / "img" / f"t{i}.png")
    (tmp_path / "victim.png").write_bytes(b"precious, not a picture")
    return maps


def collection(tile_id: str, source: str) -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.10" name="c" tilewidth="16" tileheight="16" '
            f'tilecount="1" columns="0">\n <tile id="{tile_id}">\n  <image source="{source}" width="16" height="16"/>\n'
            ' </tile>\n</tileset>\n')


def tmx(body: str, attrs: str = "") -> str:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<map version="1.10" orientation="orthogonal" renderorder="right-down" '
            f'width="2" height="2" tilewidth="16" tileheight="16" {attrs}>\n <tileset firstgid="1" name="s" '
            f'tilewidth="16" tileheight="16"><image source="sheet.png" width="64" height="16"/></tileset>\n{body}</map>\n')


# ---------------------------------------------------------------- item 2: ids are whole numbers
@pytest.mark.parametrize("tile_id", ["../../victim", "/tmp/victim", "a/b", "..", "1.5", "-1", "x"])
@pytest.mark.parametrize("allow_outside", [False, True])
def test_a_tile_id_is_never_part_of_a_path(project, tile_id, allow_outside):
    tsx = project / "c.tsx"
    tsx.write_text(collection(tile_id, "../victim.png" if allow_outside else "img/t0.png"))
    before = digest(project.parent)
    result = upscale(tsx, "--res", 32, *(["--allow-outside"] if allow_outside else []))
    assert "tile id" in one_error(result, 1) or "whole number" in result.output
    assert digest(project.parent) == before


def test_an_outside_image_in_a_collection_is_named_by_its_whole_id(project):
    Image.fromarray(tiles(1, seed=9)[0]).save(project.parent / "outside.png")
    tsx = project / "c.tsx"
    tsx.write_text(collection("7", "../outside.png"))
    result = upscale(tsx, "--res", 32, "--allow-outside")
    assert result.exit_code == 0, result.output
    assert (project / "c-32" / "7-outside.png").is_file()
    assert (project.parent / "victim.png").read_bytes() == b"precious, not a picture"


# ---------------------------------------------------------------- item 4: every referenced file is an input
@pytest.mark.parametrize("reference", [
    '<imagelayer id="2" name="bg"><image source="sheet-32.png"/></imagelayer>\n',
    '<objectgroup id="3" name="o"><object id="1" template="sheet-32.png" x="1" y="1"/></objectgroup>\n',
    '<properties><property name="p" type="file" value="sheet-32.png"/></properties>\n',
    '<group id="4" name="g"><imagelayer id="5" name="deep"><image source="./sheet-32.png"/></imagelayer></group>\n',
])
def test_a_file_the_map_names_is_never_claimed_as_an_output(project, reference):
    Image.fromarray(tiles(1, seed=5)[0]).save(project / "sheet-32.png")
    (project / "map.tmx").write_text(tmx(reference))
    before = digest(project)
    result = upscale(project / "map.tmx", "--res", 32)
    assert result.exit_code == 0, result.output
    assert all(digest(project).get(k) == v for k, v in before.items())  # sheet-32.png untouched
    assert (project / "sheet-32-2.png").is_file()
    assert 'source="sheet-32-2.png"' in (project / "map-32.tmx").read_text()


def test_naming_a_referenced_file_as_the_output_is_refused(project):
    (project / "map.tmx").write_text(tmx('<imagelayer id="2" name="bg"><image source="bg.tmx"/></imagelayer>\n'))
    (project / "bg.tmx").write_text("not read, but named")
    result = upscale(project / "map.tmx", "--res", 32, "-o", project / "bg.tmx")
    assert "never overwritten" in one_error(result, 2)
    assert (project / "bg.tmx").read_text() == "not read, but named"


# ---------------------------------------------------------------- item 3: planted folder links
def plant(root: Path, relative: str, elsewhere: Path) -> None:
    link = root / relative
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(elsewhere, target_is_directory=True)


@pytest.mark.parametrize("depth", [1, 2, 4])
def test_a_folder_link_planted_in_the_output_of_a_folder_is_never_followed(tmp_path, depth):
    inner = "/".join(["d"] * (depth - 1) + ["sub"])
    src = tmp_path / "in" / inner
    src.mkdir(parents=True)
    Image.fromarray(tiles(1)[0]).save(src / "a.png")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "a.png").write_bytes(b"precious")
    plant(tmp_path / "out", inner, elsewhere)
    result = upscale(tmp_path / "in", "--res", 32, "-o", tmp_path / "out")
    assert "symbolic link" in one_error(result, 4)
    assert sorted(os.listdir(elsewhere)) == ["a.png"] and (elsewhere / "a.png").read_bytes() == b"precious"


@pytest.mark.parametrize("where", ["sub", "sub/deeper", "c-32"])
def test_a_folder_link_planted_where_a_tileset_writes_is_never_followed(project, where):
    (project / "img" / "sub" / "deeper").mkdir(parents=True)
    Image.fromarray(tiles(1)[0]).save(project / "img" / "sub" / "deeper" / "t.png")
    tsx = project / "c.tsx"
    tsx.write_text(collection("0", "img/sub/deeper/t.png"))
    elsewhere = project.parent / "elsewhere"
    elsewhere.mkdir()
    link = {"c-32": "c-32", "sub": "c-32/img/sub", "sub/deeper": "c-32/img/sub/deeper"}[where]
    plant(project, link, elsewhere)
    before = digest(project.parent)
    result = upscale(tsx, "--res", 32)
    assert "symbolic link" in one_error(result, 4)
    assert os.listdir(elsewhere) == [] and digest(project.parent) == before
    assert not [p for p in project.parent.rglob("*") if is_temporary(p)]


def test_a_map_in_a_linked_subfolder_of_the_output_is_refused(project, tmp_path):
    (project / "maps2").mkdir()
    (project / "maps2" / "sheet.png").write_bytes((project / "sheet.png").read_bytes())
    (project / "map.tmx").write_text(tmx("").replace('source="sheet.png"', 'source="maps2/sheet.png"'))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    plant(tmp_path / "hd", "maps2", elsewhere)
    result = upscale(project / "map.tmx", "--res", 32, "-o", tmp_path / "hd")
    assert "symbolic link" in one_error(result, 4)
    assert os.listdir(elsewhere) == [] and not (tmp_path / "hd" / "map-32.tmx").exists()


# ---------------------------------------------------------------- item 10: coordinates near the float maximum
@pytest.mark.parametrize("body,attrs", [
    ('<objectgroup id="3" name="o"><object id="1" x="1.7e308" y="2"/></objectgroup>\n', ""),
    ('<objectgroup id="3" name="o"><object id="1" x="1" y="1" width="-1.7e308"/></objectgroup>\n', ""),
    ('<layer id="2" name="l" width="2" height="2" offsetx="1.7e308"><data encoding="csv">1,1,1,1</data></layer>\n', ""),
    ('<objectgroup id="3" name="o"><object id="1" x="1" y="1"><polygon points="0,0 1.7e308,1 2,2"/></object>'
     '</objectgroup>\n', ""),
    ("", 'staggeraxis="x" hexsidelength="2147483647"'),
    ("", 'parallaxoriginx="1.7e308"'),
    ('<objectgroup id="3" name="o"><object id="1" x="1" y="1"><text pixelsize="2147483647">t</text></object>'
     '</objectgroup>\n', ""),
])
def test_huge_coordinates_in_a_map_are_one_error_line(project, body, attrs):
    (project / "map.tmx").write_text(tmx(body, attrs))
    before = digest(project)
    one_error(upscale(project / "map.tmx", "--res", 32), 1)
    assert digest(project) == before


@pytest.mark.parametrize("inner", [
    '<tileoffset x="2147483000" y="0"/>',
    '<tile id="0"><objectgroup draworder="index"><object id="1" x="1.7e308" y="0" width="4" height="4"/>'
    '</objectgroup></tile>',
    '<grid orientation="orthogonal" width="2147483647" height="16"/>',
    '<tile id="0" x="2147483647" y="0" width="16" height="16"/>',
])
def test_huge_numbers_in_a_tileset_are_one_error_line(project, inner):
    (project / "s.tsx").write_text('<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.10" name="s" '
                                   'tilewidth="16" tileheight="16" tilecount="4" columns="4">'
                                   f'{inner}<image source="sheet.png" width="64" height="16"/></tileset>\n')
    before = digest(project)
    one_error(upscale(project / "s.tsx", "--res", 32), 1)
    assert digest(project) == before


@pytest.mark.parametrize("attr", ['tilewidth="99999999999999999999"', 'margin="-99999999999"',
                                  'spacing="340282366920938463463374607431768211456"'])
def test_whole_numbers_beyond_tileds_are_one_error_line(project, attr):
    text = ('<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.10" name="s" tilewidth="16" tileheight="16" '
            'tilecount="4" columns="4"><image source="sheet.png" width="64" height="16"/></tileset>\n')
    key = attr.split("=")[0]
    text = text.replace('tilewidth="16"', attr) if key == "tilewidth" else text.replace('columns="4"', f'columns="4" {attr}')
    (project / "s.tsx").write_text(text)
    one_error(upscale(project / "s.tsx", "--res", 32), 1)


# ---------------------------------------------------------------- item 11: names that are not UTF-8
@pytest.mark.skipif(os.uname().sysname == "Darwin", reason="macOS refuses file names that are not UTF-8")
def test_a_tileset_name_that_is_not_utf8_is_refused_before_rendering(project):
    name = os.fsdecode(b"set\xff.tsx")
    (project / name).write_text(collection("0", "img/t0.png"))
    before = digest(project)
    assert "UTF-8" in one_error(upscale(project / name, "--res", 32), 1)
    assert digest(project) == before


@pytest.mark.skipif(os.uname().sysname == "Darwin", reason="macOS refuses file names that are not UTF-8")
@pytest.mark.parametrize("kind", ["folder", "sheet", "tmx"])
def test_an_output_path_that_is_not_utf8_works(project, tmp_path, kind):
    out = tmp_path / os.fsdecode(b"out\xfe")
    args = {"folder": [project / "img", "--res", 32, "-o", out],
            "sheet": [project / "sheet.png", "--tile-size", 16, "--res", 32, "-o", out],
            "tmx": [project / "map.tmx", "--res", 32, "-o", out]}[kind]
    (project / "map.tmx").write_text(tmx(""))
    result = upscale(*args, "--json")
    assert result.exit_code == 0, result.output
    if kind == "sheet":
        assert out.is_file() and Image.open(out).size == (128, 32)
    else:
        assert list(out.rglob("*.png"))


# ---------------------------------------------------------------- item 18: integer grids
@pytest.mark.parametrize("margin,spacing", [(0, 9223372036854775807), (0, 2**53 + 1), (4611686018427387904, 0),
                                            (33, 0), (0, 65)])
def test_a_margin_or_spacing_larger_than_the_sheet_is_refused(project, margin, spacing):
    result = upscale(project / "sheet.png", "--tile-size", 16, "--margin", margin, "--spacing", spacing, "--res", 32,
                     "-o", project / "out.png")
    assert one_error(result, 2)
    assert not (project / "out.png").exists()


@pytest.mark.parametrize("spacing", [2**53, 2**63 - 1, 10**30])
def test_a_grid_count_is_exact_for_any_spacing(spacing):
    """(64 + s) / (16 + s) is 1.0 in floats for a huge s: one tile of a 64 px sheet. Not a grid."""
    from manifold_core.errors import UserError
    from manifold_core.tiles import Grid

    with pytest.raises(UserError, match="not a grid"):
        Grid(16, 16, 0, spacing).shape(64, 32)


# ---------------------------------------------------------------- item 19: say what is there
def test_a_suffix_collision_names_the_real_files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(tiles(1)[0]).save(src / "tile.bmp")
    Image.fromarray(tiles(1)[0]).save(src / "tile.tga")
    line = one_error(upscale(src, "--res", 32, "-o", tmp_path / "out"), 1)
    assert "tile.bmp" in line and "tile.tga" in line and "a.gif" not in line


def test_a_symlink_loop_as_input_says_so(tmp_path):
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    line = one_error(upscale(tmp_path / "loop", "--res", 32), 1)
    assert "loop" in line.split(":", 2)[-1] and "no such file" not in line


def test_a_dangling_symlink_as_input_says_so(tmp_path):
    (tmp_path / "dangling.png").symlink_to(tmp_path / "gone.png")
    line = one_error(upscale(tmp_path / "dangling.png", "--res", 32), 1)
    assert "symbolic link to nothing" in line


# ---------------------------------------------------------------- item 14: deep folders
def remove_deep(folder: Path) -> None:
    """Remove a tree of any depth without recursion (shutil.rmtree, and so pytest's own clean-up of
    old temporary folders, recurses once per level)."""
    stack = [str(folder)]
    while stack:
        top = stack[-1]
        try:
            children = [e for e in os.scandir(top)]
        except OSError:
            stack.pop()
            continue
        dirs = [e.path for e in children if e.is_dir(follow_symlinks=False)]
        for e in children:
            if not e.is_dir(follow_symlinks=False):
                os.unlink(e.path)
        if dirs:
            stack += dirs
        else:
            os.rmdir(stack.pop())


def _deep_rename(folder: Path) -> None:
    """Flatten a deep chain `d/d/d...` by moving each level up before removing: paths stay short."""
    while (folder / "d").is_dir():
        (folder / "d").rename(folder / "d-up")
        for entry in os.scandir(folder / "d-up"):
            os.rename(entry.path, folder / entry.name)
        os.rmdir(folder / "d-up")
    remove_deep(folder)


@pytest.fixture
def deep_cleanup():
    made = []
    yield made.append
    for folder in made:
        if folder.exists():
            _deep_rename(folder)


@pytest.mark.parametrize("depth", [200, 1100])
def test_a_deeply_nested_input_folder_is_walked_without_recursion(tmp_path, depth, deep_cleanup):
    src = tmp_path / "in"
    deep = src
    os.makedirs(src)
    deep_cleanup(src)
    deep_cleanup(tmp_path / "out")
    fd = os.open(src, os.O_RDONLY)
    try:  # built by descriptor: a 1,100-level path is longer than the system lets one call name
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            child = os.open("d", os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = child
        deep = deep.joinpath(*["d"] * depth)
        with open(os.open("t.png", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as f:
            Image.fromarray(tiles(1)[0]).save(f, format="PNG")
        Image.fromarray(tiles(1)[0]).save(src / "top.png")
    finally:
        os.close(fd)
    result = upscale(src, "--res", 24, "-o", tmp_path / "out")
    assert "Traceback" not in result.output and "RecursionError" not in result.output, result.output
    assert result.exit_code in (0, 3, 4), result.output  # a path too long to write is a skipped file or status 4
    assert (tmp_path / "out" / "top.png").is_file() or result.exit_code == 4
    if depth == 200:
        assert result.exit_code == 0 and (tmp_path / "out").joinpath(*["d"] * depth, "t.png").is_file()


# ---------------------------------------------------------------- item 9: the input side of memory
@pytest.mark.parametrize("kind", ["image", "folder", "sheet"])
def test_a_large_input_is_refused_with_the_figure_before_rendering(tmp_path, monkeypatch, kind):
    import manifold_cli.upscale as upscale_module

    big = np.full((1024, 1024, 4), 200, np.uint8)
    (tmp_path / "in").mkdir()
    Image.fromarray(big).save(tmp_path / "in" / "big.png")
    monkeypatch.setattr(upscale_module, "available_memory", lambda: 700 << 20)  # the 64 px output alone fits
    args = {"image": [tmp_path / "in" / "big.png", "-o", tmp_path / "o.png"],
            "folder": [tmp_path / "in", "-o", tmp_path / "out"],
            "sheet": [tmp_path / "in" / "big.png", "--tile-size", 512, "-o", tmp_path / "o.png"]}[kind]
    line = one_error(upscale(*args, "--res", 64), 5)
    assert "GiB" in line or "MiB" in line
    assert not (tmp_path / "o.png").exists() and not list((tmp_path / "out").rglob("*.png") if (tmp_path / "out").exists() else [])


def test_the_input_side_is_most_of_the_estimate_for_a_large_tile():
    from manifold_cli.upscale import ENCODER_BYTES_PER_INPUT_PIXEL, render_memory
    from manifold_core.runtime import TileModel

    model = TileModel.load()
    small, large = render_memory(model, 1, 64, 64, (16, 16)), render_memory(model, 1, 64, 64, (2048, 2048))
    assert large - small >= 2048 * 2048 * ENCODER_BYTES_PER_INPUT_PIXEL  # the 4 GB the probe measured


def test_a_huge_image_is_refused_from_its_header_without_pillows_warning(tmp_path, monkeypatch, recwarn):
    import manifold_cli.upscale as upscale_module

    Image.new("L", (9500, 9500), 128).save(tmp_path / "grey.png")  # over Pillow's warning threshold, tiny on disk
    monkeypatch.setattr(upscale_module, "available_memory", lambda: 1 << 30)
    read = []
    monkeypatch.setattr(upscale_module, "read_rgba", lambda path: read.append(path))
    line = one_error(upscale(tmp_path / "grey.png", "--res", 64, "-o", tmp_path / "o.png"), 5)
    assert "9,500x9,500" in line and not read  # refused before decoding
    assert not [w for w in recwarn if "DecompressionBomb" in type(w.message).__name__]


@pytest.mark.parametrize("where", ["collection", "sheet", "tileset", "template", "file property"])
def test_a_path_too_long_for_the_system_in_a_tiled_file_is_one_error_line(project, where):
    long = "9" * 5000
    if where in ("template", "file property"):  # named, not read: the map still upscales
        body = (f'<objectgroup id="3" name="o"><object id="1" template="{long}" x="1" y="1"/></objectgroup>\n'
                if where == "template" else f'<properties><property name="p" type="file" value="{long}"/></properties>\n')
        (project / "map.tmx").write_text(tmx(body))
        result = upscale(project / "map.tmx", "--res", 32)
        assert result.exit_code == 0, result.output
        return
    if where == "tileset":
        (project / "map.tmx").write_text(tmx("").replace('<tileset firstgid="1" name="s"', f'<tileset firstgid="9" '
                                                         f'source="{long}.tsx"/><tileset firstgid="1" name="s"'))
        source = project / "map.tmx"
    else:
        text = collection("0", long) if where == "collection" else (
            '<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.10" name="s" tilewidth="16" tileheight="16" '
            f'tilecount="4" columns="4"><image source="{long}" width="64" height="16"/></tileset>\n')
        (project / "s.tsx").write_text(text)
        source = project / "s.tsx"
    one_error(upscale(source, "--res", 32, "--allow-outside"), 1)
