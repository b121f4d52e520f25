"""plugins/aseprite/manifold.lua in a real Aseprite, in batch mode (`aseprite -b ... --script run.lua`).

Runs when ASEPRITE names an Aseprite binary (1.3 or newer; a headless build will do), or when `aseprite`
is on PATH; otherwise every test here is skipped, saying so. Each test installs the extension into a fresh
user folder (ASEPRITE_USER_FOLDER: extensions/manifold/, where Aseprite loads it and keeps its
preferences) with a temporary folder of its own (TMPDIR, Aseprite's app.fs.tempPath), and runs the real
`manifold` CLI of this Python's environment with the tiny test model. The pixels that come back into
Aseprite (the result sprite, saved by the test script) are compared with `manifold upscale` run directly on
the same input.

Batch mode has no dialog and asks no permission (security.cpp asks only with a UI), so the dialog and the
Security questions are covered by the fake (test_aseprite_extension.py) alone.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from manifold_core.synthetic import make_tiles

from plugin_tools import PLUGINS, manifold_exe  # noqa: F401 (a fixture)

pytestmark = pytest.mark.slow  # each test starts Aseprite and the CLI

EXTENSION = PLUGINS / "aseprite"
_runs = itertools.count()


def find_aseprite() -> str | None:
    named = os.environ.get("ASEPRITE")
    if named:
        return named
    return shutil.which("aseprite")


@pytest.fixture(scope="session")
def aseprite() -> str:
    exe = find_aseprite()
    if not exe:
        pytest.skip("no Aseprite to run the extension in: set ASEPRITE to an Aseprite 1.3+ binary "
                    "(a headless build is enough) or put `aseprite` on PATH")
    if not (os.path.isfile(exe) and os.access(exe, os.X_OK)):
        pytest.fail(f"ASEPRITE={exe} is not an executable file", pytrace=False)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60).stdout.strip()
    found = re.search(r"(\d+)\.(\d+)", version)
    if not found or (int(found[1]), int(found[2])) < (1, 3):
        pytest.fail(f"{exe} says {version!r}: the extension needs Aseprite 1.3 or newer", pytrace=False)
    return exe


@pytest.fixture
def user_folder(tmp_path) -> Path:
    """A fresh Aseprite user folder with the extension installed, as Aseprite's installer would lay it out."""
    folder = tmp_path / "user"
    installed = folder / "extensions" / "manifold"
    installed.mkdir(parents=True)
    for name in ("package.json", "manifold.lua"):
        shutil.copy(EXTENSION / name, installed / name)
    return folder


# The test scripts' helpers: lines "@@ key value" on stdout, which run_aseprite() collects.
PRELUDE = r'''
local function say(key, value) print("@@ " .. key .. " " .. tostring(value)) end
local function describe(prefix, s)
  say(prefix .. ".width", s.width) say(prefix .. ".height", s.height)
  say(prefix .. ".colorMode", s.colorMode) say(prefix .. ".filename", s.filename)
  local g = s.gridBounds
  say(prefix .. ".grid", g.x .. "," .. g.y .. "," .. g.width .. "," .. g.height)
end
-- Runs a command like a key press would (app.command.Id), then reports what became active.
local function upscale(id, out, params)
  local before = app.sprite
  say(id .. ".returned", app.command[id](params))
  if app.sprite ~= nil and app.sprite ~= before then
    describe("result", app.sprite)
    app.sprite:saveAs(out)
    app.sprite = before
  else
    say("result", "none")
  end
end
'''


def run_aseprite(aseprite, tmp_path, user_folder, body: str, *, inputs=(), params=None, path=None) -> dict:
    """Runs `aseprite -b INPUTS --script-param K=V... --script run.lua`; returns its output and the @@ values."""
    n = next(_runs)
    script = tmp_path / f"run{n}.lua"
    script.write_text(PRELUDE + body, encoding="utf-8")
    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    env = {**os.environ, "ASEPRITE_USER_FOLDER": str(user_folder), "TMPDIR": str(temp)}
    if path is not None:
        env["PATH"] = path
    argv = [aseprite, "-b", *map(str, inputs)]
    for key, value in (params or {}).items():
        argv += ["--script-param", f"{key}={value}"]  # before --script: they are that script's app.params
    argv += ["--script", str(script)]
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=180, cwd=tmp_path, env=env)
    values: dict[str, list[str]] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("@@ "):
            key, _, value = line[3:].partition(" ")
            values.setdefault(key, []).append(value)
    return {"code": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr, "values": values,
            "messages": [line for line in proc.stdout.splitlines() if line.startswith("manifold: ")]}


def lua_string(path) -> str:
    text = str(path)
    assert '"' not in text and "\\" not in text and "\n" not in text
    return f'"{text}"'


def visible_rgba_array(rgba: np.ndarray) -> np.ndarray:
    """The pixels with the colour of fully transparent ones (which no one sees) set to 0."""
    rgba = rgba.copy()
    rgba[rgba[..., 3] == 0] = 0
    return rgba


def visible_rgba(path) -> np.ndarray:
    with Image.open(path) as im:
        return visible_rgba_array(np.asarray(im.convert("RGBA")))


def direct(manifold_exe, tmp_path, source: Path, *args) -> np.ndarray:
    out = tmp_path / f"direct{next(_runs)}.png"
    subprocess.run([manifold_exe, "upscale", str(source), *args, "-o", str(out), "--quiet"], check=True,
                   capture_output=True, timeout=120)
    return visible_rgba(out)


def model_args(tiny_model_dir) -> dict:
    return {"extra_args": f"--model {tiny_model_dir} --device cpu"}


def first(run, key):
    assert key in run["values"], run["stdout"] + run["stderr"]
    return run["values"][key][0]


def temp_files(tmp_path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "tmp").iterdir())


@pytest.fixture(scope="module")
def art(tmp_path_factory) -> dict:
    """PNG inputs: one 16 px tile, a 4 x 2 sheet of 16 px tiles, five tiles for a tileset, an indexed sprite."""
    folder = tmp_path_factory.mktemp("art")
    tiles = make_tiles(13, 16, seed=5)
    Image.fromarray(tiles[0]).save(folder / "hero.png")
    sheet = np.concatenate([np.concatenate(list(tiles[r * 4:(r + 1) * 4]), axis=1) for r in range(2)], axis=0)
    Image.fromarray(sheet).save(folder / "sheet.png")
    for i, tile in enumerate(tiles[8:13]):
        Image.fromarray(tile).save(folder / f"tile{i + 1}.png")
    rng = np.random.default_rng(1)
    indexed = Image.fromarray(rng.integers(0, 8, (16, 16)).astype(np.uint8), mode="P")
    palette = [0, 0, 0] + [int(v) for v in rng.integers(0, 256, 21)]
    indexed.putpalette(palette + [0] * (768 - len(palette)))
    indexed.save(folder / "indexed.png", transparency=0)
    return {"folder": folder, "tiles": tiles[8:13]}


# ------------------------------------------------------------------------------------------------------

def test_a_single_sprite(aseprite, tmp_path, user_folder, art, manifold_exe, tiny_model_dir):
    hero = tmp_path / "hero.png"
    shutil.copy(art["folder"] / "hero.png", hero)
    out = tmp_path / "out.png"
    run = run_aseprite(aseprite, tmp_path, user_folder, f'upscale("ManifoldUpscale", {lua_string(out)})',
                       inputs=[hero], params={"resolution": 32, "executable": manifold_exe,
                                              **model_args(tiny_model_dir)})
    assert run["code"] == 0, run
    assert first(run, "ManifoldUpscale.returned") == "true"
    assert (first(run, "result.width"), first(run, "result.height")) == ("32", "32")
    # Named to be saved beside the original (nothing is written there until then).
    assert first(run, "result.filename") == str(tmp_path / "hero-32.png")
    assert run["messages"][-1].startswith("manifold: upscaled the sprite to ")
    expected = direct(manifold_exe, tmp_path, hero, "--res", "32", "--model", str(tiny_model_dir), "--device", "cpu")
    assert np.array_equal(visible_rgba(out), expected)
    # This run's input and output stay in the temporary folder until the next run's command.
    assert len(temp_files(tmp_path)) == 2 and not (tmp_path / "hero-32.png").exists()


def test_a_sheet_by_its_grid_and_by_a_tile_size(aseprite, tmp_path, user_folder, art, manifold_exe, tiny_model_dir):
    sheet = art["folder"] / "sheet.png"
    by_grid, by_size = tmp_path / "grid.png", tmp_path / "size.png"
    body = f'''
local original = app.sprite
original.gridBounds = Rectangle(0, 0, 8, 8)  -- a grid the user set: the sheet's tiles
upscale("ManifoldUpscale", {lua_string(by_grid)})
original.gridBounds = Rectangle(0, 0, 16, 16)  -- the default grid: one tile unless told
app.params.tile_size = "16"
app.params.resolution = "24"
upscale("ManifoldUpscaleAgain", {lua_string(by_size)})
'''
    run = run_aseprite(aseprite, tmp_path, user_folder, body, inputs=[sheet],
                       params={"resolution": 12, "executable": manifold_exe, **model_args(tiny_model_dir)})
    assert run["code"] == 0, run
    assert run["values"]["result.width"] == ["96", "96"] and run["values"]["result.height"] == ["48", "48"]
    assert run["values"]["result.grid"] == ["0,0,12,12", "0,0,24,24"]  # the new sprites' grids: the new tiles
    model = ["--model", str(tiny_model_dir), "--device", "cpu"]
    assert np.array_equal(visible_rgba(by_grid), direct(manifold_exe, tmp_path, sheet, "--res", "12",
                                                        "--tile-size", "8", *model))
    assert np.array_equal(visible_rgba(by_size), direct(manifold_exe, tmp_path, sheet, "--res", "24",
                                                        "--tile-size", "16", *model))


def test_a_tilemap_layers_tileset(aseprite, tmp_path, user_folder, art, manifold_exe, tiny_model_dir):
    out = tmp_path / "tileset.png"
    tiles = ", ".join(lua_string(art["folder"] / f"tile{i}.png") for i in range(1, 6))
    body = f'''
local sprite = app.sprite
app.command.NewLayer{{ tilemap = true, gridBounds = Rectangle(0, 0, 16, 16) }}
local layer = app.layer
say("layer.isTilemap", layer.isTilemap)
for _, file in ipairs({{ {tiles} }}) do
  local tile = sprite:newTile(layer.tileset)
  tile.image = Image{{ fromFile = file }}
end
say("tileset.size", #layer.tileset)
upscale("ManifoldUpscaleAgain", {lua_string(out)})
'''
    run = run_aseprite(aseprite, tmp_path, user_folder, body, inputs=[art["folder"] / "sheet.png"],
                       params={"resolution": "32x24", "executable": manifold_exe, **model_args(tiny_model_dir)})
    assert run["code"] == 0, run
    assert first(run, "layer.isTilemap") == "true" and first(run, "tileset.size") == "6"  # tile 0: the empty one
    assert (first(run, "result.width"), first(run, "result.height")) == ("96", "48")
    assert first(run, "result.grid") == "0,0,32,24"
    assert "tileset of layer" in run["messages"][-1] and "(5 tiles)" in run["messages"][-1]
    # What the extension wrote: the five tiles, three to a row (the empty tile 0 left out).
    layout = np.zeros((32, 48, 4), np.uint8)
    for i, tile in enumerate(art["tiles"]):
        layout[(i // 3) * 16:(i // 3) * 16 + 16, (i % 3) * 16:(i % 3) * 16 + 16] = tile
    written = [tmp_path / "tmp" / name for name in temp_files(tmp_path) if not name.endswith("-32x24.png")]
    assert len(written) == 1 and np.array_equal(visible_rgba(written[0]), visible_rgba_array(layout))
    Image.fromarray(layout).save(tmp_path / "layout.png")
    expected = direct(manifold_exe, tmp_path, tmp_path / "layout.png", "--res", "32x24", "--tile-size", "16",
                      "--model", str(tiny_model_dir), "--device", "cpu")
    assert np.array_equal(visible_rgba(out), expected)


def test_an_indexed_sprite(aseprite, tmp_path, user_folder, art, manifold_exe, tiny_model_dir):
    indexed = art["folder"] / "indexed.png"
    out = tmp_path / "indexed-out.png"
    body = f'say("sprite.colorMode", app.sprite.colorMode == ColorMode.INDEXED)\nupscale("ManifoldUpscale", {lua_string(out)})'
    run = run_aseprite(aseprite, tmp_path, user_folder, body, inputs=[indexed],
                       params={"resolution": 32, "executable": manifold_exe, **model_args(tiny_model_dir)})
    assert run["code"] == 0, run
    assert first(run, "sprite.colorMode") == "true"
    # The extension saved the indexed frame with the sprite's palette: the same colours as the file.
    written = [tmp_path / "tmp" / n for n in temp_files(tmp_path) if not n.endswith("-32.png")]
    assert np.array_equal(visible_rgba(written[0]), visible_rgba(indexed))
    expected = direct(manifold_exe, tmp_path, indexed, "--res", "32", "--model", str(tiny_model_dir), "--device", "cpu")
    assert np.array_equal(visible_rgba(out), expected)


def test_again_with_the_last_settings_and_app_params(aseprite, tmp_path, user_folder, art, manifold_exe,
                                                     tiny_model_dir):
    hero = art["folder"] / "hero.png"
    a, b, c = (tmp_path / f"{name}.png" for name in "abc")
    body = f'''
upscale("ManifoldUpscale", {lua_string(a)})
app.params.resolution = "24"
upscale("ManifoldUpscaleAgain", {lua_string(b)}, {{ resolution = "48" }})  -- the table never arrives
'''
    run = run_aseprite(aseprite, tmp_path, user_folder, body, inputs=[hero],
                       params={"resolution": 32, "executable": manifold_exe, **model_args(tiny_model_dir)})
    assert run["code"] == 0, run
    assert run["values"]["result.width"] == ["32", "24"]
    # Only the last run's two files are left: each command first deleted the run before's.
    assert len(temp_files(tmp_path)) == 2 and any(n.endswith("-24.png") for n in temp_files(tmp_path))
    # Another Aseprite, the same user folder, no parameters: the preferences of the last run.
    run = run_aseprite(aseprite, tmp_path, user_folder, f'upscale("ManifoldUpscaleAgain", {lua_string(c)})',
                       inputs=[hero])
    assert run["code"] == 0, run
    assert first(run, "result.width") == "24"
    assert np.array_equal(visible_rgba(c), visible_rgba(b))
    prefs = (user_folder / "extensions" / "manifold" / "__pref.lua").read_text()
    assert manifold_exe in prefs and '"24"' in prefs


def test_errors_are_one_line_and_leave_the_sprite_alone(aseprite, tmp_path, user_folder, art, manifold_exe,
                                                        tiny_model_dir):
    not_executable = tmp_path / "manifold-copy"
    shutil.copy(manifold_exe, not_executable)
    not_executable.chmod(stat.S_IRUSR | stat.S_IWUSR)  # no x bit: even root may not run it
    cases = {
        "resolution": {"resolution": "big"},
        "missing": {"executable": str(tmp_path / "nowhere" / "manifold")},
        "not on PATH": {"executable": "manifold-not-installed"},
        "not executable": {"executable": str(not_executable)},
        "cli": {"tile_size": "7"},  # 16 px is no whole number of 7 px tiles: the CLI's own error
    }
    lines = []
    for name, given in cases.items():
        lines.append(f'say("case", "{name}")')
        lines.append("for k in pairs(app.params) do app.params[k] = nil end")
        params = {"resolution": "32", "executable": manifold_exe, **model_args(tiny_model_dir), **given}
        lines += [f'app.params.{k} = {lua_string(v)}' for k, v in params.items()]
        lines.append(f'upscale("ManifoldUpscaleAgain", {lua_string(tmp_path / "never.png")})')
    run = run_aseprite(aseprite, tmp_path, user_folder, "\n".join(lines), inputs=[art["folder"] / "hero.png"])
    assert run["code"] == 0, run
    assert run["values"]["result"] == ["none"] * len(cases)
    said = run["messages"]
    assert len(said) == len(cases), run["stdout"]
    assert all(m.startswith("manifold: manifold could not upscale: ") for m in said)
    assert "'big' is not a resolution" in said[0]
    assert "does not exist" in said[1]
    assert "not found on PATH" in said[2]
    assert "permission denied" in said[3]
    assert "7" in said[4] and "Traceback" not in run["stdout"]
    assert not (tmp_path / "never.png").exists()


def test_no_sprite_disables_the_commands(aseprite, tmp_path, user_folder):
    run = run_aseprite(aseprite, tmp_path, user_folder,
                       'say("upscale", app.command.ManifoldUpscale())\nsay("again", app.command.ManifoldUpscaleAgain())'
                       '\nsay("variants", app.command.ManifoldVariants())')
    assert run["code"] == 0, run
    assert first(run, "upscale") == "false" and first(run, "again") == "false"  # disabled: not run
    assert first(run, "variants") == "false"
    assert run["messages"] == []


def test_variants_of_this_tile(aseprite, tmp_path, user_folder, manifold_exe):
    """Variants of this tile... in batch mode (app.params): the strip of variants comes back as a new sprite,
    one variant per grid cell, with the pixels `manifold variants` gives directly (the embedded default model
    on a real seamless game tile)."""
    sand = tmp_path / "sand.png"
    shutil.copy(PLUGINS.parent / "tests" / "data" / "terrain" / "sand.png", sand)
    out = tmp_path / "strip.png"
    run = run_aseprite(aseprite, tmp_path, user_folder, f'upscale("ManifoldVariants", {lua_string(out)})',
                       inputs=[sand], params={"count": 3, "strength": 0.5, "seed": 2, "executable": manifold_exe,
                                              "extra_args": "--device cpu"})
    assert run["code"] == 0, run
    assert first(run, "ManifoldVariants.returned") == "true"
    assert (first(run, "result.width"), first(run, "result.height")) == ("96", "32")
    assert first(run, "result.grid") == "0,0,32,32"
    assert first(run, "result.filename") == str(tmp_path / "sand-variants.png")
    assert run["messages"][-1].startswith("manifold: 3 variants of the sprite in ")
    expected = tmp_path / "expected.png"
    subprocess.run([manifold_exe, "variants", str(sand), "-n", "3", "--strength", "0.5", "--seed", "2", "--res", "32",
                    "-o", str(expected), "--quiet", "--device", "cpu"], check=True, capture_output=True, timeout=120)
    assert np.array_equal(visible_rgba(out), visible_rgba(expected))
