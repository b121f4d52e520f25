"""`manifold bench` end to end through the same code as the command: every section of a shortened
run (tiny model, few tiles), its targets, its tables and its figure. No timing assertions."""

import json

import pytest
from bench_helpers import counted_flops, fewer_tiles, text
from conftest import tiny_config

from manifold_bench import suite
from manifold_bench.references import load_realesrgan
from manifold_bench.registry import load_sections
from manifold_bench.sections.training import training
from manifold_bench.sections.upscalers import UPSCALE_TARGET
from manifold_core import runtime
from manifold_core.errors import ModelError
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import rgba_to_channels


@pytest.mark.slow  # starts `manifold upscale` processes to time them (about 10 s); kept in `make test`
def test_bench_json_has_every_section_and_target(monkeypatch, tiny_model_dir, tmp_path):
    fewer_tiles(monkeypatch)
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "default", tiny_model_dir)  # the upscalers: this model alone
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "seed", tmp_path / "no-seed-model")
    result = suite.run(quick=True, model=tiny_model_dir, data=tmp_path / "no-sheets", memory_tiles=20,
                       only=["inference", "upscalers", "int8", "pixel_budget", "memory"])
    tiles = rgba_to_channels(make_tiles(32, 16, seed=1), 4)
    result["training"] = training(tiles, rounds=1, quick=True, model=tiny_config(), batch_size=8)  # a tiny model's
    result["targets"] = suite.targets(result)
    result = json.loads(json.dumps(result))  # JSON-ready
    assert {"machine", "model", "matmul", "inference", "upscalers", "int8", "startup", "memory", "training",
            "targets", "notes"} == set(result) - {"quick"}
    assert "pixel_budget: full run only (--quick leaves it out)" in result["notes"]
    assert result["model"]["kind"] == "global"
    assert result["matmul"]["fp32_gflops"] > 0 and "date" in result["machine"] and result["machine"]["cores"] >= 1
    rows = result["inference"]["rows"]
    assert [r["res"] for r in rows] == [32, 64, 128]
    for row in rows:
        assert {"runtime_fp32_tiles_per_s", "runtime_int8_tiles_per_s", "anchor_tiles_per_s", "fp32_vs_anchor",
                "int8_vs_anchor", "fp32_gflops", "fp32_of_matmul"} <= set(row)
        assert (row["encoder_flops"], row["decoder_flops"]) == counted_flops(tiny_model_dir, row["tile"], row["res"])
    assert rows[0]["decoder_flops"] < rows[1]["decoder_flops"]  # 4x the pixels
    assert result["inference"]["anchor_max_abs_diff"] < 1e-4
    esr = load_realesrgan()[0] is not None
    assert [r["method"] for r in result["upscalers"]["rows"]] == (["default", "realesrgan"] if esr else ["default"])
    assert (result["upscalers"]["in_px"], result["upscalers"]["out_px"]) == (32, 64)
    assert result["int8"]["source"].startswith("procedural") and "psnr_loss_db" in result["int8"]
    assert result["startup"]["upscale_one_tile_s"] > 0 and result["memory"]["tiles"] == 20
    assert result["memory"]["peak_rss_mb"] > 10
    assert result["memory"]["vs_one_tile"] == pytest.approx(result["memory"]["peak_rss_mb"]
                                                            / result["startup"]["one_tile_peak_rss_mb"], abs=0.01)
    names = [t["target"] for t in result["targets"]]
    assert len(names) == len(set(names)) == 8 and UPSCALE_TARGET in names
    up = next(t for t in result["targets"] if t["target"] == UPSCALE_TARGET)
    assert ("Real-ESRGAN-ncnn (" in up["text"]) == esr
    shown = text(suite.tables(result))
    for title in ("matmul", "inference (tiles in, RGBA tiles out) vs anchor", "upscalers: the same 8 tiles",
                  "int8 quality", "training step", "start-up", "memory", "notes", "targets"):
        assert title in shown, title
    assert all(t["text"] in shown for t in result["targets"])
    suite.plot(result, tmp_path / "bench.png")
    from PIL import Image

    assert Image.open(tmp_path / "bench.png").size[0] > 1000  # two panels side by side


def test_tables_and_targets_come_from_the_sections_in_the_result():
    """Read back from JSON (no run): each section's tables, in the result's order; unknown keys ignored."""
    int8 = {"tiles": 5, "source": "s", "psnr_fp32_db": 30.0, "psnr_int8_db": 29.5, "psnr_loss_db": 0.5,
            "int8_vs_fp32_psnr_db": 60.0, "int8_vs_fp32_psnr_db_at_2x": 55.0}
    result = {"quick": False, "machine": {"cores": 2, "date": "2026-01-01"}, "int8": int8,
              "model": {"dir": "m", "kind": "local", "preset": ""}, "startup": {
                  "upscale_one_tile_s": 1.5, "upscale_one_tile_int8_s": 1.6, "vs_python_start": 20.0,
                  "one_tile_peak_rss_mb": 90.0}, "notes": ["a note"]}
    result["targets"] = suite.targets(result)
    assert [(t["target"].split(":")[0], t["met"]) for t in result["targets"]] == [
        ("int8 PSNR loss against fp32 on held-out tiles", False), ("start-up", False)]
    shown = text(suite.tables(result))
    assert shown.index("int8 quality") < shown.index("start-up") < shown.index("a note") < shown.index("targets")
    assert "0.500 dB" in shown and "1.50 s / 1.60 s" in shown


def test_plot_draws_only_the_sections_that_have_a_panel(tmp_path):
    assert set(suite.drawable()) == {"inference", "training"}
    assert suite.plottable(["int8"]) == [] and suite.plottable(["memory", "training"]) == ["training"]
    with pytest.raises(ValueError, match="nothing to plot"):
        suite.plot({"machine": {"cores": 1, "date": "x"}, "int8": {}}, tmp_path / "x.png")


def test_a_broken_model_is_a_model_error_before_anything_runs(tmp_path, monkeypatch):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.json").write_text("[]")
    ran = []
    for section in load_sections().values():
        monkeypatch.setattr(section, "run", lambda ctx, results, name=section.name: ran.append(name))
    with pytest.raises(ModelError, match="not a JSON object"):
        suite.run(model=broken, data=tmp_path)
    assert ran == []
