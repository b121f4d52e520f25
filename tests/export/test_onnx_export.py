import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from conftest import tiny_config
from manifold_export.onnx_export import DecoderGraph, export_model, fold_batch_norm
from manifold_train.model import ManifoldDecoder
from manifold_train.trainer import read_run


def sessions(model_dir):
    return [ort.InferenceSession(str(model_dir / f), providers=["CPUExecutionProvider"])
            for f in ("encoder.onnx", "decoder.onnx")]


def test_model_directory_contract(tiny_model_dir):
    for name in ("encoder.onnx", "decoder.onnx"):
        onnx.checker.check_model(onnx.load(tiny_model_dir / name), full_check=True)
    card = json.loads((tiny_model_dir / "model.json").read_text())
    assert card["format_version"] == 1 and card["channels"] == 4 and card["input_size"] == 16
    assert card["code_size"] == 16 and card["coordinates"] == "center"
    assert card["trained_on"]["inputs"] == 4096 and card["metrics"]["val_mse"] > 0
    enc, dec = sessions(tiny_model_dir)
    assert [i.name for i in dec.get_inputs()] == ["code", "height", "width"]
    assert dec.get_outputs()[0].shape == ["batch", 4, "height", "width"]
    assert enc.get_inputs()[0].shape == ["batch", 4, 16, 16]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("height,width", [(16, 16), (17, 23), (64, 64), (128, 128), (1, 5)])
def test_onnxruntime_matches_pytorch(tiny_run, tiny_model_dir, batch, height, width):
    _, model = read_run(tiny_run)
    enc, dec = sessions(tiny_model_dir)
    tiles = torch.rand(batch, 4, 16, 16)
    with torch.no_grad():
        code = model.encoder(tiles)
        expected = model.decoder.render(code, height, width).numpy()
    ort_code = enc.run(None, {"image": tiles.numpy()})[0]
    np.testing.assert_allclose(ort_code, code.numpy(), atol=1e-4)
    image = dec.run(None, {"code": ort_code, "height": np.array(height, np.int64),
                           "width": np.array(width, np.int64)})[0]
    assert image.shape == (batch, 4, height, width)
    np.testing.assert_allclose(image, expected, atol=1e-4)


def test_batch_norm_folding_keeps_the_function():
    torch.manual_seed(1)
    dec = ManifoldDecoder(tiny_config(decoder_n_blk=3, decoder_residual=("add", "concat", "add")))
    dec.train()
    for _ in range(5):  # give the running statistics something other than 0 / 1
        dec(torch.randn(8, 16) * 3, torch.rand(10, 2) * 2 - 1)
    dec.eval()
    folded = fold_batch_norm(dec)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in folded.modules())
    code = torch.randn(4, 16)
    with torch.no_grad():
        torch.testing.assert_close(DecoderGraph(dec)(code, torch.tensor(9), torch.tensor(7)),
                                   dec.render(code, 9, 7), atol=1e-5, rtol=1e-5)


def test_corner_convention_export(tiny_run, tmp_path):
    export_model(tiny_run, tmp_path / "m", coordinates="corner")
    _, model = read_run(tiny_run)
    _, dec = sessions(tmp_path / "m")
    code = torch.randn(2, 16)
    with torch.no_grad():
        expected = model.decoder.render(code, 20, 12, "corner").numpy()
    out = dec.run(None, {"code": code.numpy(), "height": np.array(20), "width": np.array(12)})[0]
    np.testing.assert_allclose(out, expected, atol=1e-4)
