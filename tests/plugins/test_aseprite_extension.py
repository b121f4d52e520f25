"""plugins/aseprite/manifold.lua under a real Lua 5.4 (Debian's lua5.4), against a recording fake of
Aseprite's `app` API (tests/plugins/fake_aseprite.lua). Aseprite itself is not available here.

The fake's Image:saveAs writes real PNGs, so the extension's command runs the real `manifold` CLI
(with the tiny test model) on them; the assertions cover the recorded API calls, the command line,
the dialog, the alerts and the PNG files the CLI wrote.
"""

from __future__ import annotations

import json
import os
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


def lua_literal(value) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (str, Path)):
        return json.dumps(str(value))  # a JSON string is a valid Lua string literal here (no \u escapes)
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{json.dumps(k)}] = {lua_literal(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)


def write_rgba(path: Path, pixels: np.ndarray) -> Path:
    path.write_bytes(np.ascontiguousarray(pixels, dtype=np.uint8).tobytes())
    return path


def run_lua(tmp_path: Path, cases: list[dict]) -> dict:
    lua = require_program("lua5.4", "lua5.4")
    temp = tmp_path / "tmp"  # the extension's app.fs.tempPath
    temp.mkdir()
    result = tmp_path / "result.json"
    plan = tmp_path / "plan.lua"
    plan.write_text("return " + lua_literal({"extension": EXTENSION, "result": result, "cases": cases}) + "\n")
    proc = subprocess.run([lua, str(HERE / "aseprite_runner.lua"), str(plan)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "TMPDIR": str(temp)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(result.read_text())


@pytest.fixture
def pictures(tmp_path):
    """Raw RGBA fixtures: one 16px tile, a 4x2 sheet of 16px tiles, and five tileset tiles."""
    tiles = make_tiles(13, 16, seed=5)
    folder = tmp_path / "fixtures"
    folder.mkdir()
    sheet = np.concatenate([np.concatenate(list(tiles[r * 4:(r + 1) * 4]), axis=1) for r in range(2)], axis=0)
    return {
        "tile": write_rgba(folder / "tile.rgba", tiles[0]),
        "tile_array": tiles[0],
        "sheet": write_rgba(folder / "sheet.rgba", sheet),
        "tiles": [write_rgba(folder / f"t{i}.rgba", t) for i, t in enumerate(tiles[8:13])],
    }


def png_size(path) -> tuple[int, int]:
    with Image.open(path) as im:
        return im.size


def test_upscale_sprite_sheet_and_tileset(tmp_path, pictures, tiny_model_dir, manifold_exe):
    extra = f'--model "{tiny_model_dir}" --device cpu'
    result = run_lua(tmp_path, [
        {"name": "tile", "sprite": {"rgba": pictures["tile"], "width": 16, "height": 16, "grid": [16, 16]},
         "answers": [{"resolution": "32", "executable": manifold_exe, "extra_args": extra}]},
        # executable and extra arguments now come from the preferences the first run saved
        {"name": "sheet", "sprite": {"rgba": pictures["sheet"], "width": 64, "height": 32, "grid": [16, 16]},
         "answers": [{"resolution": "24"}]},
        {"name": "tilemap", "sprite": {"rgba": pictures["sheet"], "width": 64, "height": 32, "grid": [16, 16]},
         "tilemap": {"tile": [16, 16], "tiles": pictures["tiles"]},
         "answers": [{"resolution": "32x24"}]},
        {"name": "cancel", "sprite": {"rgba": pictures["tile"], "width": 16, "height": 16},
         "answers": [{"cancel": True}]},
        {"name": "no sprite"},
    ])
    reg = result["registration"]
    assert reg == [{"call": "plugin:newCommand", "args": {"id": "ManifoldUpscale", "group": "sprite_size",
                                                           "title": "Upscale with manifold..."}}]
    tile, sheet, tilemap, cancel, no_sprite = result["cases"]
    for case in (tile, sheet, tilemap):
        assert case["ok"] and case["alerts"] == [], case
        assert case["leftovers"] == []  # the temporary input PNG is removed
        calls = [c["call"] for c in case["calls"]]
        assert calls.index("Dialog:show") < calls.index("Image:saveAs") < calls.index("app.open")
        assert len(case["executed"]) == 1

    # One tile: the active frame, flattened, saved as PNG, upscaled by the real CLI and opened.
    assert tile["argv"] == [manifold_exe, "upscale", tile["input"], "--res", "32", "-o", tile["output"],
                            "--quiet", "--json", "--model", str(tiny_model_dir), "--device", "cpu"]
    assert tile["source"] == "sprite"
    assert any(c["call"] == "Image:drawSprite" for c in tile["calls"])
    assert tile["opened"]["filename"] == tile["output"] and png_size(tile["output"]) == (32, 32)
    assert tile["preferences"] == {"executable": manifold_exe, "extra_args": extra}
    # The fake wrote the very pixels of the sprite: the CLI's result equals a direct run on them.
    direct_in, direct_out = tmp_path / "direct.png", tmp_path / "direct-32.png"
    Image.fromarray(pictures["tile_array"]).save(direct_in)
    subprocess.run([manifold_exe, "upscale", str(direct_in), "--res", "32", "-o", str(direct_out), "--quiet",
                    "--model", str(tiny_model_dir), "--device", "cpu"], check=True)
    assert np.array_equal(np.asarray(Image.open(tile["output"])), np.asarray(Image.open(direct_out)))

    # A sheet: the dialog offers the sprite's grid as the tile size; the new sprite gets the new grid.
    entries = {w["id"]: w["text"] for w in sheet["dialogs"][0]["widgets"] if w["kind"] == "entry"}
    assert entries == {"resolution": "32", "tile_size": "16", "executable": manifold_exe, "extra_args": extra}
    assert sheet["argv"][3:7] == ["--res", "24", "--tile-size", "16"]
    assert png_size(sheet["output"]) == (4 * 24, 2 * 24)
    assert sheet["opened"]["gridBounds"] == {"x": 0, "y": 0, "width": 24, "height": 24}

    # A tilemap layer: its tileset (5 tiles, empty tile 0 left out) laid out 3 x 2 and upscaled.
    saved = next(c["args"] for c in tilemap["calls"] if c["call"] == "Image:saveAs")
    assert (saved["width"], saved["height"]) == (3 * 16, 2 * 16)
    got = [c["args"]["index"] for c in tilemap["calls"] if c["call"] == "Tileset:getTile"]
    assert got == [1, 2, 3, 4, 5]
    assert "tileset of layer 'Tiles'" in tilemap["source"]
    assert tilemap["argv"][3:7] == ["--res", "32x24", "--tile-size", "16"]
    assert png_size(tilemap["output"]) == (3 * 32, 2 * 24)
    assert tilemap["opened"]["gridBounds"] == {"x": 0, "y": 0, "width": 32, "height": 24}
    assert "tile_size" not in {w["id"] for w in tilemap["dialogs"][0]["widgets"]}

    # Cancel: nothing saved or run. No sprite: the command is disabled and says so if clicked anyway.
    assert cancel["ok"] and cancel["executed"] == [] and cancel.get("opened") is None and cancel["alerts"] == []
    assert not any(c["call"] == "Image:saveAs" for c in cancel["calls"])
    assert no_sprite["enabled"] is False and no_sprite["alerts"] == ["Open a sprite first."]


def test_errors_are_shown(tmp_path, pictures, tiny_model_dir, manifold_exe):
    missing_model = tmp_path / "no-model"
    sprite = {"rgba": pictures["tile"], "width": 16, "height": 16}
    result = run_lua(tmp_path, [
        {"name": "not found", "sprite": sprite,
         "answers": [{"resolution": "32", "executable": str(tmp_path / "no-such-manifold")}]},
        {"name": "cli error", "sprite": sprite,
         "answers": [{"resolution": "32", "executable": manifold_exe, "extra_args": f"--model {missing_model}"}]},
        {"name": "bad resolution", "sprite": sprite, "answers": [{"resolution": "huge"}]},
        {"name": "bad tile size", "sprite": sprite, "answers": [{"resolution": "32", "tile_size": "big"}]},
    ])
    not_found, cli_error, bad_res, bad_tile = result["cases"]
    for case in result["cases"]:
        assert case["ok"] and case.get("opened") is None and case["leftovers"] == [], case
        assert len(case["alerts"]) == 1 and case["alerts"][0].startswith("manifold could not upscale:\n")

    assert "could not run" in not_found["alerts"][0] and "no-such-manifold" in not_found["alerts"][0]
    assert not_found["exit"] == 127

    # The alert carries the CLI's own one-line error.
    direct_in = tmp_path / "direct.png"
    Image.fromarray(pictures["tile_array"]).save(direct_in)
    direct = subprocess.run([manifold_exe, "upscale", str(direct_in), "--res", "32", "-o", str(tmp_path / "x.png"),
                             "--quiet", "--model", str(missing_model)], capture_output=True, text=True)
    cli_line = direct.stderr.strip().splitlines()[-1]
    assert cli_line.startswith("error: ") and str(missing_model) in cli_line
    assert cli_error["alerts"][0].splitlines()[1] == cli_line[len("error: "):]
    assert cli_error["exit"] == direct.returncode != 0

    assert "not a resolution" in bad_res["alerts"][0] and bad_res["executed"] == []
    assert "not a tile size" in bad_tile["alerts"][0] and bad_tile["executed"] == []


def test_make_builds_the_extension_zip(tmp_path):
    subprocess.run(["make", "-s", "aseprite-extension", f"DIST={tmp_path}"], cwd=REPO, check=True,
                   capture_output=True)
    with zipfile.ZipFile(tmp_path / "manifold.aseprite-extension") as z:
        assert sorted(z.namelist()) == ["manifold.lua", "package.json"]
        package = json.loads(z.read("package.json"))
        assert z.read("manifold.lua") == EXTENSION.read_bytes()
    assert package["contributes"]["scripts"] == [{"path": "./manifold.lua"}]
