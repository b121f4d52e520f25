"""Property-based fuzzing of the Tiled parser and planner: any .tsx/.tmx (generated from Tiled's
vocabulary with hostile values and paths, or a real map with its bytes mangled) gives a plan or
one UserError, never another exception; a plan never reads outside the map's folder."""

from __future__ import annotations

import xml.sax.saxutils as sax

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from tiled_project import build_project

from manifold_cli.tiled import TiledPlan, plan_tiled
from manifold_core.errors import UserError

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

NUMBERS = st.one_of(st.integers(-3, 70).map(str), st.sampled_from(
    ["0", "-1", "1e3", "2.5", "inf", "-inf", "nan", "NaN", "1e400", "99999999999999999999", "", " 4", "x", "0x10",
     "\u0663"]))
PATHS = st.sampled_from(["img/a.png", "img/b.png", "t.tsx", "../outside.png", "../outside.tsx", "/etc/passwd",
                         "http://example.com/a.png", "missing.png", "", "img", "img/../img/a.png", "C:/x.png",
                         ":/qrc.png", "img/a.png\x00", "fifo.png", "map.tmx"])
POINTS = st.sampled_from(["0,0 16,8 4,12", "", "1,2,3", "a,b", "inf,0 1,1", "1e400,2", "0,0 nan,nan"])


def attrs(draw, names):
    chosen = draw(st.lists(st.sampled_from(names), unique=True))
    values = {n: draw(PATHS if n == "source" else st.sampled_from(["#ff00ff", "ff00ff", "zz", ""]) if n == "trans"
                      else NUMBERS) for n in chosen}
    return "".join(f' {n}={sax.quoteattr(v.replace(chr(0), ""))}' for n, v in values.items())


@st.composite
def tileset(draw, depth=0):
    inner = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["image", "tile", "tileoffset", "grid", "wangsets"]))
        if kind == "tile":
            body = draw(st.sampled_from(["", "<image{}/>", "<objectgroup><object{}><polygon points={}/></object>"
                                         "</objectgroup>"]))
            body = body.format(attrs(draw, ["source", "width", "height", "trans"]) if "image" in body else
                               attrs(draw, ["x", "y", "width", "height"]), sax.quoteattr(draw(POINTS))) \
                if "{}" in body else body
            inner.append(f"<tile{attrs(draw, ['id', 'x', 'y', 'width', 'height'])}>{body}</tile>")
        elif kind == "image":
            inner.append(f"<image{attrs(draw, ['source', 'width', 'height', 'trans'])}/>")
        else:
            inner.append(f"<{kind}{attrs(draw, ['x', 'y', 'width', 'height'])}/>")
    names = ["tilewidth", "tileheight", "margin", "spacing", "columns", "tilecount", "firstgid", "source", "name"]
    return f"<tileset{attrs(draw, names)}>{''.join(inner)}</tileset>"


@st.composite
def tmx(draw):
    children = [draw(tileset()) for _ in range(draw(st.integers(0, 3)))]
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["layer", "objectgroup", "imagelayer", "group"]))
        body = {"layer": "<data encoding=\"csv\">1,2</data>",
                "objectgroup": f"<object{attrs(draw, ['x', 'y', 'width', 'height'])}><polyline points="
                               f"{sax.quoteattr(draw(POINTS))}/><text{attrs(draw, ['x'])}>hi</text></object>",
                "imagelayer": f"<image{attrs(draw, ['source', 'width', 'height'])}/>",
                "group": "<layer/>"}[kind]
        children.append(f"<{kind}{attrs(draw, ['offsetx', 'offsety', 'x', 'y'])}>{body}</{kind}>")
    names = ["tilewidth", "tileheight", "width", "height", "hexsidelength", "parallaxoriginx", "staggeraxis"]
    return f"<map{attrs(draw, names)}>{''.join(children)}</map>"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A folder with real images and tilesets the generated files can name, and a file outside it."""
    root = tmp_path_factory.mktemp("fuzz")
    maps = root / "maps"
    (maps / "img").mkdir(parents=True)
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (64, 64, 4), np.uint8)).save(maps / "img" / "a.png")
    Image.fromarray(rng.integers(0, 256, (20, 36, 4), np.uint8)).save(maps / "img" / "b.png")
    (maps / "t.tsx").write_text('<tileset tilewidth="16" tileheight="16"><image source="img/a.png"/></tileset>')
    Image.fromarray(rng.integers(0, 256, (16, 16, 4), np.uint8)).save(root / "outside.png")
    (root / "outside.tsx").write_text('<tileset tilewidth="16" tileheight="16"><image source="outside.png"/></tileset>')
    real = build_project(root / "real")
    return maps, real


def plan_or_user_error(path, res):
    try:
        plan = plan_tiled(path, path.parent / "out", (res, res))
    except UserError as exc:
        assert "\n" not in str(exc) and str(exc)
        return None
    assert isinstance(plan, TiledPlan)
    return plan


@FUZZ
@given(doc=st.one_of(tileset(), tmx()), res=st.sampled_from([1, 16, 48, 64]))
def test_generated_tiled_files_give_a_plan_or_one_user_error(project, doc, res):
    maps, _ = project
    path = maps / ("fuzz.tsx" if doc.startswith("<tileset") else "fuzz.tmx")
    path.write_text(doc)
    plan = plan_or_user_error(path, res)
    if plan is not None:
        for job in plan.sheets:  # nothing from outside the folder was read (no --allow-outside)
            assert job.sheet.tiles.shape[-1] == 4
        assert all(p.resolve().is_relative_to(maps.resolve()) for p in plan.files)


@FUZZ
@given(data=st.data())
def test_a_real_map_with_mangled_bytes_gives_a_plan_or_one_user_error(project, data):
    _, real = project
    original = real.read_bytes()
    mangled = bytearray(original)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(mangled) - 1))
        choice = data.draw(st.sampled_from(["flip", "cut", "splice"]))
        if choice == "flip":
            mangled[i] ^= 1 << data.draw(st.integers(0, 7))
        elif choice == "cut":
            del mangled[i:]
        else:
            mangled[i:i] = data.draw(st.sampled_from([b"<", b"&", b"\"", b"<!DOCTYPE x>", b"\xff\xfe", b"-9",
                                                      b"999999999999", b"inf", b"../"]))
        if not mangled:
            break
    path = real.parent / "mangled.tmx"
    path.write_bytes(bytes(mangled))
    plan_or_user_error(path, 64)
