import numpy as np
from eval_helpers import Missing, pixel_doubled

from manifold_core.synthetic import make_tiles
from manifold_core.tiles import checkerboard
from manifold_eval.evaluate import evaluate
from manifold_eval.originals import score_originals
from manifold_eval.scalers import make_methods
from manifold_eval.sheet import contact_sheet, on_checker, originals_sheet


def test_contact_sheet_has_a_row_per_sample_and_a_column_per_method():
    methods = make_methods(["nearest", "bicubic"]) + [Missing()]
    result = evaluate(pixel_doubled(5, 12), methods, 2, ["box", "nearest"], samples=3)
    image = contact_sheet(result)
    assert image.mode == "RGB"
    # 5 columns (original, input, 3 methods) of at least 48 px (24 px tiles doubled), 2 blocks of 3 rows
    assert image.width >= 5 * 48 and image.height >= 2 * 3 * 48


def contains(image: np.ndarray, block: np.ndarray) -> bool:
    """Whether `block` appears exactly somewhere in `image` (both [H, W, 3])."""
    windows = np.lib.stride_tricks.sliding_window_view(image, block.shape[:2], axis=(0, 1))
    corner = (windows[..., :4, :4] == block[:4, :4].transpose(2, 0, 1)).all(axis=(2, 3, 4))
    return any((windows[y, x] == block.transpose(2, 0, 1)).all() for y, x in zip(*np.nonzero(corner)))


def test_original_and_results_are_drawn_pixel_doubled_on_the_core_checkerboard():
    result = evaluate(pixel_doubled(1, 12), make_methods(["nearest"]), 2, ["box"], samples=1)
    image = np.asarray(contact_sheet(result, zoom=2))
    ref = result.sample_references[0]
    expected = np.asarray(on_checker(ref, 2))
    assert expected.shape == (48, 48, 3)
    assert contains(image, expected)
    clear = np.asarray(on_checker(np.zeros((4, 4, 4), np.uint8), 2, cell=4))
    assert (clear == np.rint(checkerboard(8, 8, 4) * 255)).all()  # the one checkerboard, core/tiles.py's


def test_originals_sheet_shows_each_methods_upscale():
    tiles = list(make_tiles(3, 8, seed=2))
    result = score_originals(tiles, make_methods(["nearest", "mmpx"]), 2, samples=2)
    image = np.asarray(originals_sheet(result, zoom=2))
    assert contains(image, np.asarray(on_checker(result.sample_outputs["mmpx"][1], 2)))
    assert contains(image, np.asarray(on_checker(result.sample_sources[0], 2)))
