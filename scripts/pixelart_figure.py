"""docs/pixel-art-options.png: what `--style`, `--palette keep` and `--edges wrap` do, at 4x.

    python scripts/pixelart_figure.py            # needs data/sets/freeciv (scripts/tile_sets.py)

Runs `manifold upscale` as a user would (one run per option set) on a few held-out freeciv tiles
and lays the results side by side: original (pixel-quadrupled) | default | --palette keep |
--palette keep --alpha cut; and a seamless tile laid 2x2 after --edges clamp and --edges wrap.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from manifold_core.runtime import seamless
from manifold_core.tiles import find_images, read_rgba

SOURCE = Path("data/sets/freeciv")
OUT = Path("docs/pixel-art-options.png")
SCALE = 4


def upscale(folder: Path, out: Path, res: int, *options: str) -> None:
    manifold = Path(sys.executable).with_name("manifold")
    subprocess.run([str(manifold), "upscale", str(folder), "--res", str(res), "-o", str(out), "-q", *options],
                   check=True, stdout=subprocess.DEVNULL)


def on_checker(rgba: np.ndarray) -> Image.Image:
    yy, xx = np.indices(rgba.shape[:2])
    board = np.where(((yy // 8 + xx // 8) % 2)[..., None], 200, 160) * np.ones(3)
    a = rgba[..., 3:4] / 255
    return Image.fromarray((rgba[..., :3] * a + board * (1 - a)).astype(np.uint8), "RGB")


def main() -> None:
    files = find_images(SOURCE)
    if not files:
        sys.exit(f"no tiles in {SOURCE}: python scripts/tile_sets.py data/sets --only freeciv")
    picks = [files[i] for i in (21, 300, 420, 470)]
    floor = next(p for p in files if seamless(read_rgba(p)) and read_rgba(p)[..., 3].min() == 255)
    size = read_rgba(picks[0]).shape[0]
    res = SCALE * size
    columns = [("original", []), ("--style smooth", ["--style", "smooth"]), ("--palette keep", ["--style", "smooth",
               "--palette", "keep"]), ("default (--style auto)", [])]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "in").mkdir()
        for p in picks + [floor]:
            Image.fromarray(read_rgba(p)).save(tmp / "in" / p.name)
        results = {}
        for label, options in columns[1:]:
            upscale(tmp / "in", tmp / label.replace(" ", "_"), res, "--edges", "clamp", *options)
            results[label] = tmp / label.replace(" ", "_")
        for edges in ("clamp", "wrap"):
            upscale(tmp / "in", tmp / f"edges-{edges}", res, "--edges", edges)
        gap, head = 6, 16
        tile_rows = len(picks)
        width = len(columns) * (res + gap) + gap + 2 * (2 * res + gap)
        sheet = Image.new("RGB", (width, head + tile_rows * (res + gap) + gap), (255, 255, 255))
        draw = ImageDraw.Draw(sheet)
        for c, (label, _) in enumerate(columns):
            draw.text((gap + c * (res + gap), 2), label, fill=(0, 0, 0))
        for r, p in enumerate(picks):
            cells = [np.array(Image.fromarray(read_rgba(p)).resize((res, res), Image.Resampling.NEAREST))]
            cells += [read_rgba(results[label] / p.with_suffix(".png").name) for label, _ in columns[1:]]
            for c, cell in enumerate(cells):
                sheet.paste(on_checker(cell), (gap + c * (res + gap), head + gap + r * (res + gap)))
        x0 = gap + len(columns) * (res + gap)
        for k, edges in enumerate(("clamp", "wrap")):
            tile = read_rgba(tmp / f"edges-{edges}" / floor.with_suffix(".png").name)
            laid = np.tile(tile, (2, 2, 1))
            x = x0 + k * (2 * res + gap)
            draw.text((x, 2), f"2x2 after --edges {edges}", fill=(0, 0, 0))
            sheet.paste(on_checker(laid), (x, head + gap))
    OUT.parent.mkdir(exist_ok=True)
    sheet.save(OUT)
    print(f"{OUT}: original | --style smooth | --palette keep | the default, and a seamless tile after clamp and wrap")


if __name__ == "__main__":
    main()
