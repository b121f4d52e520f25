"""The contract every model kind keeps, run on each registered kind's `tiny()` config: the
registry, encode/render shapes and bands, FLOPs, config round trip, training and resuming,
export parity with onnxruntime and the card. A new kind adds its name to KINDS."""

import dataclasses

import numpy as np
import pytest
import torch

from manifold_core.card import read_card
from manifold_core.runtime import TileModel
from manifold_export.onnx_export import export_model
from manifold_train import kinds
from manifold_train.config import ModelConfig, TrainConfig
from manifold_train.model import Autoencoder
from manifold_train.trainer import read_checkpoint, read_run, train

KINDS = ["global", "local", "mixture"]


def test_the_list_names_every_registered_kind():
    assert sorted(KINDS) == sorted(kinds.names())


def test_a_second_kind_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="registered twice"):
        kinds.register("local")(kinds.get("local"))
    assert kinds.get("local").kind == "local"


def test_an_unknown_kind_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown model kind 'diffusion'"):
        kinds.get("diffusion")


@pytest.fixture(params=KINDS)
def kind(request) -> type[Autoencoder]:
    return kinds.get(request.param)


def test_registered_under_its_name_with_its_own_config(kind):
    config = kind.tiny()
    assert isinstance(config, kind.Config) and config.kind == kind.kind
    assert all(isinstance(c, kind.Config) for c in kind.presets.values())
    with pytest.raises(TypeError, match="needs a"):
        kind(ModelConfig(kind=kind.kind, channels=4))


def test_config_round_trips_through_a_dict_and_bad_fields_are_refused(kind):
    config = kind.tiny()
    again = ModelConfig.from_dict(config.to_dict())
    assert again == config and type(again) is kind.Config
    with pytest.raises(ValueError, match="unknown model config keys"):
        ModelConfig.from_dict({**config.to_dict(), "no_such_field": 1})
    with pytest.raises(ValueError, match="channels"):
        config.replace(channels=2)


def test_encodes_and_renders_any_size_and_a_band_is_those_rows(kind):
    model = kinds.build_model(kind.tiny()).eval()
    c = model.config
    latent = model.encode(model.export_input(c.size, c.size, batch=3))
    with torch.no_grad():
        whole = model.render(latent, 21, 9)
        band = model.render(latent, 21, 9, top=5, rows=7)
    assert whole.shape == (3, c.channels, 21, 9) and float(whole.min()) >= 0 and float(whole.max()) <= 1
    torch.testing.assert_close(band, whole[:, :, 5:12])


def test_flops_grow_with_the_output_and_parameters_are_counted(kind):
    model = kinds.build_model(kind.tiny())
    c = model.config
    flops = model.flops(c.size, c.size, 24, 24)
    assert flops["encoder"] > 0
    assert model.flops(c.size, c.size, 48, 48)["decoder"] == pytest.approx(4 * flops["decoder"], rel=0.02)
    counts = kinds.parameter_counts(c)
    assert counts == {"encoder_params": sum(p.numel() for p in model.encoder.parameters()),
                      "decoder_params": sum(p.numel() for p in model.decoder.parameters())}


def run_config(kind, tile_folder, out, max_inputs):
    return TrainConfig(data=[str(tile_folder)], out=str(out), model=kind.tiny(), max_inputs=max_inputs, batch_size=8,
                       eval_every=64, val_percent=20, threads=1, precision="fp32", channels_last=False)


def test_trains_resumes_and_exports_a_model_the_runtime_renders_alike(kind, tile_folder, tmp_path):
    run = tmp_path / "run"
    train(run_config(kind, tile_folder, run, 128), show_progress=False)
    assert read_checkpoint(run)["step"] == 16
    train(run_config(kind, tile_folder, run, 256), resume=True, show_progress=False)
    assert read_checkpoint(run)["step"] == 32
    _, model = read_run(run)
    assert type(model) is kind and model.config == kind.tiny()

    card = export_model(run, tmp_path / "model")
    assert read_card(tmp_path / "model") == dataclasses.replace(card)  # what export wrote is what is read
    assert card.kind == kind.kind and card.decoder_width > 0
    assert card.architecture == kind.tiny().to_dict()

    rgba = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 4), dtype=np.uint8)
    runtime = TileModel.load(tmp_path / "model", "cpu")
    fed = runtime.encoder_input(rgba, "clamp")
    latents = runtime.encode(fed)
    exported = model.for_export()
    with torch.no_grad():
        x = torch.from_numpy(fed).float() / 255
        if card.premultiplied:
            x = torch.cat([x[:, :3] * x[:, 3:], x[:, 3:]], 1)
        latent = exported.encode(x)
        image = exported.render(latent, 24, 20).numpy()
    np.testing.assert_allclose(latents, latent.numpy(), atol=1e-4)
    assert card.styles == list(model.styles()) and (runtime.exact is not None) == ("pixel" in card.styles)
    for style, variant in model.styles().items():  # each style's decoder.STYLE.onnx renders as its copy does
        session = runtime.load_style(tmp_path / "model", style)
        with torch.no_grad():
            expected = variant.render(latent, 24, 20).numpy()
        np.testing.assert_allclose(runtime.decode(latents, 24, 20, session), expected, atol=1e-4)
    np.testing.assert_allclose(runtime.decode(latents, 24, 20), image, atol=1e-4)


def test_a_flat_config_of_before_the_kinds_had_their_own_still_loads():
    """Checkpoints and model.json of 2026-11 saved one flat config: the kind under `decoder` (or none:
    global) beside both kinds' fields, and `vocab_size` for latent_channels."""
    flat = {"decoder": "local", "channels": 4, "size": 32, "activation": "relu", "code_size": 128,
            "latent_channels": 128, "decoder_n_hid": 128, "local_width": 32, "local_blocks": 3, "local_pad": 9}
    config = ModelConfig.from_dict(flat)
    assert type(config) is kinds.get("local").Config and config.local_blocks == 3 and config.local_pad == 9
    seed = ModelConfig.from_dict({"channels": 4, "size": 32, "code_size": 128, "vocab_size": 64})
    assert type(seed) is kinds.get("global").Config and seed.latent_channels == 64
