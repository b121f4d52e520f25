"""The embedded models render exactly the bytes they rendered when they were embedded
(scripts/embedded_outputs.py wrote them): a change of code never changes a user's tiles."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from embedded_outputs import CASES, OUT, key, render

from manifold_core.runtime import TileModel

GOLDEN = np.load(OUT)


@pytest.mark.parametrize("name", ["default", "seed"])
def test_embedded_models_render_the_same_bytes(name):
    model = TileModel.load(name, "cpu")
    for size, res, opts in CASES:
        k = key(name, size, res, opts)
        np.testing.assert_array_equal(render(model, size, res, opts), GOLDEN[k], err_msg=k)
