"""`manifold bench` (manifold_cli/commands/bench.py): its options and exit statuses."""

import json

import pytest
from conftest import run_cli

from manifold_core.errors import ModelError, OutputError, UsageError


def test_bench_cli_prints_json(tiny_model_dir, tmp_path):
    result = run_cli("bench", "--quick", "--only", "int8", "--model", tiny_model_dir, "--data", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["quick"] is True and "int8" in data and data["targets"][0]["target"].startswith("int8")
    assert data["model"]["dir"] == str(tiny_model_dir)


@pytest.mark.parametrize("args, says", [
    (["--only", "nope"], "--only nope: choose from"),
    (["--only", "int8", "--plot", "b.png"], "--plot draws the inference and training sections"),
    (["--plot", "b.txt"], "give a .png file name"),
    (["--memory-tiles", "0"], "--memory-tiles"),
])
def test_options_that_cannot_work_exit_2_with_one_line(args, says, tmp_path):
    result = run_cli("bench", *[str(tmp_path / a) if a.startswith("b.") else a for a in args])
    assert result.exit_code == UsageError.exit_status, result.output
    assert says in result.output
    assert not any(tmp_path.iterdir())


def test_a_broken_model_exits_6(tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text("{")
    result = run_cli("bench", "--only", "int8", "--model", broken)
    assert result.exit_code == ModelError.exit_status and "not readable JSON" in result.output
    assert result.output.count("error:") == 1


def test_a_plot_that_cannot_be_written_fails_before_the_run(tmp_path):
    (tmp_path / "file").write_text("")
    result = run_cli("bench", "--only", "training", "--plot", tmp_path / "file" / "b.png")
    assert result.exit_code == OutputError.exit_status, result.output
    assert "training:" not in result.output  # the section never started
