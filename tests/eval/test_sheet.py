import numpy as np
from PIL import Image
from test_evaluate import Missing, pixel_doubled

from manifold_eval.evaluate import evaluate
from manifold_eval.scalers import make_methods
from manifold_eval.sheet import contact_sheet, on_checker


def test_contact_sheet_has_a_row_per_sample_and_a_column_per_method(tmp_path):
    methods = make_methods(["nearest", "bicubic"]) + [Missing()]
    result = evaluate(pixel_doubled(5, 12), methods, 2, ["box", "nearest"], samples=3)
    path = contact_sheet(result, tmp_path / "sheet.png")
    with Image.open(path) as image:
        width, height = image.size
        assert image.mode == "RGB"
    # 5 columns (original, input, 3 methods) of at least 48 px (24 px tiles doubled), 2 blocks of 3 rows
    assert width >= 5 * 48 and height >= 2 * 3 * 48


def contains(image: np.ndarray, block: np.ndarray) -> bool:
    """Whether `block` appears exactly somewhere in `image` (both [H, W, 3])."""
    windows = np.lib.stride_tricks.sliding_window_view(image, block.shape[:2], axis=(0, 1))
    corner = (windows[..., :4, :4] == block[:4, :4].transpose(2, 0, 1)).all(axis=(2, 3, 4))
    return any((windows[y, x] == block.transpose(2, 0, 1)).all() for y, x in zip(*np.nonzero(corner)))


def test_original_and_results_are_drawn_pixel_doubled_on_a_checkerboard(tmp_path):
    result = evaluate(pixel_doubled(1, 12), make_methods(["nearest"]), 2, ["box"], samples=1)
    image = np.asarray(Image.open(contact_sheet(result, tmp_path / "sheet.png", zoom=2)).convert("RGB"))
    ref = result.sample_references[0]
    expected = np.asarray(on_checker(ref, 2))
    assert expected.shape == (48, 48, 3)
    assert contains(image, expected)
