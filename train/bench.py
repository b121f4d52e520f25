"""The PyTorch half of `manifold bench` (the sections and the harness are in bench_suite.py).

- The model as PyTorch (`torch_model`): the kind's own class (registry.py) built from a model
  directory's model.json `architecture` and `weights.safetensors` (the exported function,
  batch-norm folded, under the model's layer names). The bench counts FLOPs on it
  (`Autoencoder.flops`, torch.utils.flop_counter): no formula of its own to keep in step.
- The inference anchor (docs/ARCHITECTURE.md, "Where decisions were measured"): the seed's
  decoder in eager PyTorch, one tile at a time, its code repeated for every pixel and
  concatenated with the positional embedding, batch-norm evaluated as a layer; the tile's code
  comes from the eager encoder. It is written separately from the model on purpose: it is the
  baseline the runtime is measured against. Its weights come from weights.safetensors by layer
  name, so it is the same function as the runtime (checked: `anchor_max_abs_diff` in the bench
  output). It covers the global kind only (the seed's model).
- Training throughput: the trainer's own step (`make_step`) for each speed lever, against
  plain fp32 eager PyTorch on every pixel of every tile.
- Training quality at the same number of inputs: `python -m manifold_train.bench quality`.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from manifold_core.card import read_card

from .config import ModelConfig, TrainConfig
from .kinds import build_model, preset
from .kinds.global_code import Encoder, positional_embedding
from .model import ACTIVATION_MODULES, Autoencoder, grid_positions
from .trainer import make_step

WEIGHTS = "weights.safetensors"  # written by manifold_export.onnx_export (its WEIGHTS; a test checks they agree)


class AnchorUnavailable(ValueError):
    """Why a model directory has no seed-style anchor (the bench prints it and skips the anchor)."""


# ---------------------------------------------------------------- the model as PyTorch
def model_config(model_dir: str | Path) -> tuple[ModelConfig, str]:
    """(architecture, coordinate convention) from a model directory's model.json."""
    card = read_card(model_dir)
    return ModelConfig.from_dict(card.architecture), card.coordinates


def torch_model(model_dir: str | Path, weights: bool = True) -> Autoencoder:
    """The model kind's PyTorch module for an exported model directory, in eval mode.

    With `weights`, weights.safetensors is loaded (strictly): batch-norm layers it has no
    entries for were folded by export and become identities. Without it (FLOP counting on a
    directory exported before weights.safetensors existed) the layers keep their initial values:
    the FLOP count depends on the architecture only."""
    model_dir = Path(model_dir)
    config, coordinates = model_config(model_dir)
    model = build_model(config, coordinates)
    if weights:
        from safetensors.torch import load_file

        path = model_dir / WEIGHTS
        if not path.is_file():
            raise FileNotFoundError(f"{model_dir}: no {WEIGHTS} (exported before it was written); export the "
                                    f"model again with `manifold export`")
        state = load_file(path)
        for name, module in list(model.named_modules()):
            for child_name, child in list(module.named_children()):
                full = f"{name}.{child_name}" if name else child_name
                if isinstance(child, nn.modules.batchnorm._BatchNorm) and f"{full}.weight" not in state:
                    setattr(module, child_name, nn.Identity())  # folded into the next layer by export
        model.load_state_dict(state)
    return model.eval()


def flop_model(model_dir: str | Path) -> Autoencoder:
    """The model whose `flops(in_h, in_w, out_h, out_w)` the bench reports: the exported function where
    weights.safetensors exists, else the architecture alone (the count does not depend on the values)."""
    try:
        return torch_model(model_dir)
    except FileNotFoundError:
        return torch_model(model_dir, weights=False)


# ---------------------------------------------------------------- inference anchor
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
    if card.kind != "global":
        return f"a {card.kind}-kind model: the seed-style anchor covers the global kind only"
    if not (model_dir / WEIGHTS).is_file():
        return f"no {WEIGHTS} in {model_dir} (exported before it was written): export the model again"
    if set(ModelConfig.from_dict(card.architecture).decoder_residual) != {"add"}:
        return "the anchor covers decoders with 'add' residuals (every preset but the concat one)"
    return None


def load_anchor(model_dir: str | Path) -> tuple[Encoder, SeedDecoder, dict]:
    """The eager encoder and seed-style decoder with a model directory's weights (eval mode).

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
    return encoder.eval(), decoder.eval(), {"architecture": card.architecture, "coordinates": card.coordinates}


@torch.inference_mode()
def anchor_encode(encoder: Encoder, tiles: np.ndarray) -> list[torch.Tensor]:
    """[N, C, S, S] uint8 -> one code per tile, one eager call per tile."""
    return [encoder(torch.from_numpy(t[None]).float() / 255)[0] for t in tiles]


@torch.inference_mode()
def anchor_decode(decoder: SeedDecoder, codes, height: int, width: int, convention: str = "center") -> list:
    """One eager seed-style decoder call per tile -> [C, height, width] images."""
    return [decoder(torch.as_tensor(code), height, width, convention) for code in codes]


# ---------------------------------------------------------------- training throughput
PLAIN = dict(pixels_per_tile=0, precision="fp32", channels_last=False, compile=False, cache_embedding=False)

# Each lever alone, then together. The "fast" set is what BENCHMARKS.md recommends.
LEVERS: dict[str, dict] = {
    "plain fp32 eager, every pixel": {},
    "cached positional embedding": dict(cache_embedding=True),
    "channels-last": dict(channels_last=True),
    "bf16 autocast": dict(precision="bf16"),
    "128 random pixels per tile": dict(pixels_per_tile=128),
    "fast: 128 pixels + bf16 + channels-last + cached embedding":
        dict(pixels_per_tile=128, precision="bf16", channels_last=True, cache_embedding=True),
    "fast + torch.compile":
        dict(pixels_per_tile=128, precision="bf16", channels_last=True, cache_embedding=True, compile=True),
}
FAST = LEVERS["fast: 128 pixels + bf16 + channels-last + cached embedding"]


def make_stepper(levers: dict, train_tiles: torch.Tensor, model: ModelConfig | None = None, batch_size: int = 64,
                 seed: int = 0):
    """(step function, config, model) for a fresh model (default: seed-b8-h128, RGBA) with the given
    speed levers, built by the trainer's own make_step."""
    cfg = TrainConfig(data=[], out="", model=model or preset("seed-b8-h128", 4), batch_size=batch_size, seed=seed,
                      **{**PLAIN, **levers})
    torch.manual_seed(seed)
    model = build_model(cfg.model)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    return make_step(cfg, model, optimizer, train_tiles, generator, world), cfg, model


# ---------------------------------------------------------------- training quality
def quality(data: list[str], inputs: int, out: str, levers: dict[str, dict] | None = None, seed: int = 0,
            batch_size: int = 64) -> list[dict]:
    """Train each lever set for the same number of inputs on the same tiles; validation MSE and speed."""
    from .trainer import train

    levers = levers or {"plain": {}, "fast": FAST}
    results = []
    for name, extra in levers.items():
        cfg = TrainConfig(data=data, out=str(Path(out) / name), model=preset("seed-b8-h128", 4), tile_size=32,
                          max_inputs=inputs, batch_size=batch_size, eval_every=max(batch_size, inputs // 4),
                          seed=seed, **{**PLAIN, **extra})
        t = time.perf_counter()
        result = train(cfg, show_progress=False)
        results.append({"levers": name, **{k: extra.get(k, v) for k, v in PLAIN.items()}, "inputs": result["inputs"],
                        "val_mse": result["val_mse"], "train_wall_s": round(result["wall_s"], 1),
                        "run_wall_s": round(time.perf_counter() - t, 1)})
        print(json.dumps(results[-1]), flush=True)
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m manifold_train.bench",
                                     description="Validation MSE of the plain and the fast training recipe "
                                                 "after the same number of inputs (seed-b8-h128, RGBA, batch 64).")
    parser.add_argument("command", choices=["quality"])
    parser.add_argument("--data", nargs="+", default=["data/wall.png", "data/floor.png", "data/feat.png"])
    parser.add_argument("--inputs", type=int, default=64_000)
    parser.add_argument("--out", default="runs/bench-quality")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    results = quality(args.data, args.inputs, args.out, seed=args.seed)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
