"""Screenshot of a map painted with Tiled's terrain brush and a `manifold transitions` set, for the README
(docs/tiled-terrain.png).

Makes the corner set of two terrain tiles (by default the Crawl grass and sand of tests/data/terrain)
with `manifold transitions --res 64 --variants 2`, and a 14 x 9 map of grass that uses it. Then starts
Tiled (Debian's `tiled`) on a virtual X display (Xvfb) and uses it like a person would, with xdotool:
closes the side panels, opens the Terrain Sets view, picks the second terrain (which selects the
terrain brush), fits the map at 100 %, drags the brush along a few strokes, and grabs the screen.
The painted map is saved (Ctrl+S) beside the screenshot's temporary project and loaded back with
`tiled --export-map` to check that Tiled wrote a map of the set's tiles.

    apt-get install tiled xvfb xdotool
    .venv/bin/python plugins/tiled/make_terrain_screenshot.py -o docs/tiled-terrain.png
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

import numpy as np
from make_screenshot import tiled_on_xvfb
from make_screenshot import xdo as shared_xdo
from PIL import ImageGrab

HERE = Path(__file__).resolve().parent
TERRAIN = HERE.parents[1] / "tests" / "data" / "terrain"
MAP_W, MAP_H, TILE = 14, 9, 64
# Strokes of the terrain brush, in map corners (x 0..14, y 0..9): a broad patch, a path, a pond.
STROKES = [[(2, 3), (6, 3)], [(2, 4), (7, 4)], [(3, 5), (6, 5)], [(7, 4), (9, 5), (11, 6), (12, 8)],
           [(10, 2), (11, 2)], [(4, 7), (5, 7)]]


xdo = partial(shared_xdo, pause=0.5)


def map_box(display: str) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the map on screen: where the view's grey background stops."""
    shot = np.asarray(ImageGrab.grab(xdisplay=display).convert("RGB")).astype(int)
    view = shot[100:740, 5:980]
    grey = view[5, 5]
    ys, xs = np.nonzero(np.abs(view - grey).sum(-1) > 30)
    return xs.min() + 5, ys.min() + 100, xs.max() + 5, ys.max() + 100


def stroke(display: str, box, points, step: int = 10) -> None:
    """Drag the brush through `points` (map corners) in small steps, as a hand would."""
    left, top, right, bottom = box
    sx, sy = (right - left) / MAP_W, (bottom - top) / MAP_H
    screen = [(int(left + x * sx), int(top + y * sy)) for x, y in points]
    xdo(display, ["mousemove", *screen[0]], ["mousedown", 1], pause=0.15)
    for (x0, y0), (x1, y1) in zip(screen, screen[1:]):
        n = max(1, int(max(abs(x1 - x0), abs(y1 - y0)) / step))
        for i in range(1, n + 1):
            xdo(display, ["mousemove", int(x0 + (x1 - x0) * i / n), int(y0 + (y1 - y0) * i / n)], pause=0.01)
    xdo(display, ["mouseup", 1], pause=0.3)


def make_project(folder: Path, first: Path, second: Path, model: Path | None) -> Path:
    manifold = Path(sys.executable).with_name("manifold")
    extra = ["--model", str(model)] if model else []
    subprocess.run([manifold, "transitions", str(first), str(second), "-o", str(folder / "terrain.tsx"), "--res",
                    str(TILE), "--variants", "2", "--seed", "1", "-q", *extra], check=True)
    sys.path.insert(0, str(HERE.parents[1]))
    from manifold_core.wang import A, wang_set

    grass = wang_set("corner").pure(A) + 1
    rows = ",\n".join(",".join([str(grass)] * MAP_W) for _ in range(MAP_H))
    tmx = folder / "meadow.tmx"
    tmx.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<map version="1.8" tiledversion="1.8.2" '
                   f'orientation="orthogonal" renderorder="right-down" width="{MAP_W}" height="{MAP_H}" '
                   f'tilewidth="{TILE}" tileheight="{TILE}" infinite="0" nextlayerid="2" nextobjectid="1">\n'
                   ' <tileset firstgid="1" source="terrain.tsx"/>\n'
                   f' <layer id="1" name="ground" width="{MAP_W}" height="{MAP_H}">\n'
                   f'  <data encoding="csv">\n{rows}\n</data>\n </layer>\n</map>\n')
    return tmx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--first", type=Path, default=TERRAIN / "grass.png")
    parser.add_argument("--second", type=Path, default=TERRAIN / "sand.png")
    parser.add_argument("--model", type=Path, help="model directory passed to the CLI (default: embedded)")
    parser.add_argument("-o", "--out", type=Path, default=Path("docs/tiled-terrain.png"))
    parser.add_argument("--display", default=":97")
    args = parser.parse_args()
    for tool in ("tiled", "Xvfb", "xdotool"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install tiled xvfb xdotool")

    work = Path(tempfile.mkdtemp(prefix="tiled-terrain-"))
    home = work / "home"
    (home / ".config" / "tiled").mkdir(parents=True)
    project = work / "project"
    project.mkdir()
    shutil.copy(args.first, project / args.first.name)
    shutil.copy(args.second, project / args.second.name)
    tmx = make_project(project, project / args.first.name, project / args.second.name, args.model)

    d = args.display
    with tiled_on_xvfb(d, home, work, tmx, project):
        time.sleep(1.0)
        xdo(d, ["mousemove", "252", "31", "click", "1"])      # close the Project view
        xdo(d, ["mousemove", "262", "100", "click", "1"])     # close the Properties view, which moved left
        xdo(d, ["mousemove", "1054", "755", "click", "1"])    # the Terrain Sets tab
        xdo(d, ["mousemove", "1062", "629", "click", "1"])    # its second terrain: selects the terrain brush
        xdo(d, ["mousemove", "490", "420"], ["key", "ctrl+slash"], ["key", "ctrl+0"], ["key", "ctrl+g"])  # fit, 100 %, no grid
        box = map_box(d)
        for points in STROKES:
            stroke(d, box, points)
        xdo(d, ["mousemove", "995", "745"], pause=0.8)        # off the map: no brush preview
        shot = ImageGrab.grab(xdisplay=d)
        xdo(d, ["key", "ctrl+s"], pause=1.5)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    shot.save(args.out, optimize=True)
    print(f"wrote {args.out} {shot.size}; map on screen at {box}")
    exported = work / "meadow.json"
    runtime = work / "xdg"
    runtime.mkdir(mode=0o700)
    subprocess.run(["tiled", "--export-map", "json", str(tmx), str(exported)], check=True, capture_output=True,
                   env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)})
    data = json.loads(exported.read_text())["layers"][0]["data"]
    print(f"the saved map: {len(set(data))} different tiles of the set in {len(data)} cells")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
