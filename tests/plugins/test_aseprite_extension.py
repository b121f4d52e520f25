"""plugins/aseprite/manifold.lua under a real Lua 5.4 (Debian's lua5.4), against a fake of Aseprite's
`app` API (tests/plugins/fake_aseprite.lua) that behaves like Aseprite's sources say it does: versions
(1.3.0 and the newest, 1.3.18.2), permission prompts that can be refused, batch mode, menu groups,
colour modes, real PNG reading, and Windows' cmd.exe and C runtime. Aseprite itself is not available here.

The fake's Image:saveAs writes real PNGs, so the extension's command runs the real `manifold` CLI
(with the tiny test model) on them; the assertions cover the recorded API calls, the permission
prompts, the command line, the dialog, the alerts and the PNG files the CLI wrote.
"""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from manifold_core.synthetic import make_tiles

from plugin_tools import PLUGINS, REPO, manifold_exe, require_program  # noqa: F401 (a fixture)

HERE = Path(__file__).resolve().parent
EXTENSION = PLUGINS / "aseprite" / "manifold.lua"
OLDEST, NEWEST = "1.3.0", "1.3.18.2"
VERSIONS = [OLDEST, NEWEST]
_runs = itertools.count()


def lua_literal(value) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        text = str(value)
        assert not any(ord(c) < 32 for c in text), text
        return json.dumps(text, ensure_ascii=False)  # with no control characters, a valid Lua string
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def write_raw(path: Path, pixels: np.ndarray) -> Path:
    """RGBA pixels (h, w, 4) as 0xAABBGGRR words, or index/grey values (h, w), little-endian."""
    pixels = np.ascontiguousarray(pixels)
    if pixels.ndim == 3:
        path.write_bytes(pixels.astype(np.uint8).tobytes())
    else:
        path.write_bytes(pixels.astype("<u4").tobytes())
    return path


def run_lua(tmp_path: Path, cases: list[dict] = (), *, version: str = NEWEST, platform: str = "linux",
            probes: dict[str, str] | None = None, **fake) -> dict:
    lua = require_program("lua5.4", "lua5.4")
    folder = tmp_path / f"run{next(_runs)}"
    folder.mkdir()
    options = {"version": version, "platform": platform, **fake}
    if platform == "linux" and "temp" not in options:
        (folder / "tmp").mkdir()
        options["temp"] = folder / "tmp"
    result, plan = folder / "result.json", folder / "plan.lua"
    plan.write_text("return " + lua_literal({
        "extension": EXTENSION, "result": result, "keep": folder, "fake": options, "cases": list(cases),
        "probes": [{"name": k, "lua": v} for k, v in (probes or {}).items()]}) + "\n", encoding="utf-8")
    proc = subprocess.run([lua, str(HERE / "aseprite_runner.lua"), str(plan)], capture_output=True, text=True,
                          timeout=300, cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = json.loads(result.read_text(encoding="utf-8"))
    out["stdout"] = proc.stdout
    return out


@pytest.fixture
def pictures(tmp_path):
    """Raw fixtures: one 16px tile, a 4x2 sheet of 16px tiles, five tileset tiles, a 32x32 sprite,
    and an indexed 16x16 sprite with its palette."""
    tiles = make_tiles(13, 16, seed=5)
    folder = tmp_path / "fixtures"
    folder.mkdir()
    sheet = np.concatenate([np.concatenate(list(tiles[r * 4:(r + 1) * 4]), axis=1) for r in range(2)], axis=0)
    big = make_tiles(1, 32, seed=9)[0]
    rng = np.random.default_rng(1)
    palette = [[0, 0, 0, 0]] + [[int(v) for v in rng.integers(0, 256, 3)] + [255] for _ in range(7)]
    indices = rng.integers(0, 8, (16, 16))
    indexed_rgba = np.array(palette, np.uint8)[indices]
    return {
        "tile": write_raw(folder / "tile.raw", tiles[0]),
        "tile_array": tiles[0],
        "sheet": write_raw(folder / "sheet.raw", sheet),
        "tiles": [write_raw(folder / f"t{i}.raw", t) for i, t in enumerate(tiles[8:13])],
        "big": write_raw(folder / "big.raw", big),
        "indexed": write_raw(folder / "indexed.raw", indices),
        "palette": palette,
        "indexed_rgba": indexed_rgba,
    }


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def direct_run(manifold_exe, tmp_path, rgba: np.ndarray, res: str, *extra) -> np.ndarray:
    src, dst = tmp_path / "direct.png", tmp_path / f"direct-{res}.png"
    Image.fromarray(rgba).save(src)
    subprocess.run([manifold_exe, "upscale", str(src), "--res", res, "-o", str(dst), "--quiet", *extra], check=True)
    return np.asarray(Image.open(dst))


def calls(case, name):
    return [c["args"] for c in case["calls"] if c["call"] == name]


# ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_upscale_sprite_sheet_and_tileset(tmp_path, pictures, tiny_model_dir, manifold_exe, version):
    extra = f'--model "{tiny_model_dir}" --device cpu'
    result = run_lua(tmp_path, [
        {"name": "tile", "sprite": {"raw": pictures["tile"], "width": 16, "height": 16,
                                    "filename": str(tmp_path / "art" / "hero.aseprite")},
         "answers": [{"resolution": "32", "executable": manifold_exe, "extra_args": extra}]},
        # executable and extra arguments now come from the preferences the first run saved
        {"name": "sheet", "sprite": {"raw": pictures["sheet"], "width": 64, "height": 32},
         "answers": [{"resolution": "24", "tile_size": "16"}]},
        {"name": "tilemap", "sprite": {"raw": pictures["sheet"], "width": 64, "height": 32},
         "tilemap": {"tile": [16, 16], "tiles": pictures["tiles"]},
         "answers": [{"resolution": "32x24"}]},
        {"name": "cancel", "sprite": {"raw": pictures["tile"], "width": 16, "height": 16},
         "answers": [{"cancel": True}]},
        {"name": "no sprite"},
    ], version=version)
    assert result["registration"] == [
        {"call": "plugin:newCommand", "args": {"id": "ManifoldUpscale", "group": "sprite_size",
                                               "title": "Upscale with manifold...", "in_menu": True}},
        {"call": "plugin:newCommand", "args": {"id": "ManifoldUpscaleAgain", "group": "sprite_size",
                                               "title": "Upscale with manifold again", "in_menu": True}},
        {"call": "plugin:newCommand", "args": {"id": "ManifoldVariants", "group": "sprite_size",
                                               "title": "Variants of this tile...", "in_menu": True}}]
    tile, sheet, tilemap, cancel, no_sprite = result["cases"]
    for case in (tile, sheet, tilemap):
        assert case["ok"] and case["alerts"] == [], case
        names = [c["call"] for c in case["calls"]]
        assert names.index("Dialog:show") < names.index("Image:saveAs") < names.index("app.open")
        assert len(case["shell_lines"]) == 1  # one command per run
        assert case["deprecated"] == []  # app.sprite/layer/frame, Tileset:tile(i).image

    # One tile: the active frame, flattened, saved as PNG, upscaled by the real CLI and opened.
    assert tile["argv"] == [manifold_exe, "upscale", tile["input"], "--res", "32", "-o", tile["output"],
                            "--quiet", "--json", "--model", str(tiny_model_dir), "--device", "cpu"]
    assert tile["source"] == "sprite"
    assert calls(tile, "Image:drawSprite") == [{"frame": 1, "sprite": str(tmp_path / "art" / "hero.aseprite")}]
    assert calls(tile, "app.open") == [{"filename": tile["output"]}]
    assert png_size(tile["kept"]) == (32, 32) and tile["opened"]["width"] == 32
    # Save puts the result beside the original; a sprite never saved keeps its temporary name.
    assert tile["opened"]["filename"] == str(tmp_path / "art" / "hero-32.png")
    assert sheet["opened"]["filename"] == sheet["output"]
    assert tile["preferences"]["executable"] == manifold_exe and tile["preferences"]["extra_args"] == extra
    # The fake wrote the very pixels of the sprite: the CLI's result equals a direct run on them.
    direct = direct_run(manifold_exe, tmp_path, pictures["tile_array"], "32", "--model", str(tiny_model_dir),
                        "--device", "cpu")
    assert np.array_equal(np.asarray(Image.open(tile["kept"])), direct)

    # A sheet: the tile size typed in the dialog; the new sprite gets the new grid.
    assert sheet["argv"][3:7] == ["--res", "24", "--tile-size", "16"]
    assert png_size(sheet["kept"]) == (4 * 24, 2 * 24)
    assert sheet["opened"]["gridBounds"] == {"x": 0, "y": 0, "width": 24, "height": 24}

    # A tilemap layer: its tileset (5 tiles, empty tile 0 left out) laid out 3 x 2 and upscaled.
    saved = calls(tilemap, "Image:saveAs")[0]
    assert (saved["width"], saved["height"], saved["palette"]) == (3 * 16, 2 * 16, True)
    assert [c["index"] for c in calls(tilemap, "Tileset:tile")] == [1, 2, 3, 4, 5]
    assert "tileset of layer 'Tiles'" in tilemap["source"]
    assert tilemap["argv"][3:7] == ["--res", "32x24", "--tile-size", "16"]
    assert png_size(tilemap["kept"]) == (3 * 32, 2 * 24)
    assert tilemap["opened"]["gridBounds"] == {"x": 0, "y": 0, "width": 32, "height": 24}
    assert "tile_size" not in {w["id"] for w in tilemap["dialogs"][0]["widgets"]}

    # Cancel: nothing saved or run. No sprite: the command is disabled and says so if clicked anyway.
    assert cancel["ok"] and cancel["shell_lines"] == [] and cancel.get("opened") is None and cancel["alerts"] == []
    assert calls(cancel, "Image:saveAs") == [] and cancel["prompts"] == []
    assert no_sprite["enabled"] is False and no_sprite["alerts"] == ["Open a sprite first."]


def test_variants_of_this_tile(tmp_path, pictures, manifold_exe, version=NEWEST):
    """Variants of this tile...: the dialog's count, strength, seed and size go to `manifold variants`; the
    strip of variants opens as a new sprite with one variant per grid cell, named TITLE-variants.png beside
    the original; Cancel runs nothing; bad numbers are said before anything runs; the same three
    permission questions as upscale; the executable is the one the upscale dialog remembered."""
    sprite = {"raw": pictures["tile"], "width": 16, "height": 16, "filename": str(tmp_path / "art" / "floor.aseprite")}
    result = run_lua(tmp_path, [
        {"name": "dialog", "sprite": sprite, "command": "ManifoldVariants",
         "answers": [{"count": "3", "strength": "0.75", "seed": "4", "size": "32", "executable": manifold_exe,
                      "extra_args": "--device cpu"}]},
        {"name": "defaults", "sprite": sprite, "command": "ManifoldVariants", "answers": [{"cancel": True}]},
        {"name": "cancel", "sprite": sprite, "command": "ManifoldVariants", "answers": [{"cancel": True}]},
        {"name": "bad count", "sprite": sprite, "command": "ManifoldVariants", "answers": [{"count": "many"}]},
        {"name": "bad strength", "sprite": sprite, "command": "ManifoldVariants", "answers": [{"count": "3", "strength": "2"}]},
    ], version=version)
    dialog, defaults, cancel, bad_count, bad_strength = result["cases"]
    assert dialog["ok"] and dialog["alerts"] == [], dialog
    assert dialog["argv"] == [manifold_exe, "variants", dialog["input"], "-n", "3", "--strength", "0.75", "--seed",
                              "4", "--res", "32", "-o", dialog["output"], "--quiet", "--json", "--device", "cpu"]
    assert png_size(dialog["kept"]) == (3 * 32, 32)
    assert dialog["opened"]["gridBounds"] == {"x": 0, "y": 0, "width": 32, "height": 32}
    assert dialog["opened"]["filename"] == str(tmp_path / "art" / "floor-variants.png")
    names = [c["call"] for c in dialog["calls"]]
    assert names.index("Dialog:show") < names.index("Image:saveAs") < names.index("app.open")
    asked = [p["mode"] for p in dialog["prompts"]]
    assert asked == (["write", "execute", "read"] if version != OLDEST else ["write", "read"])
    # The same pixels as `manifold variants` run directly on the tile.
    src, out = tmp_path / "direct.png", tmp_path / "direct-variants.png"
    Image.fromarray(pictures["tile_array"]).save(src)
    subprocess.run([manifold_exe, "variants", str(src), "-n", "3", "--strength", "0.75", "--seed", "4", "--res", "32",
                    "-o", str(out), "--quiet", "--device", "cpu"], check=True)
    assert np.array_equal(np.asarray(Image.open(dialog["kept"])), np.asarray(Image.open(out)))

    # The dialog offers what the last run used.
    offered = {w["id"]: w.get("text") for w in defaults["dialogs"][0]["widgets"] if w["kind"] == "entry"}
    assert offered == {"count": "3", "strength": "0.75", "seed": "4", "size": "32", "executable": manifold_exe,
                       "extra_args": "--device cpu"}
    assert cancel["shell_lines"] == [] and cancel.get("opened") is None and calls(cancel, "Image:saveAs") == []
    assert bad_count["alerts"] == ["manifold could not make variants:\n'many' is not a number of variants; give 1 to 64"]
    assert "is not a strength" in bad_strength["alerts"][0] and bad_strength["shell_lines"] == []


@pytest.mark.parametrize("version", VERSIONS)
def test_permission_prompts_refusals_and_cleanup(tmp_path, pictures, tiny_model_dir, manifold_exe, version):
    """Item 2: three questions at most (write, execute, read); a refusal ends in the extension's own alert;
    "Don't show this again" silences a kind of access; the temporary files of a run go with the next run."""
    sprite = {"raw": pictures["tile"], "width": 16, "height": 16}
    first = {"resolution": "32", "executable": manifold_exe, "extra_args": f"--model {tiny_model_dir}"}
    popen_asks = version != OLDEST  # io.popen asks from 1.3.7 (security.cpp at v1.3.7)
    kinds = ["write", "execute", "read"] if popen_asks else ["write", "read"]

    def refuse(kind):
        return ["allow"] * kinds.index(kind) + ["deny"]

    cases = [
        {"name": "asks", "sprite": sprite, "answers": [first]},
        {"name": "refuse write", "sprite": sprite, "answers": [{}], "permissions": refuse("write")},
        {"name": "refuse read", "sprite": sprite, "answers": [{}], "permissions": refuse("read")},
    ]
    if popen_asks:
        cases.append({"name": "refuse execute", "sprite": sprite, "answers": [{}], "permissions": refuse("execute")})
    cases += [
        {"name": "don't show again", "sprite": sprite, "answers": [{}], "permissions": ["always"] * len(kinds)},
        {"name": "no questions", "sprite": sprite, "answers": [{}]},
    ]
    result = run_lua(tmp_path, cases, version=version)
    by_name = {c["name"]: c for c in result["cases"]}
    for case in result["cases"]:
        assert case["ok"], case["lua_error"]  # never a raw Lua error in Aseprite's console

    asks = by_name["asks"]
    assert [p["mode"] for p in asks["prompts"]] == kinds
    assert asks["alerts"] == [] and asks.get("opened") is not None
    if popen_asks:  # the security dialog shows the whole command
        assert [p["target"] for p in asks["prompts"] if p["mode"] == "execute"] == asks["shell_lines"]

    for kind in kinds:
        case = by_name[f"refuse {kind}"]
        assert [p["mode"] for p in case["prompts"]] == kinds[:kinds.index(kind) + 1]
        assert len(case["alerts"]) == 1 and "Aseprite did not allow the extension to" in case["alerts"][0]
        assert "Don't show this specific alert again for this script" in case["alerts"][0] and case.get("opened") is None
        assert case["shell_lines"] == ([] if kind in ("write", "execute") else [case["command"]])

    assert [p["mode"] for p in by_name["don't show again"]["prompts"]] == kinds
    assert by_name["don't show again"].get("opened") is not None
    last = by_name["no questions"]
    assert last["prompts"] == [] and last.get("opened") is not None and last["alerts"] == []

    # Nothing but the last run's input and output is left in the temporary folder: each command first
    # deleted what the runs before it left (also the files of a run refused before its command ran).
    assert last["temp_files"] == sorted([Path(last["input"]).name, Path(last["output"]).name])
    assert re.fullmatch(r"rm -f -- \S+ \S+ 2>/dev/null; .*", last["command"])
    assert not any(c["call"].startswith("os.") for c in last["calls"])


@pytest.mark.parametrize("version", VERSIONS)
def test_tile_size_offered_only_for_a_grid_the_user_set(tmp_path, pictures, version):
    """Item 3: a new sprite's grid is the default 16x16, which says nothing about tiles."""
    big = {"raw": pictures["big"], "width": 32, "height": 32}
    sheet = {"raw": pictures["sheet"], "width": 64, "height": 32}
    cancel = [{"cancel": True}]
    result = run_lua(tmp_path, [
        {"name": "default grid", "sprite": big, "answers": cancel},
        {"name": "user grid", "sprite": {**sheet, "grid": [0, 0, 8, 8]}, "answers": cancel},
        {"name": "user grid not dividing", "sprite": {**big, "grid": [0, 0, 12, 12]}, "answers": cancel},
        {"name": "tilemap not active", "sprite": sheet, "answers": cancel,
         "tilemap": {"tile": [16, 16], "tiles": pictures["tiles"], "active": False, "in_group": True}},
    ], version=version)
    offered = {c["name"]: {w["id"]: w["text"] for w in c["dialogs"][0]["widgets"] if w["kind"] == "entry"}
               for c in result["cases"]}
    assert offered["default grid"]["tile_size"] == "" and offered["default grid"]["resolution"] == "64"
    assert offered["user grid"]["tile_size"] == "8" and offered["user grid"]["resolution"] == "16"
    assert offered["user grid not dividing"]["tile_size"] == ""
    assert offered["tilemap not active"]["tile_size"] == "16"

    # With Edit > Preferences > Grid set to 8x8, an 8x8 grid is that default, not a choice.
    changed = run_lua(tmp_path, [{"name": "pref default", "sprite": {**sheet, "grid": [0, 0, 8, 8]},
                                  "answers": cancel}], version=version, default_grid=[0, 0, 8, 8])
    widgets = changed["cases"][0]["dialogs"][0]["widgets"]
    assert {w["id"]: w["text"] for w in widgets if w["kind"] == "entry"}["tile_size"] == ""


def test_a_32px_sprite_comes_back_as_one_tile(tmp_path, pictures, tiny_model_dir, manifold_exe):
    """Item 3, end to end: accepting the dialog's defaults on a 32x32 sprite upscales one tile."""
    result = run_lua(tmp_path, [{"name": "defaults", "sprite": {"raw": pictures["big"], "width": 32, "height": 32},
                                 "answers": [{"executable": manifold_exe,
                                              "extra_args": f"--model {tiny_model_dir}"}]}])
    case = result["cases"][0]
    assert case["ok"] and case["alerts"] == [] and "--tile-size" not in case["argv"]
    assert png_size(case["kept"]) == (64, 64)
    assert case["opened"]["gridBounds"] == {"x": 0, "y": 0, "width": 16, "height": 16}  # left alone


def test_a_factor_is_of_the_tile_or_the_frame_and_again_keeps_it(tmp_path, pictures, tiny_model_dir, manifold_exe):
    """2x: twice the sheet's tile size, or twice the frame when the sprite is one tile; "again" on
    another sprite applies the factor to that one."""
    extra = f"--model {tiny_model_dir} --device cpu"
    result = run_lua(tmp_path, [
        {"name": "sheet", "sprite": {"raw": pictures["sheet"], "width": 64, "height": 32},
         "answers": [{"resolution": "1.5x", "tile_size": "16", "executable": manifold_exe, "extra_args": extra}]},
        {"name": "tile", "sprite": {"raw": pictures["tile"], "width": 16, "height": 16},
         "answers": [{"resolution": " 2x ", "tile_size": ""}]},
        {"name": "again", "command": "ManifoldUpscaleAgain", "sprite": {"raw": pictures["big"], "width": 32,
                                                                        "height": 32}},
        {"name": "largest factor", "sprite": {"raw": pictures["tile"], "width": 16, "height": 16},
         "answers": [{"resolution": "16x", "tile_size": ""}]},
    ])
    sheet, tile, again, largest = result["cases"]
    assert sheet["argv"][3:7] == ["--res", "24", "--tile-size", "16"] and png_size(sheet["kept"]) == (96, 48)
    assert tile["argv"][3:5] == ["--res", "32"] and png_size(tile["kept"]) == (32, 32)
    assert tile["opened"]["filename"] == tile["output"] and tile["preferences"]["resolution"] == "2x"
    assert again["argv"][3:5] == ["--res", "64"] and again["opened"]["width"] == 64
    assert largest["alerts"] == [] and largest["argv"][3:5] == ["--res", "256"]


def test_variants_take_a_factor_of_the_tile(tmp_path, pictures, manifold_exe):
    sprite = {"raw": pictures["tile"], "width": 16, "height": 16}
    result = run_lua(tmp_path, [{"name": "factor", "sprite": sprite, "command": "ManifoldVariants",
                                 "answers": [{"count": "2", "strength": "0.5", "seed": "1", "size": "1.5x",
                                              "executable": manifold_exe, "extra_args": "--device cpu"}]}])
    case = result["cases"][0]
    assert case["ok"] and case["alerts"] == [], case
    assert case["argv"][9:11] == ["--res", "24"] and png_size(case["kept"]) == (2 * 24, 24)


def test_errors_are_shown(tmp_path, pictures, tiny_model_dir, manifold_exe):
    missing_model = tmp_path / "no-model"
    sprite = {"raw": pictures["tile"], "width": 16, "height": 16}
    killer = tmp_path / "killed-manifold"
    killer.write_text("#!/bin/sh\necho 'loading the model' >&2\nkill -9 $$\n")
    killer.chmod(0o755)
    result = run_lua(tmp_path, [
        {"name": "no such file", "sprite": sprite,
         "answers": [{"resolution": "32", "executable": str(tmp_path / "no-such-manifold")}]},
        {"name": "not on PATH", "sprite": sprite,
         "answers": [{"resolution": "32", "executable": "no-such-manifold-on-path"}]},
        {"name": "cli error", "sprite": sprite,
         "answers": [{"resolution": "32", "executable": manifold_exe, "extra_args": f"--model {missing_model}"}]},
        {"name": "killed", "sprite": sprite, "answers": [{"resolution": "32", "executable": str(killer)}]},
        {"name": "bad resolution", "sprite": sprite, "answers": [{"resolution": "huge"}]},
        {"name": "bad tile size", "sprite": sprite, "answers": [{"resolution": "32", "tile_size": "big"}]},
    ])
    no_file, not_on_path, cli_error, killed, bad_res, bad_tile = result["cases"]
    for case in result["cases"]:
        assert case["ok"] and case.get("opened") is None, case
        assert len(case["alerts"]) == 1 and case["alerts"][0].startswith("manifold could not upscale:\n")

    # A path that does not exist: said before anything is written or run (no prompts at all).
    assert "no-such-manifold' does not exist" in no_file["alerts"][0]
    assert no_file["shell_lines"] == [] and no_file["prompts"] == []
    assert "not found on PATH" in not_on_path["alerts"][0] and not_on_path["exit"] == 127

    # The alert carries the CLI's own one-line error.
    direct_in = tmp_path / "direct.png"
    Image.fromarray(pictures["tile_array"]).save(direct_in)
    direct = subprocess.run([manifold_exe, "upscale", str(direct_in), "--res", "32", "-o", str(tmp_path / "x.png"),
                             "--quiet", "--model", str(missing_model)], capture_output=True, text=True)
    cli_line = direct.stderr.strip().splitlines()[-1]
    assert cli_line.startswith("error: ") and str(missing_model) in cli_line
    assert cli_error["alerts"][0].splitlines()[1] == cli_line[len("error: "):]
    assert cli_error["exit"] == direct.returncode != 0

    assert "stopped by signal 9 (killed: out of memory?)" in killed["alerts"][0]
    assert "loading the model" in killed["alerts"][0]

    assert "not a resolution" in bad_res["alerts"][0] and bad_res["shell_lines"] == []
    assert "not a tile size" in bad_tile["alerts"][0] and bad_tile["shell_lines"] == []


def test_indexed_sprite_goes_through_its_palette(tmp_path, pictures, tiny_model_dir, manifold_exe):
    """Item 6: saveAs writes what an indexed image shows only with the sprite's palette."""
    result = run_lua(tmp_path, [{"name": "indexed", "sprite": {
        "raw": pictures["indexed"], "width": 16, "height": 16, "mode": "indexed", "transparent": 0,
        "palette": pictures["palette"]},
        "answers": [{"resolution": "16", "executable": manifold_exe, "extra_args": f"--model {tiny_model_dir}"}]}])
    case = result["cases"][0]
    assert case["ok"] and case["alerts"] == [], case
    assert calls(case, "Image:saveAs")[0]["colorMode"] == 2
    direct = direct_run(manifold_exe, tmp_path, pictures["indexed_rgba"], "16", "--model", str(tiny_model_dir))
    assert np.array_equal(np.asarray(Image.open(case["kept"])), direct)


# ------------------------------------------------------------------------------------------------------
# Windows (item 5): cmd.exe and the C runtime, simulated by the fake from their documented rules.

WINDOWS_ENV = {
    "USERPROFILE": "C:\\Users\\Jörg", "APPDATA": "C:\\Users\\Jörg\\AppData\\Roaming",
    "LOCALAPPDATA": "C:\\Users\\Jörg\\AppData\\Local", "TMP": "C:\\Users\\Jörg\\AppData\\Local\\Temp",
    "TEMP": "C:\\Users\\Jörg\\AppData\\Local\\Temp", "PATH": "C:\\Windows\\system32", "PATHEXT": ".COM;.EXE;.BAT",
}
WIN_EXE = "C:\\Users\\Jörg\\AppData\\Roaming\\Python\\Python311\\Scripts\\manifold.exe"
WIN_MODEL = "C:\\Users\\Jörg\\models\\tiny model"


def windows_host(root: Path, path: str) -> Path:
    drive, rest = path.split(":\\", 1)
    return root / drive / rest.replace("\\", "/")


@pytest.fixture
def windows(tmp_path, tiny_model_dir, manifold_exe):
    root = tmp_path / "win"
    windows_host(root, WINDOWS_ENV["TMP"]).mkdir(parents=True)
    exe = windows_host(root, WIN_EXE)
    exe.parent.mkdir(parents=True)
    exe.symlink_to(manifold_exe)
    model = windows_host(root, WIN_MODEL)
    model.parent.mkdir(parents=True)
    model.symlink_to(tiny_model_dir)
    return {"platform": "windows", "win_root": root, "env": WINDOWS_ENV, "temp": WINDOWS_ENV["TMP"] + "\\"}


def test_windows_non_ascii_user_folder(tmp_path, pictures, windows, tiny_model_dir, manifold_exe):
    sprite = {"raw": pictures["tile"], "width": 16, "height": 16,
              "filename": "C:\\Users\\Jörg\\Pictures\\hero.aseprite"}
    result = run_lua(tmp_path, [
        {"name": "first", "sprite": sprite,
         "answers": [{"resolution": "32", "executable": WIN_EXE, "extra_args": f'--model "{WIN_MODEL}"'}]},
        {"name": "second", "sprite": sprite, "answers": [{"resolution": "32"}]},
        {"name": "unnamed folder", "sprite": sprite,
         "answers": [{"resolution": "32", "extra_args": '--model "D:\\Modèles\\x"'}]},
    ], **windows)
    first, second, unnamed = result["cases"]
    for case in (first, second):
        assert case["ok"] and case["alerts"] == [], case
        # The command line is ASCII; the non-ASCII folders are the variables cmd.exe expands.
        assert all(line.isascii() for line in case["shell_lines"]), case["shell_lines"]
        assert "%APPDATA%\\Python\\Python311\\Scripts\\manifold.exe" in case["command"]
        assert "%TMP%\\manifold-" in case["command"] and "%USERPROFILE%\\models\\tiny model" in case["command"]
        # What the program received, after cmd.exe and the C runtime: the real Unicode paths.
        argv = case["shell_argv"][-1]
        assert argv == ["upscale", case["input"], "--res", "32", "-o", case["output"], "--quiet", "--json",
                        "--model", WIN_MODEL]
        assert case["input"].startswith(WINDOWS_ENV["TMP"] + "\\manifold-")
        assert calls(case, "Image:saveAs")[0]["filename"] == case["input"]
        assert calls(case, "app.open") == [{"filename": case["output"]}]
        assert case["opened"]["filename"] == "C:\\Users\\Jörg\\Pictures\\hero-32.png"
    out = first["kept"]
    direct = direct_run(manifold_exe, tmp_path, pictures["tile_array"], "32", "--model", str(tiny_model_dir))
    assert np.array_equal(np.asarray(Image.open(out)), direct)
    # The second command deleted the first run's files first (cmd's del), then ran.
    assert second["command"].startswith('"del /f /q "%TMP%\\manifold-')
    assert second["temp_files"] == sorted([Path(second["input_host"]).name, Path(second["output_host"]).name])

    # A non-ASCII path under no known variable cannot be passed: said before anything is written.
    assert unnamed["ok"] and unnamed["shell_lines"] == [] and calls(unnamed, "Image:saveAs") == []
    assert "cannot pass 'D:\\Modèles\\x' to manifold: it has non-ASCII characters" in unnamed["alerts"][0]


# learn.microsoft.com, "Parsing C command-line arguments" (the table of examples).
MS_DOC_EXAMPLES = [
    ('"abc" d e', ["abc", "d", "e"]),
    ('a\\\\b d"e f"g h', ["a\\\\b", "de fg", "h"]),
    ('a\\\\\\"b c d', ['a\\"b', "c", "d"]),
    ('a\\\\\\\\"b c" d e', ["a\\\\b c", "d", "e"]),
    ('a"b"" c d', ['ab" c d']),
]
HARD_ARGUMENTS = ["C:\\Program Files\\manifold\\", 'say "hi"', 'a\\"b', "x & del y", "a|b<c>d^e(f)", "",
                  "50%", "trailing\\\\", "--model=C:\\a b\\", "tab\there"]


def test_windows_quoting_round_trips(tmp_path, windows):
    probes = {
        "doc": "return function(M, fake) local out = {} for i, s in ipairs(%s) do out[i] = fake.crt_argv(s) end "
               "return out end" % lua_literal([s for s, _ in MS_DOC_EXAMPLES]),
        "round trip": "return function(M, fake) local out = {} for i, s in ipairs(%s) do "
                      "local line = assert(M.command_line({'C:\\\\Tools\\\\manifold.exe', s, 'next'}, "
                      "{'C:\\\\T\\\\old.png'}, true)) "
                      "local cmds = fake.cmd_parse(line) "
                      "out[i] = {line = line, n = #cmds, program = cmds[2].program, argv = cmds[2].argv, "
                      "err = cmds[2].redirections['2'], first = cmds[1].program} end return out end"
                      % lua_literal([s for s in HARD_ARGUMENTS if "\t" not in s]),
        "control": "return function(M) local q, why = M.quote_windows('tab\\there') return {q == nil, why} end",
        "non-ascii": "return function(M) local q, why = M.quote_windows('Jörg') return {q == nil, why} end",
        "join": "return function(M, fake) return {app.fs.joinPath('C:\\\\T\\\\', 'a'), "
                "app.fs.joinPath('C:\\\\T', 'b', 'c'), app.fs.pathSeparator} end",
    }
    result = run_lua(tmp_path, probes=probes, **windows)["probes"]
    assert all(p["ok"] for p in result.values()), result
    assert result["doc"]["value"] == [argv for _, argv in MS_DOC_EXAMPLES]
    for arg, got in zip([s for s in HARD_ARGUMENTS if "\t" not in s], result["round trip"]["value"]):
        assert got["n"] == 2 and got["first"] == "del", got  # the cleanup, then the program: "&" stayed quoted
        assert got["program"] == "C:\\Tools\\manifold.exe" and got["argv"] == [arg, "next"], got
        assert got["err"] == "&1"
    assert result["control"]["value"] == [True, "it contains a control character"]
    assert result["non-ascii"]["value"] == [True, "it has non-ASCII characters"]
    assert result["join"]["value"] == ["C:\\T\\a", "C:\\T\\b\\c", "\\"]


# ------------------------------------------------------------------------------------------------------
# The fake itself (item 6): it must refuse what Aseprite refuses.

FAKE_PROBES = {
    "os.remove": "return function(M, fake) local f = fake.real.io_open(app.fs.joinPath(app.fs.tempPath, 'x'), 'w') "
                 "f:close() return {pcall(os.remove, app.fs.joinPath(app.fs.tempPath, 'x'))} end",
    "os.exit": "return function() return {pcall(os.exit)} end",
    "popen asks": "return function(M, fake) local n = #fake.prompts local p = io.popen('true') p:close() "
                  "return #fake.prompts - n end",
    "unknown group": "return function(M, fake) local p = fake.plugin() "
                     "p:newCommand{id='X', title='X', group='sprite_sizes'} "
                     "p:newCommand{id='Y', title='Y', group='sprite_size'} return {#p.menu, p.menu[1].group} end",
    "strict fields": "return function(M, fake) local s = fake.sprite(Image(2, 2)) "
                     "return {pcall(function() return s.activeLayer end)} end",
    "app unknown": "return function() return {app.os == nil, app.sprite == nil} end",
    "drawImage": "return function() local dst = Image(4, 4) dst:clear() local src = Image(1, 1) "
                 "src:drawPixel(0, 0, 0xff0000ff) dst:drawImage(src, Point(1, 2), 128) dst:drawImage(src, 3, 0) "
                 "return {dst:getPixel(1, 2), dst:getPixel(3, 0)} end",
    "saveAs palette": "return function(M, fake) local img = Image(2, 1, ColorMode.INDEXED) img:drawPixel(1, 0, 1) "
                      "local pal = fake.palette({{0, 0, 0, 0}, {200, 10, 20, 255}}) "
                      "local a = app.fs.joinPath(app.fs.tempPath, 'a.png') "
                      "local b = app.fs.joinPath(app.fs.tempPath, 'b.png') "
                      "img:saveAs{filename=a, palette=pal} img:saveAs(b) "
                      "local _, _, pa = fake.read_png(a) local _, _, pb = fake.read_png(b) "
                      "return {pa[1], pa[2], pb[2]} end",
    "open garbage": "return function(M, fake) local p = app.fs.joinPath(app.fs.tempPath, 'bad.png') "
                    "local f = fake.real.io_open(p, 'wb') f:write('\\137PNG\\r\\n\\26\\nxx') f:close() "
                    "return {app.open(p) == nil} end",
}


@pytest.mark.parametrize("version", VERSIONS)
def test_the_fake_behaves_like_aseprite(tmp_path, version):
    p = {k: v["value"] if v["ok"] else v["error"] for k, v in
         run_lua(tmp_path, probes=FAKE_PROBES, version=version)["probes"].items()}
    if version == OLDEST:  # v1.3 engine.cpp: os.remove is "unsupported"; io.popen is not wrapped yet
        assert p["os.remove"][0] is False and "unsupported function 'remove'" in p["os.remove"][1]
        assert p["popen asks"] == 0 and p["app unknown"] == [True, True]
    else:
        assert p["os.remove"] == [True, True] and p["popen asks"] == 1 and p["app unknown"] == [False, True]
    assert p["os.exit"][0] is False and "unsupported function 'exit'" in p["os.exit"][1]
    assert p["unknown group"] == [1, "sprite_size"]  # app_menus.cpp drops an item in an unknown group
    assert p["strict fields"][0] is False and "Field activeLayer does not exist" in p["strict fields"][1]
    assert p["drawImage"] == [0x800000FF, 0xFF0000FF]  # (image, point, opacity) and (image, x, y)
    assert p["saveAs palette"] == [0, 0xFF140AC8, 0xFF010101]  # without the palette: wrong colours
    assert p["open garbage"] == [True]


def test_batch_mode_runs_the_work_with_script_params(tmp_path, pictures, tiny_model_dir, manifold_exe):
    """Without a UI there is no dialog: both commands run with app.params (--script-param), else the last
    run's settings. app.command.Id{...} does not pass its table to an extension's command (as in Aseprite)."""
    sprite = {"raw": pictures["tile"], "width": 16, "height": 16}
    given = {"resolution": "32", "executable": manifold_exe, "extra_args": f"--model {tiny_model_dir}"}
    result = run_lua(tmp_path, [
        {"name": "params", "sprite": sprite, "params": given},
        {"name": "again", "sprite": sprite, "command": "ManifoldUpscaleAgain", "params": {"resolution": "24"}},
        {"name": "table dropped", "sprite": sprite, "command": "ManifoldUpscaleAgain", "call": {"resolution": "48"}},
        {"name": "bad resolution", "sprite": sprite, "command": "ManifoldUpscaleAgain",
         "params": {"resolution": "big"}},
        {"name": "no sprite", "command": "ManifoldUpscaleAgain", "params": given},
    ], batch=True, probes={"Dialog() values": 'return function() return select("#", Dialog("x")) end',
                           "disabled call": "return function() return {app.command.ManifoldUpscaleAgain()} end"})
    # As in Aseprite 1.3.18.2 (batch mode): Dialog() gives no value at all; a disabled command's call is false.
    assert result["probes"]["Dialog() values"]["value"] == 0
    assert result["probes"]["disabled call"]["value"] == [False]  # the last case left no sprite
    first, again, dropped, bad, no_sprite = result["cases"]
    for case in result["cases"]:
        assert case["ok"] and case["dialogs"] == [] and case["prompts"] == [], case
    assert first["argv"] == [manifold_exe, "upscale", first["input"], "--res", "32", "-o", first["output"],
                             "--quiet", "--json", "--model", str(tiny_model_dir)]
    assert first["opened"]["width"] == 32 and png_size(first["kept"]) == (32, 32)
    assert again["argv"][3:5] == ["--res", "24"] and again["opened"]["width"] == 24
    assert again["argv"][0] == manifold_exe  # the executable of the first run, from the preferences
    # The table never reaches the command: the last run's resolution (24) is used, not 48.
    assert calls(dropped, "app.command.ManifoldUpscaleAgain") == [{"params": {"resolution": "48"}}]
    assert dropped["argv"][3:5] == ["--res", "24"]
    assert bad["shell_lines"] == [] and bad.get("opened") is None
    assert "manifold: manifold could not upscale: 'big' is not a resolution" in result["stdout"]
    assert no_sprite["enabled"] is False and calls(no_sprite, "app.alert") == []
    assert "manifold: upscaled the sprite to " + first["output"] in result["stdout"]


def test_again_runs_without_the_dialog_with_the_last_settings(tmp_path, pictures, tiny_model_dir, manifold_exe):
    sprite = {"raw": pictures["sheet"], "width": 64, "height": 32, "grid": [0, 0, 8, 8]}
    result = run_lua(tmp_path, [
        {"name": "dialog", "sprite": sprite,
         "answers": [{"resolution": "12", "executable": manifold_exe, "extra_args": f"--model {tiny_model_dir}"}]},
        {"name": "again", "sprite": sprite, "command": "ManifoldUpscaleAgain"},
        {"name": "dialog offers", "sprite": sprite, "answers": [{"cancel": True}]},
    ])
    dialog, again, offers = result["cases"]
    assert dialog["ok"] and again["ok"] and again["dialogs"] == [] and again["alerts"] == []
    assert again["argv"][3:7] == ["--res", "12", "--tile-size", "8"] == dialog["argv"][3:7]
    assert png_size(again["kept"]) == (8 * 12, 4 * 12) and again["opened"]["gridBounds"]["width"] == 12
    # The dialog still offers twice the tile; the executable and extra arguments of the last run.
    entries = {w["id"]: w["text"] for w in offers["dialogs"][0]["widgets"] if w["kind"] == "entry"}
    assert entries == {"resolution": "16", "tile_size": "8", "executable": manifold_exe,
                       "extra_args": f"--model {tiny_model_dir}"}


def test_old_aseprite_is_told_the_version_it_needs(tmp_path, pictures):
    """Aseprite 1.2 gets a message naming the version it needs."""
    sprite = {"raw": pictures["tile"], "width": 16, "height": 16}
    for command in ("ManifoldUpscale", "ManifoldUpscaleAgain"):
        old = run_lua(tmp_path, [{"name": "old", "sprite": sprite, "command": command}], version="1.2.40")["cases"][0]
        assert old["ok"] and old["enabled"] is True and old["dialogs"] == []
        assert old["alerts"] == ["Upscale with manifold needs Aseprite 1.3 or newer (this is 1.2.40)."]


def test_states_the_versions_it_needs_and_was_tested_with():
    """Items 1, 2 and 4: the header and the README say what is true."""
    header = EXTENSION.read_text().split("\nlocal M = {}")[0]
    assert "1.2.18" not in header and "Needs Aseprite 1.3 or newer" in header
    assert "right after Canvas Size" in header.replace("\n-- ", " ")
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Aseprite extension", 1)[1].split("\n## ", 1)[0]
    for needed in ("Aseprite 1.3 or newer", "after **Canvas Size**", "Don't show this specific alert again",
                   "1.3.0", "1.3.18.2", "write", "execute", "read"):
        assert needed in section, needed
    assert "next to Sprite Size" not in section


def test_make_builds_the_extension_zip(tmp_path):
    subprocess.run(["make", "-s", "aseprite-extension", f"DIST={tmp_path}"], cwd=REPO, check=True,
                   capture_output=True)
    with zipfile.ZipFile(tmp_path / "manifold.aseprite-extension") as z:
        assert sorted(z.namelist()) == ["manifold.lua", "package.json"]
        package = json.loads(z.read("package.json"))
        assert z.read("manifold.lua") == EXTENSION.read_bytes()
    assert package["contributes"]["scripts"] == [{"path": "./manifold.lua"}]
