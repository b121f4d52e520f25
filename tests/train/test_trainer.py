import csv
import json

import pytest
from safetensors.torch import load_file

from conftest import tiny_config
from manifold_train.trainer import TrainConfig, read_run, train


def rows(run):
    return list(csv.DictReader((run / "log.csv").open()))


def test_tiny_run_learns_and_writes_its_outputs(tiny_run):
    log = rows(tiny_run)
    first, last = float(log[0]["val_mse"]), float(log[-1]["val_mse"])
    assert last < 0.7 * first, (first, last)
    for name in ("config.json", "model.safetensors", "state.pt", "log.csv", "loss.png", "repros.png"):
        assert (tiny_run / name).stat().st_size > 0
    info = json.loads((tiny_run / "config.json").read_text())
    assert info["progress"]["inputs"] == 4096 and info["progress"]["step"] == 256
    info, model = read_run(tiny_run)
    assert model.config == tiny_config()


def test_resume_continues_from_the_saved_step(tmp_path, tile_folder):
    common = dict(data=[str(tile_folder)], out=str(tmp_path), model=tiny_config(), batch_size=8,
                  eval_every=64, threads=1)
    train(TrainConfig(max_inputs=256, **common), show_progress=False)
    assert [int(r["step"]) for r in rows(tmp_path)] == [8, 16, 24, 32]
    weights_before = load_file(tmp_path / "model.safetensors")
    # a longer run of the same config picks up at step 32 with the saved optimizer
    train(TrainConfig(max_inputs=512, **common), resume=True, show_progress=False)
    steps = [int(r["step"]) for r in rows(tmp_path)]
    assert steps == [8, 16, 24, 32, 40, 48, 56, 64]
    assert json.loads((tmp_path / "config.json").read_text())["progress"]["step"] == 64
    assert any((load_file(tmp_path / "model.safetensors")[k] != v).any() for k, v in weights_before.items())


def test_resume_refuses_another_model(tmp_path, tile_folder):
    from manifold_core.errors import UserError

    common = dict(data=[str(tile_folder)], out=str(tmp_path), batch_size=8, max_inputs=64, threads=1)
    train(TrainConfig(model=tiny_config(), **common), show_progress=False)
    with pytest.raises(UserError, match="different model"):
        train(TrainConfig(model=tiny_config(decoder_n_hid=8), **common), resume=True, show_progress=False)


def test_speed_levers_still_learn(tmp_path, tile_folder):
    """Random pixel subsets, bf16 autocast and channels-last run, checkpoint and reduce the validation loss."""
    train(TrainConfig(data=[str(tile_folder)], out=str(tmp_path), model=tiny_config(), batch_size=16,
                      max_inputs=2048, lr=3e-3, eval_every=512, pixels_per_tile=64, precision="bf16",
                      channels_last=True, threads=1), show_progress=False)
    log = rows(tmp_path)
    assert float(log[-1]["val_mse"]) < float(log[0]["val_mse"])
