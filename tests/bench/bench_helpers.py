"""What the bench tests share. A module, not a tests/bench/conftest.py: a second conftest.py would
replace the root one as the `conftest` module (pytest's prepend import mode) and break every
`from conftest import ...` of the suite."""

from __future__ import annotations

import pytest
import torch

from manifold_core.card import read_card
from manifold_core.runtime import EMBEDDED_MODELS


def embedded_anchor_model():
    """The embedded model the seed-style anchor covers (the seed model, core/models/seed)."""
    from manifold_bench.anchor import anchor_applies

    for folder in EMBEDDED_MODELS.values():
        if (folder / "model.json").is_file() and anchor_applies(read_card(folder)):
            return folder
    pytest.fail("no embedded model that the anchor covers (core/models/seed)")


def fewer_tiles(monkeypatch) -> None:
    """Fewer tiles per timed call and a smaller matmul: the same code paths, a fraction of the work."""
    from manifold_bench.sections import inference, matmul, upscalers

    monkeypatch.setattr(matmul, "SIZE", 256)
    monkeypatch.setattr(inference, "TILES_PER_CALL", {32: 16, 64: 4, 128: 1})
    monkeypatch.setattr(upscalers, "UPSCALE_TILES", 8)


def counted_flops(model_dir, size, res):
    """FLOPs of encoder and decoder for one tile, counted here with FlopCounterMode on the model built
    from the model directory (not through Autoencoder.flops, which the bench calls)."""
    from torch.utils.flop_counter import FlopCounterMode

    from manifold_train.config import ModelConfig
    from manifold_train.kinds import build_model

    card = read_card(model_dir)
    model = build_model(ModelConfig.from_dict(card.architecture), card.coordinates).eval()
    steps, h = [], size  # a card's scale_step renders in passes of at most that factor, each encoded anew
    while card.scale_step and res > card.scale_step * h:
        steps.append((h, card.scale_step * h))
        h *= card.scale_step
    steps.append((h, res))
    encoder_flops = decoder_flops = 0
    for tile, out in steps:
        side = tile + 2 * card.pad if card.input_size is None else card.input_size
        with torch.no_grad():
            with FlopCounterMode(display=False) as encoder:
                latent = model.encode(torch.rand(1, card.channels, side, side))
            with FlopCounterMode(display=False) as decoder:
                model.render(latent, out, out)
        encoder_flops += encoder.get_total_flops()
        decoder_flops += decoder.get_total_flops()
    return encoder_flops, decoder_flops


def text(tables) -> str:
    """Rich tables as the plain text a terminal would show (wide enough for every column)."""
    import io

    from rich.console import Console

    console = Console(record=True, width=400, color_system=None, file=io.StringIO())
    for table in tables:
        console.print(table)
    return console.export_text()
