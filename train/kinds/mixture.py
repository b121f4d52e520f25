"""Model kind "mixture": every output pixel is a learned mixture of the source pixels around it.

Data flow: tiles -> dataset -> config -> **model** (one kind of it, see kinds/__init__.py) -> trainer.

    tile --pad--> encoder (the local kind's: 3x3 convs, one feature cell per source pixel)
         --> for each output point u: the cell it falls in, c = round(u), and its 3x3 neighbours
         --> weights = softmax(MLP(features of c, offset u - c, output cell size) + log prior)
         --> colour = sum of weights x the 9 neighbours' colours

In the spirit of kernel-prediction networks (Bako et al., "Kernel-Predicting Convolutional
Networks for Denoising Monte Carlo Renderings", SIGGRAPH 2017), but as an implicit function of
the output position, so any size renders (1.5x and 2.5x as well as 2x and 4x). The output can
only mix colours of the tile, never invent one: no dark outline that is not in the art, and when
the weights are peaked (crisp art), the exact source palette. The prior is bilinear
interpolation over the 3x3 neighbourhood and the MLP's output layer starts at zero, so the model
starts as bilinear interpolation and learns where to be sharper; a model whose output layer
does not start at zero was measured to lock onto a shifted choice.

Coordinates as the local kind (local_grid.py): source pixel i's centre is u = i, so the cell a
point falls in is floor(u + 0.5); the ring of padding cells gives every cell its 8 neighbours.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from .local_grid import LocalConfig, LocalDecoder, LocalGrid
from .registry import register

NEIGHBOURS = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]  # row-major 3x3, centre at index 4
PRIOR_FLOOR = 1e-3  # the bilinear prior's weight for the neighbours bilinear interpolation does not use
MATCH = 1.5 / 255  # a neighbour "is" the original's colour when every channel is within this
CHOICE_WEIGHT = 0.05  # the choice loss beside L1 (nats vs colour units)


@dataclass(frozen=True)
class MixtureConfig(LocalConfig):
    kind: str = "mixture"


class MixtureDecoder(LocalDecoder):
    """(feature cell under a point, offset from its centre, output cell size) -> 9 mixture weights -> colour.

    The local kind's decoder MLP, with 9 weights out instead of a colour correction."""

    def __init__(self, c: MixtureConfig):
        super().__init__(c)
        # Without a norm here the softmax saturated within 50 steps: the encoder's features grew a
        # thousandfold (sharper weights lower the L1 loss), the gradients vanished and training froze
        # on whichever neighbour each point had chosen (measured). Normalised, only the output
        # layer's weights (decayed by AdamW) can sharpen the weights.
        self.norm = nn.LayerNorm(c.local_latent)
        self.output = nn.Linear(c.local_latent, len(NEIGHBOURS))
        nn.init.zeros_(self.output.weight)  # start as the prior: bilinear interpolation
        nn.init.zeros_(self.output.bias)
        self.hard = False  # True: each output pixel takes its most likely neighbour whole (the pixel style)

    def forward(self, grid: torch.Tensor, u: torch.Tensor, cell: torch.Tensor, with_choices: bool = False):
        """grid [B, L + C, h+2, w+2]; u: query points in input cells (x, y), [P, 2] shared by every tile
        or [B, P, 2]; cell: the output pixel's size in input cells (x, y), [2] or [B, 2] -> [B, P, C]
        (with_choices: also the log-weights [B, P, 9] and the neighbours' colours [B, P, 9, C])."""
        B, D, gh, gw = grid.shape
        centre = torch.floor(u + 0.5)
        offset = u - centre  # in [-0.5, 0.5) input pixels
        index = (centre[..., 1].to(torch.int64) + 1) * gw + centre[..., 0].to(torch.int64) + 1  # +1: the ring
        flat = grid.flatten(2).transpose(1, 2)  # [B, cells, L + C]
        around = torch.stack([index + dy * gw + dx for dy, dx in NEIGHBOURS], -1)  # [(B,) P, 9]
        if index.dim() == 1:  # every tile asks the same points (render): one gather for all
            own = flat.index_select(1, index)
            colours = flat[..., self.latent:].index_select(1, around.reshape(-1))
        else:
            own = flat.gather(1, index[..., None].expand(B, index.shape[-1], D))
            colour = flat[..., self.latent:]
            colours = colour.gather(1, around.reshape(B, -1)[..., None].expand(B, around[0].numel(), D - self.latent))
        colours = colours.reshape(B, -1, len(NEIGHBOURS), D - self.latent)  # [B, P, 9, C]
        cell = cell.to(offset.dtype)
        cell = cell.expand(offset.shape[:-1] + (2,)) if cell.dim() == 1 else cell[:, None, :].expand(offset.shape)
        h = self.input_act(own[..., :self.latent] + self.query_in(torch.cat([offset, cell], -1)))
        logits = self.output(self.norm(self.layers(h))) + bilinear_prior(offset)
        weights = torch.softmax(logits, -1)  # [B, P, 9]
        if self.hard:  # the exact colour of the most likely neighbour (a tie shares it)
            weights = (logits == logits.amax(-1, keepdim=True)).to(weights.dtype)
            weights = weights / weights.sum(-1, keepdim=True)
        mixed = (weights[..., None] * colours).sum(-2)
        return (mixed, (torch.log_softmax(logits, -1), colours)) if with_choices else mixed


def bilinear_prior(offset: torch.Tensor) -> torch.Tensor:
    """log of bilinear interpolation's weights over the 3x3 neighbours of a point `offset` (x, y)
    from the centre cell's centre, [..., 2] -> [..., 9] (the unused neighbours get PRIOR_FLOOR)."""
    def axis(d):  # weights of the neighbours at -1, 0, +1 along one axis
        return torch.stack([(-d).clamp_min(0), 1 - d.abs(), d.clamp_min(0)], -1)

    wx, wy = axis(offset[..., 0]), axis(offset[..., 1])
    return torch.log((wy[..., :, None] * wx[..., None, :]).flatten(-2) + PRIOR_FLOOR)


@register("mixture")
class Mixture(LocalGrid):
    """The local kind's encoder, task and rendering, with the mixture decoder."""

    Config = MixtureConfig
    presets = {"mixture-w32": MixtureConfig(channels=4, size=32, activation="relu", local_blocks=3, local_pad=9)}

    def __init__(self, config: MixtureConfig, coordinates: str = "center"):
        super().__init__(config, coordinates)
        self.decoder = MixtureDecoder(config)

    def forward(self, lr: torch.Tensor, u: torch.Tensor, cell: torch.Tensor):
        return self.decoder(self.encoder(lr), u, cell, with_choices=True)

    def training_loss(self, pred: torch.Tensor, extra, target: torch.Tensor, cfg) -> torch.Tensor:
        """L1 on the mixed colour, plus a choice loss where the original's pixel is one of the 9 source
        pixels around it (crisp shrinking keeps source colours): -log of the weight on the neighbours
        of that colour. L1's gradient fades as the softmax grows sharp (a peaked choice that is wrong
        hardly moves), so on its own the model settles on the centre pixel everywhere (measured: a
        nearest-neighbour upscaler); the choice loss keeps learning which neighbour a pixel copies."""
        log_weights, colours = extra
        match = (colours.float() - target[..., None, :]).abs().amax(-1) <= MATCH  # [B, P, 9]
        found = match.any(-1)
        choice = -torch.logsumexp(log_weights.float().masked_fill(~match, -torch.inf), -1)
        choice = choice[found].mean() if found.any() else pred.sum() * 0
        return self.reconstruction_loss(pred, target) + CHOICE_WEIGHT * choice

    def styles(self) -> dict[str, Mixture]:
        """decoder.pixel.onnx: every output pixel the exact colour of its most likely source neighbour
        (the runtime uses it where it keeps a tile's palette: `--style pixel`, or auto on crisp art)."""
        hard = self.for_export()
        hard.decoder.hard = True
        return {"pixel": hard}

    def card(self) -> dict:
        c = self.config
        # scale_step 2: measured in blind comparisons, one 4x pass drew ragged, speckled edges where
        # two 2x passes (each the scale it learned best) draw what people preferred at 2x (MODEL.md)
        return {**super().card(), "decoder_width": c.local_latent + len(NEIGHBOURS) * (c.channels + 1),
                "scale_step": 2}

    @classmethod
    def tiny(cls) -> MixtureConfig:
        return MixtureConfig(channels=4, size=16, local_width=8, local_blocks=1, local_latent=16, local_layers=1,
                             local_pad=5)
