"""`manifold bench`: FLOP counts, the harness, the anchor, the int8 path and the JSON it prints.

No timing assertions: these check what the bench computes, not how fast anything is.
"""

import json
import shutil

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from conftest import tiny_config
from manifold_train import bench_suite as bench
from manifold_cli.cli import app
from manifold_cli.runtime import DEFAULT_MODEL_DIR, TileModel
from manifold_core.synthetic import make_tiles
from manifold_core.errors import UserError
from manifold_core.tiles import rgba_to_channels
from manifold_train.config import preset

runner = CliRunner()


@pytest.mark.parametrize("config", [preset("seed-b8-h128", 4), preset("seed-b8-h64-concat"),
                                    tiny_config(), tiny_config(space_to_depth=False)])
def test_flop_counts_match_torch_flop_counter(config):
    from torch.utils.flop_counter import FlopCounterMode

    from manifold_export.onnx_export import DecoderGraph
    from manifold_train.model import Autoencoder

    model = Autoencoder(config).eval()
    arch = config.to_dict()
    with FlopCounterMode(display=False) as counter:
        model.encoder(torch.rand(1, config.channels, config.size, config.size))
    assert bench.encoder_flops(arch) == counter.get_total_flops()
    graph = DecoderGraph(model.decoder)  # what decoder.onnx computes: the code's share once per tile
    with FlopCounterMode(display=False) as counter:
        graph(torch.rand(1, config.code_size), torch.tensor(24), torch.tensor(20))
    assert bench.decoder_flops(arch, 24 * 20) == counter.get_total_flops()


def test_harness_interleaves_and_takes_medians():
    calls = []
    times = bench.interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then alternating order
    assert [len(t) for t in times.values()] == [3, 3]
    assert bench.speedup([1.0, 2.0, 1.0], [3.0, 2.0, 4.0]) == 3.0  # median of 3, 1, 4
    assert bench.rate([2.0, 1.0, 4.0], 10) == 5.0


def test_anchor_computes_the_same_images_as_the_runtime():
    from manifold_train.bench import anchor_decode, anchor_encode, load_anchor

    encoder, decoder, _ = load_anchor(DEFAULT_MODEL_DIR)
    model = TileModel.load(device="cpu")
    tiles = rgba_to_channels(make_tiles(3, 32, seed=4), 4)
    codes = anchor_encode(encoder, tiles)
    np.testing.assert_allclose(np.stack([c.numpy() for c in codes]), model.encode(tiles), atol=1e-4)
    images = np.stack([i.numpy() for i in anchor_decode(decoder, codes, 40, 24)])
    np.testing.assert_allclose(images, model.decode(model.encode(tiles), 40, 24), atol=1e-4)


@pytest.mark.parametrize("model_dir", ["tiny", "default"])
def test_int8_output_is_close_to_fp32(model_dir, tiny_model_dir):
    directory = tiny_model_dir if model_dir == "tiny" else DEFAULT_MODEL_DIR
    fp32 = TileModel.load(directory, "cpu")
    int8 = TileModel.load(directory, "auto", precision="int8")
    assert int8.provider == "CPUExecutionProvider" and int8.precision == "int8"
    tiles = make_tiles(12, fp32.size, seed=7)
    a = np.concatenate(list(fp32.render(tiles, 48, 48))).astype(float)
    b = np.concatenate(list(int8.render(tiles, 48, 48))).astype(float)
    assert not np.array_equal(a, b)  # really another graph
    assert bench.psnr(a / 255, b / 255) > 30  # dB, int8 against fp32


def test_badly_scaled_matmul_stays_fp32(tmp_path):
    import onnx
    from onnx import helper, numpy_helper

    from manifold_export.quantize import ill_conditioned_matmuls

    rng = np.random.default_rng(0)
    even, spiky = rng.normal(size=(16, 8)).astype(np.float32), rng.normal(size=(16, 8)).astype(np.float32)
    spiky[3] *= 20  # one input feature's weights 20x the others: batch-norm folded on a narrow feature
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"], name="even"), helper.make_node("MatMul", ["h8", "w2"], ["y"], name="spiky")],
        "g", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 8])],
        [numpy_helper.from_array(even, "w1"), numpy_helper.from_array(spiky, "w2")])
    assert ill_conditioned_matmuls(helper.make_model(graph)) == ["spiky"]


def test_default_model_keeps_only_the_batch_norm_folded_first_layer_in_fp32():
    card = json.loads((DEFAULT_MODEL_DIR / "model.json").read_text())
    assert card["int8"]["decoder"] == "decoder.int8.onnx" and (DEFAULT_MODEL_DIR / "decoder.int8.onnx").exists()
    assert card["int8"]["kept_fp32"] == ["/blocks/block_1/layers/linear_1/MatMul"]


def test_upscale_precision_int8_and_a_model_without_it(tile_folder, tiny_model_dir, tmp_path):
    result = runner.invoke(app, ["upscale", str(tile_folder), "--res", "32", "-o", str(tmp_path / "out"),
                                 "--model", str(tiny_model_dir), "--precision", "int8", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tiles"] == 48
    old = tmp_path / "old-model"
    shutil.copytree(tiny_model_dir, old)
    (old / "decoder.int8.onnx").unlink()
    result = runner.invoke(app, ["upscale", str(tile_folder), "--res", "32", "-o", str(tmp_path / "out2"),
                                 "--model", str(old), "--precision", "int8"])
    assert result.exit_code == 1 and "no decoder.int8.onnx" in result.output
    with pytest.raises(UserError, match="runs on the CPU"):
        TileModel.load(tiny_model_dir, "cuda", precision="int8")


def test_bench_json_has_every_section_and_target(tiny_model_dir, tmp_path):
    """A shortened bench (tiny model, few tiles) through the same code as `manifold bench --json`."""
    result = bench.run(quick=True, model_dir=tiny_model_dir, data=tmp_path / "no-sheets", memory_tiles=20,
                       sections=("inference", "int8", "startup", "memory"))
    tiles = rgba_to_channels(make_tiles(32, 16, seed=1), 4)
    result["training"] = bench.training(tiles, rounds=1, quick=True, model=tiny_config(), batch_size=8)
    result["targets"] = bench.targets(result)
    result = json.loads(json.dumps(result))  # JSON-ready
    assert {"machine", "matmul", "inference", "int8", "startup", "memory", "training", "targets"} <= set(result)
    assert result["matmul"]["fp32_gflops"] > 0 and "date" in result["machine"] and result["machine"]["cores"] >= 1
    assert [r["res"] for r in result["inference"]] == [32, 64, 128]
    for row in result["inference"]:
        assert {"runtime_fp32_tiles_per_s", "runtime_int8_tiles_per_s", "anchor_tiles_per_s", "fp32_vs_anchor",
                "int8_vs_anchor", "fp32_gflops", "fp32_of_matmul"} <= set(row)
    assert result["anchor_max_abs_diff"] < 1e-3
    assert result["int8"]["source"].startswith("procedural") and "psnr_loss_db" in result["int8"]
    assert result["training"][0]["levers"].startswith("plain") and result["training"][0]["vs_plain"] > 0
    assert all("compile" not in r for r in result["training"])  # --quick leaves torch.compile out
    assert result["startup"]["upscale_one_tile_s"] > 0 and result["memory"]["tiles"] == 20
    assert result["memory"]["peak_rss_mb"] > 10
    names = [t["target"] for t in result["targets"]]
    assert len(names) == 7 and all(isinstance(t["met"], bool) for t in result["targets"])
    assert bench.table(result)  # the Rich tables build
    bench.plot(result, tmp_path / "bench.png")
    from PIL import Image

    assert Image.open(tmp_path / "bench.png").size[0] > 1000  # two panels side by side


def test_bench_cli_prints_json(tiny_model_dir, tmp_path):
    result = runner.invoke(app, ["bench", "--quick", "--only", "int8", "--model", str(tiny_model_dir),
                                 "--data", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["quick"] is True and "int8" in data and data["targets"][0]["target"].startswith("int8")
    result = runner.invoke(app, ["bench", "--only", "nope"])
    assert result.exit_code == 1 and "choose from" in result.output
    result = runner.invoke(app, ["bench", "--only", "int8", "--plot", str(tmp_path / "b.png")])
    assert result.exit_code == 1 and "--plot draws the inference and training" in result.output
