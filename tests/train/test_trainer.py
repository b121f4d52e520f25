"""The trainer: learning, checkpoints (one atomic file), --resume, Ctrl-C, refusals."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch
from conftest import tiny_config, tiny_local_config

from manifold_core.errors import OutputError, UsageError, UserError
from manifold_train.config import TrainConfig
from manifold_train.trainer import CHECKPOINT, read_checkpoint, read_run, train


def rows(run):
    return list(csv.DictReader((run / "log.csv").open()))


def test_tiny_run_learns_and_writes_its_outputs(tiny_run):
    log = rows(tiny_run)
    first, last = float(log[0]["val_mse"]), float(log[-1]["val_mse"])
    assert last < 0.7 * first, (first, last)
    for name in (CHECKPOINT, "config.json", "log.csv", "loss.png", "repros.png"):
        assert (tiny_run / name).stat().st_size > 0
    info = json.loads((tiny_run / "config.json").read_text())
    assert info["progress"]["inputs"] == 4096 and info["progress"]["step"] == 256
    info, model = read_run(tiny_run)
    assert model.config == tiny_config() and model.kind == "global"


def test_tiny_local_run_learns(tiny_local_run):
    log = rows(tiny_local_run)
    assert float(log[-1]["val_mse"]) < float(log[0]["val_mse"])
    _, model = read_run(tiny_local_run)
    assert model.kind == "local" and model.config == tiny_local_config()


def common(tmp_path, tile_folder, **changes):
    base = dict(data=[str(tile_folder)], out=str(tmp_path / "run"), model=tiny_config(), batch_size=8,
                eval_every=64, threads=1, val_percent=20)
    return {**base, **changes}


def test_resume_continues_from_the_saved_step(tmp_path, tile_folder):
    train(TrainConfig(max_inputs=256, **common(tmp_path, tile_folder)), show_progress=False)
    run = tmp_path / "run"
    assert [int(r["step"]) for r in rows(run)] == [8, 16, 24, 32]
    weights_before = read_checkpoint(run)["model"]
    # a longer run of the same config picks up at step 32 with the saved optimizer
    train(TrainConfig(max_inputs=512, **common(tmp_path, tile_folder)), resume=True, show_progress=False)
    assert [int(r["step"]) for r in rows(run)] == [8, 16, 24, 32, 40, 48, 56, 64]
    state = read_checkpoint(run)
    assert state["step"] == 64 and state["info"]["progress"]["step"] == 64
    assert any((state["model"][k] != v).any() for k, v in weights_before.items())


def test_resume_refuses_another_model(tmp_path, tile_folder):
    train(TrainConfig(max_inputs=64, **common(tmp_path, tile_folder)), show_progress=False)
    with pytest.raises(UserError, match="different model"):
        train(TrainConfig(max_inputs=64, **common(tmp_path, tile_folder, model=tiny_config(decoder_n_hid=8))),
              resume=True, show_progress=False)


def test_a_finished_run_is_not_overwritten_without_asking(tmp_path, tile_folder):
    cfg = TrainConfig(max_inputs=64, **common(tmp_path, tile_folder))
    train(cfg, show_progress=False)
    before = (tmp_path / "run" / CHECKPOINT).read_bytes()
    with pytest.raises(OutputError, match="--resume to continue"):
        train(cfg, show_progress=False)
    assert (tmp_path / "run" / CHECKPOINT).read_bytes() == before
    train(cfg, show_progress=False, overwrite=True)  # asked for: a new run in its place
    assert read_checkpoint(tmp_path / "run")["step"] == 8


def test_a_folder_of_other_files_is_refused_and_a_failed_start_leaves_no_folder(tmp_path, tile_folder):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    with pytest.raises(OutputError, match="other files"):
        train(TrainConfig(max_inputs=64, **common(tmp_path, tile_folder, out=str(tmp_path / "mine"))),
              show_progress=False)
    empty = tmp_path / "nothing"
    empty.mkdir()
    with pytest.raises(UserError):  # no tiles: fails before its first step
        train(TrainConfig(max_inputs=64, **common(tmp_path, tile_folder, data=[str(empty)],
                                                  out=str(tmp_path / "new"))), show_progress=False)
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("bad", [dict(batch_size=0), dict(batch_size=-3), dict(lr=float("nan")), dict(lr=-1.0),
                                 dict(max_inputs=0), dict(max_inputs=-5), dict(val_percent=0),
                                 dict(val_percent=100), dict(weight_decay=float("inf"))])
def test_impossible_training_arguments_are_refused_before_anything_is_written(tmp_path, tile_folder, bad):
    with pytest.raises(UsageError):
        train(TrainConfig(**common(tmp_path, tile_folder, **bad)), show_progress=False)
    assert not (tmp_path / "run").exists()


def test_a_validation_split_of_zero_tiles_is_refused(tmp_path, tile_folder):
    """Today's split of three tiles at 1 % holds none out: validation MSE would be NaN (and NaN is not JSON)."""
    import shutil

    few = tmp_path / "few"
    few.mkdir()
    for path in sorted(tile_folder.glob("*.png"))[:3]:
        shutil.copy(path, few)
    with pytest.raises(UserError, match="0 validation tiles"):
        train(TrainConfig(max_inputs=64, **common(tmp_path, few, val_percent=1)), show_progress=False)
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("damage", [b"", b"not a checkpoint at all" * 10, "truncate"])
def test_a_damaged_checkpoint_is_one_clear_error(tmp_path, tile_folder, damage):
    cfg = TrainConfig(max_inputs=64, **common(tmp_path, tile_folder))
    train(cfg, show_progress=False)
    path = tmp_path / "run" / CHECKPOINT
    path.write_bytes(path.read_bytes()[:100] if damage == "truncate" else damage)
    with pytest.raises(UserError, match="not a readable checkpoint"):
        train(cfg, resume=True, show_progress=False)
    with pytest.raises(UserError, match="not a readable checkpoint"):
        read_run(tmp_path / "run")


def test_a_checkpoint_whose_config_lost_its_keys_is_refused(tmp_path, tile_folder):
    cfg = TrainConfig(max_inputs=64, **common(tmp_path, tile_folder))
    train(cfg, show_progress=False)
    path = tmp_path / "run" / CHECKPOINT
    state = torch.load(path, weights_only=True)
    state["info"] = json.dumps({"model": {}})
    torch.save(state, path)
    with pytest.raises(UserError, match="damaged|not a manifold checkpoint"):
        train(cfg, resume=True, show_progress=False)


TRAIN_SCRIPT = """
import sys
from conftest import tiny_config
from manifold_train.config import TrainConfig
from manifold_train.trainer import train
train(TrainConfig(data=[sys.argv[1]], out=sys.argv[2], model=tiny_config(), batch_size=8, max_inputs=10**7,
                  eval_every=8, threads=1, val_percent=20, precision="fp32", channels_last=False),
      resume=len(sys.argv) > 3, show_progress=False)
"""


def start_training(tile_folder, run, resume=False):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__) + "/..", os.environ.get("PYTHONPATH", "")])}
    args = [sys.executable, "-c", TRAIN_SCRIPT, str(tile_folder), str(run)] + (["resume"] if resume else [])
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_checkpoints(run, count, proc, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (run / "log.csv").exists() and len(rows(run)) >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no checkpoint in time")


@pytest.mark.slow
def test_sigkill_at_any_moment_leaves_a_consistent_checkpoint_that_resumes(tmp_path, tile_folder):
    """Killed while it checkpoints every step: the checkpoint on disk is whole (weights, optimizer
    and progress of one and the same step), no temporary is left that breaks the next run, and
    --resume continues from it."""
    run = tmp_path / "run"
    for kills in range(3):
        proc = start_training(tile_folder, run, resume=kills > 0)
        wait_for_checkpoints(run, 3 * (kills + 1), proc)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        state = read_checkpoint(run)  # never a torn or mixed checkpoint
        assert state["info"]["progress"]["step"] == state["step"]
        assert state["optimizer"]["state"][0]["step"] == state["step"]  # Adam's own step count agrees


@pytest.mark.slow
def test_sigint_writes_a_checkpoint_and_stops_cleanly(tmp_path, tile_folder):
    run = tmp_path / "run"
    proc = start_training(tile_folder, run)
    wait_for_checkpoints(run, 2, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    state = read_checkpoint(run)
    assert state["step"] >= 2 and not [p for p in run.iterdir() if p.name.startswith(".")]
    assert int(rows(run)[-1]["step"]) <= state["step"]  # the checkpoint is at least as new as the log


def test_art_smaller_than_the_squares_is_told_to_give_its_sheets_whole(tmp_path):
    """Tiles smaller than the model's squares are left out; when they are most of what was given,
    the error says what works instead (a sheet given whole is cut into squares)."""
    import numpy as np
    from PIL import Image

    from manifold_core.synthetic import make_tiles

    small, sheets = tmp_path / "small", tmp_path / "sheets"
    small.mkdir()
    sheets.mkdir()
    model = tiny_local_config()  # a kind that learns from squares cut from the tiles (16 px for the tiny one)
    tiles = make_tiles(64, model.size // 2, seed=2)
    for i, tile in enumerate(tiles):
        Image.fromarray(tile).save(small / f"{i}.png")
    with pytest.raises(UserError, match="give its sheets whole"):
        train(TrainConfig(max_inputs=64, **common(tmp_path, small, model=model)), show_progress=False)
    for k in range(4):  # the same tiles, as four sheets of 4 x 4
        rows = [np.concatenate(list(tiles[16 * k + 4 * r:16 * k + 4 * r + 4]), 1) for r in range(4)]
        Image.fromarray(np.concatenate(rows, 0)).save(sheets / f"sheet{k}.png")
    train(TrainConfig(max_inputs=64, **common(tmp_path / "ok", sheets, model=model)), show_progress=False)
    assert (tmp_path / "ok" / "run" / "checkpoint.pt").exists()
