"""plugins/tiled/manifold.js in a real Tiled (Debian's `tiled`, 1.8+), started offscreen.

Each test makes a temporary HOME whose Tiled extensions folder (~/.config/tiled/extensions) holds
the extension plus tests/plugins/tiled_driver.js, writes a plan (which files to open, which actions
to trigger, what to answer in the dialogs), and runs `tiled --new-instance` with
QT_QPA_PLATFORM=offscreen. The driver plays the plan once Tiled's event loop runs, writes a JSON log
and quits Tiled; the tests assert on that log and on the files the real `manifold` CLI wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from manifold_core.synthetic import make_tiles

from plugin_tools import PLUGINS, manifold_exe, require_program  # noqa: F401 (a fixture)

HERE = Path(__file__).resolve().parent
TILE, COLUMNS, ROWS = 16, 4, 2
TILED_TIMEOUT_S = 120


def write_tileset(folder: Path, name: str, properties: dict[str, str] | None = None) -> Path:
    """name.png (COLUMNS x ROWS procedural 16px tiles) and name.tsx; returns the .tsx."""
    tiles = make_tiles(COLUMNS * ROWS, TILE, seed=3)
    sheet = np.zeros((ROWS * TILE, COLUMNS * TILE, 4), np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, COLUMNS)
        sheet[r * TILE:(r + 1) * TILE, c * TILE:(c + 1) * TILE] = tile
    Image.fromarray(sheet).save(folder / f"{name}.png")
    props = ""
    if properties:
        props = " <properties>\n" + "".join(
            f'  <property name="{k}" value="{v}"/>\n' for k, v in properties.items()) + " </properties>\n"
    tsx = folder / f"{name}.tsx"
    tsx.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<tileset version="1.8" tiledversion="1.8.2" name="{name}" tilewidth="{TILE}" tileheight="{TILE}" '
        f'tilecount="{COLUMNS * ROWS}" columns="{COLUMNS}">\n{props}'
        f' <image source="{name}.png" width="{COLUMNS * TILE}" height="{ROWS * TILE}"/>\n'
        '</tileset>\n')
    return tsx


def write_map(folder: Path, tileset: str, embedded: bool = False) -> Path:
    """A 3x2 orthogonal map that uses the tileset `tileset` (external .tsx, or embedded in the map)."""
    tmx = folder / ("embedded.tmx" if embedded else "level.tmx")
    if embedded:
        ref = (f' <tileset firstgid="1" name="{tileset}" tilewidth="{TILE}" tileheight="{TILE}" '
               f'tilecount="{COLUMNS * ROWS}" columns="{COLUMNS}">\n'
               f'  <image source="{tileset}.png" width="{COLUMNS * TILE}" height="{ROWS * TILE}"/>\n </tileset>\n')
    else:
        ref = f' <tileset firstgid="1" source="{tileset}.tsx"/>\n'
    tmx.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<map version="1.8" tiledversion="1.8.2" orientation="orthogonal" renderorder="right-down" '
        f'width="3" height="2" tilewidth="{TILE}" tileheight="{TILE}" infinite="0" nextlayerid="2" '
        'nextobjectid="1">\n'
        + ref +
        ' <layer id="1" name="ground" width="3" height="2">\n'
        '  <data encoding="csv">\n1,2,3,\n4,5,6\n</data>\n'
        ' </layer>\n'
        '</map>\n')
    return tmx


def run_tiled(tmp_path: Path, steps: list[dict]) -> dict:
    """Run real Tiled with the extension and the driver on `steps`; return the driver's log."""
    tiled = require_program("tiled", "tiled")
    home = tmp_path / "home"
    extensions = home / ".config" / "tiled" / "extensions"
    extensions.mkdir(parents=True)
    (extensions / "manifold.js").write_text((PLUGINS / "tiled" / "manifold.js").read_text())
    (extensions / "manifold_test_driver.js").write_text((HERE / "tiled_driver.js").read_text())
    runtime = home / "run"
    runtime.mkdir(mode=0o700)
    plan, log = tmp_path / "plan.json", tmp_path / "log.json"
    plan.write_text(json.dumps({"steps": steps}))

    env = {k: v for k, v in os.environ.items()
           if k not in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS") and not k.startswith("XDG_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), XDG_RUNTIME_DIR=str(runtime), QT_QPA_PLATFORM="offscreen",
               MANIFOLD_TEST_PLAN=str(plan), MANIFOLD_TEST_LOG=str(log))
    try:
        proc = subprocess.run([tiled, "--new-instance"], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=TILED_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:  # subprocess.run has killed it
        pytest.fail(f"Tiled did not quit within {TILED_TIMEOUT_S} s; driver log: "
                    f"{log.read_text() if log.exists() else '(none)'}; output: {exc.output!r}")
    assert log.exists(), f"the driver wrote no log (rc {proc.returncode}): {proc.stdout}{proc.stderr}"
    result = json.loads(log.read_text())
    assert proc.returncode == 0, (proc.returncode, proc.stderr, result)
    assert result["done"] and "exception" not in result, result
    assert result["extension_loaded"], f"manifold.js did not load: {proc.stderr}"
    return result


def tileset_size(tsx: Path) -> tuple[int, int, int, tuple[int, int]]:
    """(tile width, tile height, tile count, (image width, image height)) of a .tsx and its PNG."""
    root = ET.parse(tsx).getroot()
    image = root.find("image")
    with Image.open(tsx.parent / image.get("source")) as im:
        size = im.size
    assert (int(image.get("width")), int(image.get("height"))) == size
    return int(root.get("tilewidth")), int(root.get("tileheight")), int(root.get("tilecount")), size


def test_upscale_regenerate_and_map_menu(tmp_path, tiny_model_dir, manifold_exe):
    work = tmp_path / "work"
    work.mkdir()
    tsx = write_tileset(work, "fix")
    tmx = write_map(work, "fix")
    settings_answers = [manifold_exe, f'--model "{tiny_model_dir}" --device cpu']
    log = run_tiled(tmp_path, [
        {"trigger": "ManifoldSettings", "answers": settings_answers},
        {"open": str(tsx)},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["32"]},
        {"open": str(tsx)},
        {"trigger": "ManifoldRegenerateTileset", "answers": [True]},
        {"open": str(tmx)},
        {"select_tileset": "fix"},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["24x20"]},
        {"open": str(tsx)},
        {"trigger": "ManifoldUpscaleTileset", "answers": [None]},  # the user cancels the dialog
        {"open": str(tsx)},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["1.5x"]},  # a factor of the tile size
    ])
    assert tuple(int(x) for x in log["tiled_version"].split(".")[:2]) >= (1, 8)
    assert set(log["actions"]) == {"ManifoldUpscaleTileset", "ManifoldRegenerateTileset", "ManifoldGenerateTransitions",
                                   "ManifoldSettings"}
    assert log["errors"] == []
    settings, _, upscale, _, regenerate, map_opened, _, from_map, _, cancelled, _, by_factor = log["steps"]

    # The settings dialog persisted the executable and the extra arguments (a quoted path stays whole).
    assert settings["settings"] == {"path": manifold_exe, "args": ["--model", str(tiny_model_dir), "--device", "cpu"]}
    saved = Path(log["extensions_path"]).parent / "manifold.json"
    assert json.loads(saved.read_text())["path"] == manifold_exe

    # Upscale: the real CLI ran on the tileset file and Tiled opened what it wrote.
    out32 = work / "fix-32.tsx"
    run = upscale["run"]
    assert run["command"] == [manifold_exe, "upscale", str(tsx), "--res", "32", "-o", str(out32), "--quiet",
                              "--json", "--model", str(tiny_model_dir), "--device", "cpu"]
    assert run["exitCode"] == 0 and run["error"] is None and run["opened"] == str(out32)
    assert run["summary"]["tiles"] == COLUMNS * ROWS
    assert tileset_size(out32) == (32, 32, COLUMNS * ROWS, (COLUMNS * 32, ROWS * 32))
    active = upscale["active"]
    assert (active["file"], active["tileWidth"], active["tileHeight"], active["tileCount"]) == \
        (str(out32), 32, 32, COLUMNS * ROWS)
    assert (active["imageWidth"], active["imageHeight"]) == (COLUMNS * 32, ROWS * 32)
    assert upscale["step"]["answers"] == ["32"] and upscale["unused_answers"] == 0
    prompt = next(d for d in log["dialogs"] if d["answer"] == "32")
    assert prompt["kind"] == "prompt" and prompt["text"].endswith(f"[{2 * TILE}]")  # suggests 2x the tile size

    # Regenerate: a round trip at the tileset's own tile size, after a confirmation.
    out16 = work / f"fix-{TILE}.tsx"
    assert regenerate["run"]["command"][3:7] == ["--res", str(TILE), "-o", str(out16)]
    assert regenerate["active"]["file"] == str(out16)
    assert tileset_size(out16) == (TILE, TILE, COLUMNS * ROWS, (COLUMNS * TILE, ROWS * TILE))
    assert any(d["kind"] == "confirm" and "16x16" in d["text"] for d in log["dialogs"])

    # Map menu: acts on the tileset selected in the map editor's Tilesets view; non-square sizes work.
    assert map_opened["active"]["isTileMap"] and map_opened["active"]["file"] == str(tmx)
    out_map = work / "fix-24x20.tsx"
    assert from_map["run"]["opened"] == str(out_map)
    assert tileset_size(out_map) == (24, 20, COLUMNS * ROWS, (COLUMNS * 24, ROWS * 20))

    # Cancelling the dialog runs nothing.
    assert cancelled["run"] is None

    # A factor is of the tileset's own tile size (16 px here): 1.5x is 24, named as --res 24 would be.
    out24 = work / f"fix-{TILE * 3 // 2}.tsx"
    assert by_factor["run"]["command"][3:7] == ["--res", str(TILE * 3 // 2), "-o", str(out24)]
    assert tileset_size(out24) == (24, 24, COLUMNS * ROWS, (COLUMNS * 24, ROWS * 24))
    assert sorted(p.name for p in work.iterdir()) == sorted(
        ["fix.png", "fix.tsx", "level.tmx", "fix-32.tsx", "fix-32.png", "fix-16.tsx", "fix-16.png",
         "fix-24x20.tsx", "fix-24x20.png", "fix-24.tsx", "fix-24.png"])


def test_errors_reach_the_console(tmp_path, tiny_model_dir, manifold_exe):
    work = tmp_path / "work"
    work.mkdir()
    tsx = write_tileset(work, "fix")
    broken = write_tileset(work, "broken", {"manifold.path": str(work / "no-such-manifold")})
    missing_model = work / "no-model"
    embedded = write_map(work, "fix", embedded=True)
    log = run_tiled(tmp_path, [
        # 0. nothing open yet
        {"trigger": "ManifoldUpscaleTileset", "answers": ["32"]},
        # 1. the executable from the tileset's manifold.path property does not exist
        {"open": str(broken)},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["32"]},
        # 2. the CLI runs and fails: its one-line error is reported
        {"trigger": "ManifoldSettings", "answers": [manifold_exe, f"--model {missing_model}"]},
        {"open": str(tsx)},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["32"]},
        # 3. not a resolution
        {"trigger": "ManifoldUpscaleTileset", "answers": ["big"]},
        # 4. a tileset embedded in a map has no .tsx file for the CLI
        {"open": str(embedded)},
        {"select_tileset": "fix"},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["32"]},
    ])
    nothing, not_found, cli_failure, bad_res, no_file = (
        s["run"] for s in log["steps"] if s["step"].get("trigger") == "ManifoldUpscaleTileset")

    assert nothing["error"] == "open a tileset (or a map) first" and nothing["command"] is None
    assert log["steps"][0]["unused_answers"] == 1  # no dialog was shown

    assert not_found["command"][0] == str(work / "no-such-manifold")
    assert not_found["exitCode"] is None  # found missing before anything ran
    assert not_found["error"].startswith(f"could not run '{work / 'no-such-manifold'}': not found; ")

    # The extension reports exactly the CLI's own error line.
    direct = subprocess.run([manifold_exe, "upscale", str(tsx), "--res", "32", "-o", str(tmp_path / "x.tsx"),
                             "--quiet", "--model", str(missing_model)], capture_output=True, text=True)
    assert direct.returncode != 0
    cli_line = direct.stderr.strip().splitlines()[-1]
    assert cli_line.startswith("error: ")
    assert cli_failure["exitCode"] == direct.returncode
    assert cli_failure["error"] == cli_line[len("error: "):]
    assert str(missing_model) in cli_failure["error"]

    assert "not a resolution" in bad_res["error"] and bad_res["command"] is None

    assert no_file["command"] is None
    assert no_file["error"] == "tileset 'fix' is not saved as a .tsx file; export it as .tsx first (Export As...)"

    # Each failure went to Tiled's console/issues as one error, and nothing was written.
    assert log["errors"] == ["manifold: " + r["error"] for r in (nothing, not_found, cli_failure, bad_res, no_file)]
    assert sorted(p.name for p in work.iterdir()) == ["broken.png", "broken.tsx", "embedded.tmx", "fix.png",
                                                     "fix.tsx"]


TERRAIN = HERE.parent / "data" / "terrain"


def write_terrain_project(folder: Path) -> tuple[Path, Path, Path, Path]:
    """floor.tsx (grass and sand, real 32 px Crawl tiles, as tiles 0 and 1), a 3x2 map using it, and the two
    tiles as image files."""
    grass, sand = (np.asarray(Image.open(TERRAIN / f"{n}.png").convert("RGBA")) for n in ("grass", "sand"))
    Image.fromarray(np.concatenate([grass, sand], axis=1)).save(folder / "floor.png")
    tsx = folder / "floor.tsx"
    tsx.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.8" tiledversion="1.8.2" name="floor" '
                   'tilewidth="32" tileheight="32" tilecount="2" columns="2">\n'
                   ' <image source="floor.png" width="64" height="32"/>\n</tileset>\n')
    tmx = folder / "meadow.tmx"
    tmx.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<map version="1.8" tiledversion="1.8.2" '
                   'orientation="orthogonal" renderorder="right-down" width="3" height="2" tilewidth="32" '
                   'tileheight="32" infinite="0" nextlayerid="2" nextobjectid="1">\n'
                   ' <tileset firstgid="1" source="floor.tsx"/>\n'
                   ' <layer id="1" name="ground" width="3" height="2">\n  <data encoding="csv">\n1,1,2,\n1,2,2\n'
                   '</data>\n </layer>\n</map>\n')
    images = folder / "images"
    images.mkdir()
    Image.fromarray(grass).save(images / "grass.png")
    Image.fromarray(sand).save(images / "sand.png")
    return tsx, tmx, images / "grass.png", images / "sand.png"


WANG_OF_NEW_TILESET = """
var found = null;
tiled.activeAsset.tilesets.forEach(function (t) { if (/floor-0-floor-1\\.tsx$/.test(t.fileName)) found = t; });
if (!found) return null;
var ws = found.wangSets[0];
var ids = [];
for (var i = 0; i < found.tileCount; i++) ids.push(ws.wangId(found.tile(i)).join(","));
return {type: ws.type === WangSet.Corner ? "corner" : String(ws.type), colors: [ws.colorName(1), ws.colorName(2)],
        tileCount: found.tileCount, tileWidth: found.tileWidth, ids: ids,
        probabilities: [found.tile(0).probability, found.tile(16).probability]};
"""


def test_generate_transitions_from_two_selected_tiles_or_two_images(tmp_path, manifold_exe):
    """Generate transitions...: two tiles selected in the map editor's Tilesets view give a corner set that is
    added to the map (Tiled reads its Wang set: type, colours, every tile's Wang ID, the variants'
    probabilities); two image files give an edge set opened on its own; Cancel and a bad set run nothing."""
    from manifold_core.wang import wang_set

    work = tmp_path / "work"
    work.mkdir()
    tsx, tmx, grass, sand = write_terrain_project(work)
    saved = work / "meadow-saved.tmx"
    select = ("var view = tiled.mapEditor.tilesetsView; var ts = view.currentTileset; "
              "view.selectedTiles = [ts.tile(0), ts.tile(1)]; return view.selectedTiles.length;")
    log = run_tiled(tmp_path, [
        {"trigger": "ManifoldSettings", "answers": [manifold_exe, "--device cpu"]},             # 0
        {"open": str(tmx)},
        {"select_tileset": "floor"},
        {"eval": select},                                                                       # 3
        {"trigger": "ManifoldGenerateTransitions", "answers": ["32", "corner 1"]},              # 4
        {"eval": "return tiled.activeAsset.tilesets.map(function (t) { return t.fileName; })"},  # 5
        {"eval": WANG_OF_NEW_TILESET},                                                          # 6
        # the user saves the map (here: Tiled's own TMX writer, to another name) and closes it
        {"eval": f"var map = tiled.activeAsset; var problem = tiled.mapFormat('tmx').write(map, '{saved}'); "
                 "tiled.close(map); return problem || '';"},                                           # 7
        {"open": str(tsx)},
        {"trigger": "ManifoldGenerateTransitions", "answers": [str(grass), str(sand), "24", "edge"]},  # 9
        {"trigger": "ManifoldGenerateTransitions", "answers": [None]},                          # 10 Cancel
        {"trigger": "ManifoldGenerateTransitions", "answers": [str(grass), str(sand), "24", "hexagon"]},  # 11
    ])
    assert log["steps"][3]["value"] == 2
    run = log["steps"][4]["run"]
    out = work / "floor-0-floor-1.tsx"
    assert run["error"] is None and run["exitCode"] == 0, run
    assert run["command"] == [manifold_exe, "transitions", f"{tsx}#0", f"{tsx}#1", "--res", "32", "--wang", "corner",
                              "--variants", "1", "-o", str(out), "--quiet", "--json", "--device", "cpu"]
    assert run["opened"] == str(out) and run["addedTo"] == str(tmx) and run["summary"]["tiles"] == 32
    assert log["steps"][4]["active"]["file"] == str(tmx)  # back on the map, the new tileset in its list
    assert log["steps"][5]["value"] == [str(tsx), str(out)]
    wang = log["steps"][6]["value"]
    corner = wang_set("corner")
    assert wang["type"] == "corner" and wang["colors"] == ["floor-0", "floor-1"]
    assert (wang["tileCount"], wang["tileWidth"]) == (32, 32)
    assert wang["ids"] == [",".join(map(str, wid)) for wid in corner.ids] * 2
    assert wang["probabilities"] == [0.5, 0.5]

    # The map Tiled saved uses the new tileset after the old one, and loads in the Tiled command line.
    assert log["steps"][7]["value"] == ""
    runtime = tmp_path / "xdg"
    runtime.mkdir(mode=0o700)
    done = subprocess.run([require_program("tiled", "tiled"), "--export-map", "json", str(saved), str(tmp_path / "saved.json")],
                          env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)},
                          capture_output=True, text=True, timeout=TILED_TIMEOUT_S)
    assert done.returncode == 0, done.stderr
    exported = json.loads((tmp_path / "saved.json").read_text())
    assert [Path(t["source"]).name for t in exported["tilesets"]] == ["floor.tsx", "floor-0-floor-1.tsx"]
    assert exported["tilesets"][1]["firstgid"] == 3

    images = log["steps"][9]["run"]
    edge_set = work / "images" / "grass-sand.tsx"
    assert images["error"] is None and images["opened"] == str(edge_set) and "addedTo" not in images
    assert images["command"][1:4] == ["transitions", str(grass), str(sand)] and "edge" in images["command"]
    assert log["steps"][9]["active"]["file"] == str(edge_set) and log["steps"][9]["active"]["tileWidth"] == 24
    assert log["steps"][10]["run"] is None and log["steps"][10]["unused_answers"] == 0
    assert "is not a Wang set" in log["steps"][11]["run"]["error"] and log["steps"][11]["run"]["command"] is None
    assert any(m.startswith("manifold: rendering the corner set of floor-0 and floor-1 (32 tiles) at 32x32")
               for m in log["messages"])
    assert log["errors"] == ["manifold: " + log["steps"][11]["run"]["error"]]


def fake_cli(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.fixture(scope="module")
def session(tmp_path_factory, tiny_model_dir, manifold_exe):
    """One Tiled session for the extension's failure paths: the settings dialog cancelled, crashing CLIs, a
    Windows-like environment, a long run declined and a normal run."""
    tmp_path = tmp_path_factory.mktemp("session")
    work = tmp_path / "work"
    work.mkdir()
    ran = tmp_path / "ran.txt"
    paths = {
        "work": work, "ran": ran,
        "crash_loud": fake_cli(tmp_path / "crash-loud", "echo 'loading the model' >&2\nkill -9 $$\n"),
        "crash_silent": fake_cli(tmp_path / "crash-silent", "kill -9 $$\n"),
        "recorder": fake_cli(tmp_path / "recorder", f"echo ran >> '{ran}'\nexit 1\n"),
        "profile": tmp_path / "Users" / "Jörg",
    }
    loud = write_tileset(work, "loud", {"manifold.path": str(paths["crash_loud"])})
    silent = write_tileset(work, "silent", {"manifold.path": str(paths["crash_silent"])})
    big = write_tileset(work, "big", {"manifold.path": str(paths["recorder"])})
    tsx = write_tileset(work, "fix")
    (paths["profile"] / "bin").mkdir(parents=True)
    (paths["profile"] / "bin" / "manifold").symlink_to(manifold_exe)
    model = f'--model "{tiny_model_dir}"'
    log = run_tiled(tmp_path, [
        {"trigger": "ManifoldSettings", "answers": [manifold_exe, model]},                      # 0
        {"trigger": "ManifoldSettings", "answers": [None]},                                     # 1 Cancel
        {"trigger": "ManifoldSettings", "answers": ["/elsewhere/manifold", None]},              # 2 Cancel
        {"open": str(loud)},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["32"]},                               # 4
        {"open": str(silent)},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["32"]},                               # 6
        {"open": str(big)},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["4096", False]},                      # 8 declined
        # Windows: HOME is usually unset there; ~ is %USERPROFILE%.
        {"windows": {"USERPROFILE": str(paths["profile"]), "HOME": "", "PATH": "", "PATHEXT": ".EXE"},
         "trigger": "ManifoldSettings", "answers": ["~/bin/manifold", model]},                  # 9
        {"open": str(tsx)},
        {"trigger": "ManifoldUpscaleTileset", "answers": ["32"]},                               # 11
        {"eval": "return ext.expandHome ? [ext.expandHome('~'), ext.expandHome('a/~/b')] : null"},  # 12
        {"trigger": "ManifoldSettings", "answers": ["manifold", "-"]},                          # 13
    ])
    return log, paths


def test_cancel_in_settings_keeps_them(session, tiny_model_dir, manifold_exe):
    """Item 7: tiled.prompt gives "" on Cancel (the driver's prompt does too): nothing is saved."""
    steps = session[0]["steps"]
    saved = {"path": manifold_exe, "args": ["--model", str(tiny_model_dir)]}
    assert steps[0]["settings"] == saved
    assert steps[1]["settings"] == saved and steps[1]["unused_answers"] == 0  # one prompt, then nothing
    assert steps[2]["settings"] == saved
    assert steps[13]["settings"] == {"args": []}  # "manifold": the one on PATH; "-": no extra arguments


def test_a_crash_is_not_reported_as_not_found(session):
    """Item 8: Process.exec returns -1 for a crash too; the executable exists, and stderr is shown."""
    steps, paths = session[0]["steps"], session[1]
    loud_run, silent_run = steps[4]["run"], steps[6]["run"]
    assert loud_run["exitCode"] == -1 and silent_run["exitCode"] == -1
    assert loud_run["error"] == (f"'{paths['crash_loud']}' stopped before finishing: it crashed or was killed (for "
                                 "example for lack of memory), or could not be started; it wrote: loading the model")
    assert silent_run["error"].startswith(f"'{paths['crash_silent']}' stopped before finishing")
    assert "not found" not in silent_run["error"] and "it wrote" not in silent_run["error"]


def test_home_on_windows_is_userprofile(session):
    """Item 9: with HOME unset, as on Windows, ~ expands to %USERPROFILE%."""
    steps, paths = session[0]["steps"], session[1]
    assert steps[9]["settings"]["path"] == "~/bin/manifold"
    home_run = steps[11]["run"]
    assert home_run["command"][0] == str(paths["profile"] / "bin" / "manifold")
    assert home_run["error"] is None and home_run["opened"] == str(paths["work"] / "fix-32.tsx")
    assert steps[12]["value"] == [str(paths["profile"]), "a/~/b"]


def test_console_says_what_runs_and_long_runs_ask(session):
    """Item 10: Tiled blocks while the CLI runs: the Console says what runs on how many tiles before it
    starts, and a run estimated to be long asks first (declined: nothing runs)."""
    log, paths = session
    steps = log["steps"]
    declined = steps[8]["run"]
    assert declined["error"].startswith("cancelled") and declined["exitCode"] is None
    assert not paths["ran"].exists()
    question = [d for d in log["dialogs"] if d["kind"] == "confirm"][-1]
    assert "render 8 tiles of 'big' at 4096x4096" in question["text"]
    assert f"about {declined['estimateSeconds']} s" in question["text"] and declined["estimateSeconds"] > 200

    work = paths["work"]
    starts = [m for m in log["messages"] if m.startswith("manifold: rendering ")]
    assert starts[-1].startswith("manifold: rendering 8 tiles of 'fix' at 32x32 (about 1 s; Tiled waits until it "
                                 "is done): " + str(paths["profile"] / "bin" / "manifold") + " upscale ")
    assert log["messages"].index(starts[-1]) < log["messages"].index(f"manifold: 8 tiles -> {work / 'fix-32.tsx'}")


def test_uses_only_api_declared_in_tiled_1_8_to_1_12():
    """Item 11: every Tiled API name the extension uses is declared, not deprecated, in the scripting
    definitions (docs/scripting-doc/index.d.ts) of Tiled 1.8.2 and of the newest release, 1.12.2, as
    listed in tiled_api_names.txt (derived from mapeditor/tiled by tiled_api.py). A newer Tiled cannot be
    installed here without a display (Debian has 1.8.2; no AppImage/Flatpak/PyPI/npm package)."""
    from tiled_api import EXTENSION, read_names_file, used_names

    versions, names = read_names_file()
    assert versions == ["1.8.2", "1.12.2"]
    used = used_names(EXTENSION.read_text())
    assert {"tiled.prompt", "Process.exec", "Process.getEnv", "Tileset.tileCount", "tiled.platform", "File.exists",
            "TilesetsView.currentTileset", "TiledObject.property"} <= used
    missing = sorted(used - names.keys())
    assert not missing, (f"not in tiled_api_names.txt: {missing}; re-derive it with "
                         "`python tests/plugins/tiled_api.py TILED.git v1.8.2 v1.12.2`")
    for name in sorted(used):
        assert names[name] == {"1.8.2": "yes", "1.12.2": "yes"}, (name, names[name])


def test_tiled_api_parser():
    """The reader of index.d.ts behind tiled_api_names.txt: members, `extends`, `public`, @deprecated."""
    from tiled_api import declared, lookup, used_names

    dts = '''
declare class TiledObject {
  property(name: string): string;
}
declare class Asset extends TiledObject {
  readonly fileName: string;
}
declare class Tileset extends Asset {
  tileCount : number
  /**
   * @deprecated Use {@link imageFileName} instead.
   */
  image: string;
  imageFileName: string;
}
declare class TextFile {
  static readonly ReadOnly: unique symbol;
  public readAll(): string;
}
declare namespace tiled {
  export const platform: string;
  export function prompt(label: string, text?: string, title?: string): string;
}
'''
    types = declared(dts)
    assert lookup(types, "Tileset.property") is False and lookup(types, "Tileset.fileName") is False
    assert lookup(types, "Tileset.image") is True and lookup(types, "Tileset.imageFileName") is False
    assert lookup(types, "Tileset.nothing") is None and lookup(types, "Nothing.x") is None
    assert lookup(types, "TextFile.readAll") is False and lookup(types, "TextFile.ReadOnly") is False
    assert lookup(types, "tiled.platform") is False and lookup(types, "tiled.prompt") is False
    js = "var proc = new Process(); proc.exec(a); tileset.tileCount; tiled.mapEditor.tilesetsView.currentTileset"
    assert used_names(js) == {"Process.exec", "Tileset.tileCount", "tiled.mapEditor", "MapEditor.tilesetsView",
                              "TilesetsView.currentTileset"}
    with pytest.raises(ValueError):
        used_names("var p = new Process();")


def test_states_the_versions_it_supports_and_how_they_were_tested():
    """Item 11: the extension's header and the README say which Tiled versions are covered, and how."""
    header = (PLUGINS / "tiled" / "manifold.js").read_text().split("*/", 1)[0]
    assert "Works with Tiled 1.8 to 1.12" in header and "1.12.2" in header
    readme = (PLUGINS.parent / "README.md").read_text()
    section = readme.split("## Tiled extension", 1)[1].split("\n## ", 1)[0]
    for needed in ("Tiled 1.8 to 1.12", "1.8.2", "1.12.2", "index.d.ts", "tiled_api_names.txt"):
        assert needed in section, needed
