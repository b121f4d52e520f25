import numpy as np
import pytest

from manifold_core.errors import UserError
from manifold_core.runtime import ENCODE_BATCH, RenderOptions, TileModel, load_model_info, nearest, parse_resolution
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import rgba_to_channels


def test_render_is_chunked_and_the_same_as_one_run(tiny_model_dir):
    model = TileModel.load(tiny_model_dir, "cpu")
    assert model.provider == "CPUExecutionProvider"
    tiles = make_tiles(10, 16, seed=5)
    whole = np.concatenate(list(model.render(tiles, 24, 20, chunk=100)))
    model.pixel_budget = 24 * 20 * 3  # three tiles per decoder run
    chunks = list(model.render(tiles, 24, 20, chunk=4))
    assert [len(c) for c in chunks] == [4, 4, 2]
    np.testing.assert_array_equal(np.concatenate(chunks), whole)
    assert whole.shape == (10, 24, 20, 4) and whole.dtype == np.uint8


def test_encoder_runs_in_batches_with_the_same_codes(tiny_model_dir):
    model = TileModel.load(tiny_model_dir, "cpu")
    tiles = rgba_to_channels(make_tiles(2 * ENCODE_BATCH + 3, 16, seed=8, transparent_share=0), model.channels)
    codes = model.encode(tiles)
    one_by_one = np.concatenate([model.encode(t[None]) for t in tiles])
    assert codes.shape == (len(tiles), model.info["code_size"])
    np.testing.assert_allclose(codes, one_by_one, atol=1e-5)
    empty = np.zeros((3, 16, 16, 4), np.uint8)  # nothing to encode: no encoder run, transparent output
    assert not np.concatenate(list(model.render(empty, 8, 8))).any()


def test_empty_tiles_stay_empty_and_other_sizes_are_accepted(tiny_model_dir):
    model = TileModel.load(tiny_model_dir, "cpu")
    tiles = make_tiles(3, 32, seed=6, transparent_share=0)
    tiles[1] = 0
    out = np.concatenate(list(model.render(tiles, 32, 32)))
    assert (out[1] == 0).all() and out[0, ..., 3].any()


def test_model_without_alpha_carries_the_tile_alpha(tiny_run, tmp_path):
    """A 3-channel model: the output alpha is the input alpha, nearest-scaled."""
    from conftest import tiny_config
    from PIL import Image

    from manifold_export.onnx_export import export_model
    from manifold_train.trainer import TrainConfig, train
    tiles_dir = tmp_path / "tiles"
    tiles_dir.mkdir()
    for i, t in enumerate(make_tiles(16, 16, seed=7)):
        Image.fromarray(t).save(tiles_dir / f"{i}.png")
    train(TrainConfig(data=[str(tiles_dir)], out=str(tmp_path / "run"), model=tiny_config(channels=3),
                      max_inputs=64, batch_size=8, threads=1, val_percent=50), show_progress=False)
    export_model(tmp_path / "run", tmp_path / "model")
    model = TileModel.load(tmp_path / "model", "cpu")
    tile = make_tiles(1, 16, seed=8, transparent_share=1.0)
    out = next(model.render(tile, 32, 32))
    np.testing.assert_array_equal(out[0, ::2, ::2, 3], tile[0, ..., 3])


def test_cuda_request_without_cuda_is_a_clear_error(tiny_model_dir):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        from manifold_core.runtime import cuda_driver_present
        if cuda_driver_present():
            pytest.skip("a CUDA driver is present: --device cuda may work here")
    with pytest.raises(UserError, match="--device cuda"):
        TileModel.load(tiny_model_dir, "cuda")


def test_auto_device_falls_back_to_cpu_quietly(tiny_model_dir, capfd, monkeypatch):
    """Without a CUDA driver (forced here, whatever this machine has) auto means the CPU, silently."""
    import manifold_core.runtime as runtime

    monkeypatch.setattr(runtime, "cuda_driver_present", lambda: False)
    model = TileModel.load(tiny_model_dir, "auto")
    assert model.provider == "CPUExecutionProvider"
    assert capfd.readouterr().err == ""


@pytest.fixture
def broken_cuda(monkeypatch):
    """onnxruntime-gpu with a driver but without the CUDA libraries: CUDA sessions raise, and
    preload_dlls prints its warning on stdout, as the real one does."""
    import onnxruntime as ort

    import manifold_core.runtime as runtime

    real = ort.InferenceSession

    def session(path, options, providers):
        if providers == ["CUDAExecutionProvider"]:
            raise RuntimeError("libcublasLt.so.13: cannot open shared object file\nmore detail")
        return real(path, options, providers=providers)

    monkeypatch.setattr(runtime, "cuda_driver_present", lambda: True)
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CUDAExecutionProvider", "CPUExecutionProvider"])
    monkeypatch.setattr(ort, "preload_dlls", lambda: print("WARNING: preload noise"), raising=False)
    monkeypatch.setattr(ort, "InferenceSession", session)


def test_cuda_failure_says_why_and_which_cuda(tiny_model_dir, broken_cuda, capsys):
    from manifold_core.runtime import ort_cuda_version

    with pytest.raises(UserError, match=r"\(RuntimeError: libcublasLt.so.13: cannot open shared object file\);") as error:
        TileModel.load(tiny_model_dir, "cuda")
    assert f"CUDA {ort_cuda_version()} and cuDNN 9" in str(error.value)
    assert "more detail" not in str(error.value)  # one line
    assert capsys.readouterr().out == ""  # preload's warning is not on stdout (where --json goes)


def test_auto_device_falls_back_from_broken_cuda_quietly(tiny_model_dir, broken_cuda, capsys):
    model = TileModel.load(tiny_model_dir, "auto")
    assert model.provider == "CPUExecutionProvider"
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("text,expected", [("64", (64, 64)), ("64x48", (48, 64)), ("17X23", (23, 17))])
def test_parse_resolution(text, expected):
    assert parse_resolution(text) == expected


@pytest.mark.parametrize("text", ["0", "abc", "64x", "1x2x3", "99999"])
def test_bad_resolution(text):
    with pytest.raises(UserError, match="--res"):
        parse_resolution(text)


def test_nearest_alpha_scaling():
    a = np.array([[0, 255], [255, 0]], np.uint8)
    np.testing.assert_array_equal(nearest(a, 4, 4), np.kron(a, np.ones((2, 2), np.uint8)))


def test_model_directory_errors(tmp_path):
    with pytest.raises(UserError, match="not a model directory"):
        load_model_info(tmp_path)


# ---------------------------------------------------------------- the local kind
def seamless_tile(size=16):
    """A tile that tiles: colours are periodic sine waves with the tile's own period."""
    y, x = np.mgrid[:size, :size] / size * 2 * np.pi
    rgb = np.stack([np.sin(x) + np.cos(2 * y), np.cos(x + y), np.sin(2 * x) * np.sin(y)], -1)
    rgba = np.concatenate([(rgb - rgb.min()) / np.ptp(rgb) * 255, np.full((size, size, 1), 255)], -1)
    return rgba.round().astype(np.uint8)


def seam_and_inside(image):
    """Mean colour step across the middle column/row seam of a 2x2 layout, and inside a tile."""
    img = image.astype(np.float32)
    h, w = img.shape[0] // 2, img.shape[1] // 2
    steps_x = np.abs(np.diff(img, axis=1)).mean(axis=(0, 2))
    steps_y = np.abs(np.diff(img, axis=0)).mean(axis=(1, 2))
    seam = (steps_x[w - 1] + steps_y[h - 1]) / 2
    inside = (np.delete(steps_x, [w - 1]).mean() + np.delete(steps_y, [h - 1]).mean()) / 2
    return seam, inside


@pytest.mark.parametrize("edges", ["wrap", "auto"])
def test_a_seamless_tile_stays_seamless(tiny_local_model_dir, edges):
    from manifold_core.runtime import seamless

    model = TileModel.load(tiny_local_model_dir, "cpu")
    tile = seamless_tile()
    assert seamless(tile)
    out = next(model.render(tile[None], 32, 32, RenderOptions(edges=edges)))[0]
    layout = np.tile(out, (2, 2, 1))
    seam, inside = seam_and_inside(layout)
    assert seam <= 1.5 * inside + 1, (seam, inside)
    # wrapped edges are exact: the 2x2 layout of the upscale is the upscale of the 2x2 layout
    big = next(model.render(np.tile(tile, (2, 2, 1))[None], 64, 64, RenderOptions(edges="wrap")))[0]
    assert np.abs(big.astype(int) - layout.astype(int)).max() <= 1


def test_clamped_edges_break_the_seam_that_wrap_keeps(tiny_local_model_dir):
    """The test above could not pass by accident: with clamp the same tile's seam is visibly worse."""
    model = TileModel.load(tiny_local_model_dir, "cpu")
    tile = seamless_tile()
    # the decoder's own pixels (footprints free): what the encoder saw beyond the border, unmixed
    free = {"footprints": "free"}
    wrap = seam_and_inside(np.tile(next(model.render(tile[None], 32, 32, RenderOptions(edges="wrap", **free)))[0],
                                   (2, 2, 1)))[0]
    clamp = seam_and_inside(np.tile(next(model.render(tile[None], 32, 32, RenderOptions(edges="clamp", **free)))[0],
                                    (2, 2, 1)))[0]
    assert clamp > 1.5 * wrap


@pytest.mark.parametrize("h,w", [(8, 8), (16, 16), (24, 24), (32, 32), (48, 48), (16, 24)])
def test_local_model_takes_tiles_of_any_size_without_resampling(tiny_local_model_dir, h, w):
    model = TileModel.load(tiny_local_model_dir, "cpu")
    tiles = make_tiles(3, max(h, w), seed=9, transparent_share=0)[:, :h, :w]
    assert model.encoder_input(tiles).shape == (3, 4, h + 2 * model.card.pad, w + 2 * model.card.pad)
    out = np.concatenate(list(model.render(tiles, 2 * h, 2 * w)))
    assert out.shape == (3, 2 * h, 2 * w, 4) and out.dtype == np.uint8
    same = np.concatenate(list(model.render(tiles, h, w)))  # a round trip: close to the input
    assert np.abs(same.astype(int) - tiles.astype(int)).mean() < 40


@pytest.mark.parametrize("kind", ["global", "local"])
def test_large_outputs_render_in_bands_with_the_same_pixels(kind, tiny_model_dir, tiny_local_model_dir):
    model = TileModel.load(tiny_model_dir if kind == "global" else tiny_local_model_dir, "cpu")
    assert model.bands
    tiles = make_tiles(2, 16, seed=4, transparent_share=0)
    whole = np.concatenate(list(model.render(tiles, 70, 50)))
    model.pixel_budget = 3 * 50 + 7  # three rows per decoder run
    banded = np.concatenate(list(model.render(tiles, 70, 50)))
    np.testing.assert_array_equal(banded, whole)


# ---------------------------------------------------------------- hostile model folders
def _model(inputs, outputs, nodes, initializers=()):
    """A small ONNX graph (opset 17) from (name, elem type, shape) triples and nodes."""
    from onnx import TensorProto, helper

    kinds = {"f": TensorProto.FLOAT, "i": TensorProto.INT64}
    graph = helper.make_graph(nodes, "hostile", [helper.make_tensor_value_info(n, kinds[t], s) for n, t, s in inputs],
                              [helper.make_tensor_value_info(n, kinds[t], s) for n, t, s in outputs],
                              initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def _int64(name, values):
    from onnx import helper

    return helper.make_tensor(name, 7, [len(values)], values)


DECODER_IN = [("code", "f", ["batch", 16]), ("height", "i", []), ("width", "i", []), ("top", "i", []), ("rows", "i", [])]


def _image_shape_nodes():
    """Nodes computing [batch, 4, rows, width] into `shape` (for a decoder that honours the contract's shape)."""
    from onnx import helper

    return [helper.make_node("Shape", ["code"], ["cs"]), helper.make_node("Slice", ["cs", "zero", "one"], ["n"]),
            helper.make_node("Unsqueeze", ["rows", "zero"], ["r"]), helper.make_node("Unsqueeze", ["width", "zero"], ["w"]),
            helper.make_node("Concat", ["n", "four", "r", "w"], ["shape"], axis=0)]


SHAPE_CONSTS = [_int64("zero", [0]), _int64("one", [1]), _int64("four", [4])]


def _hostile_graphs():
    from onnx import helper

    return {
        "a 1-D decoder output": ("decoder.onnx", _model(
            DECODER_IN, [("image", "f", ["batch"])], [helper.make_node("ReduceSum", ["code", "one"], ["image"], keepdims=0)],
            [_int64("one", [1])])),
        "an encoder with no input": ("encoder.onnx", _model(
            [], [("code", "f", [1, 16])], [helper.make_node("ConstantOfShape", ["s"], ["code"])], [_int64("s", [1, 16])])),
        "a 1-D latent": ("encoder.onnx", _model(
            [("image", "f", ["batch", 4, 16, 16])], [("code", "f", ["batch"])],
            [helper.make_node("ReduceMean", ["image"], ["code"], axes=[1, 2, 3], keepdims=0)])),
        "a latent width that does not match": ("encoder.onnx", _model(
            [("image", "f", ["batch", 4, 16, 16])], [("code", "f", ["batch", 8])],
            [helper.make_node("ReduceMean", ["image"], ["m"], axes=[2, 3], keepdims=0),
             helper.make_node("Concat", ["m", "m"], ["code"], axis=1)])),
        "a fixed output shape": ("decoder.onnx", _model(
            DECODER_IN, [("image", "f", [1, 4, 16, 16])], [helper.make_node("ConstantOfShape", ["s"], ["image"])],
            [_int64("s", [1, 4, 16, 16])])),
        "a run-time Reshape failure": ("decoder.onnx", _model(
            DECODER_IN, [("image", "f", ["batch", 4, "rows", "width"])],
            _image_shape_nodes()[:-1] + [helper.make_node("Concat", ["n", "four", "r", "w"], ["shape"], axis=0),
                                         helper.make_node("Reshape", ["code", "shape"], ["image"])], SHAPE_CONSTS)),
        "a huge ConstantOfShape": ("decoder.onnx", _model(
            DECODER_IN, [("image", "f", ["batch", 4, "rows", "width"])],
            [helper.make_node("ConstantOfShape", ["huge"], ["image"])], [_int64("huge", [1 << 20, 4, 1 << 20, 1 << 20])])),
        "a nan output": ("decoder.onnx", _model(
            DECODER_IN, [("image", "f", ["batch", 4, "rows", "width"])],
            _image_shape_nodes() + [helper.make_node("ConstantOfShape", ["shape"], ["image"],
                                                     value=helper.make_tensor("v", 1, [1], [float("nan")]))],
            SHAPE_CONSTS)),
    }


HOSTILE_GRAPHS = ["a 1-D decoder output", "an encoder with no input", "a 1-D latent", "a latent width that does not match",
                  "a fixed output shape", "a run-time Reshape failure", "a huge ConstantOfShape", "a nan output"]


@pytest.mark.parametrize("case", HOSTILE_GRAPHS)
def test_a_graph_that_breaks_the_contract_is_status_6_and_one_line(tmp_path, tiny_model_dir, tile_folder, case, capfd):
    import shutil

    from conftest import run_cli

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    name, graph = _hostile_graphs()[case]
    (model / name).write_bytes(graph)
    capfd.readouterr()
    result = run_cli("upscale", tile_folder, "--res", 24, "-o", tmp_path / "out", "--model", model, "-q")
    err = capfd.readouterr().err  # onnxruntime logs on the process's own stderr, beside Typer's capture
    assert result.exit_code == 6, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    assert "onnxruntime" not in err.replace(lines[0], "") and "Warning" not in err, err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").rglob("*.png"))


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no FIFOs on this system")
@pytest.mark.parametrize("name,args", [("decoder.int8.onnx", ["--precision", "int8"]), ("encoder.onnx", []),
                                       ("decoder.onnx", []), ("model.json", [])])
def test_a_fifo_in_a_model_folder_is_refused_without_blocking(tmp_path, tiny_model_dir, tile_folder, name, args):
    import os
    import shutil

    from conftest import run_cli

    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / name).unlink(missing_ok=True)
    os.mkfifo(model / name)
    result = run_cli("upscale", tile_folder, "--res", 24, "-o", tmp_path / "out", "--model", model, "-q", *args)
    assert result.exit_code == 6, result.output
    assert "FIFO" in result.output or "not a regular file" in result.output, result.output
    assert "missing" not in result.output


def test_a_model_with_a_scale_step_upscales_in_passes_of_at_most_that(tmp_path):
    """scale_step 2: 16 -> 64 is 16 -> 32 -> 64 and gives the bytes of those two renders done by hand;
    2x and less are one pass."""
    from manifold_core.runtime import RenderOptions, TileModel
    from manifold_core.synthetic import make_tiles

    model = TileModel.load("default", "cpu")
    assert model.card.scale_step == 2
    assert model.passes(16, 16, 64, 64) == [(32, 32), (64, 64)]
    assert model.passes(16, 16, 40, 24) == [(32, 24), (40, 24)] and model.passes(30, 30, 60, 60) == [(60, 60)]
    tiles = make_tiles(3, 16, seed=2)
    options = RenderOptions("clamp", "off", "smooth")
    twice = next(model.render(next(model.render(tiles, 32, 32, options)), 64, 64, options))
    assert (next(model.render(tiles, 64, 64, options)) == twice).all()


def footprint_error(rendered: np.ndarray, sources: np.ndarray) -> np.ndarray:
    """The largest channel's move of each source pixel's footprint mean, 0..255 premultiplied."""
    from manifold_core.footprints import footprint_matrix, premultiplied

    h, w = sources.shape[1:3]
    rows, cols = footprint_matrix(h, rendered.shape[1]), footprint_matrix(w, rendered.shape[2])
    back = np.einsum("ih,nchw,jw->ncij", rows, premultiplied(rendered), cols)
    return np.abs(back - premultiplied(sources)).max(1) * 255


@pytest.mark.parametrize("res", [32, 64])  # one pass and two
def test_kept_footprints_hold_crisp_tiles_to_their_sources(res):
    rng = np.random.default_rng(5)
    palette = np.array([[20, 20, 30, 255], [230, 200, 40, 255], [200, 40, 40, 255], [0, 0, 0, 0]], np.uint8)
    tiles = palette[rng.integers(0, 4, (4, 16, 16))]  # hard alpha, 4 colours: crisp, the palette kept
    model = TileModel.load("default", "cpu")
    kept = np.concatenate(list(model.render(tiles, res, res, RenderOptions("clamp", "auto", "auto", "keep"))))
    free = np.concatenate(list(model.render(tiles, res, res, RenderOptions("clamp", "auto", "auto", "free"))))
    # 4x is two passes, each held to its own input: the whole within twice the tolerance
    limit = 24 * (res // 32) + 1e-3
    assert footprint_error(kept, tiles).max() <= limit < footprint_error(free, tiles).max()
    assert set(map(tuple, kept.reshape(-1, 4))) <= set(map(tuple, palette))


def test_an_unknown_footprints_value_is_a_usage_error():
    with pytest.raises(UserError, match="--footprints"):
        RenderOptions(footprints="loose")
