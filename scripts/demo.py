"""The README's first command: upscale real tiles with the embedded default model.

Gets a few dozen Dungeon Crawl tiles (scripts/crawl_tiles.py; procedural tiles where apt-get
is not available), runs `manifold upscale DIR --res 64` exactly as a user would, and draws
before/after.png: original (pixel-doubled) | manifold at 64px | bicubic at 64px.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).parent))
from crawl_tiles import fetch  # noqa: E402

from manifold_core.synthetic import make_tiles  # noqa: E402
from manifold_core.tiles import Grid, find_images, is_empty, read_rgba, slice_sheet  # noqa: E402

OUT = Path("demo-out")
RES = 64


def demo_tiles(folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    sheets = fetch(Path("data"))
    if sheets is None:
        for i, tile in enumerate(make_tiles(32, 32, seed=1)):
            Image.fromarray(tile).save(folder / f"synthetic_{i:03d}.png")
        return "procedural tiles (apt-get could not fetch crawl-tiles-data here)"
    for sheet in ("floor", "wall", "feat"):
        tiles = slice_sheet(read_rgba(sheets / f"{sheet}.png"), Grid(32, 32))
        tiles = tiles[~is_empty(tiles)]
        for i in np.linspace(0, len(tiles) - 1, 16).astype(int):
            Image.fromarray(tiles[i]).save(folder / f"{sheet}_{i:04d}.png")
    return "Dungeon Crawl Stone Soup tiles (Debian crawl-tiles-data)"


def on_checker(rgba: Image.Image) -> Image.Image:
    yy, xx = np.indices(rgba.size[::-1])
    board = (yy // 8 + xx // 8) % 2
    bg = Image.fromarray((np.where(board[..., None], 200, 160) * np.ones(3)).astype(np.uint8), "RGB")
    bg.paste(rgba, mask=rgba.split()[3])
    return bg


def before_after(src: Path, dst: Path, picture: Path, rows: int = 8, zoom: int = 2) -> None:
    names = [p.relative_to(src) for p in find_images(src)][:: max(1, len(find_images(src)) // rows)][:rows]
    gap = 4
    sheet = Image.new("RGB", (3 * RES + 4 * gap, rows * (RES + gap) + gap), (255, 255, 255))
    for r, name in enumerate(names):
        original = Image.fromarray(read_rgba(src / name))
        cells = [original.resize((RES, RES), Image.Resampling.NEAREST),
                 Image.fromarray(read_rgba(dst / name.with_suffix(".png"))),
                 original.resize((RES, RES), Image.Resampling.BICUBIC)]
        for c, cell in enumerate(cells):
            sheet.paste(on_checker(cell), (gap + c * (RES + gap), gap + r * (RES + gap)))
    sheet.resize((sheet.width * zoom, sheet.height * zoom), Image.Resampling.NEAREST).save(picture)


def main() -> None:
    tiles, upscaled = OUT / "tiles", OUT / f"tiles-{RES}"
    what = demo_tiles(tiles)
    print(f"input: {len(find_images(tiles))} {what} in {tiles}/")
    manifold = Path(sys.executable).with_name("manifold")
    subprocess.run([str(manifold), "upscale", str(tiles), "--res", str(RES), "-o", str(upscaled)], check=True)
    before_after(tiles, upscaled, OUT / "before-after.png")
    print(f"\nupscaled tiles: {upscaled}/")
    print(f"before/after:   {OUT / 'before-after.png'}  (original | manifold {RES}px | bicubic {RES}px)")


if __name__ == "__main__":
    main()
