"""The exported model as PyTorch, on which the bench counts FLOPs."""

import shutil

import numpy as np
import torch
from bench_helpers import counted_flops

from manifold_bench.torch_model import flop_model, torch_model
from manifold_core.runtime import TileModel
from manifold_core.synthetic import make_tiles
from manifold_export.onnx_export import WEIGHTS
from manifold_train.kinds import build_model, preset


def test_seed_model_flops_are_the_published_figure():
    """seed-b8-h128 RGBA at 32 -> 64 px: 2,317 MFLOP per tile (BENCHMARKS.md), 159 of them the encoder's."""
    counts = build_model(preset("seed-b8-h128", 4)).flops(32, 32, 64, 64)
    assert counts == {"encoder": 159_383_552, "decoder": 2_158_002_176}


def test_torch_model_is_the_exported_function(tiny_local_model_dir):
    model = torch_model(tiny_local_model_dir)
    runtime_model = TileModel.load(tiny_local_model_dir, device="cpu")
    tiles = make_tiles(4, 12, seed=5)
    x = runtime_model.encoder_input(tiles)
    with torch.no_grad():
        images = model.render(model.encode(torch.from_numpy(x).float() / 255), 30, 20).numpy()
    np.testing.assert_allclose(images, runtime_model.decode(runtime_model.encode(x), 30, 20), atol=1e-4)


def test_flops_without_weights_are_counted_on_the_architecture(tiny_model_dir, tmp_path):
    old = tmp_path / "old-export"
    shutil.copytree(tiny_model_dir, old)
    (old / WEIGHTS).unlink()
    counts = flop_model(old).flops(16, 16, 48, 48)
    assert (counts["encoder"], counts["decoder"]) == counted_flops(old, 16, 48)
