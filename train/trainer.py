"""`manifold train`: the seed's training recipe, readable top to bottom.

AdamW + cosine annealing over the whole run, L2 reconstruction plus the seed's code
std/mean constraint, random flips and small shifts. Progress is counted in *inputs* (tiles
seen), the seed's unit. Everything needed to continue lives in RUN_DIR:

    config.json         model config, training config, data stats, progress so far
    model.safetensors   the weights (written atomically, after config.json's temp copy)
    state.pt            optimizer, scheduler and RNG state, for --resume
    log.csv             inputs, train loss, validation MSE, learning rate, inputs/s
    loss.png, repros.png   written at the end (figures.py)

Speed levers (TrainConfig fields and `manifold train` options; measured in BENCHMARKS.md):
random pixel subsets for the decoder loss, bf16 autocast, channels-last convolutions,
torch.compile, and a positional embedding computed once per run. Several processes or
GPUs: start the same command under `torchrun`; it trains with DistributedDataParallel.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from manifold_core.errors import UserError
from manifold_core.tiles import Grid

from .config import ModelConfig
from .data import augment, load_tileset
from .model import Autoencoder, code_distribution_loss, grid_positions, positional_embedding

LOG_FIELDS = ["inputs", "step", "train_loss", "train_mse", "val_mse", "lr", "wall_s", "inputs_per_s"]


@dataclass
class TrainConfig:
    data: list[str]
    out: str
    model: ModelConfig = field(default_factory=ModelConfig)
    preset: str = ""
    tile_size: int = 0  # > 0: inputs are tileset sheets of this tile size
    margin: int = 0
    spacing: int = 0
    val_percent: int = 10
    max_inputs: int = 1_000_000
    batch_size: int = 64
    lr: float = 3e-4
    weight_decay: float = 0.01
    std_mean_factor: float = 1e-4
    augment: bool = True
    max_shift: int = 1
    coordinates: str = "center"
    # speed levers, measured in BENCHMARKS.md: the defaults are the fast set, 13.7x the seed's plain
    # fp32 step for seed-b8-h128 on a 2-core CPU with as good a validation loss after the same inputs
    pixels_per_tile: int = 128  # decoder loss on this many random pixels per tile; 0: every pixel
    precision: str = "auto"  # "bf16" autocast, "fp32", or "auto": bf16 where the hardware has it
    channels_last: bool = True  # encoder tensors in NHWC memory layout (same numbers)
    compile: bool = False  # torch.compile the forward pass (about even on a 2-core CPU, plus compile time)
    cache_embedding: bool = True  # embed the pixel grid once per run (same numbers)
    eval_every: int = 0  # inputs between validations; 0: 50 per run
    seed: int = 0
    device: str = "cpu"
    threads: int = 0  # torch intra-op threads; 0: torch's default

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["model"] = self.model.to_dict()
        return d


def atomic_write(path: Path, write) -> None:
    """write(tmp_path) then rename: a crash never leaves a half-written file under `path`."""
    tmp = path.with_name(f".{path.name}.tmp")
    write(tmp)
    os.replace(tmp, path)


def read_run(run_dir: str | Path) -> tuple[dict, Autoencoder]:
    """The config.json and the trained model of a run directory (eval mode, CPU)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").exists() or not (run_dir / "model.safetensors").exists():
        raise UserError(f"{run_dir}: not a training run (needs config.json and model.safetensors; "
                        f"make one with `manifold train`)")
    info = json.loads((run_dir / "config.json").read_text())
    model = Autoencoder(ModelConfig.from_dict(info["model"]))
    model.load_state_dict(load_file(run_dir / "model.safetensors"))
    return info, model.eval()


@torch.no_grad()
def validation_mse(model: Autoencoder, val: torch.Tensor, convention: str, batch_size: int = 256) -> float:
    if len(val) == 0:
        return float("nan")
    was_training = model.training
    model.eval()
    total = 0.0
    for chunk in val.split(batch_size):
        x = chunk.float() / 255
        total += F.mse_loss(model(x, convention)[0], x, reduction="sum").item()
    model.train(was_training)
    return total / val.numel()


class TrainForward(nn.Module):
    """The training forward pass as one module, so DistributedDataParallel and torch.compile
    wrap one call: tiles [B, C, S, S] and embedded positions -> (code [B, D], colours [B, P, C])."""

    def __init__(self, model: Autoencoder):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        code = self.model.encoder(x)
        return code, self.model.decoder.forward_embedded(code, pos)


def make_step(cfg: TrainConfig, model: Autoencoder, optimizer: torch.optim.Optimizer, train_tiles: torch.Tensor,
              generator: torch.Generator, world_size: int = 1) -> Callable[[], tuple[torch.Tensor, torch.Tensor]]:
    """One optimisation step as a function (the training loop and `manifold bench` call it).

    Each call draws a batch of batch_size / world_size tiles, augments it, runs forward and
    backward with the configured speed levers and updates the weights; it returns the loss
    and the MSE as device tensors (no host sync). With world_size > 1 it must run inside an
    initialised process group: DistributedDataParallel averages the gradients.
    """
    device = train_tiles.device
    size, batch = cfg.model.size, cfg.batch_size // world_size
    xy = grid_positions(size, size, cfg.coordinates, device)  # the same grid every step
    if cfg.cache_embedding:  # rows of one table, gathered per step
        table = positional_embedding(xy, cfg.model.pos_frequencies)
        embed = lambda i: table if i is None else table[i]  # noqa: E731
    else:
        embed = lambda i: positional_embedding(xy if i is None else xy[i], cfg.model.pos_frequencies)  # noqa: E731
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)
    forward: nn.Module = TrainForward(model)
    if world_size > 1:
        forward = nn.parallel.DistributedDataParallel(forward, device_ids=[device] if device.type == "cuda" else None)
    if cfg.compile:
        forward = torch.compile(forward)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if resolve_precision(cfg.precision, device) == "bf16"
                else contextlib.nullcontext())
    pixels = cfg.pixels_per_tile if cfg.pixels_per_tile < size * size else 0  # a subset, or every pixel

    def step() -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(train_tiles), (batch,), generator=generator).to(device)
        tiles = train_tiles[idx]
        if cfg.augment:
            tiles = augment(tiles, generator, cfg.max_shift)
        x = (tiles.float() / 255).contiguous(memory_format=memory_format)
        target = x.flatten(2).transpose(1, 2)  # [B, P, C], P pixels row-major like xy
        pick = None
        if pixels:  # the decoder sees a random subset of each tile's pixels
            pick = torch.randint(size * size, (batch, pixels), generator=generator).to(device)
            target = target.gather(1, pick[..., None].expand(-1, -1, target.shape[-1]))
        with autocast:
            code, pred = forward(x, embed(pick))
        mse = F.mse_loss(pred.float(), target)
        loss = mse + cfg.std_mean_factor * code_distribution_loss(code.float())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach(), mse.detach()

    return step


def resolve_precision(precision: str, device: torch.device) -> str:
    """"auto" -> "bf16" where bf16 matrix multiplies are native (a CUDA GPU that supports it, a CPU
    with AVX-512 BF16 or AMX), else "fp32"; elsewhere bf16 autocast is emulated and slower."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags")).split()
    except (OSError, StopIteration):
        return "fp32"
    return "bf16" if {"avx512_bf16", "amx_bf16"} & set(flags) else "fp32"


def distributed_setup(cfg: TrainConfig) -> tuple[int, int, torch.device, bool]:
    """(rank, world size, device, whether we started the process group).

    Under `torchrun` (WORLD_SIZE > 1) this joins PyTorch's process group: gloo for CPU
    processes, NCCL for GPUs (one per process, cuda:LOCAL_RANK). Otherwise: rank 0 of 1.
    """
    device = torch.device(cfg.device)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return 0, 1, device, False
    import torch.distributed as dist

    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
        torch.cuda.set_device(device)
    started = not dist.is_initialized()
    if started:
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return dist.get_rank(), dist.get_world_size(), device, started


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda: this torch build sees no CUDA GPU; use --device cpu")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    rank, world, device, started_group = distributed_setup(cfg)
    if cfg.batch_size % world:
        raise UserError(f"--batch-size {cfg.batch_size} must be a multiple of the {world} processes")
    lead = rank == 0  # only the first process logs, validates and writes files
    cfg = replace(cfg, precision=resolve_precision(cfg.precision, device))  # config.json says what ran
    torch.manual_seed(cfg.seed)

    # ---- data: decoded once, kept as uint8 on the training device
    grid = Grid(cfg.tile_size, cfg.tile_size, cfg.margin, cfg.spacing) if cfg.tile_size else None
    tiles = load_tileset(cfg.data, cfg.model.channels, cfg.model.size, grid, cfg.val_percent)
    if len(tiles.train) == 0:
        raise UserError(f"no training tiles in {', '.join(map(str, cfg.data))} "
                        f"(found {tiles.stats['found']}, {tiles.stats['empty']} empty, "
                        f"{tiles.stats['duplicates']} duplicates)")
    train_tiles, val_tiles = tiles.train.to(device), tiles.val.to(device)

    # ---- model, optimizer, schedule
    model = Autoencoder(cfg.model).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = max(1, math.ceil(cfg.max_inputs / cfg.batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    generator = torch.Generator(device="cpu").manual_seed(cfg.seed + 1_000_003 * rank)  # own batches per process
    step, wall_s = 0, 0.0
    log_path = out / "log.csv"
    if resume and (out / "state.pt").exists():
        info = json.loads((out / "config.json").read_text())
        if info["model"] != cfg.model.to_dict():
            raise UserError(f"{out}: --resume with a different model config than the saved run; "
                            f"use the same --preset/--channels or a new --out")
        model.load_state_dict(load_file(out / "model.safetensors", device=str(device)))
        # on the CPU: the RNG state must stay a CPU tensor; the optimizer moves its own state to the params
        state = torch.load(out / "state.pt", map_location="cpu", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step, wall_s = state["step"], state["wall_s"]
        if world == 1:
            generator.set_state(state["generator"])
        else:  # the saved state is the first process's: every process draws afresh from (seed, rank, step)
            generator.manual_seed(cfg.seed + 1_000_003 * rank + 7_919 * step)
        if lead:  # rows logged after the last checkpoint would be logged again: drop them
            rows = [r for r in csv.DictReader(log_path.open()) if int(r["step"]) <= step] if log_path.exists() else []
            with log_path.open("w", newline="") as f:
                writer = csv.DictWriter(f, LOG_FIELDS)
                writer.writeheader()
                writer.writerows(rows)
    elif resume:
        raise UserError(f"{out}: nothing to resume (no state.pt); drop --resume to start a new run")
    elif lead:
        with log_path.open("w", newline="") as f:
            csv.DictWriter(f, LOG_FIELDS).writeheader()

    one_step = make_step(cfg, model, optimizer, train_tiles, generator, world)
    eval_every = max(1, (cfg.eval_every or cfg.max_inputs // 50) // cfg.batch_size)

    def checkpoint(val_mse: float) -> None:
        info = {"format": 1, "preset": cfg.preset, "model": cfg.model.to_dict(), "train": cfg.to_dict(),
                "data": tiles.stats, "coordinates": cfg.coordinates, "world_size": world,
                "progress": {"step": step, "inputs": step * cfg.batch_size, "total_steps": total_steps,
                             "wall_s": round(wall_s, 2), "val_mse": val_mse}}
        weights = {k: v.contiguous() for k, v in model.state_dict().items()}  # safetensors refuses channels-last
        atomic_write(out / "model.safetensors", lambda p: save_file(weights, p))
        atomic_write(out / "state.pt", lambda p: torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "generator": generator.get_state(), "step": step, "wall_s": wall_s}, p))
        atomic_write(out / "config.json", lambda p: p.write_text(json.dumps(info, indent=2)))

    progress = _progress(show_progress and lead)
    task = progress.add_task("training", total=total_steps * cfg.batch_size, completed=step * cfg.batch_size,
                             loss=float("nan"), val=float("nan"), rate=0.0)
    model.train()
    sum_loss = sum_mse = torch.zeros((), device=device)
    n_since = 0
    val_mse = float("nan")
    t_last = time.perf_counter()
    with progress:
        while step < total_steps:
            loss, mse = one_step()  # draw, augment, forward, backward, update (make_step)
            scheduler.step()
            step += 1
            sum_loss = sum_loss + loss  # stays on the device: no sync per step
            sum_mse = sum_mse + mse
            n_since += 1

            # ---- validate, log, checkpoint
            if step % eval_every == 0 or step == total_steps:
                rate = n_since * cfg.batch_size / (time.perf_counter() - t_last)  # training steps only
                sums = torch.stack([sum_loss, sum_mse]).float()
                if world > 1:  # the train loss of every process, averaged
                    torch.distributed.all_reduce(sums)
                    sums /= world
                if lead:
                    val_mse = validation_mse(model, val_tiles, cfg.coordinates)
                wall_s += time.perf_counter() - t_last
                if lead:
                    row = {"inputs": step * cfg.batch_size, "step": step, "train_loss": float(sums[0]) / n_since,
                           "train_mse": float(sums[1]) / n_since, "val_mse": val_mse,
                           "lr": scheduler.get_last_lr()[0], "wall_s": round(wall_s, 2),
                           "inputs_per_s": round(rate, 1)}
                    with log_path.open("a", newline="") as f:
                        csv.DictWriter(f, LOG_FIELDS).writerow(row)
                    checkpoint(val_mse)
                    progress.update(task, completed=step * cfg.batch_size, loss=row["train_mse"], val=val_mse,
                                    rate=rate)
                    if show_progress and not progress.console.is_terminal:  # a log file: one line per validation
                        progress.console.print(f"inputs {row['inputs']}/{total_steps * cfg.batch_size}  train mse "
                                               f"{row['train_mse']:.5f}  val mse {val_mse:.5f}  {rate:.0f} inputs/s")
                sum_loss = sum_mse = torch.zeros((), device=device)
                n_since = 0
                t_last = time.perf_counter()
            elif step % 4 == 0:
                progress.update(task, completed=step * cfg.batch_size)

    if world > 1:
        torch.distributed.barrier()  # every process has finished its steps before the lead writes figures
    if lead:
        from .figures import plot_losses, plot_repros  # matplotlib only once, at the end

        model.eval()
        plot_losses(log_path, out / "loss.png", title=f"{cfg.preset or 'custom'} on {tiles.stats['train']} tiles")
        plot_repros(model, val_tiles if len(val_tiles) else train_tiles, out / "repros.png", cfg.coordinates)
    if started_group:
        torch.distributed.destroy_process_group()
    return {"steps": step, "inputs": step * cfg.batch_size, "val_mse": val_mse, "wall_s": wall_s,
            "data": tiles.stats, "out": str(out), "rank": rank, "world_size": world}


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from rich.console import Console

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("inputs"),
        TextColumn("loss {task.fields[loss]:.5f}  val {task.fields[val]:.5f}  {task.fields[rate]:.0f} inputs/s"),
        TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled,
    )
