"""Cut free game tile sets from Debian packages into folders of single PNG tiles (issue 10).

    python scripts/tile_sets.py data/sets                  # every set
    python scripts/tile_sets.py data/sets --only freeciv   # one set (repeat --only for more)
    python scripts/tile_sets.py data/sets --debs /tmp/debs # reuse .deb files already downloaded

-> data/sets/<name>/NNNNN_<where>.png (RGBA tiles, native size) + data/sets/<name>/SOURCE.txt
(package and version, the paths used, and the licence from the package's copyright file).
Works on Debian/Ubuntu without installing the games: `apt-get download` + `dpkg -x` into a
temporary folder (`apt-get update` first when root and the package lists are missing).

Sets, as cut from Debian 12 (bookworm) packages; exact duplicates and tiles under 4% opaque
pixels dropped, at most CAP=4000 per set spread evenly over each set's groups (sheets or
tilesets), in a fixed order (about 15 s for all six with the .deb files at hand):

  name       role      tiles  sizes (px)                         licence (debian/copyright)
  crawl      training   3984  32x32                              public domain / CC0 ("most of tiles")
  cataclysm  training   4000  10,16,20,24,32,40,48,64 square     CC-BY-SA-3.0 (Files: *)
  supertux   training   3459  32x32                              GPL-3+ (Files: *)
  freeciv    HELD OUT    581  30x30 (trident tileset)            GPL-2+ (Files: *)
  pingus     held out    352  animation frames, 14..64 px        GPL-2+
  angband    held out   1796  16x16 (Adam Bolt's tiles)          public-domain (lib/xtra/graf/16x16.png)

- crawl (crawl-tiles-data; licence in crawl-common's copyright file, which the package links to):
  wall/floor/feat.png are 32x32 grids; main/player/gui/icons.png are packed atlases whose
  sprites are trimmed to their bounding boxes, so those sprites are found as connected opaque
  regions and centred on a 32x32 transparent tile; regions larger than
  32x32 (touching sprites, big monsters) and stray dots are skipped.
- cataclysm (cataclysm-dda-data): every gfx tileset whose sheets have square sprites (the
  tileset's tile_info size, or a sheet's sprite_width/height in tile_config.json), 8..64 px;
  the ASCII font tileset and the isometric HitButton_iso are skipped. Duplicates are dropped
  across tilesets, so UltimateCataclysm adds little beside ChibiUltica (same world tiles).
- supertux (supertux-data): images/tiles/**.png whose sizes are multiples of 32, cut in 32x32
  (not the auxiliary/, test/ and lightmap/ folders).
- freeciv (freeciv-data): the overhead `trident` tileset; the [grid_*] sections of its .spec
  files give x_top_left, y_top_left, dx, dy, pixel_border and the (row, column) of each sprite;
  only the 30x30 grids, not fog/grid/select. The cross-style test set: never train on it.
- pingus (pingus-data): the animation frames of every .sprite file ((array cols rows),
  (size w h)) whose frames are 8..64 px each way. Second held-out set.
- angband (angband-data): lib/xtra/graf/16x16.png, a 16x16 grid. Third held-out set.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

CAP = 4000
MIN_COVER = 0.04  # tiles with fewer opaque pixels (a lone digit, a health bar) are dropped


# ---------------------------------------------------------------- packages
def _apt_download(package: str, into: str) -> str | None:
    run = lambda: subprocess.run(["apt-get", "download", package], cwd=into,
                                 capture_output=True, text=True)
    if run().returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)  # a fresh machine has no lists
        run()
    debs = sorted(glob.glob(os.path.join(into, f"{package}_*.deb")))
    return debs[0] if debs else None


def unpack(package: str, tmp: str, debs_dir: str | None) -> tuple[Path, str]:
    """(root of the extracted package, version) of `package`, from `debs_dir` or apt-get download."""
    deb = None
    if debs_dir:
        found = sorted(glob.glob(os.path.join(debs_dir, f"{package}_*.deb")))
        deb = found[0] if found else None
    if deb is None:
        if not (shutil.which("apt-get") and shutil.which("dpkg")):
            sys.exit(f"{package}: needs apt-get and dpkg (Debian or Ubuntu), or --debs with its .deb")
        deb = _apt_download(package, tmp)
        if deb is None:
            sys.exit(f"{package}: apt-get download failed (no network, or no such package here)")
    root = Path(tmp) / package
    subprocess.run(["dpkg", "-x", deb, str(root)], check=True)
    version = subprocess.run(["dpkg-deb", "-f", deb, "Version"], capture_output=True, text=True,
                             check=True).stdout.strip()
    return root, version


def copyright_text(root: Path, package: str, tmp: str, debs_dir: str | None) -> tuple[str, str]:
    """(text of the package's copyright file, the package it came from); follows doc symlinks
    such as crawl-tiles-data -> crawl-common by unpacking the package that owns the file."""
    doc = root / "usr/share/doc" / package
    if doc.is_symlink():
        owner = os.readlink(doc).strip("/").split("/")[-1]
        other, _ = unpack(owner, tmp, debs_dir)
        return (other / "usr/share/doc" / owner / "copyright").read_text(errors="replace"), owner
    return (doc / "copyright").read_text(errors="replace"), package


def stanzas(text: str, *patterns: str) -> str:
    """The paragraphs of a copyright file that match any of `patterns` (case-insensitive)."""
    paragraphs = re.split(r"\n\s*\n", text)
    keep = [p.strip("\n") for p in paragraphs if any(re.search(pat, p, re.I) for pat in patterns)]
    return "\n\n".join(keep)


# ---------------------------------------------------------------- cutting
def rgba(path: Path) -> np.ndarray:
    with Image.open(path) as image:
        if image.mode == "P" and "transparency" in image.info:
            image = image.convert("RGBA")
        return np.array(image.convert("RGBA"), dtype=np.uint8)


def grid_cells(sheet: np.ndarray, w: int, h: int, x0: int = 0, y0: int = 0, border: int = 0):
    """(row, col, tile) of every whole w x h cell of a regular grid."""
    rows = (sheet.shape[0] - y0 + border) // (h + border)
    cols = (sheet.shape[1] - x0 + border) // (w + border)
    for r in range(rows):
        for c in range(cols):
            y, x = y0 + r * (h + border), x0 + c * (w + border)
            yield r, c, sheet[y:y + h, x:x + w]


def components(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding boxes (y0, x0, y1, x1) of the 8-connected regions of a bool mask (union-find on runs)."""
    parent: list[int] = []

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    runs: list[tuple[int, int, int]] = []  # (y, start, end)
    prev: list[int] = []
    for y in range(mask.shape[0]):
        line = np.concatenate([[0], mask[y].astype(np.int8), [0]])
        edges = np.flatnonzero(np.diff(line))
        current = []
        j = 0
        for s, e in zip(edges[::2], edges[1::2]):
            idx = len(runs)
            runs.append((y, int(s), int(e)))
            parent.append(idx)
            while j < len(prev) and runs[prev[j]][2] < s:  # prev run ends left of s-1
                j += 1
            k = j
            while k < len(prev) and runs[prev[k]][1] <= e:  # overlaps [s-1, e] (8-connected)
                ra, rb = find(prev[k]), find(idx)
                if ra != rb:
                    parent[rb] = ra
                k += 1
            current.append(idx)
        prev = current
    boxes: dict[int, list[int]] = {}
    for i, (y, s, e) in enumerate(runs):
        b = boxes.setdefault(find(i), [y, s, y + 1, e])
        b[0], b[1], b[2], b[3] = min(b[0], y), min(b[1], s), max(b[2], y + 1), max(b[3], e)
    return sorted(tuple(b) for b in boxes.values())


def sprites(sheet: np.ndarray, size: int, smallest: int = 12):
    """(y, x, tile) of each trimmed sprite of a packed atlas, centred on a size x size tile.

    A sprite is an 8-connected opaque region whose bounding box fits in size x size and whose
    longer side is at least `smallest`; regions that touch a neighbour come out larger and
    are skipped, as are stray dots. Opaque pixels of neighbours inside the box are kept.
    """
    opaque = sheet[..., 3] > 0
    for y0, x0, y1, x1 in components(opaque):
        h, w = y1 - y0, x1 - x0
        if h > size or w > size or max(h, w) < smallest:
            continue
        tile = np.zeros((size, size, 4), np.uint8)
        oy, ox = (size - h) // 2, (size - w) // 2
        tile[oy:oy + h, ox:ox + w] = sheet[y0:y1, x0:x1]
        yield y0, x0, tile


# ---------------------------------------------------------------- the sets
def crawl(root: Path):
    tiles = root / "usr/share/crawl/dat/tiles"
    for name in ("wall", "floor", "feat"):
        for r, c, t in grid_cells(rgba(tiles / f"{name}.png"), 32, 32):
            yield name, f"{name}-r{r}c{c}", t
    for name in ("main", "player", "gui", "icons"):
        for y, x, t in sprites(rgba(tiles / f"{name}.png"), 32):
            yield name, f"{name}-y{y}x{x}", t


def crawl_paths(root: Path) -> list[str]:
    return [f"usr/share/crawl/dat/tiles/{n}.png" for n in ("wall", "floor", "feat", "main", "player", "gui", "icons")]


CATACLYSM_SKIP = {"ASCIITileset", "HitButton_iso"}


def cataclysm_sheets(root: Path):
    gfx = root / "usr/share/games/cataclysm-dda/gfx"
    for config in sorted(gfx.glob("*/tile_config.json")):
        tileset = config.parent.name
        if tileset in CATACLYSM_SKIP:
            continue
        info = json.loads(config.read_text())
        base = info.get("tile_info", [{}])[0]
        if base.get("iso"):
            continue
        for entry in info.get("tiles-new", []):
            w = entry.get("sprite_width", base.get("width"))
            h = entry.get("sprite_height", base.get("height"))
            sheet = config.parent / entry["file"]
            if w == h and w and 8 <= w <= 64 and sheet.exists() and "fallback" not in entry["file"]:
                yield tileset, sheet, int(w)


def cataclysm(root: Path):
    for tileset, sheet, size in cataclysm_sheets(root):
        for r, c, t in grid_cells(rgba(sheet), size, size):
            yield tileset, f"{tileset}-{sheet.stem}-r{r}c{c}", t


def cataclysm_paths(root: Path) -> list[str]:
    return [f"{s.relative_to(root)} ({n}x{n})" for _, s, n in cataclysm_sheets(root)]


SUPERTUX_SKIP = {"auxiliary", "test", "lightmap"}  # editor markers, test tiles, light gradients


def supertux_sheets(root: Path):
    base = root / "usr/share/games/supertux2/images/tiles"
    for path in sorted(base.rglob("*.png")):
        if path.relative_to(base).parts[0] in SUPERTUX_SKIP:
            continue
        with Image.open(path) as image:
            w, h = image.size
        if w % 32 == 0 and h % 32 == 0:
            yield path


def supertux(root: Path):
    for path in supertux_sheets(root):
        rel = path.relative_to(root / "usr/share/games/supertux2/images/tiles")
        group = rel.parts[0] if len(rel.parts) > 1 else "misc"
        for r, c, t in grid_cells(rgba(path), 32, 32):
            yield group, f"{str(rel.with_suffix('')).replace('/', '-')}-r{r}c{c}", t


def supertux_paths(root: Path) -> list[str]:
    return [str(p.relative_to(root)) for p in supertux_sheets(root)]


FREECIV = "usr/share/games/freeciv"
FREECIV_SKIP = {"fog", "grid", "select"}  # dither masks, grid lines and the selection outline: not art


def spec_grids(text: str):
    """(x_top_left, y_top_left, dx, dy, pixel_border, [(row, col), ...]) of each [grid_*] of a .spec."""
    for section in re.split(r"^\[", text, flags=re.M):
        if not section.startswith("grid"):
            continue
        num = lambda key, default=None, section=section: (int(m.group(1)) if (m := re.search(
            rf"^\s*{key}\s*=\s*(-?\d+)", section, re.M)) else default)
        body = re.search(r"tiles\s*=\s*\{(.*?)\}", section, re.S)
        cells = [(int(a), int(b)) for a, b in re.findall(r"^\s*(\d+)\s*,\s*(\d+)\s*,", body.group(1), re.M)] if body else []
        yield num("x_top_left", 0), num("y_top_left", 0), num("dx"), num("dy"), num("pixel_border", 0), cells


def freeciv_specs(root: Path):
    for spec in sorted((root / FREECIV / "trident").glob("*.spec")):
        if spec.stem in FREECIV_SKIP:
            continue
        text = spec.read_text(errors="replace")
        gfx = re.search(r'^\s*gfx\s*=\s*"([^"]+)"', text, re.M)
        if gfx:
            yield spec, root / FREECIV / f"{gfx.group(1)}.png", text


def freeciv(root: Path):
    for spec, png, text in freeciv_specs(root):
        sheet = rgba(png)
        for x0, y0, dx, dy, border, cells in spec_grids(text):
            if dx != 30 or dy != 30:
                continue
            for r, c in sorted(set(cells)):
                x, y = x0 + c * (dx + border), y0 + r * (dy + border)
                if y + dy <= sheet.shape[0] and x + dx <= sheet.shape[1]:
                    yield spec.stem, f"{png.stem}-r{r}c{c}", sheet[y:y + dy, x:x + dx]


def freeciv_paths(root: Path) -> list[str]:
    return [f"{spec.relative_to(root)} -> {png.relative_to(root)}" for spec, png, _ in freeciv_specs(root)]


PINGUS = "usr/share/games/pingus/data/images"


def pingus_sprites(root: Path):
    for spec in sorted((root / PINGUS).rglob("*.sprite")):
        text = spec.read_text(errors="replace")
        image = re.search(r'\(image\s+"([^"]+)"', text)
        array = re.search(r"\(array\s+(\d+)\s+(\d+)\)", text)
        size = re.search(r"\(size\s+(\d+)\s+(\d+)\)", text)
        if not (image and array and size):
            continue
        cols, rows, w, h = int(array.group(1)), int(array.group(2)), int(size.group(1)), int(size.group(2))
        png = spec.parent / image.group(1)
        if png.exists() and 8 <= w <= 64 and 8 <= h <= 64:
            yield spec, png, cols, rows, w, h


def pingus(root: Path):
    for spec, png, cols, rows, w, h in pingus_sprites(root):
        sheet = rgba(png)
        if sheet.shape[0] < rows * h or sheet.shape[1] < cols * w:
            continue
        group = spec.relative_to(root / PINGUS).parts[0]
        for r, c, t in grid_cells(sheet[:rows * h, :cols * w], w, h):
            yield group, f"{str(spec.relative_to(root / PINGUS).with_suffix('')).replace('/', '-')}-{r * cols + c}", t


def pingus_paths(root: Path) -> list[str]:
    return [f"{s.relative_to(root)} -> {p.name} ({c}x{r} frames of {w}x{h})" for s, p, c, r, w, h in pingus_sprites(root)]


ANGBAND = "usr/share/angband/xtra/graf/16x16.png"


def angband(root: Path):
    for r, c, t in grid_cells(rgba(root / ANGBAND), 16, 16):
        yield "16x16", f"r{r}c{c}", t


SETS = {
    # name: (package, role, tiles(root), paths(root), copyright paragraphs to quote, licence in short)
    "crawl": ("crawl-tiles-data", "training", crawl, crawl_paths, (r"Public Domain\|CC0: most of tiles",),
              "public domain / CC0 for most of the tiles (crawl-common's copyright file: 'Public Domain|CC0: "
              "most of tiles. Exact list is sketchy'); the game is GPL-2+"),
    "cataclysm": ("cataclysm-dda-data", "training", cataclysm, cataclysm_paths, (r"(?m)^Files: \*\s*$",),
                  "CC-BY-SA-3.0 (debian/copyright, Files: *; no separate stanza for gfx/)"),
    "supertux": ("supertux-data", "training", supertux, supertux_paths, (r"(?m)^Files: \*\s*$",),
                 "GPL-3+ (debian/copyright, Files: *; no separate stanza for images/tiles)"),
    "freeciv": ("freeciv-data", "held-out test set (never train on it)", freeciv, freeciv_paths,
                (r"(?m)^Files: \*\s*$",), "GPL-2+ (debian/copyright, Files: *)"),
    "pingus": ("pingus-data", "held-out test set (never train on it)", pingus, pingus_paths,
               (r"^License:",), "GPL-2+ (debian/copyright)"),
    "angband": ("angband-data", "held-out test set (never train on it)", angband, lambda root: [ANGBAND],
                (r"16x16\.png",), "public-domain (debian/copyright: lib/xtra/graf/16x16.png, 1998 Adam Bolt)"),
}


def pick(items: list, cap: int) -> list:
    """At most `cap` items, evenly spread over the list, order kept."""
    if len(items) <= cap:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, cap).round().astype(int)]


def cut(name: str, dest: Path, tmp: str, debs_dir: str | None, cap: int = CAP) -> int:
    package, role, tiles, paths, quote, licence = SETS[name]
    root, version = unpack(package, tmp, debs_dir)
    seen: set[bytes] = set()
    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for group, where, tile in tiles(root):
        alpha = tile[..., 3]
        if (alpha > 0).mean() < MIN_COVER:
            continue
        clean = np.where(alpha[..., None] > 0, tile, 0).astype(np.uint8)  # colour under alpha 0 is arbitrary
        key = hashlib.sha1(clean.tobytes() + bytes(str(clean.shape), "ascii")).digest()
        if key in seen:
            continue
        seen.add(key)
        groups.setdefault(group, []).append((where, clean))
    # The cap is shared evenly by the groups (tilesets, sheets), small groups giving their share away.
    chosen: list[tuple[str, np.ndarray]] = []
    per_group: dict[str, int] = {}
    left, order = cap, sorted(groups, key=lambda g: len(groups[g]))
    for i, g in enumerate(order):
        taken = pick(groups[g], left // (len(order) - i))
        chosen += taken
        per_group[g] = len(taken)
        left -= len(taken)
    chosen.sort(key=lambda item: item[0])
    out = dest / name
    if out.exists():
        for old in out.glob("*.png"):
            old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    for i, (where, tile) in enumerate(chosen):
        Image.fromarray(tile, "RGBA").save(out / f"{i:05d}_{re.sub(r'[^A-Za-z0-9_.+-]', '_', where)}.png")
    text, owner = copyright_text(root, package, tmp, debs_dir)
    sizes = sorted({f"{t.shape[1]}x{t.shape[0]}" for _, t in chosen}, key=lambda s: [int(v) for v in s.split("x")])
    counts = ", ".join(f"{g}: {per_group[g]} of {len(groups[g])}" for g in sorted(groups))
    (out / "SOURCE.txt").write_text(
        f"Set: {name} ({role})\n"
        f"Debian package: {package} {version}\n"
        f"Cut by scripts/tile_sets.py: {len(chosen)} tiles ({', '.join(sizes)} px), from {sum(map(len, groups.values()))} "
        f"distinct tiles (at most {cap}, evenly over the groups; duplicates and tiles under {MIN_COVER:.0%} opaque dropped)\n"
        f"Tiles per group: {counts}\n"
        f"Licence: {licence}\n\n"
        "Paths used (inside the package):\n" + "".join(f"  {p}\n" for p in paths(root)) +
        f"\nFrom /usr/share/doc/{owner}/copyright:\n\n{stanzas(text, *quote)}\n")
    return len(chosen)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dest", nargs="?", default="data/sets", help="output folder (default data/sets)")
    parser.add_argument("--only", action="append", choices=sorted(SETS), help="cut only this set (repeatable)")
    parser.add_argument("--debs", help="folder with already downloaded .deb files (else apt-get download)")
    parser.add_argument("--cap", type=int, default=CAP, help=f"most tiles per set (default {CAP})")
    args = parser.parse_args(argv)
    dest = Path(args.dest)
    for name in args.only or list(SETS):
        with tempfile.TemporaryDirectory() as tmp:
            n = cut(name, dest, tmp, args.debs, args.cap)
        print(f"{name}: {n} tiles in {dest / name}/ ({SETS[name][1]})", flush=True)


if __name__ == "__main__":
    main()
