"""`manifold export`: a training run -> model directory (encoder.onnx, decoder.onnx, model.json,
and decoder.int8.onnx for `--precision int8`, see quantize.py).

The decoder graph renders a whole image per tile at any size:

    code [batch, D], height (int64), width (int64) -> image [batch, C, height, width]

Two rewrites make it cheaper than the training graph, with the same output:
- batch-norm (eval mode: a fixed per-feature scale and shift) is folded into the first
  linear layer of its block;
- the first layer's code share, code @ W_code, is computed once per tile, and only the
  position share runs per pixel (as in training; see model.ManifoldDecoder).
The pixel grid is built inside the graph from height and width, with the coordinate
convention of the training run baked in (pixel centres unless the run said otherwise).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import shutil
import warnings
from pathlib import Path

import torch
import torch.nn as nn

from manifold_train.model import ACTIVATION_MODULES, ManifoldDecoder, parameter_counts, positional_embedding
from manifold_train.trainer import read_run

from .quantize import INT8_DECODER, RECIPE, quantize_decoder

FORMAT_VERSION = 1
OPSET = 17


def fold_batch_norm(decoder: ManifoldDecoder) -> ManifoldDecoder:
    """A copy of an eval-mode decoder whose blocks have no BatchNorm: each is folded into linear_1.

    norm(h) = h * s + t with s = gamma / sqrt(var + eps), t = beta - mean * s, so
    W norm(h) + b = (W * s) h + (W t + b). The residual still adds the un-normalised h.
    """
    decoder = copy.deepcopy(decoder).eval()
    for block in decoder.blocks:
        if not isinstance(block.norm, nn.BatchNorm1d):
            continue
        bn, first = block.norm, block.layers.linear_1
        scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        shift = bn.bias - bn.running_mean * scale
        with torch.no_grad():
            first.bias.copy_(first.weight @ shift + first.bias)
            first.weight.mul_(scale[None, :])
        block.norm = nn.Identity()
    return decoder


class DecoderGraph(nn.Module):
    """What decoder.onnx computes: (code, height, width) -> image, pixel grid built in the graph."""

    def __init__(self, decoder: ManifoldDecoder, convention: str = "center"):
        super().__init__()
        decoder = fold_batch_norm(decoder)
        c = decoder.config
        self.frequencies = c.pos_frequencies
        self.channels = c.channels
        self.convention = convention
        D = c.code_size
        self.code_in = nn.Linear(D, c.decoder_n_hid)
        self.pos_in = nn.Linear(c.pos_embedding_size, c.decoder_n_hid, bias=False)
        with torch.no_grad():
            self.code_in.weight.copy_(decoder.input.weight[:, :D])
            self.code_in.bias.copy_(decoder.input.bias)
            self.pos_in.weight.copy_(decoder.input.weight[:, D:])
        self.act = ACTIVATION_MODULES[c.activation]()
        self.blocks = decoder.blocks
        self.output = decoder.output

    def axis(self, n: torch.Tensor) -> torch.Tensor:
        i = torch.arange(n, dtype=torch.float32)
        if self.convention == "center":  # (i + 0.5) / n * 2 - 1
            return (i + 0.5) / n.to(torch.float32) * 2 - 1
        # corner: linspace(-1, 1, n); n == 1 gives -1 like torch.linspace
        return i / torch.clamp(n - 1, min=1).to(torch.float32) * 2 - 1

    def forward(self, code: torch.Tensor, height: torch.Tensor, width: torch.Tensor) -> torch.Tensor:
        y, x = self.axis(height), self.axis(width)
        xx = x[None, :].expand(y.shape[0], x.shape[0])
        yy = y[:, None].expand(y.shape[0], x.shape[0])
        xy = torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=-1)  # [P, 2], row-major
        pos = self.pos_in(positional_embedding(xy, self.frequencies))  # [P, H]
        h = self.act(self.code_in(code)[:, None, :] + pos[None])  # [B, P, H]
        h = self.blocks(h)
        image = torch.sigmoid(self.output(h))  # [B, P, C]
        return image.transpose(1, 2).reshape(code.shape[0], self.channels, y.shape[0], x.shape[0])


def export_model(run_dir: str | Path, model_dir: str | Path, coordinates: str | None = None) -> dict:
    """Write encoder.onnx, decoder.onnx and model.json for the run; returns model.json's content."""
    import onnx

    info, model = read_run(run_dir)
    c = model.config
    convention = coordinates or info.get("coordinates", "center")
    model_dir = Path(model_dir)
    tmp = model_dir.with_name(f".{model_dir.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)

    image = torch.rand(2, c.channels, c.size, c.size)
    code = model.encoder(image).detach()
    size = torch.tensor(c.size, dtype=torch.int64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on int conversions; verified below
        torch.onnx.export(model.encoder, (image,), tmp / "encoder.onnx", dynamo=False, opset_version=OPSET,
                          input_names=["image"], output_names=["code"],
                          dynamic_axes={"image": {0: "batch"}, "code": {0: "batch"}})
        torch.onnx.export(DecoderGraph(model.decoder, convention).eval(), (code, size, size),
                          tmp / "decoder.onnx", dynamo=False, opset_version=OPSET,
                          input_names=["code", "height", "width"], output_names=["image"],
                          dynamic_axes={"code": {0: "batch"}, "image": {0: "batch", 2: "height", 3: "width"}})
    for name in ("encoder.onnx", "decoder.onnx"):
        onnx.checker.check_model(onnx.load(tmp / name), full_check=True)
    kept_fp32 = quantize_decoder(tmp / "decoder.onnx", tmp / INT8_DECODER)  # the opt-in --precision int8 path

    train_cfg = info.get("train", {})
    card = {
        "format_version": FORMAT_VERSION,
        "channels": c.channels,
        "input_size": c.size,
        "code_size": c.code_size,
        "coordinates": convention,
        "preset": info.get("preset", ""),
        "architecture": c.to_dict(),
        "parameters": parameter_counts(c),
        "trained_on": {"data": [Path(d).name for d in train_cfg.get("data", [])], "tiles": info.get("data", {}),
                       "tile_size": train_cfg.get("tile_size"), "inputs": info["progress"]["inputs"],
                       "wall_s": info["progress"]["wall_s"], "device": train_cfg.get("device"),
                       "batch_size": train_cfg.get("batch_size"), "lr": train_cfg.get("lr"),
                       "std_mean_factor": train_cfg.get("std_mean_factor"), "seed": train_cfg.get("seed")},
        "metrics": {"val_mse": info["progress"]["val_mse"]},
        "int8": {"decoder": INT8_DECODER, "recipe": RECIPE, "kept_fp32": kept_fp32},
        "exported": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    (tmp / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    if model_dir.exists():
        shutil.rmtree(model_dir)
    tmp.rename(model_dir)
    return card
