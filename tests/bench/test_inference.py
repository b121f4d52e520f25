"""The inference section: what the runtime is compared with for each kind, and the FLOPs it reports.
No timing assertions: these check what is compared and counted, not how fast anything is."""

import shutil

import pytest
from bench_helpers import counted_flops, fewer_tiles, text

from manifold_bench import suite
from manifold_bench.references import load_realesrgan
from manifold_core import runtime
from manifold_export.onnx_export import WEIGHTS


@pytest.fixture(autouse=True)
def few_tiles(monkeypatch):
    fewer_tiles(monkeypatch)


def test_inference_without_weights_skips_the_anchor_and_still_counts_flops(tiny_model_dir, tmp_path):
    old = tmp_path / "old-export"
    shutil.copytree(tiny_model_dir, old)
    (old / WEIGHTS).unlink()
    result = suite.run(quick=True, model=old, data=tmp_path / "no-sheets", only=["inference"])
    assert any(n.startswith("anchor skipped") and WEIGHTS in n for n in result["notes"])
    assert "anchor_max_abs_diff" not in result["inference"]
    assert "matmul" in result  # what inference needs runs with it
    for row in result["inference"]["rows"]:
        assert "anchor_tiles_per_s" not in row and "fp32_vs_anchor" not in row
        assert (row["encoder_flops"], row["decoder_flops"]) == counted_flops(old, row["tile"], row["res"])
    assert not any("anchor" in t["target"] for t in result["targets"])


def test_a_local_model_is_compared_with_the_anchored_model_and_realesrgan(monkeypatch, tiny_local_model_dir,
                                                                           tiny_model_dir, tmp_path):
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "seed", tiny_model_dir)
    result = suite.run(quick=True, model=tiny_local_model_dir, data=tmp_path / "no-sheets", only=["inference"])
    assert result["model"]["kind"] == "local"
    data = result["inference"]
    assert "anchor_max_abs_diff" not in data and data["reference"] == str(tiny_model_dir)
    assert any("local-kind" in n for n in result["notes"])
    esr = load_realesrgan()[0] is not None
    for row in data["rows"]:
        assert row["tile"] == 32 and "anchor_tiles_per_s" not in row
        assert row["reference_tiles_per_s"] > 0 and row["fp32_vs_reference"] > 0
        assert ("fp32_vs_realesrgan" in row) == (esr and row["res"] in (64, 128))  # Real-ESRGAN: 2x to 4x
        assert (row["encoder_flops"], row["decoder_flops"]) == counted_flops(tiny_local_model_dir, 32, row["res"])
    assert not any("anchor" in t["target"] for t in result["targets"])
    shown = text(suite.tables(result))
    assert "anchored model tiles/s" in shown and "anchor tiles/s" not in shown
    assert ("Real-ESRGAN tiles/s" in shown) == esr


def test_a_local_model_without_an_anchored_model_says_so(monkeypatch, tiny_local_model_dir, tmp_path):
    monkeypatch.setattr("manifold_bench.sections.inference.RESOLUTIONS", (32,))
    for name in ("default", "seed"):
        monkeypatch.setitem(runtime.EMBEDDED_MODELS, name, tiny_local_model_dir)
    result = suite.run(quick=True, model=tiny_local_model_dir, data=tmp_path / "no-sheets", only=["inference"])
    assert "no embedded model with the anchor to compare with" in result["notes"]
    assert not any("reference_tiles_per_s" in r for r in result["inference"]["rows"])


def test_flops_count_every_pass_of_a_scale_step_model(monkeypatch, tiny_local_model_dir, tmp_path):
    """A card with scale_step 2 renders 32 -> 128 as 32 -> 64 -> 128: both passes are counted."""
    import json

    stepped = tmp_path / "stepped"
    shutil.copytree(tiny_local_model_dir, stepped)
    card = json.loads((stepped / "model.json").read_text())
    card["scale_step"] = 2
    (stepped / "model.json").write_text(json.dumps(card))
    monkeypatch.setattr("manifold_bench.sections.inference.RESOLUTIONS", (64, 128))
    for name in ("default", "seed"):
        monkeypatch.setitem(runtime.EMBEDDED_MODELS, name, tiny_local_model_dir)
    rows = {r["res"]: r for r in suite.run(quick=True, model=stepped, data=tmp_path / "no-sheets",
                                           only=["inference"])["inference"]["rows"]}
    assert (rows[64]["passes"], rows[128]["passes"]) == (1, 2)
    for res, row in rows.items():
        assert (row["encoder_flops"], row["decoder_flops"]) == counted_flops(stepped, 32, res)
    one_pass = counted_flops(tiny_local_model_dir, 32, 128)
    assert rows[128]["encoder_flops"] > one_pass[0]  # the encoder ran again on the 64 px pass
