"""Fetch the Dungeon Crawl Stone Soup tile sheets from Debian's crawl-tiles-data package.

    python scripts/crawl_tiles.py data/      # -> data/{wall,floor,feat}.png + data/COPYRIGHT

Works on Debian/Ubuntu without installing the game (apt-get download + dpkg -x). The tiles
are mostly public domain / CC0 (see COPYRIGHT, from the crawl-common package's copyright
file as recorded in MODEL.md). This is the training set of the embedded default model.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

SHEETS = ("wall", "floor", "feat")
TILES_DIR = "usr/share/crawl/dat/tiles"


def fetch(dest: str | Path) -> Path | None:
    """The three 32x32-grid sheets in `dest`, or None where apt-get/dpkg cannot get them."""
    dest = Path(dest)
    if all((dest / f"{s}.png").exists() for s in SHEETS):
        return dest
    if not (shutil.which("apt-get") and shutil.which("dpkg")):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        download = lambda: subprocess.run(["apt-get", "download", "crawl-tiles-data"], cwd=tmp,
                                          capture_output=True, text=True)
        if download().returncode != 0 and hasattr(os, "geteuid") and os.geteuid() == 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True)  # a fresh machine has no lists
            download()
        debs = glob.glob(os.path.join(tmp, "crawl-tiles-data_*.deb"))
        if not debs:
            return None
        subprocess.run(["dpkg", "-x", debs[0], os.path.join(tmp, "x")], check=True)
        dest.mkdir(parents=True, exist_ok=True)
        for s in SHEETS:
            shutil.copy(os.path.join(tmp, "x", TILES_DIR, f"{s}.png"), dest / f"{s}.png")
        (dest / "SOURCE.txt").write_text(
            f"Debian package {os.path.basename(debs[0])}, {TILES_DIR}/{{{','.join(SHEETS)}}}.png\n"
            "Dungeon Crawl Stone Soup tiles: most are public domain / CC0 (crawl-common's copyright file);\n"
            "the game itself is GPL-2+.\n")
    return dest


if __name__ == "__main__":
    where = fetch(sys.argv[1] if len(sys.argv) > 1 else "data")
    if where is None:
        sys.exit("could not fetch crawl-tiles-data (needs apt-get and dpkg, on Debian or Ubuntu)")
    print(f"tiles in {where}/: {', '.join(f'{s}.png' for s in SHEETS)}")
