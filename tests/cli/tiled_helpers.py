"""Run the real Tiled (Debian's `tiled`) headless, and build tileset sheets for the tests.

Tiled is how a user opens what `manifold upscale` writes, so the tests load every output in
it. Without it the tests skip with a reason locally and fail under CI (CI=true), where
`make test` installs it (scripts/install_test_tools.sh).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
from conftest import missing_tool
from PIL import Image

from manifold_core.tiles import Grid


def need_tiled() -> str:
    path = shutil.which("tiled")
    if path:
        return path
    missing_tool("the `tiled` program is missing: run scripts/install_test_tools.sh (apt-get install tiled)")


def tiled_export(kind: str, source: Path, target: Path, *options: str) -> dict:
    """`tiled --export-map|--export-tileset json SOURCE TARGET` -> the exported JSON.

    Tiled exits 1 on a map it cannot read, but loads a broken tileset or a missing image
    quietly (tilecount 0 or 1), so callers check the numbers, not only the exit code.
    """
    tiled = need_tiled()
    runtime = target.parent / ".xdg-runtime"
    runtime.mkdir(mode=0o700, exist_ok=True)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_RUNTIME_DIR": str(runtime)}
    result = subprocess.run([tiled, f"--export-{kind}", *options, "json", str(source), str(target)],
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"tiled could not load {source}: {result.stdout}{result.stderr}"
    return json.loads(target.read_text())


def make_sheet(tiles: np.ndarray, cols: int, grid: Grid) -> np.ndarray:
    """Lay out [N, th, tw, 4] tiles on a sheet with the grid's margin and spacing (gaps transparent)."""
    rows = -(-len(tiles) // cols)
    sheet = np.zeros((grid.extent(rows, grid.tile_height), grid.extent(cols, grid.tile_width), 4), np.uint8)
    for i, tile in enumerate(tiles):
        x, y = grid.origin(i % cols, i // cols)
        sheet[y:y + grid.tile_height, x:x + grid.tile_width] = tile
    return sheet


def save(path: Path, rgba: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgba, "RGBA").save(path)
    return path


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
