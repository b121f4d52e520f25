"""The int8 section: the int8 decoder's PSNR against fp32, on the tiles the section is given."""

import shutil

import numpy as np
import pytest
from bench_helpers import embedded_anchor_model

from manifold_bench import suite
from manifold_bench.sections.int8 import int8_quality
from manifold_core.runtime import RenderOptions, TileModel
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import premultiply, rgba_to_channels
from manifold_eval.metrics import psnr


@pytest.mark.parametrize("which", ["tiny", "embedded"])
def test_int8_output_is_close_to_fp32(which, tiny_model_dir):
    directory = tiny_model_dir if which == "tiny" else embedded_anchor_model()
    fp32 = TileModel.load(directory, "cpu")
    int8 = TileModel.load(directory, "auto", precision="int8")
    assert int8.provider == "CPUExecutionProvider" and int8.precision == "int8"
    tiles = make_tiles(12, fp32.card.input_size, seed=7)
    a = np.concatenate(list(fp32.render(tiles, 48, 48)))
    b = np.concatenate(list(int8.render(tiles, 48, 48)))
    assert not np.array_equal(a, b)  # really another graph
    assert psnr(a, b) > 30  # dB, int8 against fp32


def test_int8_draws_crisp_tiles_with_the_same_exact_pixels_as_fp32():
    """The pixel rendering (decoder.pixel.onnx, fp32) serves crisp tiles at either precision: int8
    quantizes only the mixture decoder, which tiles rendered smooth go through."""
    fp32, int8 = TileModel.load("default", "cpu"), TileModel.load("default", "cpu", precision="int8")
    assert int8.exact is not None
    rng = np.random.default_rng(3)
    palette = np.array([[20, 20, 30, 255], [230, 200, 40, 255], [200, 40, 40, 255], [0, 0, 0, 0]], np.uint8)
    crisp = palette[rng.integers(0, 4, (6, 16, 16))]
    options = RenderOptions("clamp", "auto", "auto")  # manifold upscale's --style auto
    a, b = (np.concatenate(list(m.render(crisp, 64, 64, options))) for m in (fp32, int8))
    np.testing.assert_array_equal(a, b)
    smooth = RenderOptions("clamp", "off", "smooth")  # and the mixture decoder is int8's own
    assert not np.array_equal(*(np.concatenate(list(m.render(crisp, 64, 64, smooth))) for m in (fp32, int8)))


def test_int8_quality_scores_both_paths_against_the_originals(tiny_local_model_dir):
    rgba = make_tiles(20, 32, seed=8, transparent_share=1.0)
    rgba[rgba[..., 3] == 0, :3] = 180  # colour left under transparent pixels, as editors often leave it
    rgba[:, :4, :, 3] = np.where(rgba[:, :4, :, 3] > 0, 128, 0)  # and a band of half alpha
    tiles = rgba_to_channels(rgba, 4)
    q = int8_quality(tiny_local_model_dir, tiles, "procedural")
    assert (q["tiles"], q["source"]) == (20, "procedural")
    assert q["psnr_loss_db"] == pytest.approx(q["psnr_fp32_db"] - q["psnr_int8_db"], abs=2e-3)
    assert 0 < q["psnr_fp32_db"] < q["int8_vs_fp32_psnr_db"]  # int8 is far closer to fp32 than fp32 to the tiles
    fp32 = TileModel.load(tiny_local_model_dir, "cpu")
    assert fp32.card.premultiplied  # the local kind's colours are premultiplied by alpha
    decoded = fp32.decode(fp32.encode(fp32.encoder_input(rgba)), 32, 32)
    premultiplied = premultiply(tiles.astype(np.float32) / 255) * 255
    assert not np.allclose(premultiplied, tiles)  # the two forms differ on these tiles
    # scored in the model's own form: straight originals against premultiplied output would measure
    # the conversion, not the model
    assert q["psnr_fp32_db"] == pytest.approx(psnr(premultiplied, 255 * decoded), abs=1e-3)


def test_a_model_without_the_int8_decoder_is_noted(tiny_model_dir, tmp_path):
    old = tmp_path / "no-int8"
    shutil.copytree(tiny_model_dir, old)
    (old / "decoder.int8.onnx").unlink()
    result = suite.run(quick=True, model=old, data=tmp_path / "no-sheets", only=["int8"])
    assert "int8" not in result and any(n.startswith("int8 skipped") and "decoder.int8.onnx" in n
                                        for n in result["notes"])
    assert result["targets"] == []
