import numpy as np
import pytest
from eval_helpers import Missing, gradients, pixel_doubled

from manifold_core.errors import ModelError
from manifold_core.synthetic import make_tiles
from manifold_eval.degrade import nearest, phases
from manifold_eval.evaluate import evaluate
from manifold_eval.metrics import PSNR_CAP, colour, psnr_from_mse
from manifold_eval.scalers import Method, make_methods


def test_nearest_brings_back_pixel_doubled_art_exactly():
    result = evaluate(pixel_doubled(), make_methods(["nearest", "bicubic"]), 2, ["nearest", "box"])
    for degradation in ("nearest", "box"):  # a 2x2 block's mean and any of its pixels are the art pixel
        row = result.row(degradation, "nearest")
        assert row.psnr == PSNR_CAP and row.ssim == pytest.approx(1.0) and row.alpha_psnr == PSNR_CAP
        assert result.row(degradation, "bicubic").psnr < PSNR_CAP
    assert result.tiles == 6 and result.alpha_tiles > 0


def test_bicubic_beats_nearest_on_smooth_gradients():
    result = evaluate(gradients(), make_methods(["nearest", "bicubic", "lanczos"]), 2, ["box"])
    assert result.row("box", "bicubic").psnr > result.row("box", "nearest").psnr + 3
    assert result.row("box", "lanczos").psnr > result.row("box", "nearest").psnr + 3
    assert result.row("box", "bicubic").alpha_psnr is None  # opaque tiles: no alpha score
    assert result.alpha_tiles == 0


def test_the_embedded_model_runs_and_scores_below_exact():
    # the model's own pixels: back-projection (footprints keep) gives pixel-doubled art back exactly
    result = evaluate(pixel_doubled(4), make_methods(["manifold+free"]), 2, ["box"])
    row = result.row("box", "manifold:default+free")
    assert row.note is None and 5 < row.psnr < PSNR_CAP and 0 < row.ssim < 1 and row.tiles_per_s > 0


def test_fractional_scale_marks_integer_only_methods_na():
    result = evaluate(gradients(2), make_methods(["bicubic", "scalenx", "hqx"]), 1.5, ["box", "nearest"])
    assert result.row("box", "bicubic").psnr > 20
    assert result.row("nearest", "scalenx").note == "ScaleNx does 2x to 4x only (Scale4x: Scale2x twice)"
    assert result.row("box", "hqx").psnr is None


class Broken(Method):
    name, label = "broken", "broken"

    def upscale(self, tiles, height, width):
        raise OSError("disk on fire")


class WrongSize(Method):
    name, label = "wrong", "wrong"

    def upscale(self, tiles, height, width):
        return np.zeros((len(tiles), height + 1, width, 4), np.uint8)


def test_a_missing_or_broken_method_is_a_note_not_a_crash():
    result = evaluate(gradients(2), [Missing(), Broken(), WrongSize()] + make_methods(["nearest"]), 2, ["box"])
    assert result.row("box", "ghost").note == "ghostscale not installed: apt-get install ghostscale"
    assert "disk on fire" in result.row("box", "broken").note
    assert result.row("box", "wrong").note.startswith("failed")
    assert result.row("box", "nearest").psnr > 10
    assert result.sample_outputs["box"]["ghost"] is None


def test_empty_and_too_small_tiles_are_left_out():
    empty = np.zeros((16, 16, 4), np.uint8)
    tiny = np.full((3, 3, 4), 255, np.uint8)  # 1 px once shrunk by 2
    result = evaluate([empty, tiny] + gradients(2), make_methods(["nearest"]), 2, ["box"])
    assert result.tiles == 2 and result.left_out == 2


def test_tiles_of_mixed_sizes_are_grouped_and_json_has_the_keys():
    tiles = gradients(2, 24) + gradients(2, 10) + [make_tiles(1, 9, seed=1)[0]]  # 9 px: scored as 8 px
    result = evaluate(tiles, make_methods(["nearest", "bicubic"]), 2, ["box", "nearest"], samples=3)
    assert result.tiles == 5 and len(result.sample_references) == 3
    data = result.as_dict()
    assert set(data) == {"scale", "degradations", "tiles", "alpha_tiles", "left_out", "phases", "methods", "results"}
    assert len(data["results"]) == 4 and data["phases"] == {"box": 1, "nearest": 4}
    assert set(data["results"][0]) == {"degradation", "method", "label", "psnr", "ssim", "alpha_psnr", "psnr_min",
                                       "psnr_max", "phases", "tiles_per_s", "seconds", "note"}


def test_nearest_is_pooled_over_every_phase_with_the_spread():
    tiles = [t for t in make_tiles(4, 12, seed=5)]
    result = evaluate(tiles, make_methods(["nearest", "bicubic"]), 2, ["nearest", "box"])
    row = result.row("nearest", "bicubic")
    assert row.phases == 4 and result.row("box", "bicubic").phases == 1
    # by hand: every phase shrunk, brought back by bicubic, squared error over all of them
    (bicubic,) = make_methods(["bicubic"])
    errors = []
    for phase in phases(2):
        out = bicubic.upscale(np.stack([nearest(t, 2, phase) for t in tiles]), 12, 12)
        errors.append(np.mean((colour(np.stack(tiles)) - colour(out)) ** 2))
    assert row.psnr == pytest.approx(psnr_from_mse(float(np.mean(errors))))
    assert row.psnr_min == pytest.approx(psnr_from_mse(max(errors)))
    assert row.psnr_max == pytest.approx(psnr_from_mse(min(errors)))
    assert row.psnr_min < row.psnr_max  # these tiles look different at each phase
    assert result.row("box", "bicubic").psnr_min == result.row("box", "bicubic").psnr


def test_phase_counts_per_scale():
    tiles = gradients(1, 12)
    for scale, count in ((2, 4), (3, 9), (4, 16), (1.5, 8)):
        result = evaluate(tiles, make_methods(["nearest"]), scale, ["nearest"])
        assert result.row("nearest", "nearest").phases == count == len(result.phases["nearest"])
    assert len(evaluate(tiles, make_methods(["nearest"]), 1.5, ["nearest"], phase_count=3).phases["nearest"]) == 3


class PhaseOracle(Method):
    """Exact when the tile was shrunk at the centre phase (it keeps the reference), else wrong."""

    name, label = "oracle", "oracle"

    def __init__(self, references, centre_inputs):
        self.answers = {c.tobytes(): r for c, r in zip(centre_inputs, references)}

    def upscale(self, tiles, height, width):
        return np.stack([self.answers.get(t.tobytes(), np.zeros((height, width, 4), np.uint8)) for t in tiles])


def test_a_method_that_leans_on_one_phase_is_not_rewarded_for_it():
    rng = np.random.default_rng(0)
    tiles = [np.concatenate([rng.integers(0, 256, (12, 12, 3)), np.full((12, 12, 1), 255)], -1).astype(np.uint8)
             for _ in range(3)]
    oracle = PhaseOracle(tiles, [nearest(t, 2, (0.75, 0.75)) for t in tiles])  # pixel 1, 3, 5: the old phase
    row = evaluate(tiles, [oracle], 2, ["nearest"]).row("nearest", "oracle")
    assert row.psnr_max == PSNR_CAP and row.psnr_min < 15 and row.psnr < 15


def test_a_model_error_stops_the_evaluation():
    class BrokenModel(Method):
        name, label = "brokenmodel", "broken model"

        def upscale(self, tiles, height, width):
            raise ModelError("mine: the model failed while rendering")

    with pytest.raises(ModelError):
        evaluate(gradients(1), [BrokenModel()], 2, ["box"])
