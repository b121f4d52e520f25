"""scripts/tile_cutting.py: grids, packed sprites, colour keys and the measures of a set."""

import sys
from pathlib import Path

import numpy as np

# The scripts run as files (python scripts/tile_sets.py), not as an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

from tile_cutting import border_key, colour_count, colour_key, components, grid_cells, hard_alpha, opaque, sprite_boxes, summary


def rgba(h, w, colour=(0, 0, 0), alpha=255):
    t = np.zeros((h, w, 4), np.uint8)
    t[..., :3], t[..., 3] = colour, alpha
    return t


def test_grid_cells_steps_over_offset_and_border():
    sheet = np.arange(2 * 7 * 11 * 4, dtype=np.uint32).reshape(7, 11, 8)[..., :4].astype(np.uint8)
    cells = list(grid_cells(sheet, 3, 2, x0=1, y0=1, border=1))
    # columns at x = 1, 5 (a third would need x 9..11, past the edge); rows at y = 1, 4
    assert [(r, c) for r, c, _ in cells] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert np.array_equal(cells[3][2], sheet[4:6, 5:8])


def test_components_joins_diagonal_neighbours_and_keeps_apart_the_rest():
    mask = np.zeros((6, 8), bool)
    mask[0, 0] = mask[1, 1] = True  # diagonal: one region
    mask[4:6, 5:8] = True
    assert components(mask) == [(0, 0, 2, 2), (4, 5, 6, 8)]


def test_sprite_boxes_filters_by_longer_side():
    mask = np.zeros((20, 20), bool)
    mask[0, 0] = True  # a dot
    mask[5:9, 5:15] = True  # 4 x 10
    assert sprite_boxes(mask, smallest=8, largest=12) == [(5, 5, 9, 15)]
    assert sprite_boxes(mask, smallest=1, largest=8) == [(0, 0, 1, 1)]


def test_colour_key_clears_exactly_that_colour():
    t = rgba(2, 2, (255, 255, 255))
    t[0, 0, :3] = (254, 255, 255)
    out = colour_key(t, (255, 255, 255))
    assert out[..., 3].tolist() == [[255, 0], [0, 0]]
    assert t[..., 3].min() == 255  # the input is left as it was


def test_border_key_keeps_the_colour_inside_a_shape():
    t = rgba(5, 5, (0, 0, 0))
    t[1:4, 1:4, :3] = (200, 10, 10)  # a red ring around a black centre
    t[2, 2, :3] = (0, 0, 0)
    out = border_key(t, (0, 0, 0))
    assert out[2, 2, 3] == 255  # the black centre is art: it does not touch the border
    assert out[0, :, 3].max() == 0 and out[:, 4, 3].max() == 0
    assert (out[1:4, 1:4, 3] == 255).all()


def test_colour_count_ignores_what_is_not_drawn():
    t = rgba(2, 2, (10, 20, 30))
    t[0, 0] = (99, 99, 99, 0)  # a colour under alpha 0
    t[0, 1, :3] = (1, 2, 3)
    assert colour_count(t) == 2
    assert colour_count(rgba(2, 2, alpha=0)) == 0


def test_alpha_measures():
    t = rgba(2, 2)
    assert hard_alpha(t) and opaque(t)
    t[0, 0, 3] = 0
    assert hard_alpha(t) and not opaque(t)
    t[0, 1, 3] = 128
    assert not hard_alpha(t)


def test_summary_counts_sizes_colours_alpha_and_crispness():
    flat = rgba(16, 16, (5, 5, 5))
    soft = rgba(32, 16, (5, 5, 5), alpha=100)
    busy = rgba(16, 16)
    busy[..., 0] = np.arange(256).reshape(16, 16)  # 256 colours, hard alpha
    info = summary([flat, soft, busy])
    assert info["tiles"] == 3
    assert info["sizes"] == {"16x16": 2, "16x32": 1}  # width x height
    assert info["colours"]["median"] == 1 and info["colours"]["p90"] > 200
    assert info["alpha"] == {"hard": round(2 / 3, 3), "opaque": round(2 / 3, 3)}
    assert info["crisp"] == round(1 / 3, 3)  # only `flat`: `soft` has soft alpha, `busy` too many colours
    assert summary([])["tiles"] == 0
