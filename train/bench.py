"""The PyTorch half of `manifold bench` (the runtime half is manifold_cli/bench.py).

- The inference anchor (DESIGN.md, "How we measure"): the seed's decoder in eager PyTorch,
  one tile at a time, its code repeated for every pixel and concatenated with the positional
  embedding, batch-norm evaluated as a layer; the tile's code comes from the eager encoder.
  The weights are read from the model directory's ONNX files, so the anchor is the same
  function as the runtime (checked: `anchor_max_abs_diff` in the bench output).
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

from .config import ModelConfig, preset
from .config import TrainConfig
from .global_code import Encoder, positional_embedding
from .model import ACTIVATION_MODULES, grid_positions
from .registry import build_model
from .trainer import make_step


# ---------------------------------------------------------------- inference anchor
class SeedDecoder(nn.Module):
    """The decoder as the seed ran it: per tile, concat(code repeated per pixel, embedding) -> layers."""

    def __init__(self, c: ModelConfig):
        super().__init__()
        if set(c.decoder_residual) != {"add"}:
            raise ValueError("the anchor covers decoders with 'add' residuals (every preset but the concat one)")
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


def _onnx_weights(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Initializers by name, and for each MatMul node its weight initializer's name."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    matmuls = {n.name: n.input[1] for n in model.graph.node if n.op_type == "MatMul" and n.input[1] in weights}
    return weights, matmuls


def load_anchor(model_dir: str | Path) -> tuple[Encoder, SeedDecoder, dict]:
    """The eager encoder and seed-style decoder with a model directory's weights (eval mode).

    decoder.onnx has batch-norm folded into the following layer; the anchor keeps a real
    BatchNorm1d per block with neutral statistics (mean 0, variance 1 - eps, weight 1,
    bias 0), so it runs the seed's layers and still computes the exported function.
    """
    model_dir = Path(model_dir)
    info = json.loads((model_dir / "model.json").read_text())
    c = ModelConfig.from_dict(info["architecture"])
    encoder = Encoder(c)
    weights, _ = _onnx_weights(model_dir / "encoder.onnx")
    encoder.load_state_dict({k: torch.from_numpy(weights[k].copy()) for k in encoder.state_dict()})

    decoder = SeedDecoder(c)
    weights, matmuls = _onnx_weights(model_dir / "decoder.onnx")
    w = lambda node: torch.from_numpy(weights[matmuls[node]].T.copy())  # noqa: E731 - MatMul stores [in, out]
    b = lambda name: torch.from_numpy(weights[name].copy())  # noqa: E731
    with torch.no_grad():
        decoder.input.weight.copy_(torch.cat([b("code_in.weight"), w("/pos_in/MatMul")], dim=1))
        decoder.input.bias.copy_(b("code_in.bias"))
        for i, block in enumerate(decoder.blocks, start=1):
            norm = block["norm"]
            norm.running_mean.zero_()
            norm.running_var.fill_(1 - norm.eps)
            for j in range(1, c.decoder_n_layer + 1):
                linear = block["layers"][2 * (j - 1)]
                linear.weight.copy_(w(f"/blocks/block_{i}/layers/linear_{j}/MatMul"))
                linear.bias.copy_(b(f"blocks.block_{i}.layers.linear_{j}.bias"))
        decoder.output.weight.copy_(w("/output/MatMul"))
        decoder.output.bias.copy_(b("output.bias"))
    return encoder.eval(), decoder.eval(), info


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
