"""The seed's autoencoder: a small DALL-E encoder and an implicit "manifold" decoder.

    tile [B, C, S, S] in [0, 1] --encoder--> code [B, D] --decoder(code, x, y)--> colour

Layers are named after the diagram (`encoder.group_2.block_1.res_path.conv_3`), so a
checkpoint reads like DESIGN.md. Every hyper-parameter lives in `ModelConfig`.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig

ACTIVATION_MODULES = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}


# ---------------------------------------------------------------- coordinates
# Pixel i of n sits at its centre, (i + 0.5) / n * 2 - 1, so the grid spans [-1, 1] edge to
# edge and a 2x render puts two output pixels exactly over each source pixel. "corner" is
# the seed's linspace(-1, 1, n): the first and last pixel centres sit on the edges, which
# shifts a 2x render by a fraction of a pixel; keep it only to reproduce the seed.
COORDINATES = ("center", "corner")


def pixel_coordinates(n: int, convention: str = "center", device=None) -> torch.Tensor:
    if convention == "center":
        return (torch.arange(n, device=device, dtype=torch.float32) + 0.5) / n * 2 - 1
    if convention == "corner":
        return torch.linspace(-1, 1, n, device=device)
    raise ValueError(f"coordinate convention must be one of {COORDINATES}, got {convention!r}")


def grid_positions(height: int, width: int, convention: str = "center", device=None) -> torch.Tensor:
    """(x, y) of every pixel, row-major: [height * width, 2]; x runs along a row."""
    y = pixel_coordinates(height, convention, device)
    x = pixel_coordinates(width, convention, device)
    yy, xx = torch.meshgrid(y, x, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)


def positional_embedding(xy: torch.Tensor, frequencies: tuple[float, ...]) -> torch.Tensor:
    """[..., 2] -> [..., 2 + 4 * len(frequencies)]: x, y, then sin(fx), sin(fy), cos(fx), cos(fy) per f."""
    parts = [xy]
    for f in frequencies:
        parts += [torch.sin(f * xy), torch.cos(f * xy)]
    return torch.cat(parts, dim=-1)


# ---------------------------------------------------------------- encoder
class EncoderBlock(nn.Module):
    """DALL-E's residual block: identity (or 1x1 conv) + gain * [act, 3x3, act, 3x3, act, 3x3, act, 1x1]."""

    def __init__(self, n_in: int, n_out: int, n_layers: int, act: type[nn.Module]):
        super().__init__()
        n_hid = n_out // 4
        self.post_gain = 1 / n_layers**2
        self.id_path = nn.Conv2d(n_in, n_out, 1) if n_in != n_out else nn.Identity()
        self.res_path = nn.Sequential(OrderedDict([
            ("act_1", act()), ("conv_1", nn.Conv2d(n_in, n_hid, 3, padding=1)),
            ("act_2", act()), ("conv_2", nn.Conv2d(n_hid, n_hid, 3, padding=1)),
            ("act_3", act()), ("conv_3", nn.Conv2d(n_hid, n_hid, 3, padding=1)),
            ("act_4", act()), ("conv_4", nn.Conv2d(n_hid, n_out, 1)),
        ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.id_path(x) + self.post_gain * self.res_path(x)


class SpaceToDepth(nn.Module):
    """2x down-sampling that keeps every pixel: the four 2x2 phases become channels, then a 1x1 conv."""

    def __init__(self, width: int):
        super().__init__()
        self.unshuffle = nn.PixelUnshuffle(2)
        self.conv = nn.Conv2d(4 * width, width, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(self.unshuffle(x))


class Encoder(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        act = ACTIVATION_MODULES[c.activation]
        n_layers = c.group_count * c.n_blk_per_group
        widths = [c.n_hid * 2**g for g in range(c.group_count)]  # 1, 2, 4, 8 x n_hid
        self.input = nn.Conv2d(c.channels, c.n_hid, 7, padding=3)
        n_in = c.n_hid
        for g, width in enumerate(widths, start=1):
            group = OrderedDict()
            for b in range(1, c.n_blk_per_group + 1):
                group[f"block_{b}"] = EncoderBlock(n_in, width, n_layers, act)
                n_in = width
            if g < c.group_count:
                group["downsample"] = SpaceToDepth(width) if c.space_to_depth else nn.MaxPool2d(2)
            self.add_module(f"group_{g}", nn.Sequential(group))
        self.output = nn.Sequential(OrderedDict([
            ("act", act()), ("conv", nn.Conv2d(n_in, c.vocab_size, 1)),
        ]))
        final = c.size // 2 ** (c.group_count - 1)
        self.to_code = nn.Linear(c.vocab_size * final * final, c.code_size)
        self.group_count = c.group_count

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input(x)
        for g in range(1, self.group_count + 1):
            x = getattr(self, f"group_{g}")(x)
        return self.to_code(self.output(x).flatten(1))


# ---------------------------------------------------------------- decoder
class DecoderBlock(nn.Module):
    """batch-norm, then n_layer x (linear, act); the input is added, or concatenated (doubling the width)."""

    def __init__(self, width: int, n_layer: int, residual: str, batch_norm: bool, act: type[nn.Module]):
        super().__init__()
        self.residual = residual
        self.norm = nn.BatchNorm1d(width) if batch_norm else nn.Identity()
        layers = OrderedDict()
        for i in range(1, n_layer + 1):
            layers[f"linear_{i}"] = nn.Linear(width, width)
            layers[f"act_{i}"] = act()
        self.layers = nn.Sequential(layers)
        self.out_width = 2 * width if residual == "concat" else width

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        y = self.layers(self.norm(h))
        return torch.cat([h, y], dim=-1) if self.residual == "concat" else h + y


class ManifoldDecoder(nn.Module):
    """Implicit function (code, position) -> colour, vectorised over tiles and pixels.

    The first layer acts on concat(code, embedding(x, y)); it is computed as
    code @ W_code + embedding @ W_pos, which is the same sum but does the code's share once
    per tile instead of once per pixel.
    """

    def __init__(self, c: ModelConfig):
        super().__init__()
        act = ACTIVATION_MODULES[c.activation]
        self.config = c
        self.input = nn.Linear(c.code_size + c.pos_embedding_size, c.decoder_n_hid)
        self.input_act = act()
        width = c.decoder_n_hid
        self.blocks = nn.Sequential()
        for i, residual in enumerate(c.decoder_residual, start=1):
            block = DecoderBlock(width, c.decoder_n_layer, residual, c.batch_norm, act)
            self.blocks.add_module(f"block_{i}", block)
            width = block.out_width
        self.output = nn.Linear(width, c.channels)

    def forward(self, code: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
        """code [B, D]; xy [P, 2] shared by all tiles or [B, P, 2] per tile -> colour [B, P, C]."""
        return self.forward_embedded(code, positional_embedding(xy, self.config.pos_frequencies))

    def forward_embedded(self, code: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """Like forward, with the positions already embedded: pos [P, E] or [B, P, E].

        The trainer embeds the pixel grid once per run and gathers rows of it every step.
        """
        D = self.config.code_size
        w_code, w_pos = self.input.weight[:, :D], self.input.weight[:, D:]
        h = (code @ w_code.T + self.input.bias)[:, None, :] + pos @ w_pos.T
        B, P, H = h.shape
        h = self.blocks(self.input_act(h).reshape(B * P, H))
        return torch.sigmoid(self.output(h)).reshape(B, P, -1)

    def render(self, code: torch.Tensor, height: int, width: int, convention: str = "center") -> torch.Tensor:
        """code [B, D] -> image [B, C, height, width] at any resolution."""
        xy = grid_positions(height, width, convention, code.device)
        out = self(code, xy)
        return out.transpose(1, 2).reshape(code.shape[0], -1, height, width)


class Autoencoder(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.encoder = Encoder(config)
        self.decoder = ManifoldDecoder(config)

    def forward(self, tiles: torch.Tensor, convention: str = "center") -> tuple[torch.Tensor, torch.Tensor]:
        """tiles [B, C, S, S] -> (reconstruction [B, C, S, S], code [B, D])."""
        code = self.encoder(tiles)
        return self.decoder.render(code, tiles.shape[-2], tiles.shape[-1], convention), code


def code_distribution_loss(code: torch.Tensor) -> torch.Tensor:
    """The seed's constraint that keeps codes spread (std 0.5) and centred (mean 0) across a batch."""
    loss_batch_std = (0.5 - code.std(dim=0).mean()).abs()
    loss_batch_mean = (0.0 - code.mean()).abs()
    return loss_batch_std + loss_batch_mean


def parameter_counts(config: ModelConfig) -> dict[str, int]:
    """Built on the meta device: no memory, no initialisation cost."""
    with torch.device("meta"):
        model = Autoencoder(config)
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    return {"encoder_params": count(model.encoder), "decoder_params": count(model.decoder)}
