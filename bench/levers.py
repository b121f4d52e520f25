"""The trainer's speed levers (BENCHMARKS.md, "Training") and a training step built with them.

`make_stepper` builds the trainer's own step (`manifold_train.trainer.make_step`) for a fresh
model with a set of levers: the training section times it, the quality section trains with
the same sets, and the speed-lever and distributed tests of manifold_train run it.
"""

from __future__ import annotations

import torch

from manifold_train.config import ModelConfig, TrainConfig
from manifold_train.kinds import build_model, preset
from manifold_train.trainer import make_step

# The seed's recipe: fp32 eager PyTorch on every pixel of every tile (what each lever is measured against).
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
BENCH_PRESET = "seed-b8-h128"  # the model both sections train (RGBA): the seed's, whose step the levers were tuned on


def bench_model() -> ModelConfig:
    """The model the training and quality sections train: BENCH_PRESET, RGBA."""
    return preset(BENCH_PRESET, 4)


def make_stepper(levers: dict, train_tiles: torch.Tensor, model: ModelConfig | None = None, batch_size: int = 64,
                 seed: int = 0):
    """(step function, config, model) for a fresh model (default: seed-b8-h128, RGBA) with the given
    speed levers, built by the trainer's own make_step."""
    cfg = TrainConfig(data=[], out="", model=model or bench_model(), batch_size=batch_size, seed=seed,
                      **{**PLAIN, **levers})
    torch.manual_seed(seed)
    model = build_model(cfg.model)
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    generator = torch.Generator().manual_seed(seed)
    world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
    return make_step(cfg, model, optimizer, train_tiles, generator, world), cfg, model
