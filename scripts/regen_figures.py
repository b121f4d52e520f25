"""The README's figures for `manifold transitions` and `manifold variants`, and the measurements behind them.

    .venv/bin/python scripts/regen_figures.py                      # docs/transitions-sets.png, docs/variants.png
    .venv/bin/python scripts/regen_figures.py --sets data/sets     # also measure on Widelands' meadow and beach

Renders with the embedded default model, on real game tiles: Dungeon Crawl's grass and sand floors
and pebbles (tests/data/terrain, 32 px) and, where `scripts/tile_sets.py` has cut them into --sets, Widelands'
summer meadow and beach textures (64 px). Prints, as Markdown tables:

- joins: over every pair of tiles Tiled's rules allow side by side, the mean colour step across the
  shared edge (manifold_core.seams), against the step between neighbouring pixels inside the two
  source tiles and inside the new tiles (across source-pixel boundaries, where a tile edge lies);
- consistency: each terrain's pure regions (source pixels whose 3x3 neighbourhood is that terrain,
  in the mask at the source's grid) box-shrunk back to the source's pixels, PSNR against the source,
  beside the same measure of `manifold upscale`'s rendering of that terrain alone;
- strength: for `manifold variants`, the share of pixels that differ from the tile rendered plain,
  the PSNR against it, and the joins between variants, for each --strength.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from manifold_core.regenerate import render_composite  # noqa: E402
from manifold_core.runtime import RenderOptions, TileModel  # noqa: E402
from manifold_core.seams import join_report  # noqa: E402
from manifold_core.tiles import read_rgba  # noqa: E402
from manifold_core.variants import rolled_copies, shuffle  # noqa: E402
from manifold_core.wang import KINDS, neighbours, tile_masks, wang_set  # noqa: E402

TERRAIN = REPO / "tests" / "data" / "terrain"
AUTO = RenderOptions("auto", "auto", "auto")
WIDELANDS = ("widelands", "00244_summer-meadow2.png", "00240_summer-beach.png")


def premultiplied(t: np.ndarray) -> np.ndarray:
    t = t.astype(np.float64)
    t[..., :3] *= t[..., 3:4] / 255
    return t[..., :3]


def psnr(error: np.ndarray) -> float:
    mse = float(error.mean())
    return 100.0 if mse == 0 else min(100.0, 10 * np.log10(255 ** 2 / mse))


def consistency(tiles: np.ndarray, masks: np.ndarray, sources: np.ndarray) -> list[float | None]:
    """PSNR of each terrain's pure regions, shrunk back to the source's pixels, against the source."""
    n, h, w = masks.shape
    fy, fx = tiles.shape[1] // h, tiles.shape[2] // w
    shrunk = premultiplied(tiles).reshape(n, h, fy, w, fx, 3).mean((2, 4))
    found = []
    for k in (0, 1):
        pad = np.pad(masks == bool(k), ((0, 0), (1, 1), (1, 1)), mode="edge")
        pure = np.all([pad[:, 1 + dy:h + 1 + dy, 1 + dx:w + 1 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
        error = (shrunk - premultiplied(sources[k])[None]) ** 2
        found.append(psnr(error[pure]) if pure.any() else None)
    return found


def transition_set(model, sources, kind, res, boundary, seed=0):
    wang = wang_set(kind)
    labels = lambda h, w: tile_masks(wang, h, w, seed, boundary, sources.shape[2]).astype(np.int64)
    return wang, render_composite(model, sources, labels, res, res, AUTO)


def measure_pair(model, name: str, sources: np.ndarray, resolutions) -> list[str]:
    rows = []
    h = sources.shape[1]
    plain = {}
    for res in resolutions:
        for k in (0, 1):
            alone = np.concatenate(list(model.render(sources[k:k + 1], res, res, RenderOptions("auto", "auto", "auto"))))
            masks = np.full((1, h, h), bool(k))
            plain[(res, k)] = consistency(alone, masks, sources)[k]
    for kind in KINDS:
        for boundary in ("smooth", "noisy"):
            for res in resolutions:
                wang, tiles = transition_set(model, sources, kind, res, boundary)
                joins = join_report(tiles, neighbours(wang), sources)
                masks = tile_masks(wang, h, h, 0, boundary, h, ring=0)
                a_db, b_db = consistency(tiles, masks, sources) if res % h == 0 else (None, None)
                under = 100 * (1 - joins["edge_mean"] / joins["inside_sources"])
                fmt = lambda v: "n/a" if v is None else f"{v:.1f}"
                rows.append(f"| {name} | {kind} | {boundary} | {h} -> {res} | {joins['pairs']} | {joins['edge_mean']:.2f} "
                            f"(max {joins['edge_max']:.2f}) | {joins['inside_sources']:.2f} ({under:.0f} % under) | "
                            f"{joins['inside_tiles']:.2f} | {fmt(a_db)} / {fmt(b_db)} | "
                            f"{fmt(plain[(res, 0)])} / {fmt(plain[(res, 1)])} |")
    return rows


def strength_rows(model, tile: np.ndarray, name: str, res: int, count: int = 8) -> list[str]:
    rows = []
    copies = rolled_copies(tile[None], count, 0)
    for strength in (0.1, 0.25, 0.5, 0.75, 1.0):
        def labels(h, w, strength=strength):
            base = np.zeros((h + 2, w + 2), np.int64)
            return np.stack([shuffle(base, copies, k, strength, 0, [True]) for k in range(count + 1)])
        out = render_composite(model, copies.sources, labels, res, res, AUTO)
        plain, variants = out[0], out[1:]
        changed = (variants != plain[None]).any(-1).mean()
        error = (variants.astype(np.float64) - plain[None].astype(np.float64)) ** 2
        db = np.mean([psnr(e) for e in error])
        joins = join_report(variants, [(i, j, a) for i in range(count) for j in range(count) for a in "xy"], tile[None])
        rows.append(f"| {name} | {tile.shape[0]} -> {res} | {strength} | {100 * changed:.0f} % | {db:.1f} | "
                    f"{joins['edge_mean']:.2f} | {joins['inside_sources']:.2f} |")
    return rows


def sheet(tiles: np.ndarray, columns: int) -> np.ndarray:
    rows = -(-len(tiles) // columns)
    h, w = tiles.shape[1:3]
    out = np.zeros((rows * h, columns * w, 4), np.uint8)
    for i, t in enumerate(tiles):
        out[(i // columns) * h:(i // columns + 1) * h, (i % columns) * w:(i % columns + 1) * w] = t
    return out


def side_by_side(pictures: list[np.ndarray], gap: int = 16) -> np.ndarray:
    height = max(p.shape[0] for p in pictures)
    width = sum(p.shape[1] for p in pictures) + gap * (len(pictures) - 1)
    out = np.full((height, width, 4), 255, np.uint8)
    x = 0
    for p in pictures:
        out[:p.shape[0], x:x + p.shape[1]] = p
        x += p.shape[1] + gap
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=Path, help="the tile sets scripts/tile_sets.py cut (for Widelands' textures)")
    parser.add_argument("--out", type=Path, default=REPO / "docs")
    args = parser.parse_args()
    model = TileModel.load(None, "cpu")
    crawl = np.stack([read_rgba(TERRAIN / "grass.png"), read_rgba(TERRAIN / "sand.png")])

    # The three kinds of set, as their sheets (corner and edge sheets are themselves seamless maps).
    pictures = [sheet(transition_set(model, crawl, kind, 64, "noisy")[1], wang_set(kind).columns) for kind in KINDS]
    Image.fromarray(side_by_side(pictures)).save(args.out / "transitions-sets.png", optimize=True)

    # Variants: the tile and eight variants, then 4 x 3 of the tile repeated against 4 x 3 random variants.
    pebbles = read_rgba(TERRAIN / "pebbles.png")
    copies = rolled_copies(pebbles[None], 8, 0)
    labels = lambda h, w: np.stack([shuffle(np.zeros((h + 2, w + 2), np.int64), copies, k, 0.5, 0, [True])
                                    for k in range(9)])
    out = render_composite(model, copies.sources, labels, 64, 64, AUTO)
    strip = side_by_side(list(out), gap=0)
    rng = np.random.default_rng(0)
    repeated = sheet(np.stack([out[0]] * 12), 4)
    varied = sheet(out[1:][rng.integers(0, 8, 12)], 4)
    grid = side_by_side([repeated, varied], gap=strip.shape[1] - 2 * repeated.shape[1])
    Image.fromarray(np.concatenate([strip, np.full((16, strip.shape[1], 4), 255, np.uint8), grid])).save(
        args.out / "variants.png", optimize=True)
    print(f"wrote {args.out / 'transitions-sets.png'} and {args.out / 'variants.png'}\n")

    print("| terrains | set | boundary | px | pairs | edge step | inside the sources | inside the new tiles "
          "| pure A / B (dB) | upscale alone A / B (dB) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in measure_pair(model, "Crawl grass / sand", crawl, (64, 128)):
        print(row)
    if args.sets is not None and (args.sets / WIDELANDS[0]).is_dir():
        widelands = np.stack([read_rgba(args.sets / WIDELANDS[0] / WIDELANDS[1]),
                              read_rgba(args.sets / WIDELANDS[0] / WIDELANDS[2])])
        for row in measure_pair(model, "Widelands meadow / beach", widelands, (128,)):
            print(row)
    print("\n| tile | px | strength | pixels changed | PSNR vs plain (dB) | joins between variants | inside the tile |")
    print("|---|---|---|---|---|---|---|")
    for res in (32, 64):
        for row in strength_rows(model, pebbles, "Crawl pebbles", res):
            print(row)
    if args.sets is not None and (args.sets / WIDELANDS[0]).is_dir():
        for row in strength_rows(model, read_rgba(args.sets / WIDELANDS[0] / WIDELANDS[1]), "Widelands meadow", 64):
            print(row)


if __name__ == "__main__":
    main()
