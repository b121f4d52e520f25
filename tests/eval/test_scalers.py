import os

import numpy as np
import pytest

from manifold_core.synthetic import make_tiles
from manifold_eval.scalers import (
    METHOD_NAMES,
    XBRZ_PAD,
    Hqx,
    Manifold,
    RealEsrgan,
    Xbrz,
    clean,
    import_hqx,
    make_methods,
    mosaic,
    unmosaic,
)

TILES = make_tiles(3, 8, seed=3, transparent_share=0.5)  # [3, 8, 8, 4], some with transparency


def ready(method):
    """The method, when it can run here; else skip with its reason (fail under CI=true, where
    `make test` has installed every tool: scripts/install_test_tools.sh and the [eval] extra)."""
    reason = method.missing()
    if reason:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"{reason}; under CI this test must run", pytrace=False)
        pytest.skip(reason)
    return method


@pytest.mark.parametrize("name", [n for n in METHOD_NAMES])
def test_every_method_returns_rgba_uint8_of_the_asked_size_at_2x(name):
    (method,) = make_methods([name])
    ready(method)
    assert method.supports(2)
    method.prepare(2)
    for tiles in (TILES, TILES[:, :5, :7].copy()):  # square and not
        out = method.upscale(tiles, 2 * tiles.shape[1], 2 * tiles.shape[2])
        assert out.shape == (len(tiles), 2 * tiles.shape[1], 2 * tiles.shape[2], 4) and out.dtype == np.uint8


def test_integer_only_methods_say_so():
    methods = {m.name: m for m in make_methods()}
    for name in ("scalenx", "hqx", "realesrgan"):
        assert methods[name].supports(3) and not methods[name].supports(1.5) and not methods[name].supports(5)
    assert methods["xbrz"].supports(6) and not methods["xbrz"].supports(7)
    assert all(methods[n].supports(1.5) for n in ("nearest", "bicubic", "lanczos", "manifold"))
    assert methods["scalenx"].title(3) == "Scale3x" and methods["hqx"].title(4) == "hq4x"


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


def test_manifold_method_uses_the_embedded_default_model_and_names_several():
    method = Manifold()
    assert method.missing() is None
    several = make_methods(["manifold"], ["default", "/no/such/model"])
    assert [m.name for m in several] == ["manifold:default", "manifold:model"]
    assert "not a model" in several[1].missing()


def test_unknown_method_is_a_usage_error():
    from manifold_core.errors import UsageError

    with pytest.raises(UsageError, match="choose from"):
        make_methods(["waifu2x"])
