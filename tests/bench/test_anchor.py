"""The seed-style eager anchor: the same function as the runtime, built from weights alone, and
refused (with the reason) where it does not apply."""

import dataclasses
import shutil

import numpy as np
import pytest
from bench_helpers import embedded_anchor_model

from manifold_bench.anchor import (
    AnchorUnavailable,
    anchor_applies,
    anchor_decode,
    anchor_encode,
    anchor_unavailable,
    load_anchor,
)
from manifold_core.card import read_card
from manifold_core.runtime import TileModel
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import rgba_to_channels
from manifold_export.onnx_export import WEIGHTS


@pytest.mark.parametrize("which", ["tiny", "embedded"])
def test_anchor_computes_the_same_images_as_the_runtime(which, tiny_model_dir, tmp_path):
    """Built from model.json and weights.safetensors alone (no ONNX file in its folder)."""
    directory = tiny_model_dir if which == "tiny" else embedded_anchor_model()
    only = tmp_path / "weights-only"
    only.mkdir()
    for name in ("model.json", WEIGHTS):
        shutil.copy(directory / name, only / name)
    encoder, decoder, convention = load_anchor(only)
    model = TileModel.load(directory, device="cpu")
    size = model.card.input_size
    tiles = rgba_to_channels(make_tiles(3, size, seed=4), model.channels)
    codes = anchor_encode(encoder, tiles)
    np.testing.assert_allclose(np.stack([c.numpy() for c in codes]), model.encode(tiles), atol=1e-4)
    images = np.stack([i.numpy() for i in anchor_decode(decoder, codes, 40, 24, convention)])
    np.testing.assert_allclose(images, model.decode(model.encode(tiles), 40, 24), atol=1e-4)
    assert all(float(b["norm"].running_var[0]) == pytest.approx(1 - b["norm"].eps) for b in decoder.blocks)


def test_anchor_is_refused_where_it_does_not_apply(tiny_model_dir, tiny_local_model_dir, tmp_path):
    assert anchor_unavailable(tiny_model_dir) is None
    assert "local-kind" in anchor_unavailable(tiny_local_model_dir)
    old = tmp_path / "old-export"
    shutil.copytree(tiny_model_dir, old)
    (old / WEIGHTS).unlink()
    assert WEIGHTS in anchor_unavailable(old)
    with pytest.raises(AnchorUnavailable, match=WEIGHTS):
        load_anchor(old)
    with pytest.raises(AnchorUnavailable, match="local-kind"):
        load_anchor(tiny_local_model_dir)


def test_anchor_applies_to_the_global_kind_only(tiny_model_dir, tiny_local_model_dir):
    card = read_card(tiny_model_dir)
    assert anchor_applies(card) and not anchor_applies(read_card(tiny_local_model_dir))
    assert not anchor_applies(dataclasses.replace(card, kind="another"))  # a new kind has none until it says so
