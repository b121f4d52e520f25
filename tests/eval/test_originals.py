import numpy as np
import pytest

from manifold_core.errors import ModelError
from manifold_core.synthetic import make_tiles
from manifold_eval.metrics import PSNR_CAP
from manifold_eval.originals import output_size, score_originals
from manifold_eval.scalers import Method, make_methods

TILES = list(make_tiles(6, 8, seed=7, transparent_share=0.5))  # crisp, few colours, alpha 0 or 255


class Shifted(Method):
    """Nearest, moved one output pixel to the right: a shift consistency must see."""

    name, label = "shifted", "shifted"

    def upscale(self, tiles, height, width):
        big = tiles.repeat(height // tiles.shape[1], axis=1).repeat(width // tiles.shape[2], axis=2)
        return np.roll(big, 1, axis=2)


def test_nearest_is_consistent_in_palette_and_hard_and_a_blur_is_not():
    result = score_originals(TILES, make_methods(["nearest", "bicubic", "mmpx"]) + [Shifted()], 2)
    assert result.tiles == 6 and result.hard_alpha_tiles > 0
    nearest, bicubic, mmpx, shifted = (result.row(n) for n in ("nearest", "bicubic", "mmpx", "shifted"))
    assert (nearest.consistency, nearest.palette, nearest.alpha_hardness) == (PSNR_CAP, 1.0, 1.0)
    assert mmpx.palette == 1.0 and mmpx.alpha_hardness == 1.0 and 10 < mmpx.consistency < PSNR_CAP
    assert bicubic.palette < 0.95 and bicubic.alpha_hardness < 1.0 and bicubic.consistency < PSNR_CAP
    assert shifted.consistency < 40 and shifted.palette == 1.0  # its colours are right, its place is not
    assert result.sample_outputs["mmpx"][0].shape == (16, 16, 4)


def test_scales_a_method_cannot_do_are_notes_and_fractional_scales_round_the_size():
    result = score_originals(TILES[:2], make_methods(["mmpx", "bicubic"]), 1.5)
    assert result.row("mmpx").note.startswith("MMPX does 2x and 4x only") and result.row("mmpx").palette is None
    assert result.row("bicubic").consistency > 10 and output_size(8, 7, 1.5) == (12, 10)
    data = result.as_dict()
    assert data["mode"] == "originals" and set(data["results"][0]) == {
        "method", "label", "consistency_psnr", "palette_fidelity", "alpha_hardness", "tiles_per_s", "seconds", "note"}


def test_empty_tiles_are_left_out_and_a_model_error_stops_the_run():
    empty = np.zeros((8, 8, 4), np.uint8)
    assert score_originals([empty] + TILES[:1], make_methods(["nearest"]), 2).left_out == 1

    class BrokenModel(Method):
        name, label = "brokenmodel", "broken model"

        def upscale(self, tiles, height, width):
            raise ModelError("mine: broken")

    with pytest.raises(ModelError):
        score_originals(TILES[:1], [BrokenModel()], 2)
