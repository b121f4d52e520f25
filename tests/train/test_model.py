"""What every model kind shares: the coordinate convention (the kinds' contract is test_kinds.py)."""

import torch

from manifold_train.model import grid_positions, pixel_axis, pixel_coordinates


def test_pixel_centres_align_a_2x_render_with_the_source_pixels():
    one, two = pixel_coordinates(4), pixel_coordinates(8)
    # each source pixel's centre is the midpoint of the two output pixels over it
    torch.testing.assert_close(one, (two[0::2] + two[1::2]) / 2)
    torch.testing.assert_close(pixel_coordinates(4, "corner"), torch.tensor([-1, -1 / 3, 1 / 3, 1]))
    torch.testing.assert_close(pixel_axis(torch.tensor(4)), one)  # a traced size gives the same axis


def test_grid_positions_are_row_major_x_first():
    xy = grid_positions(2, 3)
    assert xy.shape == (6, 2)
    torch.testing.assert_close(xy[1], torch.tensor([0.0, -0.5]))  # second pixel of the first row
    torch.testing.assert_close(xy[3], torch.tensor([-2 / 3, 0.5]))  # first pixel of the second row
