"""Write tests/core/data/embedded-model-outputs.npz: what the embedded models render for fixed
procedural tiles (sizes, resolutions and render options below). tests/core/test_embedded_outputs.py
checks that the runtime still renders exactly these bytes, so a refactoring cannot change a
user's output unnoticed. Run it again, on purpose, only when an embedded model is replaced
(`--all`) or a case is added (the new ones only).

    python scripts/embedded_outputs.py [--all]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from manifold_core.runtime import RenderOptions, TileModel
from manifold_core.synthetic import make_tiles

OUT = Path(__file__).resolve().parent.parent / "tests" / "core" / "data" / "embedded-model-outputs.npz"
# The renders as the decoders draw them (footprints free: recorded when the default model was
# replaced) and as `manifold upscale` finishes them by default (footprints keep, footprints.py).
CASES = [(size, res, {**opts, "footprints": footprints}) for size, res in ((16, (32, 32)), (30, (60, 60)), (16, (40, 48)))
         for opts in ({}, {"palette": "keep", "alpha": "cut"}, {"edges": "wrap"}) for footprints in ("free", "keep")]


def key(model: str, size: int, res: tuple[int, int], opts: dict) -> str:
    """The name of a render; footprints free is left out of it (the renders from before it existed)."""
    named = {k: v for k, v in opts.items() if (k, v) != ("footprints", "free")}
    return f"{model}-{size}-{res[0]}x{res[1]}-" + ("-".join(f"{k}={v}" for k, v in named.items()) or "plain")


def render(model: TileModel, size: int, res: tuple[int, int], opts: dict) -> np.ndarray:
    return np.concatenate(list(model.render(make_tiles(6, size, seed=7), *res, RenderOptions(**opts))))


def main() -> None:
    """Records the renders not yet recorded (all of them with --all, when a model is replaced)."""
    import sys

    outputs = {} if "--all" in sys.argv or not OUT.exists() else dict(np.load(OUT))
    for name in ("default", "seed"):
        model = TileModel.load(name, "cpu")
        for size, res, opts in CASES:
            outputs.setdefault(key(name, size, res, opts), render(model, size, res, opts))
    np.savez_compressed(OUT, **outputs)
    print(f"{OUT}: {len(outputs)} renders")


if __name__ == "__main__":
    main()
