"""What the runtime is compared with besides the anchor: the embedded models and Real-ESRGAN-ncnn."""

from __future__ import annotations

from pathlib import Path

from manifold_core.runtime import EMBEDDED_MODELS, load_card


def load_realesrgan():
    """(Real-ESRGAN method of manifold_eval.scalers, None) or (None, why it cannot run here)."""
    try:
        from manifold_eval.scalers import RealEsrgan
    except ImportError as exc:
        return None, f"manifold_eval cannot load ({exc}): pip install 'manifold-tiles[eval]'"
    method = RealEsrgan()
    reason = method.missing()
    return (None, reason) if reason else (method, None)


def same_folder(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def anchored_reference(model_dir: Path) -> Path | None:
    """The embedded model a model without the anchor is compared with: the first embedded model (seed,
    then default) that has the anchor, other than `model_dir` itself."""
    from .anchor import anchor_applies

    for name in ("seed", "default"):  # the seed model first: the anchor re-implements its decoder
        folder = EMBEDDED_MODELS[name]
        if (folder / "model.json").is_file() and not same_folder(folder, model_dir) and anchor_applies(load_card(folder)):
            return folder
    return None


def upscale_models(model_dir: Path | None, notes: list[str]) -> dict[str, Path]:
    """The models the upscalers section runs, by label: each embedded model (default, seed) once, and a
    --model folder that is none of them (labelled by its folder name)."""
    models: dict[str, Path] = {}
    for name, folder in EMBEDDED_MODELS.items():
        if not (folder / "model.json").is_file():
            notes.append(f"{name}: no embedded model at {folder}")
        elif not any(same_folder(folder, f) for f in models.values()):
            models[name] = folder
    if model_dir is not None and not any(same_folder(model_dir, f) for f in models.values()):
        models[Path(model_dir).name] = Path(model_dir)
    return models
