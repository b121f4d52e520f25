"""Model kind "local": a feature grid at the input's resolution and a LIIF-style implicit decoder.

Data flow: tiles -> dataset -> config -> **model** (one kind of it, see kinds/__init__.py) -> trainer.

    tile [B, C, h, w] --pad P (clamp or wrap)--> [B, C, h+2P, w+2P]
         --encoder (3x3 convs)--> grid [B, L + C, h+2, w+2]    (one cell per input pixel, plus a ring)
    decoder(grid, query point, output cell size) -> colour

Reference: "Learning Continuous Image Representation with Local Implicit Image Function"
(Chen et al., CVPR 2021). Three of its ideas, each folded into something cheaper:
- feature unfolding (each cell sees its 3x3 neighbourhood) followed by the MLP's first linear
  layer is one 3x3 convolution: the encoder's `head`. So the first layer runs once per input
  pixel, not once per output pixel, and a grid cell holds the decoder's first hidden layer.
- local ensemble: a query point asks the four cells around it and blends their answers with
  bilinear weights, so the output is continuous across cell borders.
- cell decoding: the decoder is told the output pixel's size in input pixels (the scale).
Each cell also carries its input colour, and the decoder predicts a correction to it, so the
four-cell blend starts from bilinear interpolation of the input (residual learning).

Colours are premultiplied by alpha (RGBA): a blend of an opaque cell and a transparent one is
the opaque colour at half alpha, not a darker colour, so sprite edges get no dark fringe. The
runtime premultiplies the input and divides the output back (model.json: premultiplied).

Coordinates (the convention of model.py, pixel centres): output pixel j of n sits at
x = (j + 0.5) / n * 2 - 1; in input cells that is u = (x + 1) / 2 * w - 0.5, so input pixel i's
centre is u = i. The four cells around u are floor(u) and floor(u) + 1 on each axis; the ring of
cells beyond the tile comes from the padding, so edges are clamped or wrapped, never zero.

Tiles of any size (8, 16, 48 px, non-square) go in as they are: nothing is resampled first.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..config import ModelConfig
from ..model import ACTIVATION_MODULES, Autoencoder, grid_positions, pixel_axis, to_image
from ..task import draw, premultiply, shrink, unpremultiply
from .registry import register

EDGE_MODES = {"clamp": "replicate", "wrap": "circular"}  # --edges -> torch's padding mode


@dataclass(frozen=True)
class LocalConfig(ModelConfig):
    kind: str = "local"
    channels: int = 4
    local_width: int = 32  # encoder channels
    local_blocks: int = 2  # residual blocks (two 3x3 convs each) between the stem and the head
    local_latent: int = 48  # feature width per grid cell = decoder hidden width
    local_layers: int = 2  # hidden layers of the decoder's MLP
    local_pad: int = 7  # edge padding (clamp or wrap) around the input: the encoder's reach + 1, so wrap is exact

    def check(self) -> None:
        reach = 2 + 2 * self.local_blocks  # pixels the encoder's 3x3 convs see beyond a cell
        if self.local_pad < reach + 1:  # + 1: the decoder reads one ring of cells beyond the tile
            raise ValueError(f"local_pad must be at least {reach + 1} for {self.local_blocks} blocks (so wrapped "
                             f"edges are exact), got {self.local_pad}")


class ResBlock(nn.Module):
    """x + conv(act(conv(x))) with unpadded ("valid") 3x3 convolutions: the block's output is 2
    pixels smaller on every side, and the skip path is cropped to match."""

    def __init__(self, width: int, act: type[nn.Module]):
        super().__init__()
        self.conv_1 = nn.Conv2d(width, width, 3)
        self.act = act()
        self.conv_2 = nn.Conv2d(width, width, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, 2:-2, 2:-2] + self.conv_2(self.act(self.conv_1(x)))


class LocalEncoder(nn.Module):
    """padded tile [B, C, h+2P, w+2P] -> grid [B, L + C, h+2, w+2]: L features, then the input colour.

    Every convolution is unpadded, so each one trims a pixel on every side: the network computes
    only the cells it must, and no cell ever sees a zero-padded border. What a cell sees beyond
    the tile is exactly the clamped or wrapped padding the runtime put there."""

    def __init__(self, c: LocalConfig):
        super().__init__()
        act = ACTIVATION_MODULES[c.activation]
        self.stem = nn.Conv2d(c.channels, c.local_width, 3)
        self.blocks = nn.Sequential(OrderedDict(
            (f"block_{i}", ResBlock(c.local_width, act)) for i in range(1, c.local_blocks + 1)))
        # LIIF's 3x3 feature unfolding and the decoder's first linear layer, as one convolution
        self.head = nn.Sequential(OrderedDict([("act", act()), ("conv", nn.Conv2d(c.local_width, c.local_latent, 3))]))
        self.extra = c.local_pad - 3 - 2 * c.local_blocks  # padding beyond what the convolutions use
        self.ring = c.local_pad - 1  # the colour of the tile and one ring of cells beyond it

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.extra:
            e = self.extra
            x = x[:, :, e:-e, e:-e]
        z = self.head(self.blocks(self.stem(x)))
        r = self.ring - self.extra
        return torch.cat([z, x[:, :, r:-r, r:-r]], dim=1)


class LocalDecoder(nn.Module):
    """(grid cells around a point, offset to each, output cell size) -> colour."""

    def __init__(self, c: LocalConfig):
        super().__init__()
        act = ACTIVATION_MODULES[c.activation]
        self.latent = c.local_latent
        self.query_in = nn.Linear(4, c.local_latent, bias=False)  # (dx, dy, cell w, cell h): the first layer's share
        self.input_act = act()
        layers = OrderedDict()
        for i in range(1, c.local_layers + 1):
            layers[f"linear_{i}"] = nn.Linear(c.local_latent, c.local_latent)
            layers[f"act_{i}"] = act()
        self.layers = nn.Sequential(layers)
        self.output = nn.Linear(c.local_latent, c.channels)

    def forward(self, grid: torch.Tensor, u: torch.Tensor, cell: torch.Tensor) -> torch.Tensor:
        """grid [B, L + C, h+2, w+2]; u: query points in input cells (x, y), [P, 2] shared by every tile
        or [B, P, 2]; cell: the output pixel's size in input cells (x, y), [2] or [B, 2] -> [B, P, C]."""
        B, D, gh, gw = grid.shape
        corner = torch.floor(u)
        frac = u - corner
        corner = corner.to(torch.int64) + 1  # +1: the ring of padding cells
        index, offset, weight = [], [], []
        for dy in (0, 1):
            for dx in (0, 1):
                index.append((corner[..., 1] + dy) * gw + corner[..., 0] + dx)
                rel = frac - torch.tensor([dx, dy], dtype=frac.dtype, device=frac.device)
                offset.append(rel)
                weight.append((1 - rel.abs()).prod(-1))
        index = torch.cat(index, -1)  # [(B,) 4P], the four cells one after the other
        offset = torch.cat(offset, -2)  # [(B,) 4P, 2]
        weight = torch.stack(weight, -2)  # [(B,) 4, P]
        flat = grid.flatten(2).transpose(1, 2)  # [B, cells, L + C]: a gathered cell is one contiguous row
        if index.dim() == 1:  # every tile asks the same points (render): one gather for all
            cells = flat.index_select(1, index)
        else:
            cells = flat.gather(1, index[:, :, None].expand(B, index.shape[-1], D))  # [B, 4P, L + C]
        latent, colour = cells[..., :self.latent], cells[..., self.latent:]
        cell = cell.to(offset.dtype)
        cell = cell.expand(offset.shape[:-1] + (2,)) if cell.dim() == 1 else cell[:, None, :].expand(offset.shape)
        h = self.input_act(latent + self.query_in(torch.cat([offset, cell], -1)))
        colours = colour + self.output(self.layers(h))  # a correction to the cell's own colour
        colours = colours.reshape(B, 4, -1, colours.shape[-1])
        return (colours * weight[..., None]).sum(1)


@register("local")
class LocalGrid(Autoencoder):
    Config = LocalConfig
    # RGBA, trained for upscaling (MODEL.md has what each size measured)
    presets = {"local-w32": LocalConfig(channels=4, size=32, activation="relu", local_blocks=3, local_pad=9)}
    latent_name = "grid"
    reconstruction_loss = staticmethod(F.l1_loss)
    augment_shift = 0  # flips only: a cyclic shift would put a seam inside tiles that are not seamless

    def __init__(self, config: LocalConfig, coordinates: str = "center"):
        super().__init__(config)
        if coordinates != "center":
            raise ValueError("the local kind uses pixel centres only")
        self.encoder = LocalEncoder(config)
        self.decoder = LocalDecoder(config)
        self.pad = config.local_pad

    # ---- rendering: what the runtime runs
    def pad_input(self, x: torch.Tensor, edges: str = "clamp") -> torch.Tensor:
        """The encoder's input: `pad` pixels around the tile, its border repeated (clamp) or the
        opposite side continued (wrap, also for tiles smaller than the padding, like numpy's "wrap")."""
        p = self.pad
        if edges == "wrap" and p > min(x.shape[-2:]):
            h, w = x.shape[-2:]
            ry, rx = 2 * math.ceil(p / h) + 1, 2 * math.ceil(p / w) + 1
            oy, ox = (ry // 2) * h - p, (rx // 2) * w - p
            return x.repeat(1, 1, ry, rx)[..., oy:oy + h + 2 * p, ox:ox + w + 2 * p]
        return F.pad(x, (p,) * 4, mode=EDGE_MODES[edges])

    def render(self, grid: torch.Tensor, height, width, top=0, rows=None) -> torch.Tensor:
        """grid [B, L + C, h+2, w+2] -> image [B, C, height, width] in [0, 1], any size (or rows
        top .. top + rows - 1 of it)."""
        h_in, w_in = grid.shape[2] - 2, grid.shape[3] - 2
        u_x = (pixel_axis(width, device=grid.device) + 1) / 2 * w_in - 0.5
        u_y = (pixel_axis(height, device=grid.device, first=top, count=rows) + 1) / 2 * h_in - 0.5
        u = torch.stack([u_x[None, :].expand(u_y.shape[0], u_x.shape[0]).reshape(-1),
                         u_y[:, None].expand(u_y.shape[0], u_x.shape[0]).reshape(-1)], -1)
        cell = torch.stack([w_in / torch.as_tensor(width).to(torch.float32),
                            h_in / torch.as_tensor(height).to(torch.float32)])
        return to_image(self.decoder(grid, u, cell).clamp(0, 1), self.config.channels,
                        height if rows is None else rows, width)

    def upscale(self, x: torch.Tensor, height: int, width: int, edges: str = "clamp") -> torch.Tensor:
        return self.render(self.encoder(self.pad_input(x, edges)), height, width)

    # ---- training: the model sees a degraded, shrunk tile and is asked for the original
    def forward(self, lr: torch.Tensor, u: torch.Tensor, cell: torch.Tensor) -> tuple[torch.Tensor, None]:
        return self.decoder(self.encoder(lr), u, cell), None

    def training_query(self, x: torch.Tensor, generator: torch.Generator, cfg) -> tuple[tuple, torch.Tensor]:
        """The upscaling task (manifold_train.task, cfg.task): a shrunk tile in, the original's colours
        at cfg.pixels_per_tile random pixels asked for. Returns ((padded input, query points, cell
        size), target colours [B, P, C])."""
        x = premultiply(x)
        B, C, S, _ = x.shape
        task = draw(x, generator, cfg.task)
        m = task.size
        lr = self.pad_input(task.low, task.edges)
        pixels = cfg.pixels_per_tile
        P = S * S if not pixels or pixels >= S * S else pixels
        xy = grid_positions(S, S, device=x.device)  # [S*S, 2] pixel centres of the original
        target = x.flatten(2).transpose(1, 2)
        if P < S * S:
            pick = torch.randint(S * S, (B, P), generator=generator).to(x.device)
            xy, target = xy[pick], target.gather(1, pick[..., None].expand(-1, -1, C))
        else:
            xy = xy.expand(B, -1, -1)
        u = (xy + 1) / 2 * m - 0.5
        cell = torch.full((B, 2), m / S, device=x.device)
        return (lr, u, cell), target

    @torch.no_grad()
    def validation_mse(self, x: torch.Tensor) -> torch.Tensor:
        """Summed squared error (premultiplied colour), averaged over three fixed tasks: 2x from
        box- and from nearest-shrunk tiles, and the round trip at the tile's size."""
        x = premultiply(x)
        S = x.shape[-1]
        total = torch.zeros((), device=x.device)
        for m, degradation in ((S // 2, "box"), (S // 2, "nearest"), (S, "none")):
            lr = torch.round(shrink(x, m, degradation) * 255) / 255
            total = total + F.mse_loss(self.upscale(lr, S, S), x, reduction="sum")
        return total / 3

    @torch.no_grad()
    def preview(self, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        S = x.shape[-1]
        p = premultiply(x)
        columns = [(f"original {S}px", x)]
        for degradation in ("box", "nearest"):
            lr = torch.round(shrink(p, S // 2, degradation) * 255) / 255
            columns.append((f"2x from {degradation}-shrunk", unpremultiply(self.upscale(lr, S, S))))
        columns.append((f"original at {2 * S}px", unpremultiply(self.upscale(p, 2 * S, 2 * S))))
        return columns

    def export_input(self, height: int, width: int, batch: int = 2) -> torch.Tensor:
        p = 2 * self.pad
        return torch.rand(batch, self.config.channels, height + p, width + p, device=self.encoder.stem.weight.device)

    def card(self) -> dict:
        return {"input_size": None, "pad": self.pad, "code_size": self.config.local_latent + self.config.channels,
                "premultiplied": self.config.channels == 4,
                "decoder_width": 4 * self.config.local_latent}  # four cells' features per output pixel


    @classmethod
    def tiny(cls) -> LocalConfig:
        return LocalConfig(channels=4, size=16, local_width=8, local_blocks=1, local_latent=16, local_layers=1,
                           local_pad=5)
