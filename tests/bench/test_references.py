"""Which embedded models the upscalers run, and which one a model without the anchor is compared with."""

from manifold_bench.references import anchored_reference, upscale_models
from manifold_core import runtime


def test_embedded_models_in_either_place(monkeypatch, tiny_model_dir, tiny_local_model_dir, tmp_path):
    """Whichever kind sits at default and seed, the upscalers run each model once and a model without the
    anchor is compared with the embedded one that has it."""
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "default", tiny_local_model_dir)
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "seed", tiny_model_dir)
    notes = []
    assert upscale_models(None, notes) == {"default": tiny_local_model_dir, "seed": tiny_model_dir}
    assert upscale_models(tiny_model_dir, notes) == {"default": tiny_local_model_dir, "seed": tiny_model_dir}
    assert anchored_reference(tiny_local_model_dir) == tiny_model_dir and notes == []
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "default", tiny_model_dir)  # the global model as the default
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "seed", tmp_path / "no-seed-model")
    assert upscale_models(tiny_local_model_dir, notes) == {"default": tiny_model_dir, "model": tiny_local_model_dir}
    assert notes == [f"seed: no embedded model at {tmp_path / 'no-seed-model'}"]
    assert anchored_reference(tiny_local_model_dir) == tiny_model_dir
    assert anchored_reference(tiny_model_dir) is None  # not compared with itself


def test_the_same_model_at_both_names_runs_once(monkeypatch, tiny_model_dir):
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "default", tiny_model_dir)
    monkeypatch.setitem(runtime.EMBEDDED_MODELS, "seed", tiny_model_dir)
    notes = []
    assert upscale_models(tiny_model_dir, notes) == {"default": tiny_model_dir} and notes == []
