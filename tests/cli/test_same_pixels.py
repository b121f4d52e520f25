"""The embedded models give the same pixels, bit for bit, through every kind of input and option
(fp32: int8 kernels differ between CPUs): the digests below were taken when the default model was last
replaced (and the seed model's before the upscale command was split into plans, bb799a1), so a
refactoring that changes one pixel fails here. The cases name
--style smooth (and --alpha smooth) where they meant the defaults of then: --style auto, the
default since, finishes crisp tiles as pixel art on purpose."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from manifold_core.synthetic import make_tiles
from manifold_core.tiles import read_rgba

TILESET = ('<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.10" name="t" tilewidth="16" '
           'tileheight="16" tilecount="4" columns="2" margin="1" spacing="2">\n <image source="s.png" '
           'width="36" height="36"/>\n</tileset>\n')


def inputs(root):
    tiles = make_tiles(6, 16, seed=7)
    folder = root / "tiles"
    folder.mkdir()
    for i, tile in enumerate(tiles):
        Image.fromarray(tile).save(folder / f"t{i}.png")
    sheet = np.zeros((36, 36, 4), np.uint8)
    for i in range(4):
        x, y = 1 + (i % 2) * 18, 1 + (i // 2) * 18
        sheet[y:y + 16, x:x + 16] = tiles[i]
    Image.fromarray(sheet).save(root / "s.png")
    (root / "t.tsx").write_text(TILESET)
    return folder


def pixels(paths) -> str:
    h = hashlib.sha256()
    for path in paths:
        h.update(np.ascontiguousarray(read_rgba(path)).tobytes())
    return h.hexdigest()[:16]


CASES = {  # name: (arguments after the input, digest)
    # the decoders' pixels as drawn (--footprints free), from before --footprints existed
    "default folder": (["--res", "32", "--style", "smooth", "--footprints", "free"], "6c719e8f868d0059"),
    "seed folder": (["--res", "32", "--model", "seed", "--style", "smooth", "--footprints", "free"], "2177d093e2c98c75"),
    "default wrap keep cut": (["--res", "40x24", "--edges", "wrap", "--palette", "keep", "--alpha", "cut",
                               "--footprints", "free"], "709f0d73c77c3eac"),
    "default clamp": (["--res", "24", "--edges", "clamp", "--style", "smooth", "--footprints", "free"], "f1ef3128574b674f"),
    "default sheet keep": (["--res", "32", "--palette", "keep", "--alpha", "smooth", "--footprints", "free"], "4bdb5509cc089871"),
    "seed sheet": (["--res", "20", "--model", "seed", "--style", "smooth", "--footprints", "free"], "916d4f5cc122446a"),
    "default tsx": (["--res", "32", "--style", "smooth", "--footprints", "free"], "11e3b76e6da7468a"),
    # and as upscale finishes them by default (--footprints keep, 2026-12-02)
    "default folder keep": (["--res", "32"], "fbe67f35c630c15d"),
    "default sheet keep cut": (["--res", "48", "--style", "pixel"], "eb9daf544c757e3c"),
    "seed folder keep": (["--res", "32", "--model", "seed"], "b9ef9ed1d1251863"),
}


@pytest.mark.parametrize("case", CASES)
def test_the_embedded_models_give_the_same_pixels(tmp_path, case):
    args, expected = CASES[case]
    folder = inputs(tmp_path)
    if "sheet" in case:
        result = run_cli("upscale", tmp_path / "s.png", "--tile-size", 16, "--margin", 1, "--spacing", 2,
                         "-o", tmp_path / "out.png", "-q", *args)
        outputs = [tmp_path / "out.png"]
    elif "tsx" in case:
        result = run_cli("upscale", tmp_path / "t.tsx", "-o", tmp_path / "o", "-q", *args)
        outputs = sorted((tmp_path / "o").glob("*.png"))
    else:
        result = run_cli("upscale", folder, "-o", tmp_path / "o", "-q", *args)
        outputs = sorted((tmp_path / "o").glob("*.png"))
    assert result.exit_code == 0, result.output
    assert outputs
    assert pixels(outputs) == expected
