"""The local kind: a feature grid at the input's resolution, a LIIF-style decoder."""

import pytest
import torch
from conftest import tiny_local_config

from manifold_train.config import TrainConfig
from manifold_train.kinds.local_grid import LocalGrid


@pytest.fixture
def model():
    torch.manual_seed(0)
    return LocalGrid(tiny_local_config()).eval()


@pytest.mark.parametrize("h,w", [(8, 8), (16, 16), (24, 24), (32, 32), (48, 48), (16, 24), (7, 13)])
def test_tiles_of_any_size_go_in_as_they_are(model, h, w):
    x = torch.rand(2, 4, h, w)
    grid = model.encoder(model.pad_input(x))
    assert grid.shape == (2, 16 + 4, h + 2, w + 2)  # one cell per pixel, plus the ring
    for out in [(h, w), (2 * h, 2 * w), (3 * h + 1, w // 2 + 1)]:
        image = model.render(grid, *out)
        assert image.shape == (2, 4, *out) and image.min() >= 0 and image.max() <= 1


def test_a_grid_cell_carries_its_input_colour(model):
    x = torch.rand(1, 4, 6, 5)
    grid = model.encoder(model.pad_input(x))
    torch.testing.assert_close(grid[:, 16:, 1:-1, 1:-1], x)


def test_with_no_correction_a_render_is_bilinear_interpolation(model):
    """The decoder's output is a correction to the four cells' blend: zero it and 1x gives the
    input back exactly, 2x gives bilinear interpolation with clamped edges."""
    with torch.no_grad():
        model.decoder.output.weight.zero_()
        model.decoder.output.bias.zero_()
    x = torch.rand(1, 4, 5, 7)
    grid = model.encoder(model.pad_input(x, "clamp"))
    torch.testing.assert_close(model.render(grid, 5, 7), x)
    bilinear = torch.nn.functional.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(model.render(grid, 10, 14), bilinear)


def test_shared_and_per_tile_queries_agree(model):
    x = torch.rand(3, 4, 8, 8)
    grid = model.encoder(model.pad_input(x))
    u = torch.rand(10, 2) * 8 - 0.5
    cell = torch.tensor([0.5, 0.5])
    shared = model.decoder(grid, u, cell)
    per_tile = model.decoder(grid, u.expand(3, -1, -1), cell.expand(3, 2))
    torch.testing.assert_close(shared, per_tile)


def test_wrap_edges_make_a_seamless_tile_upscale_seamlessly(model):
    """A tile that repeats: upscale it with wrap edges, lay it 2x2, and the result equals the
    upscale of the 2x2 layout itself, so the seams are no different from the inside."""
    torch.manual_seed(1)
    tile = torch.rand(1, 4, 8, 8)
    big = tile.repeat(1, 1, 2, 2)
    one = model.upscale(tile, 16, 16, edges="wrap")
    laid = one.repeat(1, 1, 2, 2)
    both = model.upscale(big, 32, 32, edges="wrap")
    torch.testing.assert_close(laid, both, atol=1e-5, rtol=0)


def test_training_query_asks_for_the_original_pixels(model):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 4, 16, 16)
    for _ in range(5):  # several random tasks
        (lr, u, cell), target = model.training_query(x, g, TrainConfig(data=[], out="", pixels_per_tile=32))
        m = lr.shape[-1] - 2 * model.pad
        assert 4 <= m <= 16 and lr.shape == (4, 4, m + 2 * model.pad, m + 2 * model.pad)
        assert u.shape == (4, 32, 2) and target.shape == (4, 32, 4) and cell.shape == (4, 2)
        assert torch.allclose(cell, torch.full_like(cell, m / 16))
        assert u.min() >= -0.5 and u.max() <= m - 0.5  # inside the input's cells
        pred, code = model(lr, u, cell)
        assert pred.shape == target.shape and code is None


def test_a_few_steps_lower_the_upscaling_error():
    from manifold_core.synthetic import make_tiles
    from manifold_core.tiles import rgba_to_channels

    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = LocalGrid(tiny_local_config())
    tiles = torch.from_numpy(rgba_to_channels(make_tiles(32, 16, seed=2), 4)).float() / 255
    before = float(model.validation_mse(tiles))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        inputs, target = model.training_query(tiles, g, TrainConfig(data=[], out="", pixels_per_tile=64))
        loss = model.reconstruction_loss(model(*inputs)[0], target)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(model.validation_mse(tiles)) < before


def test_wrap_padding_of_a_tile_smaller_than_the_padding_matches_numpy(model):
    import numpy as np

    x = torch.rand(1, 4, 3, 2)
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (5, 5), (5, 5)), mode="wrap")
    torch.testing.assert_close(model.pad_input(x, "wrap"), torch.from_numpy(expected))
    expected = np.pad(x.numpy(), ((0, 0), (0, 0), (5, 5), (5, 5)), mode="edge")
    torch.testing.assert_close(model.pad_input(x, "clamp"), torch.from_numpy(expected))
