"""The int8 decoder (export/quantize.py): which MatMuls stay fp32, the embedded seed model's, and
`manifold export --add-int8` for a model folder exported without it."""

import json
import shutil

import numpy as np
import pytest
from conftest import run_cli

from manifold_core.errors import ModelError, UsageError, UserError
from manifold_core.runtime import EMBEDDED_MODELS, TileModel
from manifold_export.quantize import INT8_DECODER


def test_badly_scaled_matmul_stays_fp32():
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
    card = json.loads((EMBEDDED_MODELS["seed"] / "model.json").read_text())
    assert card["int8"]["decoder"] == INT8_DECODER and (EMBEDDED_MODELS["seed"] / INT8_DECODER).exists()
    assert card["int8"]["kept_fp32"] == ["/blocks/block_1/layers/linear_1/MatMul"]


def test_a_model_without_int8_fails_to_upscale_until_it_is_added(tile_folder, tiny_model_dir, tmp_path):
    result = run_cli("upscale", tile_folder, "--res", "32", "-o", tmp_path / "out", "--model", tiny_model_dir,
                     "--precision", "int8", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tiles"] == 48
    old = tmp_path / "old-model"
    shutil.copytree(tiny_model_dir, old)
    (old / INT8_DECODER).unlink()
    card = json.loads((old / "model.json").read_text())
    del card["int8"]
    (old / "model.json").write_text(json.dumps(card))
    result = run_cli("upscale", tile_folder, "--res", "32", "-o", tmp_path / "out2", "--model", old,
                     "--precision", "int8")
    assert result.exit_code == ModelError.exit_status and "no decoder.int8.onnx" in result.output
    assert f"manifold export --add-int8 {old}" in " ".join(result.output.split())  # the fix it names
    result = run_cli("export", "--add-int8", old)
    assert result.exit_code == 0, result.output
    assert json.loads((old / "model.json").read_text())["int8"]["decoder"] == INT8_DECODER
    result = run_cli("upscale", tile_folder, "--res", "32", "-o", tmp_path / "out2", "--model", old,
                     "--precision", "int8")
    assert result.exit_code == 0, result.output
    tiles = np.stack([np.full((16, 16, 4), v, np.uint8) for v in (40, 200)])
    same = [np.concatenate(list(TileModel.load(m, "cpu", precision="int8").render(tiles, 24, 24)))
            for m in (tiny_model_dir, old)]
    np.testing.assert_array_equal(*same)  # the same quantization as export's
    with pytest.raises(UserError, match="runs on the CPU"):
        TileModel.load(tiny_model_dir, "cuda", precision="int8")


def test_add_int8_refuses_what_cannot_work(tiny_run, tmp_path):
    result = run_cli("export", "--add-int8", tmp_path / "nothing-here")
    assert result.exit_code == ModelError.exit_status and "no such model folder" in result.output
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text("{not json")
    result = run_cli("export", "--add-int8", broken)
    assert result.exit_code == ModelError.exit_status and "not readable JSON" in result.output
    assert sorted(p.name for p in broken.iterdir()) == ["model.json"]  # nothing written
    result = run_cli("export", tiny_run, "--add-int8", broken)
    assert result.exit_code == UsageError.exit_status and "--add-int8 MODEL works on a model folder alone" in result.output
    result = run_cli("export", tiny_run)
    assert result.exit_code == UsageError.exit_status and "give a run directory and --out" in result.output
