"""The inference anchor (docs/ARCHITECTURE.md, "Where decisions were measured"): the seed's
decoder in eager PyTorch, one tile at a time, its code repeated for every pixel and
concatenated with the positional embedding, batch-norm evaluated as a layer; the tile's code
comes from the eager encoder.

It is written apart from the model on purpose: it is the baseline the runtime is measured
against. Its weights come from weights.safetensors by layer name, never from the ONNX graphs,
so it is the same function as the runtime (checked: `anchor_max_abs_diff` in the inference
section's output). It covers the global kind only: the seed's model (`anchor_applies`).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from manifold_core.card import ModelCard, read_card
from manifold_export.onnx_export import WEIGHTS
from manifold_train import kinds
from manifold_train.config import ModelConfig
from manifold_train.kinds.global_code import Encoder, positional_embedding
from manifold_train.model import ACTIVATION_MODULES, grid_positions


class AnchorUnavailable(ValueError):
    """Why a model directory has no seed-style anchor (the bench notes it and skips the anchor)."""


def anchor_applies(card: ModelCard) -> bool:
    """Whether a model of this card's kind has the seed-style anchor (the kind's `seed_anchor`).

    The anchor re-implements the seed's global-code decoder (one code per tile, repeated for every
    pixel), so only that kind declares one; a model of another kind is compared with an embedded
    model that has one, and with Real-ESRGAN (the inference section)."""
    return card.kind in kinds.names() and kinds.get(card.kind).seed_anchor


class SeedDecoder(nn.Module):
    """The decoder as the seed ran it: per tile, concat(code repeated per pixel, embedding) -> layers."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        if set(c.decoder_residual) != {"add"}:
            raise AnchorUnavailable("the anchor covers decoders with 'add' residuals (every preset but the "
                                    "concat one)")
        act = ACTIVATION_MODULES[c.activation]
        self.config = c
        self.input = nn.Linear(c.code_size + c.pos_embedding_size, c.decoder_n_hid)
        self.input_act = act()
        self.blocks = nn.ModuleList()
        for _ in range(c.decoder_n_blk):
            layers = OrderedDict()
            for i in range(1, c.decoder_n_layer + 1):
                layers[f"linear_{i}"] = nn.Linear(c.decoder_n_hid, c.decoder_n_hid)
                layers[f"act_{i}"] = act()
            self.blocks.append(nn.ModuleDict({"norm": nn.BatchNorm1d(c.decoder_n_hid),
                                              "layers": nn.Sequential(layers)}))
        self.output = nn.Linear(c.decoder_n_hid, c.channels)

    def forward(self, code: torch.Tensor, height: int, width: int, convention: str = "center") -> torch.Tensor:
        """code [D] of one tile -> image [C, height, width]."""
        xy = grid_positions(height, width, convention)
        h = torch.cat([code[None, :].repeat(len(xy), 1), positional_embedding(xy, self.config.pos_frequencies)], -1)
        h = self.input_act(self.input(h))
        for block in self.blocks:
            h = h + block["layers"](block["norm"](h))
        return torch.sigmoid(self.output(h)).T.reshape(-1, height, width)


def anchor_unavailable(model_dir: str | Path) -> str | None:
    """None when the anchor can be built for this model directory, else why not (one line)."""
    model_dir = Path(model_dir)
    card = read_card(model_dir)
    if not anchor_applies(card):
        return f"a {card.kind}-kind model: the seed-style anchor covers the global kind only"
    if not (model_dir / WEIGHTS).is_file():
        return f"no {WEIGHTS} in {model_dir} (exported before it was written): export the model again"
    if set(ModelConfig.from_dict(card.architecture).decoder_residual) != {"add"}:
        return "the anchor covers decoders with 'add' residuals (every preset but the concat one)"
    return None


def load_anchor(model_dir: str | Path) -> tuple[Encoder, SeedDecoder, str]:
    """(eager encoder, seed-style decoder, coordinate convention) with a model directory's weights (eval mode).

    Read by layer name from weights.safetensors (`encoder.*`, `decoder.input.*`,
    `decoder.blocks.block_<i>.layers.linear_<j>.*`, `decoder.output.*`). Export folds
    batch-norm into the following layer; the anchor keeps a real BatchNorm1d per block with
    neutral statistics (mean 0, variance 1 - eps, weight 1, bias 0), so it runs the seed's
    layers and still computes the exported function. A file with unfolded batch-norm entries
    (`decoder.blocks.block_<i>.norm.*`) has them loaded instead. Raises AnchorUnavailable for
    a model it does not cover (see anchor_unavailable).
    """
    from safetensors.torch import load_file

    model_dir = Path(model_dir)
    reason = anchor_unavailable(model_dir)
    if reason:
        raise AnchorUnavailable(reason)
    card = read_card(model_dir)
    c = ModelConfig.from_dict(card.architecture)
    state = load_file(model_dir / WEIGHTS)
    encoder = Encoder(c)
    prefix = "encoder."
    encoder.load_state_dict({k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)})

    decoder = SeedDecoder(c)
    mapping = {"input.weight": "decoder.input.weight", "input.bias": "decoder.input.bias",
               "output.weight": "decoder.output.weight", "output.bias": "decoder.output.bias"}
    for i in range(c.decoder_n_blk):
        block = f"decoder.blocks.block_{i + 1}"
        for j in range(1, c.decoder_n_layer + 1):
            for p in ("weight", "bias"):
                mapping[f"blocks.{i}.layers.linear_{j}.{p}"] = f"{block}.layers.linear_{j}.{p}"
        if f"{block}.norm.weight" in state:
            for p in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked"):
                mapping[f"blocks.{i}.norm.{p}"] = f"{block}.norm.{p}"
    unused = {k for k in state if k.startswith("decoder.")} - set(mapping.values())
    missing = set(mapping.values()) - set(state)
    if unused or missing:
        raise AnchorUnavailable(f"{model_dir / WEIGHTS} does not hold the seed decoder's layers (unknown: "
                                f"{sorted(unused)[:3]}, missing: {sorted(missing)[:3]}): export the model again")
    with torch.no_grad():
        for block in decoder.blocks:  # neutral batch-norm, overwritten below where the file has its own
            norm = block["norm"]
            norm.running_mean.zero_()
            norm.running_var.fill_(1 - norm.eps)
        params = decoder.state_dict()
        for ours, theirs in mapping.items():
            params[ours].copy_(state[theirs])
    return encoder.eval(), decoder.eval(), card.coordinates


@torch.inference_mode()
def anchor_encode(encoder: Encoder, tiles: np.ndarray) -> list[torch.Tensor]:
    """[N, C, S, S] uint8 -> one code per tile, one eager call per tile."""
    return [encoder(torch.from_numpy(t[None]).float() / 255)[0] for t in tiles]


@torch.inference_mode()
def anchor_decode(decoder: SeedDecoder, codes, height: int, width: int, convention: str = "center") -> list:
    """One eager seed-style decoder call per tile -> [C, height, width] images."""
    return [decoder(torch.as_tensor(code), height, width, convention) for code in codes]
