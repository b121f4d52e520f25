"""Write tests/core/data/embedded-model-outputs.npz: what the embedded models render for fixed
procedural tiles (sizes, resolutions and render options below). tests/core/test_embedded_outputs.py
checks that the runtime still renders exactly these bytes, so a refactoring cannot change a
user's output unnoticed. Run it again, on purpose, only when an embedded model is replaced.

    python scripts/embedded_outputs.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from manifold_core.runtime import RenderOptions, TileModel
from manifold_core.synthetic import make_tiles

OUT = Path(__file__).resolve().parent.parent / "tests" / "core" / "data" / "embedded-model-outputs.npz"
CASES = [(size, res, opts) for size, res in ((16, (32, 32)), (30, (60, 60)), (16, (40, 48)))
         for opts in ({}, {"palette": "keep", "alpha": "cut"}, {"edges": "wrap"})]


def key(model: str, size: int, res: tuple[int, int], opts: dict) -> str:
    return f"{model}-{size}-{res[0]}x{res[1]}-" + ("-".join(f"{k}={v}" for k, v in opts.items()) or "plain")


def render(model: TileModel, size: int, res: tuple[int, int], opts: dict) -> np.ndarray:
    return np.concatenate(list(model.render(make_tiles(6, size, seed=7), *res, RenderOptions(**opts))))


def main() -> None:
    outputs = {}
    for name in ("default", "seed"):
        model = TileModel.load(name, "cpu")
        for size, res, opts in CASES:
            outputs[key(name, size, res, opts)] = render(model, size, res, opts)
    np.savez_compressed(OUT, **outputs)
    print(f"{OUT}: {len(outputs)} renders")


if __name__ == "__main__":
    main()
