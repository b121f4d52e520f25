"""`manifold train`: one training loop for every model kind, readable top to bottom.

Data flow: tiles -> dataset (data.py) -> model (kinds/) -> **trainer** -> checkpoint ->
export. AdamW + cosine annealing over the whole run; each step the model kind draws its own
task from a batch of tiles (`training_query`: the seed's reconstruction for "global", the
upscaling task of task.py, driven by TrainConfig.task, for the kinds that upscale) and is scored with its own loss (MSE / L1) plus its
code loss. Progress is counted in *inputs* (tiles seen), the seed's unit. RUN_DIR holds:

    checkpoint.pt   weights, optimizer, scheduler, RNG, progress and config: ONE file, written
                    to a temporary name and renamed, so a kill at any moment leaves either the
                    previous checkpoint or the new one, never a mix
    config.json     a readable copy of the checkpoint's config and progress (not read back)
    log.csv         inputs, train loss, validation MSE, learning rate, inputs/s
    loss.png, repros.png   written at the end (figures.py)

A checkpoint is written at every validation, every `checkpoint_minutes` of wall time, and on
Ctrl-C (SIGINT), after which the run stops cleanly; `--resume` continues from it.

Speed levers (TrainConfig fields and `manifold train` options; measured in BENCHMARKS.md):
random pixel subsets for the decoder loss, bf16 autocast, channels-last convolutions,
torch.compile, and (global kind) a positional embedding computed once per run. Several
processes or GPUs: start the same command under `torchrun`; it trains with DistributedDataParallel.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import signal
import time
from dataclasses import replace
from pathlib import Path
from typing import Callable

import torch
import torch.nn as nn
import torch.nn.functional as F

from manifold_core.errors import OutputError, UsageError, UserError
from manifold_core.files import atomic_write_stream
from manifold_core.tiles import Grid

from .config import ModelConfig, TrainConfig
from .data import augment, load_tileset
from .kinds import build_model, get
from .model import Autoencoder

LOG_FIELDS = ["inputs", "step", "train_loss", "train_mse", "val_mse", "lr", "wall_s", "inputs_per_s"]
CHECKPOINT = "checkpoint.pt"
CHECKPOINT_FORMAT = 2  # 1: model.safetensors + state.pt + config.json, three files (read for export only)
RUN_FILES = (CHECKPOINT, "config.json", "log.csv", "model.safetensors", "state.pt")  # what marks a folder as a run


def read_checkpoint(run_dir: Path) -> dict:
    """The run's checkpoint, checked; a UserError (never a traceback) when it is damaged."""
    path = run_dir / CHECKPOINT
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds for a damaged file
        raise UserError(f"{path}: not a readable checkpoint ({exc.__class__.__name__}); "
                        f"start a new run, or resume from a copy of the run") from None
    keys = {"format", "info", "model", "optimizer", "scheduler", "generator", "step", "wall_s"}
    if not isinstance(state, dict) or not keys <= set(state) or state["format"] != CHECKPOINT_FORMAT:
        raise UserError(f"{path}: not a manifold checkpoint of format {CHECKPOINT_FORMAT}; start a new run")
    try:
        state["info"] = json.loads(state["info"])
        ModelConfig.from_dict(state["info"]["model"])
        consistent = state["info"]["progress"]["step"] == state["step"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: its config is damaged ({exc.__class__.__name__}: {exc}); start a new run") from None
    if not consistent:
        raise UserError(f"{path}: weights and progress disagree; start a new run")
    return state


def read_run(run_dir: str | Path, coordinates: str | None = None) -> tuple[dict, Autoencoder]:
    """The config and the trained model of a run directory (eval mode, CPU)."""
    run_dir = Path(run_dir)
    if (run_dir / CHECKPOINT).is_file():
        state = read_checkpoint(run_dir)
        info, weights = state["info"], state["model"]
    elif (run_dir / "config.json").is_file() and (run_dir / "model.safetensors").is_file():
        from safetensors.torch import load_file  # a run written before the one-file checkpoint

        try:
            info = json.loads((run_dir / "config.json").read_text())
            weights = load_file(run_dir / "model.safetensors")
        except Exception as exc:  # noqa: BLE001
            raise UserError(f"{run_dir}: damaged run files ({exc.__class__.__name__}); train again") from None
    else:
        raise UserError(f"{run_dir}: not a training run (no {CHECKPOINT}); make one with `manifold train`")
    try:
        model = build_model(ModelConfig.from_dict(info["model"]), coordinates or info.get("coordinates", "center"))
        model.load_state_dict(weights)
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise UserError(f"{run_dir}: the weights do not fit the saved config ({exc.__class__.__name__}); "
                        f"train again") from None
    return info, model.eval()


@torch.no_grad()
def validation_mse(model: Autoencoder, val: torch.Tensor, batch_size: int = 256) -> float:
    """Mean squared error per value of the kind's validation task over the held-out tiles."""
    was_training = model.training
    model.eval()
    total = 0.0
    for chunk in val.split(batch_size):
        total += float(model.validation_mse(chunk.float() / 255))
    model.train(was_training)
    return total / val.numel()


def make_step(cfg: TrainConfig, model: Autoencoder, optimizer: torch.optim.Optimizer, train_tiles: torch.Tensor,
              generator: torch.Generator, world_size: int = 1) -> Callable[[], tuple[torch.Tensor, torch.Tensor]]:
    """One optimisation step as a function (the training loop and `manifold bench` call it).

    Each call draws a batch of batch_size / world_size tiles, augments it, lets the model kind
    build its task (`training_query`), runs forward and backward with the configured speed
    levers and updates the weights; it returns the loss and the MSE as device tensors (no host
    sync). With world_size > 1 it must run inside an initialised process group:
    DistributedDataParallel averages the gradients.
    """
    device = train_tiles.device
    batch = cfg.batch_size // world_size
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model.to(memory_format=memory_format)
    forward: nn.Module = model
    if world_size > 1:
        forward = nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)
    if cfg.compile:
        forward = torch.compile(forward)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if resolve_precision(cfg.precision, device) == "bf16"
                else contextlib.nullcontext())

    def step() -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(len(train_tiles), (batch,), generator=generator).to(device)
        tiles = train_tiles[idx]
        if cfg.augment:
            tiles = augment(tiles, generator, model.augment_shift)
        x = tiles.float() / 255
        with torch.no_grad():
            inputs, target = model.training_query(x, generator, cfg)
        inputs = (inputs[0].contiguous(memory_format=memory_format), *inputs[1:])
        with autocast:
            pred, extra = forward(*inputs)
        pred = pred.float()
        loss = model.training_loss(pred, extra, target, cfg)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach(), F.mse_loss(pred.detach(), target)

    return step


def cpu_flags() -> set[str]:
    try:
        line = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return set()
    return set(line.split(":", 1)[-1].split())


def resolve_precision(precision: str, device: torch.device, flags: set[str] | None = None) -> str:
    """"auto" -> "bf16" where bf16 matrix multiplies are native (a CUDA GPU that supports it, a CPU
    with AVX-512 BF16 or AMX: `flags`, read from /proc/cpuinfo when not given), else "fp32";
    elsewhere bf16 autocast is emulated and slower."""
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    flags = cpu_flags() if flags is None else flags
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


def check_out_dir(out: Path, resume: bool, overwrite: bool) -> None:
    """A run folder is ours to write when it is new, empty, resumed (--resume) or given up (--overwrite)."""
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} is a file; give a folder for the run")
    holds_run = out.is_dir() and any((out / name).exists() for name in RUN_FILES)
    if resume:
        if not (out / CHECKPOINT).is_file():
            raise UsageError(f"{out}: nothing to resume (no {CHECKPOINT}); drop --resume to start a new run")
    elif holds_run and not overwrite:
        raise OutputError(f"--out {out} already holds a training run; --resume to continue it, --overwrite to "
                        f"start over in it, or choose another folder")
    elif out.is_dir() and not holds_run and any(out.iterdir()):
        raise OutputError(f"--out {out} is a folder with other files in it; choose a new or empty folder for the run")


def write_log(path: Path, rows: list[dict]) -> None:
    """log.csv written whole through manifold_core.files (a planted symlink is replaced, never
    followed; a reader sees the old log or the new one)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, LOG_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_stream(path, lambda f: f.write(text.getvalue().encode()), durable=False,
                        replace_unmarked=True)  # the run folder is ours (check_run_folder)


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True, overwrite: bool = False) -> dict:
    out = Path(cfg.out)
    problems = cfg.problems()
    if problems:
        raise UsageError("; ".join(problems))
    if cfg.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("--device cuda: this torch build sees no CUDA GPU; use --device cpu")
    check_out_dir(out, resume, overwrite)
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
    resample = get(cfg.model.kind).resamples_input  # else tiles are learnt from at their own size
    tiles = load_tileset(cfg.data, cfg.model.channels, cfg.model.size, grid, cfg.val_percent, resample)
    if len(tiles.train) == 0 or len(tiles.val) == 0:
        small = tiles.stats.get("too_small", 0)
        hint = (f"the model learns from {cfg.model.size} px squares: for smaller art give its sheets whole (no "
                f"--tile-size), they are cut into squares" if small * 2 > tiles.stats["found"]
                else "give more tiles or change --val-percent")
        raise UserError(f"{len(tiles.train)} training and {len(tiles.val)} validation tiles in "
                        f"{', '.join(map(str, cfg.data))} (found {tiles.stats['found']}, {tiles.stats['empty']} empty, "
                        f"{tiles.stats['duplicates']} duplicates, {small} smaller than {cfg.model.size} px); {hint}")
    train_tiles, val_tiles = tiles.train.to(device), tiles.val.to(device)

    # ---- model, optimizer, schedule
    model = build_model(cfg.model, cfg.coordinates).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = max(1, math.ceil(cfg.max_inputs / cfg.batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    generator = torch.Generator(device="cpu").manual_seed(cfg.seed + 1_000_003 * rank)  # own batches per process
    step, wall_s = 0, 0.0
    log_path = out / "log.csv"
    if resume:
        state = read_checkpoint(out)
        if ModelConfig.from_dict(state["info"]["model"]) != cfg.model:
            raise UserError(f"{out}: --resume with a different model config than the saved run; "
                            f"use the same --preset/--channels or a new --out")
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise UserError(f"{out / CHECKPOINT}: its state does not fit the model ({exc.__class__.__name__}); "
                            f"start a new run") from None
        step, wall_s = state["step"], state["wall_s"]
        if world == 1:
            generator.set_state(state["generator"])
        else:  # the saved state is the first process's: every process draws afresh from (seed, rank, step)
            generator.manual_seed(cfg.seed + 1_000_003 * rank + 7_919 * step)
        if lead:  # rows logged after the last checkpoint would be logged again: drop them
            log_rows = [r for r in csv.DictReader(log_path.open()) if int(r["step"]) <= step] \
                if log_path.exists() else []
            write_log(log_path, log_rows)
    elif lead:
        out.mkdir(parents=True, exist_ok=True)
        for name in RUN_FILES:  # --overwrite: the old run's files go only now, when the new one starts
            (out / name).unlink(missing_ok=True)
        log_rows = []
        write_log(log_path, log_rows)

    one_step = make_step(cfg, model, optimizer, train_tiles, generator, world)
    eval_every = max(1, (cfg.eval_every or cfg.max_inputs // 50) // cfg.batch_size)

    def checkpoint(val_mse: float, wall_s: float) -> None:
        info = {"format": CHECKPOINT_FORMAT, "kind": model.kind, "preset": cfg.preset, "model": cfg.model.to_dict(),
                "train": cfg.to_dict(), "data": tiles.stats, "coordinates": cfg.coordinates, "world_size": world,
                "progress": {"step": step, "inputs": step * cfg.batch_size, "total_steps": total_steps,
                             "wall_s": round(wall_s, 2), "val_mse": val_mse}}
        weights = {k: v.contiguous() for k, v in model.state_dict().items()}  # NCHW again after channels-last
        state = {"format": CHECKPOINT_FORMAT, "info": json.dumps(info), "model": weights,
                 "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                 "generator": generator.get_state(), "step": step, "wall_s": wall_s}
        # the run folder was checked to be ours when the run began: its files are replaced as they are
        atomic_write_stream(out / CHECKPOINT, lambda f: torch.save(state, f), replace_unmarked=True)
        atomic_write_stream(out / "config.json", lambda f: f.write(json.dumps(info, indent=2).encode()),
                            replace_unmarked=True)

    # Ctrl-C: finish the step, write a checkpoint, stop cleanly (a second Ctrl-C stops at once)
    interrupted = []
    previous_handler = None
    if lead and world == 1 and _main_thread():
        def on_sigint(signum, frame):
            if interrupted:
                raise KeyboardInterrupt
            interrupted.append(True)
        previous_handler = signal.signal(signal.SIGINT, on_sigint)

    progress = _progress(show_progress and lead)
    task = progress.add_task("training", total=total_steps * cfg.batch_size, completed=step * cfg.batch_size,
                             loss=float("nan"), val=float("nan"), rate=0.0)
    model.train()
    sum_loss = sum_mse = torch.zeros((), device=device)
    n_since = 0
    val_mse = float("nan")
    t_last = t_checkpoint = time.perf_counter()
    try:
        with progress:
            while step < total_steps and not interrupted:
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
                        val_mse = validation_mse(model, val_tiles)
                    wall_s += time.perf_counter() - t_last
                    if lead:
                        row = {"inputs": step * cfg.batch_size, "step": step, "train_loss": float(sums[0]) / n_since,
                               "train_mse": float(sums[1]) / n_since, "val_mse": val_mse,
                               "lr": scheduler.get_last_lr()[0], "wall_s": round(wall_s, 2),
                               "inputs_per_s": round(rate, 1)}
                        log_rows.append(row)
                        write_log(log_path, log_rows)
                        checkpoint(val_mse, wall_s)
                        t_checkpoint = time.perf_counter()
                        progress.update(task, completed=step * cfg.batch_size, loss=row["train_mse"], val=val_mse,
                                        rate=rate)
                        if show_progress and not progress.console.is_terminal:  # a log file: a line per validation
                            progress.console.print(f"inputs {row['inputs']}/{total_steps * cfg.batch_size}  train mse "
                                                   f"{row['train_mse']:.5f}  val mse {val_mse:.5f}  {rate:.0f} inputs/s")
                    sum_loss = sum_mse = torch.zeros((), device=device)
                    n_since = 0
                    t_last = time.perf_counter()
                elif step % 4 == 0:
                    progress.update(task, completed=step * cfg.batch_size)
                    if lead and time.perf_counter() - t_checkpoint > 60 * cfg.checkpoint_minutes:
                        checkpoint(val_mse, wall_s + time.perf_counter() - t_last)
                        t_checkpoint = time.perf_counter()
            if interrupted and lead:
                wall_s += time.perf_counter() - t_last
                checkpoint(val_mse, wall_s)
    finally:
        if previous_handler is not None:
            signal.signal(signal.SIGINT, previous_handler)

    if world > 1:
        torch.distributed.barrier()  # every process has finished its steps before the lead writes figures
    if lead and not interrupted:
        from .figures import plot_losses, plot_repros  # matplotlib only once, at the end

        model.eval()
        plot_losses(log_path, out / "loss.png", title=f"{cfg.preset or 'custom'} on {tiles.stats['train']} tiles")
        plot_repros(model, val_tiles, out / "repros.png")
    if started_group:
        torch.distributed.destroy_process_group()
    return {"steps": step, "inputs": step * cfg.batch_size, "val_mse": val_mse, "wall_s": wall_s,
            "data": tiles.stats, "out": str(out), "rank": rank, "world_size": world, "interrupted": bool(interrupted)}


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


def _progress(enabled: bool):
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("inputs"),
        # the train MSE is the mean since the last validation, as log.csv's train_mse
        TextColumn("train mse {task.fields[loss]:.5f}  val mse {task.fields[val]:.5f}  {task.fields[rate]:.0f} "
                   "inputs/s"),
        TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled,
    )
