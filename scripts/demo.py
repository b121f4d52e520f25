"""The README's first command: upscale real tiles with the embedded default model.

Cuts the freeciv "trident" tiles (30x30, another game's art that no embedded model trained on)
from Debian's freeciv-data package with scripts/tile_sets.py (procedural tiles where apt-get is
not available), picks a few dozen, runs `manifold upscale DIR --res 60` exactly as a user would,
and draws demo-out/before-after.png: original (pixel-doubled) | manifold 2x | bicubic 2x |
the seed model 2x.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from manifold_core.synthetic import make_tiles
from manifold_core.tiles import find_images, read_rgba

OUT = Path("demo-out")
SETS = Path("data/sets")
TILES = 48


def demo_tiles(folder: Path) -> tuple[str, int]:
    """A few dozen held-out tiles in `folder`: (what they are, their size)."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    if not (SETS / "freeciv").is_dir():
        subprocess.run([sys.executable, str(Path(__file__).with_name("tile_sets.py")), str(SETS), "--only",
                        "freeciv"], check=False)
    found = find_images(SETS / "freeciv") if (SETS / "freeciv").is_dir() else []
    if not found:
        for i, tile in enumerate(make_tiles(TILES, 32, seed=1)):
            Image.fromarray(tile).save(folder / f"synthetic_{i:03d}.png")
        return "procedural tiles (apt-get could not fetch freeciv-data here)", 32
    for i in np.linspace(0, len(found) - 1, TILES).astype(int):
        Image.fromarray(read_rgba(found[i])).save(folder / found[i].name)
    return "freeciv trident tiles (Debian freeciv-data; held out: no embedded model trained on them)", 30


def on_checker(rgba: Image.Image) -> Image.Image:
    yy, xx = np.indices(rgba.size[::-1])
    board = (yy // 8 + xx // 8) % 2
    bg = Image.fromarray((np.where(board[..., None], 200, 160) * np.ones(3)).astype(np.uint8), "RGB")
    bg.paste(rgba, mask=rgba.split()[3])
    return bg


LABELS = ("original", "manifold", "bicubic", "seed model")


def before_after(src: Path, columns: list[Path], picture: Path, res: int, rows: int = 8, zoom: int = 2) -> None:
    """Rows of tiles: original pixel-doubled | manifold | bicubic | the seed model, on a checkerboard."""
    from PIL import ImageDraw

    files = find_images(src)
    names = [p.relative_to(src) for p in files][:: max(1, len(files) // rows)][:rows]
    gap, head = 4, 14
    width = len(columns) + 2
    sheet = Image.new("RGB", (width * res + (width + 1) * gap, head + rows * (res + gap) + gap), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    for c, label in enumerate(LABELS[:width]):
        draw.text((gap + c * (res + gap), 2), label, fill=(0, 0, 0))
    for r, name in enumerate(names):
        original = Image.fromarray(read_rgba(src / name))
        cells = [original.resize((res, res), Image.Resampling.NEAREST)]
        cells += [Image.fromarray(read_rgba(folder / name.with_suffix(".png"))) for folder in columns[:1]]
        cells += [original.resize((res, res), Image.Resampling.BICUBIC)]
        cells += [Image.fromarray(read_rgba(folder / name.with_suffix(".png"))) for folder in columns[1:]]
        for c, cell in enumerate(cells):
            sheet.paste(on_checker(cell), (gap + c * (res + gap), head + gap + r * (res + gap)))
    sheet.resize((sheet.width * zoom, sheet.height * zoom), Image.Resampling.NEAREST).save(picture)


def main() -> None:
    tiles = OUT / "tiles"
    what, size = demo_tiles(tiles)
    res = 2 * size
    print(f"input: {len(find_images(tiles))} {what} in {tiles}/")
    manifold = Path(sys.executable).with_name("manifold")
    upscaled, seed = OUT / f"tiles-{res}", OUT / f"tiles-{res}-seed"
    for out, model in ((upscaled, "default"), (seed, "seed")):
        subprocess.run([str(manifold), "upscale", str(tiles), "--res", str(res), "-o", str(out), "--model", model],
                       check=True)
    before_after(tiles, [upscaled, seed], OUT / "before-after.png", res)
    print(f"\nupscaled tiles: {upscaled}/")
    print(f"before/after:   {OUT / 'before-after.png'}  (original | manifold {res}px | bicubic {res}px | "
          f"the seed model {res}px)")


if __name__ == "__main__":
    main()
