import numpy as np
import pytest

from manifold_core.errors import UsageError, UserError
from manifold_core.synthetic import make_tiles
from manifold_eval.blind import CHECKER, blind_sheets, zoom_for
from manifold_eval.scalers import Method, make_methods
from manifold_eval.sheet import on_checker

TILES = list(make_tiles(10, 8, seed=4, transparent_share=0.5))
NAMES = [f"tile{i}.png" for i in range(10)]


def contains(image: np.ndarray, block: np.ndarray) -> bool:
    """Whether `block` appears exactly somewhere in `image` (both [H, W, 3])."""
    windows = np.lib.stride_tricks.sliding_window_view(image, block.shape[:2], axis=(0, 1))
    corner = (windows[..., :4, :4] == block[:4, :4].transpose(2, 0, 1)).all(axis=(2, 3, 4))
    return any((windows[y, x] == block.transpose(2, 0, 1)).all() for y, x in zip(*np.nonzero(corner)))


def test_eight_rows_a_sheet_per_scale_and_a_key_for_every_row():
    sheets, key = blind_sheets(NAMES, TILES, make_methods(["nearest", "mmpx"]), (2, 4), seed=3)
    assert [name for name, _ in sheets] == ["blind-2x-1.png", "blind-2x-2.png", "blind-4x-1.png", "blind-4x-2.png"]
    assert list(key["rows"]) == [f"{s}x-row{i}" for s in (2, 4) for i in range(1, 11)]
    assert key["rows"]["2x-row9"]["sheet"] == "blind-2x-2.png" and key["rows"]["4x-row3"]["tile"] == "tile2.png"
    assert key["methods"] == ["nearest", "mmpx"] and key["scales"] == [2, 4] and key["seed"] == 3
    firsts = [row["A"] for row in key["rows"].values()]
    assert set(firsts) == {"nearest", "mmpx"}  # left/right drawn per row, not fixed
    assert all({row["A"], row["B"]} == {"nearest", "mmpx"} for row in key["rows"].values())


def test_the_order_is_seeded():
    methods = make_methods(["nearest", "mmpx"])
    a = blind_sheets(NAMES, TILES, methods, (2,), seed=1)[1]
    assert a == blind_sheets(NAMES, TILES, methods, (2,), seed=1)[1]
    assert a != blind_sheets(NAMES, TILES, methods, (2,), seed=2)[1]


def test_each_row_shows_the_original_and_a_and_b_at_one_size_pixels_repeated():
    methods = make_methods(["nearest", "mmpx"])
    sheets, key = blind_sheets(NAMES[:1], TILES[:1], methods, (2,), seed=0)
    image = np.asarray(sheets[0][1])
    z = zoom_for(16)  # an 8 px tile at 2x is 16 px: shown 12x, 192 px
    assert z == 12
    assert contains(image, np.asarray(on_checker(TILES[0], 2 * z, CHECKER)))
    a = methods[0] if key["rows"]["2x-row1"]["A"] == "nearest" else methods[1]
    assert contains(image, np.asarray(on_checker(a.upscale(TILES[0][None], 16, 16)[0], z, CHECKER)))
    assert image.shape[0] > 192 and image.shape[1] > 3 * 192


def test_pairs_that_cannot_work_are_refused():
    for names, scales, words in ((["mmpx", "mmpx"], (2,), "two different"), (["nearest"], (2,), "two different"),
                                 (["nearest", "mmpx"], (3,), "mmpx cannot be compared at 3x"),
                                 (["nearest", "mmpx"], (1.5,), "whole scales")):
        with pytest.raises(UsageError, match=words):
            blind_sheets(NAMES, TILES, [m for n in names for m in make_methods([n])], scales)
    with pytest.raises(UsageError, match="fully transparent"):
        blind_sheets(["e"], [np.zeros((8, 8, 4), np.uint8)], make_methods(["nearest", "mmpx"]), (2,))


def test_a_tool_that_breaks_is_one_user_error():
    class Broken(Method):
        name, label = "broken", "broken"

        def upscale(self, tiles, height, width):
            raise OSError("disk on fire")

    with pytest.raises(UserError, match="broken failed at 2x: OSError: disk on fire"):
        blind_sheets(NAMES, TILES, make_methods(["nearest"]) + [Broken()], (2,))
