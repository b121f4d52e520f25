"""What every model kind shares: the coordinate convention, the registry, the interface, FLOP counting."""

import pytest
import torch
from conftest import tiny_config, tiny_local_config

from manifold_train.config import DECODER_KINDS, PRESETS
from manifold_train.model import grid_positions, parameter_counts, pixel_axis, pixel_coordinates
from manifold_train.registry import KINDS, build_model


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


def test_registry_names_every_kind_of_the_config():
    assert tuple(KINDS) == DECODER_KINDS
    for name, cls in KINDS.items():
        assert cls.kind == name


@pytest.mark.parametrize("config", [tiny_config(), tiny_local_config()], ids=["global", "local"])
def test_every_kind_encodes_renders_and_counts_its_flops(config):
    model = build_model(config).eval()
    image = model.export_input(12, 12, batch=3)
    latent = model.encode(image)
    assert model.render(latent, 20, 9).shape == (3, config.channels, 20, 9)
    flops = model.flops(12, 12, 24, 24)
    # the decoder's work grows with the output's pixels: 4x the pixels, 4x the FLOPs
    assert model.flops(12, 12, 48, 48)["decoder"] == pytest.approx(4 * flops["decoder"], rel=0.02)
    assert flops["encoder"] > 0
    counts = parameter_counts(config)
    assert counts["encoder_params"] == sum(p.numel() for p in model.encoder.parameters())


def test_a_local_preset_exists_and_is_rgba():
    local = [c for c in PRESETS.values() if c.decoder == "local"]
    assert local and all(c.channels == 4 for c in local)
