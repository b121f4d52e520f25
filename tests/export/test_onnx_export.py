import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from conftest import tiny_config

from manifold_core.errors import OutputError
from manifold_export.onnx_export import RenderGraph, export_model
from manifold_train.kinds.global_code import GlobalCode
from manifold_train.trainer import read_run


def sizes(height, width, top=0, rows=None, **latent):
    """decoder.onnx's inputs for rows top .. top + rows - 1 (default: all) of a height x width image."""
    as_int = lambda v: np.array(v, np.int64)
    return {**latent, "height": as_int(height), "width": as_int(width), "top": as_int(top),
            "rows": as_int(height if rows is None else rows)}


def sessions(model_dir):
    return [ort.InferenceSession(str(model_dir / f), providers=["CPUExecutionProvider"])
            for f in ("encoder.onnx", "decoder.onnx")]


def test_model_directory_contract(tiny_model_dir):
    for name in ("encoder.onnx", "decoder.onnx"):
        onnx.checker.check_model(onnx.load(tiny_model_dir / name), full_check=True)
    card = json.loads((tiny_model_dir / "model.json").read_text())
    assert card["format_version"] == 3 and card["kind"] == "global" and card["pad"] == 0
    assert card["channels"] == 4 and card["input_size"] == 16
    assert card["code_size"] == 16 and card["coordinates"] == "center"
    assert card["trained_on"]["inputs"] == 4096 and card["metrics"]["val_mse"] > 0
    enc, dec = sessions(tiny_model_dir)
    assert [i.name for i in dec.get_inputs()] == ["code", "height", "width", "top", "rows"]
    out = dec.get_outputs()[0].shape
    assert out[0] == "batch" and out[2:] == ["rows", "width"]
    assert enc.get_inputs()[0].shape == ["batch", 4, 16, 16]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("height,width", [(16, 16), (17, 23), (64, 64), (128, 128), (1, 5)])
def test_onnxruntime_matches_pytorch(tiny_run, tiny_model_dir, batch, height, width):
    _, model = read_run(tiny_run)
    enc, dec = sessions(tiny_model_dir)
    tiles = torch.rand(batch, 4, 16, 16)
    with torch.no_grad():
        code = model.encoder(tiles)
        expected = model.render(code, height, width).numpy()
    ort_code = enc.run(None, {"image": tiles.numpy()})[0]
    np.testing.assert_allclose(ort_code, code.numpy(), atol=1e-4)
    image = dec.run(None, sizes(height, width, code=ort_code))[0]
    assert image.shape == (batch, 4, height, width)
    np.testing.assert_allclose(image, expected, atol=1e-4)


def test_batch_norm_folding_keeps_the_function():
    torch.manual_seed(1)
    model = GlobalCode(tiny_config(decoder_n_blk=3, decoder_residual=("add", "concat", "add")))
    model.train()
    for _ in range(5):  # give the running statistics something other than 0 / 1
        model.decoder(torch.randn(8, 16) * 3, torch.rand(10, 2) * 2 - 1)
    model.eval()
    folded = model.for_export()
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in folded.modules())
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in model.modules())  # the original is untouched
    code = torch.randn(4, 16)
    with torch.no_grad():
        torch.testing.assert_close(RenderGraph(folded)(code, torch.tensor(9), torch.tensor(7), torch.tensor(0),
                                                       torch.tensor(9)),
                                   model.render(code, 9, 7), atol=1e-5, rtol=1e-5)


def test_corner_convention_export(tiny_run, tmp_path):
    export_model(tiny_run, tmp_path / "m", coordinates="corner")
    _, model = read_run(tiny_run, "corner")
    _, dec = sessions(tmp_path / "m")
    code = torch.randn(2, 16)
    with torch.no_grad():
        expected = model.render(code, 20, 12).numpy()
    out = dec.run(None, sizes(20, 12, code=code.numpy()))[0]
    np.testing.assert_allclose(out, expected, atol=1e-4)


# ---------------------------------------------------------------- the local kind
def test_local_model_directory_contract(tiny_local_model_dir):
    card = json.loads((tiny_local_model_dir / "model.json").read_text())
    assert card["kind"] == "local" and card["input_size"] is None and card["pad"] == 5
    assert card["code_size"] == 16 + 4  # features and the colour per cell
    enc, dec = sessions(tiny_local_model_dir)
    assert enc.get_inputs()[0].shape == ["batch", 4, "in_height", "in_width"]
    assert [i.name for i in dec.get_inputs()] == ["grid", "height", "width", "top", "rows"]
    ops = {n.op_type for n in onnx.load(tiny_local_model_dir / "decoder.onnx").graph.node}
    assert "Gather" in ops and "GridSample" not in ops  # gather-based sampling: the int8 and CUDA paths keep working


@pytest.mark.parametrize("in_size,out_size", [((8, 8), (16, 16)), ((16, 12), (40, 30)), ((30, 30), (60, 60)),
                                              ((16, 16), (16, 16)), ((5, 9), (3, 4))])
@pytest.mark.parametrize("batch", [1, 3])
def test_local_onnxruntime_matches_pytorch(tiny_local_run, tiny_local_model_dir, in_size, out_size, batch):
    _, model = read_run(tiny_local_run)
    enc, dec = sessions(tiny_local_model_dir)
    tiles = torch.rand(batch, 4, *in_size)
    padded = model.pad_input(tiles)
    with torch.no_grad():
        grid = model.encoder(padded)
        expected = model.render(grid, *out_size).numpy()
    ort_grid = enc.run(None, {"image": padded.numpy()})[0]
    np.testing.assert_allclose(ort_grid, grid.numpy(), atol=1e-4)
    image = dec.run(None, sizes(*out_size, grid=ort_grid))[0]
    assert image.shape == (batch, 4, *out_size)
    np.testing.assert_allclose(image, expected, atol=1e-4)


# ---------------------------------------------------------------- never deletes what it did not make
def test_export_refuses_a_folder_that_is_not_a_model(tiny_run, tmp_path):
    target = tmp_path / "mine"
    target.mkdir()
    (target / "notes.txt").write_text("keep me")
    with pytest.raises(OutputError, match="not a model directory"):
        export_model(tiny_run, target)
    assert (target / "notes.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]  # no temporary left beside it


def test_export_refuses_the_run_itself_and_its_parent(tiny_run):
    before = sorted(p.name for p in tiny_run.iterdir())
    for target in (tiny_run, tiny_run.parent):
        with pytest.raises(OutputError):
            export_model(tiny_run, target)
    assert sorted(p.name for p in tiny_run.iterdir()) == before


def test_export_replaces_an_earlier_model_directory(tiny_run, tmp_path):
    export_model(tiny_run, tmp_path / "m")
    (tmp_path / "m" / "model.json").write_text("{}")
    export_model(tiny_run, tmp_path / "m")
    assert json.loads((tmp_path / "m" / "model.json").read_text())["kind"] == "global"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


@pytest.mark.parametrize("kind", ["global", "local"])
def test_a_band_of_rows_is_the_same_rows_of_the_whole_image(kind, tiny_model_dir, tiny_local_model_dir):
    model_dir = tiny_model_dir if kind == "global" else tiny_local_model_dir
    enc, dec = sessions(model_dir)
    name = dec.get_inputs()[0].name
    shape = [d if isinstance(d, int) else 2 for d in enc.get_inputs()[0].shape]
    if kind == "local":
        shape[2:] = [11 + 2 * 5, 9 + 2 * 5]  # an 11x9 tile padded by the tiny model's 5
    latent = enc.run(None, {"image": np.random.default_rng(0).random(shape, np.float32)})[0]
    whole = dec.run(None, sizes(37, 23, **{name: latent}))[0]
    bands = [dec.run(None, sizes(37, 23, top, min(10, 37 - top), **{name: latent}))[0] for top in range(0, 37, 10)]
    np.testing.assert_allclose(np.concatenate(bands, axis=2), whole, atol=1e-6)
