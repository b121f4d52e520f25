"""Model kind "global": the seed's autoencoder, one code per tile.

Data flow: tiles -> dataset -> config -> **model** (one kind of it, see kinds/__init__.py) -> trainer.

    tile [B, C, S, S] in [0, 1] --encoder--> code [B, D] --decoder(code, x, y)--> colour

A small DALL-E encoder (resamples every tile to S x S) and the seed's implicit "manifold"
decoder. Layers are named after the diagram (`encoder.group_2.block_1.res_path.conv_3`), so a
checkpoint reads like the seed log. It is the mission's own model and the one regenerating
and blending work from; it cannot carry a tile's pixel detail (128 numbers for 4,096 values),
which is why the "local" kind exists (local_grid.py).
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig
from ..model import ACTIVATION_MODULES, Autoencoder, grid_positions, to_image
from .registry import register


@dataclass(frozen=True)
class GlobalConfig(ModelConfig):
    kind: str = "global"
    code_size: int = 128
    # encoder (DALL-E VQ-VAE encoder, small); every tile is resampled to size x size first
    latent_channels: int = 128  # channels of the encoder's last 1x1 conv, before the linear layer
    n_hid: int = 64
    group_count: int = 4
    n_blk_per_group: int = 1
    space_to_depth: bool = True  # False: 2x2 max-pool between groups
    # decoder ("manifold": code, x, y -> colour)
    decoder_n_hid: int = 128
    decoder_n_blk: int = 8
    decoder_n_layer: int = 2
    # one entry per block: "add" keeps the width, "concat" doubles it for the blocks after
    decoder_residual: tuple[str, ...] = ()
    pos_frequencies: tuple[float, ...] = (3.141592653589793,)
    batch_norm: bool = True
    renamed = {"vocab_size": "latent_channels"}  # the name before 2026-11-28

    def check(self) -> None:
        if not self.decoder_residual:
            object.__setattr__(self, "decoder_residual", ("add",) * self.decoder_n_blk)
        object.__setattr__(self, "decoder_residual", tuple(self.decoder_residual))
        object.__setattr__(self, "pos_frequencies", tuple(float(f) for f in self.pos_frequencies))
        if len(self.decoder_residual) != self.decoder_n_blk:
            raise ValueError(f"decoder_residual needs {self.decoder_n_blk} entries, got {len(self.decoder_residual)}")
        if set(self.decoder_residual) - {"add", "concat"}:
            raise ValueError(f"decoder_residual entries must be 'add' or 'concat': {self.decoder_residual}")
        downsample = 2 ** (self.group_count - 1)
        if self.size % downsample:
            raise ValueError(f"size {self.size} must be a multiple of {downsample} for {self.group_count} groups")

    @property
    def pos_embedding_size(self) -> int:
        """x, y, then sin(f x), sin(f y), cos(f x), cos(f y) for each frequency f."""
        return 2 + 4 * len(self.pos_frequencies)

    def replace(self, **changes) -> GlobalConfig:
        if "decoder_n_blk" in changes and "decoder_residual" not in changes:
            changes["decoder_residual"] = ()
        return super().replace(**changes)


def _seed(**decoder) -> GlobalConfig:
    """The seed log's setup: 1-channel 32x32 tiles, the same encoder for every row."""
    return GlobalConfig(channels=1, size=32, code_size=128, latent_channels=128, n_hid=64,
                        n_blk_per_group=1, activation="gelu", space_to_depth=True, **decoder)


# The seed presets reproduce the rows of the seed log's parameter table exactly (the table is
# in docs/ARCHITECTURE.md; tests/train/test_global_code.py checks the counts).
SEED_PRESETS: dict[str, GlobalConfig] = {
    "seed-b4-h64": _seed(decoder_n_blk=4, decoder_n_layer=2, decoder_n_hid=64),
    "seed-b8-h128": _seed(decoder_n_blk=8, decoder_n_layer=2, decoder_n_hid=128),
    "seed-b8-l4-h128": _seed(decoder_n_blk=8, decoder_n_layer=4, decoder_n_hid=128),
    "seed-b16-l1-h128": _seed(decoder_n_blk=16, decoder_n_layer=1, decoder_n_hid=128),
    "seed-b16-h128": _seed(decoder_n_blk=16, decoder_n_layer=2, decoder_n_hid=128),
    "seed-b8-h300": _seed(decoder_n_blk=8, decoder_n_layer=2, decoder_n_hid=300),
    "seed-b8-h256": _seed(decoder_n_blk=8, decoder_n_layer=2, decoder_n_hid=256),
    "seed-b8-h64-concat": _seed(decoder_n_blk=8, decoder_n_layer=2, decoder_n_hid=64,
                                decoder_residual=("concat", "add") * 4),
}


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
    def __init__(self, c: GlobalConfig):
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
            ("act", act()), ("conv", nn.Conv2d(n_in, c.latent_channels, 1)),
        ]))
        final = c.size // 2 ** (c.group_count - 1)
        self.to_code = nn.Linear(c.latent_channels * final * final, c.code_size)
        self.group_count = c.group_count

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.input(x)
        for g in range(1, self.group_count + 1):
            x = getattr(self, f"group_{g}")(x)
        return self.to_code(self.output(x).flatten(1))


# ---------------------------------------------------------------- decoder
class DecoderBlock(nn.Module):
    """batch-norm, then n_layer x (linear, act); the input is added, or concatenated (doubling the width).

    Export folds the batch-norm into linear_1 (manifold_export.onnx_export.fold_batch_norm)."""

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
    per tile instead of once per pixel (in training and in decoder.onnx alike).
    """

    def __init__(self, c: GlobalConfig):
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
        """Like forward, with the positions already embedded: pos [P, E] or [B, P, E]."""
        D = self.config.code_size
        w_code, w_pos = self.input.weight[:, :D], self.input.weight[:, D:]
        h = (code @ w_code.T + self.input.bias)[:, None, :] + pos @ w_pos.T
        B, P, H = h.shape
        h = self.blocks(self.input_act(h).reshape(B * P, H))  # BatchNorm1d wants [rows, features]
        return torch.sigmoid(self.output(h)).reshape(B, P, -1)


# ---------------------------------------------------------------- the kind
@register("global")
class GlobalCode(Autoencoder):
    Config = GlobalConfig
    presets = SEED_PRESETS
    resamples_input = True  # the encoder's input is size x size: every tile is resampled to it
    seed_anchor = True  # the bench's eager anchor (the seed's own decoder code) reads these weights
    latent_name = "code"
    augment_shift = 1  # the seed's random 1-pixel cyclic shifts

    def __init__(self, config: GlobalConfig, coordinates: str = "center"):
        super().__init__(config)
        self.encoder = Encoder(config)
        self.decoder = ManifoldDecoder(config)
        self.coordinates = coordinates  # the pixel grid the run trained on (model.py)
        self._table = None  # the embedded pixel grid of the training tile size, built on first use

    def render(self, code: torch.Tensor, height, width, top=0, rows=None) -> torch.Tensor:
        """code [B, D] -> image [B, C, height, width] at any resolution (or rows top .. top + rows - 1)."""
        xy = grid_positions(height, width, self.coordinates, code.device, top, rows)
        return to_image(self.decoder(code, xy), self.config.channels, height if rows is None else rows, width)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Training forward: tiles [B, C, S, S] and embedded query positions -> (colours [B, P, C], code)."""
        code = self.encoder(x)
        return self.decoder.forward_embedded(code, pos), code

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.render(self.encoder(x), x.shape[-2], x.shape[-1])

    def training_query(self, x: torch.Tensor, generator: torch.Generator, cfg) -> tuple[tuple, torch.Tensor]:
        """The seed's task: encode the (augmented) tile, predict cfg.pixels_per_tile random pixels of
        it (every pixel when 0); with cfg.cache_embedding the pixel grid is embedded once per run.
        Returns ((x, embedded positions), target colours [B, P, C])."""
        pixels, cache = cfg.pixels_per_tile, cfg.cache_embedding
        B, C, S, _ = x.shape
        target = x.flatten(2).transpose(1, 2)  # [B, P, C], row-major like grid_positions
        if cache:  # the embedded grid once per run, rows gathered per step (same numbers)
            if self._table is None or self._table.shape[0] != S * S or self._table.device != x.device:
                self._table = positional_embedding(grid_positions(S, S, self.coordinates, x.device),
                                                   self.config.pos_frequencies)
            embed = lambda i: self._table if i is None else self._table[i]
        else:
            xy = grid_positions(S, S, self.coordinates, x.device)
            embed = lambda i: positional_embedding(xy if i is None else xy[i], self.config.pos_frequencies)
        if not pixels or pixels >= S * S:
            return (x, embed(None)), target
        pick = torch.randint(S * S, (B, pixels), generator=generator).to(x.device)
        return (x, embed(pick)), target.gather(1, pick[..., None].expand(-1, -1, C))

    def code_loss(self, code: torch.Tensor) -> torch.Tensor:
        """The seed's constraint that keeps codes spread (std 0.5) and centred (mean 0) across a batch."""
        return code_distribution_loss(code)

    @torch.no_grad()
    def validation_mse(self, x: torch.Tensor) -> torch.Tensor:
        """Summed squared error of the round trip at the tile's size."""
        return F.mse_loss(self.reconstruct(x), x, reduction="sum")

    @torch.no_grad()
    def preview(self, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        S = x.shape[-1]
        code = self.encoder(x)
        return [(f"original {S}px", x), (f"reconstruction {S}px", self.render(code, S, S)),
                (f"rendered {2 * S}px", self.render(code, 2 * S, 2 * S))]

    def export_input(self, height: int, width: int, batch: int = 2) -> torch.Tensor:
        s = self.config.size  # every tile is resampled to the training size first
        return torch.rand(batch, self.config.channels, s, s, device=self.encoder.input.weight.device)

    def card(self) -> dict:
        return {"input_size": self.config.size, "pad": 0, "code_size": self.config.code_size,
                "decoder_width": self.config.decoder_n_hid}  # its MLP's hidden layer per output pixel

    def for_export(self) -> GlobalCode:
        """An eval-mode copy whose decoder blocks have no BatchNorm: each is folded into linear_1.

        norm(h) = h * s + t with s = gamma / sqrt(var + eps), t = beta - mean * s, so
        W norm(h) + b = (W * s) h + (W t + b). The residual still adds the un-normalised h.
        """
        model = copy.deepcopy(self).eval()
        for block in model.modules():
            if not isinstance(block, DecoderBlock) or not isinstance(block.norm, nn.BatchNorm1d):
                continue
            bn, first = block.norm, block.layers.linear_1
            scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            shift = bn.bias - bn.running_mean * scale
            with torch.no_grad():
                first.bias.copy_(first.weight @ shift + first.bias)
                first.weight.mul_(scale[None, :])
            block.norm = nn.Identity()
        return model

    @classmethod
    def tiny(cls) -> GlobalConfig:
        return GlobalConfig(channels=4, size=16, code_size=16, latent_channels=8, n_hid=8, group_count=3,
                            decoder_n_hid=16, decoder_n_blk=2, decoder_n_layer=1)


def code_distribution_loss(code: torch.Tensor) -> torch.Tensor:
    """The seed's constraint that keeps codes spread (std 0.5) and centred (mean 0) across a batch."""
    loss_batch_std = (0.5 - code.std(dim=0).mean()).abs()
    loss_batch_mean = (0.0 - code.mean()).abs()
    return loss_batch_std + loss_batch_mean
