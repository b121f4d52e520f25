"""Cut free game tile sets from Debian packages into folders of single PNG tiles.

    python scripts/tile_sets.py data/sets                  # every set
    python scripts/tile_sets.py data/sets --only freeciv   # one set (repeat --only for more)
    python scripts/tile_sets.py data/sets --debs /tmp/debs # reuse .deb files already downloaded
    python scripts/tile_sets.py data/sets --originals      # the held-out crisp originals (blind judging)

-> data/sets/<name>/NNNNN_<where>.png (RGBA tiles, native size), data/sets/<name>/SOURCE.txt
(package and version, the paths used, the licence from the package's copyright file),
data/sets/<name>/set.json (the same, and the measures below, machine-readable) and
data/sets/sets.json (every set.json of the folder in one file). Works on Debian/Ubuntu without
installing the games: `apt-get download` + `dpkg -x` into a temporary folder (`apt-get update`
first when root and the package lists are missing). Deterministic: the same packages give the
same tiles, byte for byte.

Exact duplicates and tiles under 4% opaque pixels are dropped, at most CAP=4000 per set spread
evenly over each set's groups (sheets or tilesets), in a fixed order. Each set has a style:
`pixel` (drawn pixel by pixel: few colours, hard edges) or `smooth` (painted or rendered: soft
edges, many colours); set.json tags each tile size of a pixel set `lowres` (at most 32 px each
way: the low-resolution side of training pairs) and/or `target` (at least 32 px each way: a
high-resolution target), and every size of a smooth set `smooth`. Measured per set: colour
count per tile (distinct RGB of the visible pixels; 10th percentile, median, 90th) and alpha
(share of tiles whose alpha is only 0 or 255; share fully opaque).

Sets, as cut from Debian 12 (bookworm) packages (MODEL.md "Training data" has every set's figures):

  training (the first sets): crawl, cataclysm, supertux
  training (added for pixel-art quality): flare, mrrescue, widelands, freedroid, lincity, simutrans, freedink,
      lgeneral, tecnoballz, tecnoballz-hires, lbreakout, lordsawar, boswars, berusky, blobwars,
      hedgewars
  held out (never train on them): freeciv, pingus, angband; and with --originals the crisp
  originals freeciv-originals, angband-originals, pingus-originals (24 tiles each; 16, 30 and
  32 px; sprites with transparency and, from freeciv and angband, opaque textures)

How each set is cut: scripts/tile_games.py, one pair of functions per set. Notes:
- tecnoballz and tecnoballz-hires are the same sprites and map tiles drawn by the game's artists
  at 1x and 2x (the hires sheets are not a filter's upscale): same file names in both folders,
  so each is a real low-res / high-res pair (`pairs` in set.json counts them).
- lordsawar's big* sets are mostly its 40 px pictures scaled 2x by a machine (pixels doubled or
  interpolated), so they are left out.
"""

from __future__ import annotations

import argparse
import dataclasses
import glob
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling modules, however this is run

import tile_games as games
from tile_cutting import CRISP_COLOURS, MIN_COVER, colour_count, hard_alpha, summary

CAP = 4000
HELD_OUT = "held-out test set (never train on it)"


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
    root = Path(tmp) / package
    deb = None
    for folder in [d for d in (debs_dir, tmp) if d]:  # given, or downloaded for an earlier set
        found = sorted(glob.glob(os.path.join(folder, f"{package}_*.deb")))
        deb = deb or (found[0] if found else None)
    if deb is None:
        if not (shutil.which("apt-get") and shutil.which("dpkg")):
            sys.exit(f"{package}: needs apt-get and dpkg (Debian or Ubuntu), or --debs with its .deb")
        deb = _apt_download(package, tmp)
        if deb is None:
            sys.exit(f"{package}: apt-get download failed (no network, or no such package here)")
    if not root.exists():  # two sets of one package (tecnoballz, tecnoballz-hires) unpack it once
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


# ---------------------------------------------------------------- the sets
@dataclass(frozen=True)
class SetSpec:
    package: str
    role: str
    tiles: Callable[[Path], Iterator]  # root -> (group, where, tile), tile_games.<name>
    paths: Callable[[Path], list[str]]
    quote: tuple[str, ...]  # copyright paragraphs to quote in SOURCE.txt
    licence: str  # in short
    style: str  # "pixel" or "smooth"
    pairs_with: str | None = None  # a set of the same art at another resolution, tile names shared


FILES_ALL = (r"(?m)^Files: \*\s*$",)
SETS = {
    "crawl": SetSpec("crawl-tiles-data", "training", games.crawl, games.crawl_paths, (r"Public Domain\|CC0: most of tiles",),
                     "public domain / CC0 for most of the tiles (crawl-common's copyright file: 'Public Domain|CC0: "
                     "most of tiles. Exact list is sketchy'); the game is GPL-2+", "pixel"),
    "cataclysm": SetSpec("cataclysm-dda-data", "training", games.cataclysm, games.cataclysm_paths, FILES_ALL,
                         "CC-BY-SA-3.0 (debian/copyright, Files: *; no separate stanza for gfx/)", "pixel"),
    "supertux": SetSpec("supertux-data", "training", games.supertux, games.supertux_paths, FILES_ALL,
                        "GPL-3+ (debian/copyright, Files: *; no separate stanza for images/tiles)", "smooth"),
    "flare": SetSpec("flare-game", "training", games.flare, games.flare_paths, FILES_ALL,
                     "CC-BY-SA-3.0+ (debian/copyright, Files: *)", "smooth"),
    "mrrescue": SetSpec("mrrescue", "training", games.mrrescue, games.mrrescue_paths, (r"(?m)^Files: data/\*",),
                        "CC-BY-SA-3.0 (debian/copyright, Files: data/*; the code is Zlib)", "pixel"),
    "widelands": SetSpec("widelands-data", "training", games.widelands, games.widelands_paths,
                         FILES_ALL + (r"(?m)^Files: data/tribes/\*/\*\.png",),
                         "GPL-2+ (debian/copyright, Files: * and data/tribes/*/*.png)", "smooth"),
    "freedroid": SetSpec("freedroidrpg-data", "training", games.freedroid, games.freedroid_paths, FILES_ALL,
                         "GPL-2+ (debian/copyright, Files: *)", "smooth"),
    "lincity": SetSpec("lincity-ng-data", "training", games.lincity, games.lincity_paths, FILES_ALL,
                       "GPL-2+ (debian/copyright, Files: *)", "smooth"),
    "simutrans": SetSpec("simutrans-pak64", "training", games.simutrans, games.simutrans_paths, FILES_ALL,
                         "Artistic-1.0 (debian/copyright, Files: *)", "pixel"),
    "freedink": SetSpec("freedink-data", "training", games.freedink, games.freedink_paths,
                        (r"Original data pack", r"Justin Martin", r"Seth A\. Robinson", r"provided 'as-is'",
                         r"Permission is granted", r"The origin of this software", r"Covered files", r"graphics/\*"),
                        "Zlib-style licence of the original data (debian/copyright: Seth A. Robinson; graphics/*)", "smooth"),
    "lgeneral": SetSpec("lgeneral-data", "training", games.lgeneral, games.lgeneral_paths, FILES_ALL,
                        "CC-BY-SA-3.0 (debian/copyright, Files: *)", "pixel"),
    "tecnoballz": SetSpec("tecnoballz-data", "training", games.tecnoballz, games.tecnoballz_paths, FILES_ALL,
                          "GPL-3+ (debian/copyright, Files: *)", "pixel", pairs_with="tecnoballz-hires"),
    "tecnoballz-hires": SetSpec("tecnoballz-data", "training", games.tecnoballz_hires, games.tecnoballz_hires_paths, FILES_ALL,
                                "GPL-3+ (debian/copyright, Files: *)", "pixel", pairs_with="tecnoballz"),
    "lbreakout": SetSpec("lbreakout2-data", "training", games.lbreakout, games.lbreakout_paths, (r"License:",),
                         "GPL (debian/copyright: 'GNU GPL (see /usr/share/common-licenses/GPL)', 2000 Michael Speck)", "smooth"),
    "lordsawar": SetSpec("lordsawar-data", "training", games.lordsawar, games.lordsawar_paths, FILES_ALL,
                         "GPL-3+ (debian/copyright, Files: *)", "smooth"),
    "boswars": SetSpec("boswars-data", "training", games.boswars, games.boswars_paths, FILES_ALL,
                       "GPL-2+ (debian/copyright, Files: *)", "smooth"),
    "berusky": SetSpec("berusky-data", "training", games.berusky, games.berusky_paths, FILES_ALL,
                       "GPL-2+ (debian/copyright, Files: *)", "smooth"),
    "blobwars": SetSpec("blobwars-data", "training", games.blobwars, games.blobwars_paths, FILES_ALL,
                        "GPL-2+ (debian/copyright, Files: *)", "pixel"),
    "hedgewars": SetSpec("hedgewars-data", "training", games.hedgewars, games.hedgewars_paths, FILES_ALL,
                         "GPL-2 (debian/copyright, Files: *)", "smooth"),
    "freeciv": SetSpec("freeciv-data", HELD_OUT, games.freeciv, games.freeciv_paths, FILES_ALL,
                       "GPL-2+ (debian/copyright, Files: *)", "pixel"),
    "pingus": SetSpec("pingus-data", HELD_OUT, games.pingus, games.pingus_paths, (r"^License:",),
                      "GPL-2+ (debian/copyright)", "smooth"),
    "angband": SetSpec("angband-data", HELD_OUT, games.angband, games.angband_paths, (r"16x16\.png",),
                       "public-domain (debian/copyright: lib/xtra/graf/16x16.png, 1998 Adam Bolt)", "pixel"),
}


def size_kinds(style: str, w: int, h: int) -> list[str]:
    """What a tile of this size can be for training: the low-resolution side of a pair (pixel art
    at most 32 px each way), a high-resolution target (pixel art at least 32 px each way), or
    smooth art (any size)."""
    if style != "pixel":
        return ["smooth"]
    kinds = (["lowres"] if max(w, h) <= 32 else []) + (["target"] if min(w, h) >= 32 else [])
    return kinds or ["pixel"]


def pick(items: list, cap: int) -> list:
    """At most `cap` items, evenly spread over the list, order kept."""
    if len(items) <= cap:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, cap).round().astype(int)]


def share_cap(groups: dict[str, list], cap: int) -> dict[str, list]:
    """At most `cap` items over all groups, shared evenly, small groups giving their share away."""
    chosen, left, order = {}, cap, sorted(groups, key=lambda g: len(groups[g]))
    for i, g in enumerate(order):
        chosen[g] = pick(groups[g], left // (len(order) - i))
        left -= len(chosen[g])
    return chosen


def clean(tile: np.ndarray) -> np.ndarray:
    """The tile with the colour under alpha 0 zeroed: it is arbitrary, and would hide duplicates."""
    return np.where(tile[..., 3:4] > 0, tile, 0).astype(np.uint8)


def tile_key(tile: np.ndarray) -> bytes:
    return hashlib.sha1(tile.tobytes() + bytes(str(tile.shape), "ascii")).digest()


def distinct(items, min_cover: float = MIN_COVER) -> dict[str, list[tuple[str, np.ndarray]]]:
    """{group: [(where, tile)]} of (group, where, tile) items, without exact duplicates (the first kept)
    and without tiles under `min_cover` opaque pixels."""
    seen: set[bytes] = set()
    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for group, where, tile in items:
        if (tile[..., 3] > 0).mean() < min_cover:
            continue
        tile = clean(tile)
        key = tile_key(tile)
        if key in seen:
            continue
        seen.add(key)
        groups.setdefault(group, []).append((where, tile))
    return groups


def file_name(i: int, where: str) -> str:
    return f"{i:05d}_{re.sub(r'[^A-Za-z0-9_.+-]', '_', where)}.png"


def write_tiles(out: Path, chosen: list[tuple[str, np.ndarray]]) -> None:
    if out.exists():
        for old in out.glob("*.png"):
            old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    for i, (where, tile) in enumerate(chosen):
        Image.fromarray(tile, "RGBA").save(out / file_name(i, where))


def describe(name: str, spec: SetSpec, version: str, tiles: list[np.ndarray], role: str | None = None) -> dict:
    """set.json: where the set came from and what its tiles are like."""
    info = {"name": name, "package": spec.package, "version": version, "role": role or spec.role,
            "style": spec.style, "licence": spec.licence}
    info.update(summary(tiles))
    info["kinds"] = {s: size_kinds(spec.style, *map(int, s.split("x"))) for s in info["sizes"]}
    info["tiles_per_kind"] = {k: sum(n for s, n in info["sizes"].items() if k in info["kinds"][s])
                              for k in sorted({k for ks in info["kinds"].values() for k in ks})}
    return info


def cut(name: str, dest: Path, tmp: str, debs_dir: str | None, cap: int = CAP) -> int:
    spec = SETS[name]
    root, version = unpack(spec.package, tmp, debs_dir)
    groups = distinct(spec.tiles(root))
    per_group = share_cap(groups, cap)
    chosen = sorted((item for g in per_group.values() for item in g), key=lambda item: item[0])
    out = dest / name
    write_tiles(out, chosen)
    text, owner = copyright_text(root, spec.package, tmp, debs_dir)
    sizes = sorted({f"{t.shape[1]}x{t.shape[0]}" for _, t in chosen}, key=lambda s: [int(v) for v in s.split("x")])
    counts = ", ".join(f"{g}: {len(per_group[g])} of {len(groups[g])}" for g in sorted(groups))
    (out / "SOURCE.txt").write_text(
        f"Set: {name} ({spec.role})\n"
        f"Debian package: {spec.package} {version}\n"
        f"Cut by scripts/tile_sets.py: {len(chosen)} tiles ({', '.join(sizes)} px), from {sum(map(len, groups.values()))} "
        f"distinct tiles (at most {cap}, evenly over the groups; duplicates and tiles under {MIN_COVER:.0%} opaque dropped)\n"
        f"Tiles per group: {counts}\n"
        f"Licence: {spec.licence}\n\n"
        "Paths used (inside the package):\n" + "".join(f"  {p}\n" for p in spec.paths(root)) +
        f"\nFrom /usr/share/doc/{owner}/copyright:\n\n{stanzas(text, *spec.quote)}\n")
    info = describe(name, spec, version, [t for _, t in chosen])
    info["groups"] = {g: len(per_group[g]) for g in sorted(groups)}
    if spec.pairs_with:
        other = dest / spec.pairs_with
        mine = {p.name for p in out.glob("*.png")}
        info["pairs_with"] = spec.pairs_with
        info["pairs"] = len(mine & {p.name for p in other.glob("*.png")}) if other.is_dir() else 0
    (out / "set.json").write_text(json.dumps(info, indent=1) + "\n")
    return len(chosen)


# ---------------------------------------------------------------- held-out crisp originals
# name: (candidates(root), frames per family, most colours). Pingus's penguins are shaded (60 to
# 190 colours a frame) but hard-edged, and have few actions: two frames of each, up to 128 colours.
ORIGINALS = {"freeciv": (games.freeciv_originals, 1, CRISP_COLOURS), "angband": (games.angband_originals, 1, CRISP_COLOURS),
             "pingus": (games.pingus_originals, 2, 128)}
# The originals draw on more of a package than the set of the same name (angband's 32x32 tiles)
ORIGINALS_LICENCE = {"angband": ("16x16: public-domain (1998 Adam Bolt); 32x32: CC-BY-3 (1999 David Gervais) "
                                 "(debian/copyright, lib/xtra/graf/16x16.png and 32x32.png)", (r"16x16\.png", r"32x32\.png"))}
ORIGINALS_PER_SET = 24
ORIGINAL_SIZES = {(16, 16), (32, 32), (30, 30)}  # freeciv's overhead tileset is drawn at 30 px
FEWEST_COLOURS = 4  # fewer: a flat shape, nothing to judge


def original_class(tile: np.ndarray, most_colours: int = CRISP_COLOURS) -> str | None:
    """'sprite' (hard alpha, 25..95% drawn), 'texture' (fully opaque) or None (not a crisp original:
    soft alpha, too few or too many colours, mostly empty, or a size the eval does not judge)."""
    h, w = tile.shape[:2]
    if (w, h) not in ORIGINAL_SIZES or not hard_alpha(tile):
        return None
    if not FEWEST_COLOURS <= colour_count(tile) <= most_colours:
        return None
    cover = (tile[..., 3] == 255).mean()
    return "texture" if cover == 1 else "sprite" if 0.25 <= cover <= 0.95 else None


def choose_originals(items, per_set: int = ORIGINALS_PER_SET, per_family: int = 1,
                     most_colours: int = CRISP_COLOURS) -> list[tuple[str, np.ndarray]]:
    """`per_set` crisp originals from (family, where, tile) items. At most `per_family` crisp tiles
    of a family (an animation's frames are one family), spread over its frames; bucketed by
    (size, class), the quota shared evenly over the buckets and each bucket's share spread evenly
    over it (in the order the items came); ordered by name."""
    families: dict[str, list[tuple[str, np.ndarray]]] = {}
    seen: set[bytes] = set()
    for family, where, tile in items:
        if original_class(tile, most_colours) is None:
            continue
        tile = clean(tile)
        key = tile_key(tile)
        if key not in seen:
            seen.add(key)
            families.setdefault(family, []).append((where, tile))
    buckets: dict[str, list[tuple[str, np.ndarray]]] = {}
    for frames in families.values():
        for where, tile in pick(frames, per_family):
            buckets.setdefault(f"{tile.shape[1]}x{tile.shape[0]}-{original_class(tile, most_colours)}", []).append((where, tile))
    chosen = share_cap(buckets, per_set)
    return sorted((item for g in chosen.values() for item in g), key=lambda item: item[0])


def cut_originals(name: str, dest: Path, tmp: str, debs_dir: str | None) -> int:
    spec = SETS[name]
    root, version = unpack(spec.package, tmp, debs_dir)
    candidates, per_family, most_colours = ORIGINALS[name]
    chosen = choose_originals(candidates(root), per_family=per_family, most_colours=most_colours)
    out = dest / f"{name}-originals"
    write_tiles(out, chosen)
    role = "held-out crisp originals for blind judging (never train on them)"
    licence, quote = ORIGINALS_LICENCE.get(name, (spec.licence, spec.quote))
    spec = dataclasses.replace(spec, licence=licence, quote=quote)
    info = describe(f"{name}-originals", spec, version, [t for _, t in chosen], role)
    info["classes"] = {k: sum(1 for _, t in chosen if original_class(t, most_colours) == k) for k in ("sprite", "texture")}
    text, owner = copyright_text(root, spec.package, tmp, debs_dir)
    (out / "set.json").write_text(json.dumps(info, indent=1) + "\n")
    (out / "SOURCE.txt").write_text(
        f"Set: {name}-originals ({role})\n"
        f"Debian package: {spec.package} {version}\n"
        f"Chosen by scripts/tile_sets.py --originals: {len(chosen)} tiles; sizes {', '.join(info['sizes'])}; "
        f"{info['classes']['sprite']} sprites with transparency, {info['classes']['texture']} opaque textures. "
        f"Crisp: alpha only 0 or 255, {FEWEST_COLOURS}..{most_colours} colours; of one sprite (animation) "
        f"at most {per_family} frame(s); spread evenly over the game's sheets.\n"
        f"Licence: {spec.licence}\n\n"
        f"From /usr/share/doc/{owner}/copyright:\n\n{stanzas(text, *spec.quote)}\n")
    return len(chosen)


def write_index(dest: Path) -> None:
    """data/sets/sets.json: every set.json of the folder, by name."""
    sets = {p.parent.name: json.loads(p.read_text()) for p in sorted(dest.glob("*/set.json"))}
    (dest / "sets.json").write_text(json.dumps({"sets": sets}, indent=1) + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dest", nargs="?", default="data/sets", help="output folder (default data/sets)")
    parser.add_argument("--only", action="append", choices=sorted(SETS), help="cut only this set (repeatable)")
    parser.add_argument("--debs", help="folder with already downloaded .deb files (else apt-get download)")
    parser.add_argument("--cap", type=int, default=CAP, help=f"most tiles per set (default {CAP})")
    parser.add_argument("--originals", action="store_true",
                        help="cut the held-out crisp originals (<name>-originals of freeciv, angband, pingus) instead")
    args = parser.parse_args(argv)
    dest = Path(args.dest)
    if args.originals:
        for name in [n for n in (args.only or list(ORIGINALS)) if n in ORIGINALS]:
            with tempfile.TemporaryDirectory() as tmp:
                n = cut_originals(name, dest, tmp, args.debs)
            print(f"{name}-originals: {n} tiles in {dest / (name + '-originals')}/", flush=True)
    else:
        names = args.only or list(SETS)
        with tempfile.TemporaryDirectory() as tmp:  # shared: a package two sets come from is unpacked once
            for name in names:
                n = cut(name, dest, tmp, args.debs, args.cap)
                print(f"{name}: {n} tiles in {dest / name}/ ({SETS[name].role})", flush=True)
                later = {SETS[n2].package for n2 in names[names.index(name) + 1:]}
                for old in Path(tmp).iterdir():  # keep the disk use to about one package at a time
                    if old.name.split("_")[0] not in later:
                        shutil.rmtree(old) if old.is_dir() else old.unlink()
        for name in names:  # pair counts need both folders: recount once all are written
            spec = SETS[name]
            if spec.pairs_with and (dest / name / "set.json").exists():
                info = json.loads((dest / name / "set.json").read_text())
                other = dest / spec.pairs_with
                info["pairs"] = len({p.name for p in (dest / name).glob("*.png")} & {p.name for p in other.glob("*.png")})
                (dest / name / "set.json").write_text(json.dumps(info, indent=1) + "\n")
    write_index(dest)


if __name__ == "__main__":
    main()
