"""What every model kind shares: the coordinate convention, the interface, and the blocks.

Data flow: tiles -> dataset -> config -> **model** -> trainer -> export -> runtime. A model
kind (manifold_train.kinds) is one `Autoencoder` subclass that declares, as class attributes,
what the trainer, export and bench need to know about it (its config class, presets, whether
it resamples its input, its task) and implements

    encode(image)                 the encoder's latent: a code per tile, or a feature grid
    render(latent, height, width, top, rows)
                                  the image at any size, or a band of its rows; exportable
                                  (sizes may be 0-d int64 tensors: export traces it as decoder.onnx)
    training_query(x, generator, cfg)
                                  what the trainer samples: encoder input, query points, targets
    forward(*inputs)              the training forward pass on those inputs: (colours, extra)
    training_loss(...)            the step's loss from what forward returned (default: reconstruction + code loss)
    validation_mse(x), preview(x) the validation task, and the columns of repros.png
    export_input(...), card()     the example encoder input export traces; what model.json says
    for_export()                  the eval-mode copy export traces (a kind may fold layers here)
    styles()                      other renderings of the latent, exported as decoder.NAME.onnx
    flops(...)                    multiply-adds x 2 of encoder and decoder, counted from the layers

so the trainer, the exporter and the bench never branch on the kind.
"""

from __future__ import annotations

import copy

import torch
import torch.nn as nn

from .config import COORDINATES, ModelConfig

ACTIVATION_MODULES = {"gelu": nn.GELU, "relu": nn.ReLU, "silu": nn.SiLU}


# ---------------------------------------------------------------- coordinates
# Pixel i of n sits at its centre, (i + 0.5) / n * 2 - 1, so the grid spans [-1, 1] edge to
# edge and a 2x render puts two output pixels exactly over each source pixel. "corner" is
# the seed's linspace(-1, 1, n): the first and last pixel centres sit on the edges, which
# shifts a 2x render by a fraction of a pixel; keep it only to reproduce the seed.


def pixel_axis(n, convention: str = "center", device=None, first=0, count=None) -> torch.Tensor:
    """The coordinates of pixels first .. first + count - 1 (default: all n) along an axis of n pixels.

    n, first and count may be ints or 0-d int64 tensors (traced by export: decoder.onnx renders
    a band of rows, so a huge output never has to be in memory at once)."""
    i = torch.arange(n if count is None else count, device=device, dtype=torch.float32)
    i = i + torch.as_tensor(first, device=device).to(torch.float32)
    n = torch.as_tensor(n, device=device).to(torch.float32)
    if convention == "center":
        return (i + 0.5) / n * 2 - 1
    if convention == "corner":  # n == 1 gives -1, like torch.linspace
        return i / torch.clamp(n - 1, min=1) * 2 - 1
    raise ValueError(f"coordinate convention must be one of {COORDINATES}, got {convention!r}")


def pixel_coordinates(n: int, convention: str = "center", device=None) -> torch.Tensor:
    return pixel_axis(n, convention, device)


def grid_positions(height, width, convention: str = "center", device=None, top=0, rows=None) -> torch.Tensor:
    """(x, y) of every pixel, row-major: [height * width, 2]; x runs along a row. With `top`, `rows`:
    only rows top .. top + rows - 1 of the height x width image."""
    y = pixel_axis(height, convention, device, top, rows)
    x = pixel_axis(width, convention, device)
    xx = x[None, :].expand(y.shape[0], x.shape[0])
    yy = y[:, None].expand(y.shape[0], x.shape[0])
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)


def to_image(colours: torch.Tensor, channels: int, height, width) -> torch.Tensor:
    """[B, P, C] row-major pixels -> [B, C, height, width] (C a constant, so decoder.onnx declares it)."""
    return colours.transpose(1, 2).reshape(colours.shape[0], channels, height, width)


# ---------------------------------------------------------------- the interface
class Autoencoder(nn.Module):
    kind = ""  # set by @register (manifold_train.kinds)
    Config: type[ModelConfig] = ModelConfig  # the kind's own config class
    presets: dict[str, ModelConfig] = {}  # named configs (`manifold train --preset`)
    resamples_input = False  # True: the dataset resamples tiles to config.size (else cuts them at their size)
    seed_anchor = False  # True: the bench's seed-style eager anchor reads this kind's weights
    latent_name = "latent"  # the decoder graph's first input
    coordinates = "center"  # the pixel grid convention the model renders with (see above)
    augment_shift = 0  # pixels of random cyclic shift in training (data.augment); 0: flips only
    reconstruction_loss = staticmethod(nn.functional.mse_loss)

    def __init__(self, config: ModelConfig):
        super().__init__()
        if not isinstance(config, self.Config):
            raise TypeError(f"a {self.kind} model needs a {self.Config.__name__}, got {type(config).__name__}")
        self.config = config

    @classmethod
    def tiny(cls) -> ModelConfig:
        """A config small enough for a test to build, train a few steps and export in seconds."""
        raise NotImplementedError

    def encode(self, image: torch.Tensor) -> torch.Tensor:
        return self.encoder(image)

    def render(self, latent: torch.Tensor, height, width, top=0, rows=None) -> torch.Tensor:
        """[B, C, rows, width]: rows top .. top + rows - 1 (default: all) of the height x width image."""
        raise NotImplementedError

    def training_query(self, x: torch.Tensor, generator: torch.Generator, cfg) -> tuple[tuple, torch.Tensor]:
        """From a batch of tiles [B, C, S, S] in [0, 1] and the TrainConfig (its task and speed
        levers): (the inputs of `forward`, target colours [B, P, C])."""
        raise NotImplementedError

    def validation_mse(self, x: torch.Tensor) -> torch.Tensor:
        """Summed squared error of the kind's validation task on tiles [B, C, S, S]."""
        raise NotImplementedError

    def preview(self, x: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        """(title, images [B, C, h, w]) columns of repros.png for tiles x."""
        raise NotImplementedError

    def for_export(self) -> Autoencoder:
        """The eval-mode copy that export traces."""
        return copy.deepcopy(self).eval()

    def styles(self) -> dict[str, Autoencoder]:
        """Other renderings of the same latent, by name, each exported as decoder.NAME.onnx (model.json
        `styles`); none by default."""
        return {}

    def code_loss(self, code: torch.Tensor | None) -> torch.Tensor:
        """An extra loss on the latent (weighted by TrainConfig.std_mean_factor); none by default."""
        return torch.zeros(())

    def training_loss(self, pred: torch.Tensor, extra, target: torch.Tensor, cfg) -> torch.Tensor:
        """The loss of a training step: `pred` and `extra` are what `forward` returned (extra: the code,
        or None, or what else the kind needs), target the colours asked for."""
        loss = self.reconstruction_loss(pred, target)
        if extra is not None:
            loss = loss + cfg.std_mean_factor * self.code_loss(extra.float())
        return loss

    def card(self) -> dict:
        """What the runtime needs to know to feed the encoder (model.json): input size, padding."""
        raise NotImplementedError

    def export_input(self, height: int, width: int, batch: int = 2) -> torch.Tensor:
        """An example encoder input for a tile of height x width (what the runtime will feed)."""
        raise NotImplementedError

    @torch.no_grad()
    def flops(self, in_height: int, in_width: int, out_height: int, out_width: int) -> dict[str, int]:
        """Floating-point operations (2 per multiply-add, matmuls and convolutions) for one tile of
        in_height x in_width rendered at out_height x out_width, counted by running the model."""
        from torch.utils.flop_counter import FlopCounterMode

        was_training = self.training
        self.eval()
        image = self.export_input(in_height, in_width, batch=1)
        with FlopCounterMode(display=False) as encoder:
            latent = self.encode(image)
        with FlopCounterMode(display=False) as decoder:
            self.render(latent, out_height, out_width)
        self.train(was_training)
        return {"encoder": encoder.get_total_flops(), "decoder": decoder.get_total_flops()}
