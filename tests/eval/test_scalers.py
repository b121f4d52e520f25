
import numpy as np
import pytest
from conftest import missing_tool

from manifold_core.errors import ModelError, UsageError
from manifold_core.synthetic import make_tiles
from manifold_eval.scalers import (
    SCALERS,
    XBRZ_PAD,
    Hqx,
    Manifold,
    Method,
    Mmpx,
    RealEsrgan,
    RenderOptions,
    Xbrz,
    clean,
    import_hqx,
    make_methods,
    method_names,
    mosaic,
    register,
    unmosaic,
)

TILES = make_tiles(3, 8, seed=3, transparent_share=0.5)  # [3, 8, 8, 4], some with transparency


def ready(method):
    """The method, when it can run here; else skip with its reason (fail under CI=true, where
    `make test` has installed every tool: scripts/install_test_tools.sh and the [eval] extra)."""
    reason = method.missing()
    if reason:
        missing_tool(reason)
    return method


@pytest.mark.parametrize("name", method_names())
def test_every_registered_method_returns_rgba_uint8_of_the_asked_size_at_2x(name):
    (method,) = make_methods([name])
    ready(method)
    assert method.supports(2)
    method.prepare(2)
    for tiles in (TILES, TILES[:, :5, :7].copy()):  # square and not
        out = method.upscale(tiles, 2 * tiles.shape[1], 2 * tiles.shape[2])
        assert out.shape == (len(tiles), 2 * tiles.shape[1], 2 * tiles.shape[2], 4) and out.dtype == np.uint8


def test_the_registry_is_the_list_of_choices_in_order():
    assert method_names() == ("nearest", "bicubic", "lanczos", "scalenx", "hqx", "xbrz", "mmpx", "realesrgan",
                              "manifold")
    assert [m.name for m in make_methods()] == list(method_names())
    with pytest.raises(UsageError, match="choose from nearest, bicubic, lanczos, scalenx, hqx, xbrz, mmpx"):
        make_methods(["waifu2x"])


def test_a_new_scaler_is_one_registered_class_and_a_duplicate_name_is_refused():
    class Doubler(Method):
        name, label, scales = "doubler", "doubler", (2,)

        def upscale(self, tiles, height, width):
            return tiles.repeat(2, axis=1).repeat(2, axis=2)

    try:
        register(Doubler)
        (method,) = make_methods(["doubler"])
        assert isinstance(method, Doubler) and "doubler" in method_names()
        assert method.unsupported(3) == "doubler does 2x only"
        with pytest.raises(ValueError, match="registered already"):
            register(type("Other", (Doubler,), {}))
        assert SCALERS["doubler"] is Doubler
    finally:
        SCALERS.pop("doubler", None)
    with pytest.raises(ValueError, match="needs a name"):
        register(type("Nameless", (Method,), {}))


def test_methods_that_cannot_do_a_scale_say_why():
    methods = {m.name: m for m in make_methods()}
    for name in ("scalenx", "hqx", "realesrgan"):
        assert methods[name].supports(3) and not methods[name].supports(1.5) and not methods[name].supports(5)
    assert methods["xbrz"].supports(6) and not methods["xbrz"].supports(7)
    assert methods["mmpx"].supports(2) and methods["mmpx"].supports(4) and not methods["mmpx"].supports(3)
    assert methods["mmpx"].unsupported(3) == "MMPX does 2x and 4x only (a 2x filter; 4x is MMPX twice)"
    assert methods["xbrz"].unsupported(1.5) == "xBRZ does 2x to 6x only"
    assert all(methods[n].unsupported(1.5) is None for n in ("nearest", "bicubic", "lanczos", "manifold"))
    assert methods["scalenx"].title(3) == "Scale3x" and methods["hqx"].title(4) == "hq4x"
    assert methods["mmpx"].title(4) == "MMPX 4x" and methods["mmpx"].title(3) == "MMPX"


def test_mmpx_keeps_the_palette_and_alpha_of_each_tile():
    out = Mmpx().upscale(TILES, 32, 32)
    for tile, result in zip(clean(TILES), out):
        assert {tuple(c) for c in result.reshape(-1, 4)} <= {tuple(c) for c in tile.reshape(-1, 4)}


def test_pillow_nearest_at_2x_repeats_pixels_and_scalenx_keeps_flat_areas():
    nearest, scalenx = make_methods(["nearest", "scalenx"])
    ready(scalenx)
    flat = np.zeros((1, 4, 4, 4), np.uint8) + np.array([10, 20, 30, 255], np.uint8)
    assert (nearest.upscale(TILES, 16, 16) == clean(TILES).repeat(2, axis=1).repeat(2, axis=2)).all()
    assert (scalenx.upscale(flat, 8, 8) == flat[0, 0, 0]).all()
    assert scalenx.upscale(TILES, 32, 32).shape == (3, 32, 32, 4)  # 4x: Scale2x twice


def test_hqx_imports_with_its_pyaccess_stand_in_and_keeps_alpha():
    ready(Hqx())
    assert hasattr(import_hqx(), "hq2x")
    tile = np.zeros((1, 6, 6, 4), np.uint8)
    tile[0, 1:5, 1:5] = (200, 40, 40, 255)
    out = Hqx().upscale(tile, 12, 12)
    assert out[0, 0, 0, 3] == 0 and out[0, 6, 6].tolist() == [200, 40, 40, 255]


def test_mosaic_round_trip():
    sheet, cols = mosaic(TILES, 3)
    back = unmosaic(sheet, len(TILES), cols, 8, 8, 3, 1)
    assert (back == TILES).all()


def test_xbrz_mosaic_equals_one_run_per_padded_tile():
    xbrz = ready(Xbrz())
    together = xbrz.upscale(TILES, 16, 16)
    for i, tile in enumerate(TILES):
        alone = xbrz.upscale(tile[None], 16, 16)[0]
        assert (alone == together[i]).all()
    assert XBRZ_PAD >= 2  # xBRZ reads 2 px around a pixel


def test_realesrgan_runs_on_the_cpu_and_keeps_transparency():
    method = ready(RealEsrgan())
    method.prepare(2)
    tile = np.zeros((1, 8, 8, 4), np.uint8)
    tile[0, 2:6, 2:6] = (30, 160, 220, 255)
    out = method.upscale(tile, 16, 16)
    assert out[0, 0, 0, 3] == 0 and out[0, 8, 8, 3] > 200
    assert np.abs(out[0, 8, 8, :3].astype(int) - [30, 160, 220]).max() < 40


# ---------------------------------------------------------------- manifold methods
def test_manifold_names_carry_the_model_and_the_render_options():
    plain, pixel, keep, seed, wrapped = make_methods(["manifold", "manifold:default+pixel", "manifold+keep",
                                                      "manifold:seed", "manifold:default+keep+wrap"])
    assert (plain.name, plain.options) == ("manifold", RenderOptions("auto", "auto", "auto"))  # upscale's defaults
    assert (pixel.name, pixel.options) == ("manifold:default+pixel", RenderOptions("auto", "keep", "cut"))
    assert (keep.name, keep.options) == ("manifold:default+keep", RenderOptions("auto", "keep", "auto"))
    assert (seed.name, seed.model) == ("manifold:seed", "seed")
    assert wrapped.options == RenderOptions("wrap", "keep", "auto")
    several = make_methods(["manifold"], ["default", "/no/such/model"])
    assert [m.name for m in several] == ["manifold:default", "manifold:model"]


def test_bad_manifold_specs_are_usage_errors():
    for spec, words in (("manifold:default+shiny", "unknown render option 'shiny'"),
                        ("xbrz:fast", "xbrz takes no options")):
        with pytest.raises(UsageError, match=words):
            make_methods([spec])
    with pytest.raises(UsageError, match="twice"):
        make_methods(["manifold", "manifold"])


def test_manifold_pixel_options_render_in_the_source_palette_with_hard_alpha():
    (pixel,) = make_methods(["manifold:default+pixel"])
    out = pixel.upscale(TILES, 16, 16)
    assert set(np.unique(out[..., 3])) <= {0, 255}
    for tile, result in zip(clean(TILES), out):
        visible = result[result[..., 3] > 0][:, :3]
        assert {tuple(c) for c in visible} <= {tuple(c) for c in tile[tile[..., 3] > 0][:, :3]}
    (smooth,) = make_methods(["manifold+smooth"])
    assert not set(np.unique(smooth.upscale(TILES, 16, 16)[..., 3])) <= {0, 255}  # the options made the difference


def test_a_named_model_that_cannot_load_is_a_model_error(tmp_path):
    for model in ("/no/such/model", tmp_path):
        with pytest.raises(ModelError):
            Manifold(model).validate()


def test_a_model_that_breaks_while_rendering_is_a_model_error():
    class Broken:
        def render(self, *args, **kwargs):
            raise RuntimeError("[ONNXRuntimeError] : 2 : INVALID_ARGUMENT : Reshape")

    method = Manifold()
    method.tile_model = Broken()
    with pytest.raises(ModelError, match="failed while rendering .*Reshape"):
        method.upscale(TILES, 16, 16)
