"""The training section: the trainer's step for each lever set against plain fp32 (no timing assertions)."""

import pytest
from bench_helpers import text
from conftest import tiny_config

from manifold_bench.levers import FAST, LEVERS
from manifold_bench.sections.training import Training, training
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import rgba_to_channels


@pytest.fixture(scope="module")
def rows():
    tiles = rgba_to_channels(make_tiles(32, 16, seed=1), 4)
    return training(tiles, rounds=1, quick=True, model=tiny_config(), batch_size=8)


def test_every_lever_set_but_compile_runs_under_quick(rows):
    assert [r["levers"] for r in rows] == [name for name, levers in LEVERS.items() if not levers.get("compile")]
    assert rows[0]["levers"].startswith("plain") and rows[0]["vs_plain"] == 1.0  # itself, round by round
    assert all(r["inputs_per_s"] > 0 for r in rows)
    fast = next(r for r in rows if r["levers"].startswith("fast:"))
    assert {k: fast[k] for k in FAST} == FAST


def test_the_fast_set_decides_the_target_and_the_table_shows_every_row(rows):
    [target] = Training().targets(rows)
    fast = next(r for r in rows if r["levers"].startswith("fast:"))
    assert target["measured"] == fast["vs_plain"] and target["met"] == (fast["vs_plain"] >= 8)
    shown = text(Training().tables(rows))
    assert all(r["levers"] in shown for r in rows)
    assert Training().targets([r for r in rows if not r["levers"].startswith("fast:")]) == []
