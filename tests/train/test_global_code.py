import pytest
import torch
from conftest import SEED_TABLE, tiny_config

from manifold_train.config import ModelConfig
from manifold_train.kinds import parameter_counts, preset
from manifold_train.kinds.global_code import (
    SEED_PRESETS,
    GlobalCode,
    ManifoldDecoder,
    code_distribution_loss,
    positional_embedding,
)
from manifold_train.model import grid_positions


@pytest.mark.parametrize("name", SEED_TABLE)
def test_preset_parameter_counts_match_the_seed_log(name):
    assert parameter_counts(SEED_PRESETS[name]) == {"encoder_params": 1_725_264, "decoder_params": SEED_TABLE[name]}


def test_every_global_preset_is_in_the_table():
    assert set(GlobalCode.presets) == set(SEED_TABLE)


def test_channels_change_only_the_io_layers():
    grey, rgba = parameter_counts(preset("seed-b8-h128")), parameter_counts(preset("seed-b8-h128", channels=4))
    # input conv: 7*7 weights per extra input channel per n_hid; output linear: (128 + 1) per extra channel
    assert rgba["encoder_params"] - grey["encoder_params"] == 3 * 7 * 7 * 64
    assert rgba["decoder_params"] - grey["decoder_params"] == 3 * (128 + 1)
    assert preset("seed-b8-h128", channels=4).replace(channels=1) == preset("seed-b8-h128")


def test_config_round_trips_through_a_dict():
    c = SEED_PRESETS["seed-b8-h64-concat"]
    assert ModelConfig.from_dict(c.to_dict()) == c


@pytest.mark.parametrize("bad", [dict(channels=2), dict(activation="tanh"), dict(size=30),
                                 dict(decoder_n_blk=2, decoder_residual=("add",))])
def test_invalid_configs_are_refused(bad):
    with pytest.raises(ValueError):
        tiny_config(**bad)


@pytest.mark.parametrize("space_to_depth", [True, False])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_shapes(channels, space_to_depth):
    c = tiny_config(channels=channels, space_to_depth=space_to_depth,
                    decoder_n_blk=2, decoder_residual=("concat", "add"))
    model = GlobalCode(c).eval()
    x = torch.rand(5, channels, 16, 16)
    code = model.encode(x)
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and code.shape == (5, c.code_size)
    for h, w in [(32, 32), (64, 64), (17, 23)]:
        assert model.render(code, h, w).shape == (5, channels, h, w)
    assert ((recon >= 0) & (recon <= 1)).all()


def test_seed_size_shapes():
    model = GlobalCode(preset("seed-b4-h64", channels=3)).eval()
    code = model.encode(torch.rand(2, 3, 32, 32))
    assert code.shape == (2, 128)
    assert model.render(code, 64, 64).shape == (2, 3, 64, 64)


def test_decoder_is_the_same_function_per_tile_and_batched():
    """The vectorised first layer (code share once per tile) equals concat(code, pos) per pixel."""
    torch.manual_seed(0)
    dec = ManifoldDecoder(tiny_config(batch_norm=False)).eval()
    code, xy = torch.randn(3, 16), grid_positions(8, 8)
    batched = dec(code, xy)
    for i in range(3):
        pos = positional_embedding(xy, dec.config.pos_frequencies)
        h = dec.input_act(dec.input(torch.cat([code[i].expand(len(xy), -1), pos], dim=-1)))
        ref = torch.sigmoid(dec.output(dec.blocks(h)))
        torch.testing.assert_close(batched[i], ref)


def test_per_tile_positions_equal_shared_positions():
    dec = ManifoldDecoder(tiny_config()).eval()
    code, xy = torch.randn(2, 16), grid_positions(4, 4)
    torch.testing.assert_close(dec(code, xy), dec(code, xy.expand(2, -1, -1)))


def test_positional_embedding_layout():
    xy = torch.tensor([[0.5, -0.25]])
    emb = positional_embedding(xy, (2.0,))
    expected = [0.5, -0.25, torch.sin(torch.tensor(1.0)), torch.sin(torch.tensor(-0.5)),
                torch.cos(torch.tensor(1.0)), torch.cos(torch.tensor(-0.5))]
    torch.testing.assert_close(emb[0], torch.tensor(expected))


def test_code_distribution_loss_by_hand():
    code = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    # std over the batch (unbiased): column 0 -> sqrt(2), column 1 -> sqrt(2); mean 1.5
    expected = abs(0.5 - 2 ** 0.5) + abs(0.0 - 1.5)
    assert code_distribution_loss(code).item() == pytest.approx(expected, rel=1e-6)
