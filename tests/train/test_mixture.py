"""The mixture kind: every output pixel mixes the source pixels around it (the contract is test_kinds.py)."""

import pytest
import torch

from manifold_train.kinds.mixture import NEIGHBOURS, Mixture, bilinear_prior
from manifold_train.task import premultiply


@pytest.fixture
def model():
    torch.manual_seed(0)
    return Mixture(Mixture.tiny()).eval()


def test_a_new_model_is_bilinear_interpolation(model):
    """Zero output layer: the weights are the bilinear prior, so a render is (almost exactly) bilinear."""
    x = premultiply(torch.rand(2, 4, 8, 8))
    with torch.no_grad():
        ours = model.upscale(x, 16, 16)
        # bilinear interpolation of the clamped tile at the same pixel centres
        theirs = torch.nn.functional.interpolate(x, size=(16, 16), mode="bilinear", align_corners=False)
    assert (ours - theirs).abs().max() < 0.01  # PRIOR_FLOOR gives the unused neighbours a little weight


def test_the_prior_is_bilinear_weights():
    w = bilinear_prior(torch.tensor([[0.25, -0.5]])).exp()[0].reshape(3, 3) - 1e-3
    expected = torch.outer(torch.tensor([0.5, 0.5, 0.0]), torch.tensor([0.0, 0.75, 0.25]))  # rows: y, columns: x
    torch.testing.assert_close(w, expected, atol=1e-6, rtol=0)
    assert len(NEIGHBOURS) == 9 and NEIGHBOURS[4] == (0, 0)


def test_every_output_colour_mixes_the_colours_of_the_tile(model):
    """Whatever the weights, an output pixel lies between the source colours around it: a tile of two
    colours comes back with those two and their blends only, at any scale."""
    torch.nn.init.normal_(model.decoder.output.weight, std=3.0)  # far from the prior: very peaked weights
    a, b = torch.tensor([0.9, 0.2, 0.1, 1.0]), torch.tensor([0.1, 0.3, 0.8, 1.0])
    mask = (torch.rand(1, 1, 8, 8, generator=torch.Generator().manual_seed(3)) > 0.5).float()
    x = mask * a[None, :, None, None] + (1 - mask) * b[None, :, None, None]
    with torch.no_grad():
        for size in (8, 12, 16, 20, 32):
            out = model.upscale(x, size, size)[0].reshape(4, -1).T  # [pixels, 4]
            t = ((out - b) @ (a - b)) / ((a - b) @ (a - b))  # where on the segment from b to a
            on_segment = b + t[:, None] * (a - b)
            assert (t >= -1e-5).all() and (t <= 1 + 1e-5).all()
            torch.testing.assert_close(out, on_segment, atol=1e-5, rtol=0)


def test_the_round_trip_at_the_tiles_size_gives_it_back(model):
    x = premultiply(torch.rand(2, 4, 8, 8))
    with torch.no_grad():
        assert (model.upscale(x, 8, 8) - x).abs().max() < 0.01  # each pixel centre: its own cell, almost only


def test_the_pixel_style_takes_each_pixel_whole_from_one_neighbour(model):
    torch.nn.init.normal_(model.decoder.output.weight, std=1.0)
    x = premultiply(torch.rand(1, 4, 6, 6, generator=torch.Generator().manual_seed(5)))
    hard = model.styles()["pixel"]
    with torch.no_grad():
        out = hard.upscale(x, 15, 15)[0].reshape(4, -1).T
    source = {tuple(c) for c in x[0].reshape(4, -1).T.tolist()}
    assert all(tuple(c) in source for c in out.tolist())  # exact source colours, none mixed
    assert not model.decoder.hard  # the copy is hard, the model itself unchanged
