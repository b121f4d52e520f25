"""The quality section (what `python -m manifold_train.bench quality` did): the plain and the fast
recipe trained for the same inputs, in the bench's own temporary folder."""

import math

import pytest
from bench_helpers import text
from conftest import tiny_config

from manifold_bench import suite
from manifold_bench.registry import plan


def test_quality_runs_only_when_named():
    assert "quality" not in [s.name for s in plan()]
    assert [s.name for s in plan(["quality"])] == ["quality"]


@pytest.mark.slow  # trains two models (a tiny one here) through the trainer, figures and all
def test_quality_trains_both_recipes_for_the_same_inputs(tmp_path, monkeypatch):
    monkeypatch.setattr("manifold_bench.sections.quality.PROCEDURAL_TILES", 200)  # a smaller run, the same code
    monkeypatch.setattr("manifold_bench.sections.quality.BATCH", 8)
    monkeypatch.setattr("manifold_bench.levers.bench_model", tiny_config)
    monkeypatch.chdir(tmp_path)  # nothing may be written outside the bench's temporary folder
    result = suite.run(quick=True, data=tmp_path / "no-sheets", only=["quality"], quality_inputs=16)
    rows = result["quality"]
    assert [r["levers"] for r in rows] == ["plain", "fast"]
    assert [r["inputs"] for r in rows] == [16, 16]
    assert rows[0]["pixels_per_tile"] == 0 and rows[1]["pixels_per_tile"] == 128
    assert all(math.isfinite(r["val_mse"]) and r["val_mse"] > 0 for r in rows)
    assert rows[0]["source"].startswith("200 procedural tiles")
    assert list(tmp_path.iterdir()) == []
    shown = text(suite.tables(result))
    assert "training quality" in shown and f"{rows[1]['val_mse']:.5f}" in shown
