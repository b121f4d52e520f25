"""scripts/tile_sets.py: the cap, duplicates, size kinds, the crisp originals and a whole cut on a
made-up package (no download: unpacking and the copyright file are stood in for)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

# The scripts run as files (python scripts/tile_sets.py), not as an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import tile_sets
from tile_sets import SETS, SetSpec, choose_originals, distinct, original_class, pick, share_cap, size_kinds, write_index


def solid(h, w, colour, alpha=255):
    t = np.zeros((h, w, 4), np.uint8)
    t[..., :3], t[..., 3] = colour, alpha
    return t


def sprite(size, colours, cover=0.5, seed=0):
    """A hard-alpha tile with `colours` colours drawn on about `cover` of it."""
    rng = np.random.default_rng(seed)
    t = np.zeros((size, size, 4), np.uint8)
    palette = rng.integers(0, 256, (colours, 3))
    t[..., :3] = palette[rng.integers(0, colours, (size, size))]
    t[..., :3][:, :, 0].flat[:colours] = palette[:, 0]  # every colour at least once
    t[..., :3][:, :, 1].flat[:colours] = palette[:, 1]
    t[..., :3][:, :, 2].flat[:colours] = palette[:, 2]
    t[..., 3] = 255
    rows = int(round(size * (1 - cover)))
    t[size - rows:, :, 3] = 0
    return t


def test_every_issue_16_package_has_a_set_and_the_held_out_games_stay_out_of_training():
    packages = {s.package for s in SETS.values()}
    for p in ("crawl-tiles-data", "cataclysm-dda-data", "supertux-data", "flare-game", "mrrescue", "widelands-data",
              "freedroidrpg-data", "lincity-ng-data", "simutrans-pak64", "freedink-data", "lgeneral-data",
              "tecnoballz-data", "lbreakout2-data", "lordsawar-data", "boswars-data", "berusky-data",
              "blobwars-data", "hedgewars-data"):
        assert p in packages
    for name in ("freeciv", "pingus", "angband"):
        assert SETS[name].role != "training"
    assert {s.style for s in SETS.values()} == {"pixel", "smooth"}
    for name, spec in SETS.items():
        if spec.pairs_with:
            assert SETS[spec.pairs_with].pairs_with == name and SETS[spec.pairs_with].package == spec.package


def test_size_kinds():
    assert size_kinds("pixel", 16, 16) == ["lowres"]
    assert size_kinds("pixel", 32, 32) == ["lowres", "target"]
    assert size_kinds("pixel", 64, 48) == ["target"]
    assert size_kinds("pixel", 40, 20) == ["pixel"]  # too wide for low-res, too thin for a target
    assert size_kinds("smooth", 16, 16) == ["smooth"]


def test_pick_and_share_cap_spread_evenly_and_give_away_unused_shares():
    assert pick(list(range(10)), 3) == [0, 4, 9]
    assert pick([1, 2], 5) == [1, 2]
    chosen = share_cap({"small": list(range(2)), "big": list(range(100)), "mid": list(range(10))}, 20)
    assert {g: len(v) for g, v in chosen.items()} == {"small": 2, "mid": 9, "big": 9}


def test_distinct_drops_duplicates_hidden_colour_and_empty_tiles():
    a = solid(4, 4, (1, 2, 3))
    a[0, 0] = (9, 9, 9, 0)
    b = a.copy()
    b[0, 0] = (7, 7, 7, 0)  # differs only under alpha 0: the same tile
    empty = solid(4, 4, (1, 2, 3), alpha=0)
    groups = distinct([("g", "a", a), ("h", "b", b), ("g", "e", empty), ("g", "c", solid(4, 4, (5, 5, 5)))])
    assert {g: [w for w, _ in v] for g, v in groups.items()} == {"g": ["a", "c"]}
    assert groups["g"][0][1][0, 0].tolist() == [0, 0, 0, 0]


def test_original_class():
    assert original_class(sprite(16, 8, cover=0.5)) == "sprite"
    assert original_class(sprite(32, 8, cover=1.0)) == "texture"
    assert original_class(sprite(30, 8, cover=1.0)) == "texture"
    assert original_class(sprite(24, 8, cover=1.0)) is None  # not a size the eval judges
    assert original_class(sprite(16, 2, cover=1.0)) is None  # a flat shape
    assert original_class(sprite(32, 100, cover=1.0)) is None  # painted
    assert original_class(sprite(32, 100, cover=1.0), most_colours=128) == "texture"
    soft = sprite(16, 8, cover=0.5)
    soft[0, 0, 3] = 128
    assert original_class(soft) is None
    assert original_class(sprite(16, 8, cover=0.1)) is None  # mostly empty


def test_choose_originals_balances_classes_limits_families_and_is_deterministic():
    items = [(f"s{i // 3}", f"s{i:02d}", sprite(16, 8, cover=0.5, seed=i)) for i in range(30)]  # 10 families of 3
    items += [(f"t{i}", f"t{i:02d}", sprite(32, 8, cover=1.0, seed=100 + i)) for i in range(20)]
    chosen = choose_originals(items, per_set=12)
    names = [w for w, _ in chosen]
    assert len(chosen) == 12 and names == sorted(names)
    assert sum(n.startswith("s") for n in names) == 6 and sum(n.startswith("t") for n in names) == 6
    assert len({n[1:] and int(n[1:]) // 3 for n in names if n.startswith("s")}) == 6  # one frame per family
    assert [w for w, _ in choose_originals(items, per_set=12)] == names
    two = choose_originals(items, per_set=40, per_family=2)
    assert sum(w.startswith("s") for w, _ in two) == 20


@pytest.fixture
def fake_set(tmp_path, monkeypatch):
    """A set 'toy' of a made-up package whose tiles come from a list, unpacked nowhere."""
    root = tmp_path / "root"
    root.mkdir()
    tiles = [("sheet", f"cell{i}", solid(8, 8, (i, 0, 0))) for i in range(6)]
    tiles += [("sheet", "again", solid(8, 8, (0, 0, 0))), ("other", "o", solid(16, 16, (9, 9, 9)))]
    spec = SetSpec("toy-data", "training", lambda r: iter(tiles), lambda r: ["usr/share/toy/sheet.png"],
                   (r"(?m)^Files: \*\s*$",), "CC0 (test)", "pixel")
    monkeypatch.setitem(SETS, "toy", spec)
    monkeypatch.setattr(tile_sets, "unpack", lambda package, tmp, debs: (root, "1.0-1"))
    monkeypatch.setattr(tile_sets, "copyright_text", lambda *a: ("Files: *\nLicense: CC0\n", "toy-data"))
    return tmp_path / "sets"


def test_cut_writes_tiles_source_and_a_summary_the_same_every_time(fake_set, tmp_path):
    dest = fake_set
    dest.mkdir()
    (dest / "toy").mkdir()
    (dest / "toy/99999_stale.png").write_bytes(b"old")  # from an earlier cut: replaced
    assert tile_sets.cut("toy", dest, str(tmp_path), None, cap=4) == 4
    files = sorted(p.name for p in (dest / "toy").glob("*.png"))
    assert len(files) == 4 and "99999_stale.png" not in files
    info = json.loads((dest / "toy/set.json").read_text())
    assert info["package"] == "toy-data" and info["version"] == "1.0-1" and info["style"] == "pixel"
    assert info["tiles"] == 4 and info["groups"] == {"other": 1, "sheet": 3}
    assert info["kinds"] == {"8x8": ["lowres"], "16x16": ["lowres"]} and info["tiles_per_kind"] == {"lowres": 4}
    assert info["alpha"] == {"hard": 1.0, "opaque": 1.0}
    source = (dest / "toy/SOURCE.txt").read_text()
    assert "toy-data 1.0-1" in source and "usr/share/toy/sheet.png" in source and "License: CC0" in source
    before = {p.name: p.read_bytes() for p in (dest / "toy").iterdir()}
    tile_sets.cut("toy", dest, str(tmp_path), None, cap=4)
    assert {p.name: p.read_bytes() for p in (dest / "toy").iterdir()} == before
    write_index(dest)
    assert set(json.loads((dest / "sets.json").read_text())["sets"]) == {"toy"}


def test_cut_originals_writes_the_chosen_tiles(tmp_path, monkeypatch):
    root = tmp_path / "root"
    root.mkdir()
    items = [(f"f{i}", f"w{i:02d}", sprite(16, 8, cover=0.5 if i % 2 else 1.0, seed=i)) for i in range(40)]
    monkeypatch.setitem(tile_sets.ORIGINALS, "freeciv", (lambda r: iter(items), 1, 64))
    monkeypatch.setattr(tile_sets, "unpack", lambda package, tmp, debs: (root, "3.0"))
    monkeypatch.setattr(tile_sets, "copyright_text", lambda *a: ("Files: *\nLicense: GPL-2+\n", "freeciv-data"))
    dest = tmp_path / "sets"
    assert tile_sets.cut_originals("freeciv", dest, str(tmp_path), None) == tile_sets.ORIGINALS_PER_SET
    info = json.loads((dest / "freeciv-originals/set.json").read_text())
    assert info["classes"] == {"sprite": 12, "texture": 12}
    assert "never train" in info["role"]
    assert len(list((dest / "freeciv-originals").glob("*.png"))) == 24
    assert "License: GPL-2+" in (dest / "freeciv-originals/SOURCE.txt").read_text()


REAL = Path(__file__).resolve().parents[2] / "data/sets/sets.json"


def test_the_cut_sets_here_match_their_summary():
    """When the sets have been cut here (scripts/tile_sets.py data/sets), every set.json agrees with its folder."""
    if not REAL.exists():
        pytest.skip(f"{REAL} absent: the sets are cut by scripts/tile_sets.py (not downloaded by tests)")
    for name, info in json.loads(REAL.read_text())["sets"].items():
        assert len(list((REAL.parent / name).glob("*.png"))) == info["tiles"], name
        assert sum(info["sizes"].values()) == info["tiles"], name
