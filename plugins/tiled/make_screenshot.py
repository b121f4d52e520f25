"""Screenshot of the Tiled extension at work, for the README (docs/tiled-extension.png).

Starts Tiled (Debian's `tiled`) on a virtual X display (Xvfb) with a temporary HOME whose
extensions folder holds plugins/tiled/manifold.js, on a tileset cut from the Dungeon Crawl tiles.
Then it uses Tiled like a person would, with xdotool: opens the Console, clicks Tileset > "Upscale
tileset with manifold...", types 64 into the extension's dialog, waits for the upscaled tileset to
open, opens the Tileset menu again and grabs the screen.

    apt-get install tiled xvfb xdotool
    .venv/bin/python plugins/tiled/make_screenshot.py --model MODEL_DIR --tiles data/ -o docs/tiled-extension.png

--tiles is a folder with wall.png and feat.png (scripts/crawl_tiles.py fetches them);
without --model the CLI's embedded default model is used.
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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from PIL import Image, ImageGrab

HERE = Path(__file__).resolve().parent
SIZE = (1280, 800)


def make_tileset(tiles: Path, folder: Path) -> Path:
    """dungeon.png + dungeon.tsx: 8 x 3 tiles of 32 px picked from the Crawl wall and feature sheets."""
    sheet = Image.new("RGBA", (8 * 32, 3 * 32))
    picks = [("wall", 3, [0, 8, 16, 24]), ("wall", 5, [0, 8, 16, 24]),   # coloured bricks
             ("feat", 0, [0, 4, 9, 13, 17, 21, 25, 29]),                   # trees
             ("feat", 11, [4, 6, 14, 15, 24, 25, 28, 30])]                 # flames, fountains, altars
    cells = [(name, row, col) for name, row, cols in picks for col in cols]
    for i, (name, row, col) in enumerate(cells):
        source = Image.open(tiles / f"{name}.png").convert("RGBA")
        tile = source.crop((col * 32, row * 32, col * 32 + 32, row * 32 + 32))
        sheet.paste(tile, ((i % 8) * 32, (i // 8) * 32))
    sheet.save(folder / "dungeon.png")
    tsx = folder / "dungeon.tsx"
    tsx.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                   '<tileset version="1.8" tiledversion="1.8.2" name="dungeon" tilewidth="32" tileheight="32" '
                   'tilecount="24" columns="8">\n <image source="dungeon.png" width="256" height="96"/>\n</tileset>\n')
    return tsx


def xdo(display: str, *commands: list, pause: float = 0.6) -> str:
    """Run xdotool commands on the display one after the other, `pause` seconds after each."""
    out = ""
    for command in commands:
        out = subprocess.run(["xdotool", *map(str, command)], env={**os.environ, "DISPLAY": display}, check=True,
                             capture_output=True, text=True).stdout
        time.sleep(pause)
    return out


@contextmanager
def tiled_on_xvfb(display: str, home: Path, work: Path, document: Path, cwd: Path) -> Iterator[None]:
    """Tiled opening `document` on a new virtual X display of SIZE, its window at the top left filling
    it, with `home` as HOME (its extensions and settings); both processes are ended afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "QT_", "WAYLAND"))}
    env.update(HOME=str(home), DISPLAY=display, QT_QPA_PLATFORM="xcb", XDG_RUNTIME_DIR=str(work))
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", f"{SIZE[0]}x{SIZE[1]}x24", "-nolisten", "tcp"])
    tiled = None
    try:
        time.sleep(1.5)
        tiled = subprocess.Popen(["tiled", "--new-instance", str(document)], env=env, cwd=cwd,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        window = xdo(display, ["search", "--sync", "--onlyvisible", "--class", "tiled"]).split()[0]
        xdo(display, ["windowmove", window, "0", "0"], ["windowsize", "--sync", window, str(SIZE[0]), str(SIZE[1])])
        yield
    finally:
        if tiled:
            tiled.kill()
            tiled.wait()
        xvfb.kill()
        xvfb.wait()


def wait_for(path: Path, seconds: float) -> None:
    deadline = time.time() + seconds
    while not path.exists():
        if time.time() > deadline:
            sys.exit(f"{path} did not appear within {seconds:.0f} s")
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="model directory passed to the CLI (default: embedded)")
    parser.add_argument("--tiles", type=Path, default=Path("data"), help="folder with wall.png and feat.png")
    parser.add_argument("-o", "--out", type=Path, default=Path("docs/tiled-extension.png"))
    parser.add_argument("--display", default=":97")
    args = parser.parse_args()
    for tool in ("tiled", "Xvfb", "xdotool"):
        if not shutil.which(tool):
            sys.exit(f"{tool} not found: apt-get install tiled xvfb xdotool")

    work = Path(tempfile.mkdtemp(prefix="tiled-demo-"))
    home = work / "home"
    extensions = home / ".config" / "tiled" / "extensions"
    extensions.mkdir(parents=True)
    shutil.copy(HERE / "manifold.js", extensions / "manifold.js")
    manifold = Path(sys.executable).with_name("manifold")
    extra = ["--model", str(args.model.resolve())] if args.model else []
    (home / ".config" / "tiled" / "manifold.json").write_text(json.dumps({"path": str(manifold), "args": extra}))
    project = work / "project"
    project.mkdir()
    tsx = make_tileset(args.tiles, project)

    d = args.display
    try:
        with tiled_on_xvfb(d, home, work, tsx, project):
            xdo(d, ["mousemove", "14", str(SIZE[1] - 15), "click", "1"])        # status bar: show the Console
            xdo(d, ["mousemove", "159", "10", "click", "1"])                     # Tileset menu
            xdo(d, ["mousemove", "259", "217", "click", "1"], pause=1.0)         # Upscale tileset with manifold...
            xdo(d, ["key", "ctrl+a"], ["type", "64"], ["key", "Return"])         # the extension's dialog
            wait_for(project / "dungeon-64.tsx", 60)
            time.sleep(2.0)
            xdo(d, ["mousemove", "159", "10", "click", "1"], ["mousemove", "259", "217"])  # menu again, item lit
            shot = ImageGrab.grab(xdisplay=d)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        shot.save(args.out, optimize=True)
        print(f"wrote {args.out} {shot.size}")
    finally:
        shutil.rmtree(work, ignore_errors=True)

if __name__ == "__main__":
    main()
