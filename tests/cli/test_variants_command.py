"""`manifold variants TILE`: variants that keep the tile's border, so a seamless tile's variants tile with
each other in any order; --strength measured; the output rules every command keeps."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from manifold_core.seams import edge_step
from manifold_core.tiles import read_rgba

TERRAIN = Path(__file__).resolve().parents[1] / "data" / "terrain"


@pytest.fixture
def sand(tmp_path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    return Path(shutil.copy(TERRAIN / "sand.png", folder))


def variants(*args) -> dict:
    result = run_cli("variants", *args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_variants_of_a_seamless_tile_tile_with_each_other(sand, tmp_path):
    data = variants(sand, "-n", "4", "--res", "64", "-o", tmp_path / "out")
    files = [Path(f) for f in data["files"]]
    assert [f.name for f in files] == ["sand-1.png", "sand-2.png", "sand-3.png", "sand-4.png"]
    tiles = np.stack([read_rgba(f) for f in files])
    assert tiles.shape == (4, 64, 64, 4) and len({t.tobytes() for t in tiles}) == 4
    plain = read_rgba(run_cli("upscale", sand, "--res", "64", "-o", tmp_path / "plain.png", "--footprints", "free")
                      .exit_code == 0 and tmp_path / "plain.png")
    # Every variant keeps the outer pixels of the tile rendered plain (the decoder's pixels, as variants
    # render in the latent grid): any two meet as the tile meets itself.
    for t in tiles:
        for cut in (np.s_[:, :2], np.s_[:, -2:], np.s_[:2], np.s_[-2:]):
            assert np.array_equal(t[cut], plain[cut])
    steps = [edge_step(a, b, axis) for a in tiles for b in tiles for axis in "xy"]
    itself = np.mean([edge_step(plain, plain, axis) for axis in "xy"])
    assert np.isclose(np.mean(steps), itself) and np.isclose(data["joins"]["edge_mean"], np.mean(steps), atol=1e-3)
    assert data["joins"]["edge_mean"] <= data["joins"]["inside_sources"]  # the measure: inside the tile


def test_strength_sets_how_much_changes(sand, tmp_path):
    found = {s: variants(sand, "-n", "6", "--strength", s, "-o", tmp_path / f"s{s}.png")
             for s in ("0", "0.25", "0.5", "1")}
    assert found["0"]["changed"] == 0 and found["0"]["psnr"] == 100
    changed = [found[s]["changed"] for s in ("0.25", "0.5", "1")]
    assert changed == sorted(changed) and changed[0] > 0.05
    assert found["1"]["psnr"] < found["0.25"]["psnr"]
    with Image.open(tmp_path / "s0.5.png") as strip:  # -o NAME.png: one strip, the variants side by side
        assert strip.size == (6 * 32, 32)


def test_same_seed_same_bytes(sand, tmp_path):
    runs = [variants(sand, "-n", "3", "--seed", seed, "-o", tmp_path / f"{name}.png")
            for name, seed in (("a", 1), ("b", 1), ("c", 2))]
    a, b, c = (Path(r["output"]).read_bytes() for r in runs)
    assert a == b and a != c


@pytest.mark.parametrize("args,status,words", [
    (["-n", "0"], 2, "-n 0"),
    (["--strength", "1.5"], 2, "--strength 1.5"),
    (["-o", "{tile}"], 2, "is an input"),
])
def test_mistakes_are_one_line_and_write_nothing(sand, args, status, words):
    before = sorted(p.name for p in sand.parent.iterdir())
    result = run_cli("variants", sand, *[a.format(tile=sand) for a in args])
    assert result.exit_code == status and words in result.output and result.output.count("\n") == 1
    assert sorted(p.name for p in sand.parent.iterdir()) == before


def test_a_factor_is_of_the_tiles_own_size(sand, tmp_path):
    by_factor = variants(sand, "-n", "2", "--res", "2x", "-o", tmp_path / "by-factor")
    by_size = variants(sand, "-n", "2", "--res", str(2 * read_rgba(sand).shape[1]), "-o", tmp_path / "by-size")
    assert by_factor["resolution"] == by_size["resolution"] == [2 * s for s in read_rgba(sand).shape[1::-1]]
    assert [read_rgba(f).tobytes() for f in by_factor["files"]] == [read_rgba(f).tobytes() for f in by_size["files"]]
