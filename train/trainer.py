"""`manifold train`: the seed's training recipe, readable top to bottom.

AdamW + cosine annealing over the whole run, L2 reconstruction plus the seed's code
std/mean constraint, random flips and small shifts. Progress is counted in *inputs* (tiles
seen), the seed's unit. Everything needed to continue lives in RUN_DIR:

    config.json         model config, training config, data stats, progress so far
    model.safetensors   the weights (written atomically, after config.json's temp copy)
    state.pt            optimizer, scheduler and RNG state, for --resume
    log.csv             inputs, train loss, validation MSE, learning rate, inputs/s
    loss.png, repros.png   written at the end (figures.py)
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

from manifold_cli.tiles import Grid, TileError

from .config import ModelConfig
from .data import augment, load_tileset
from .model import Autoencoder, code_distribution_loss, grid_positions

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
    # speed levers (issue 5); defaults are the seed's plain recipe
    pixels_per_tile: int = 0  # > 0: decoder loss on this many random pixels per tile
    precision: str = "fp32"  # or "bf16" autocast
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
        raise TileError(f"{run_dir}: not a training run (needs config.json and model.safetensors; "
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


def train(cfg: TrainConfig, resume: bool = False, show_progress: bool = True) -> dict:
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(cfg.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TileError("--device cuda: this torch build sees no CUDA GPU; use --device cpu")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)

    # ---- data: decoded once, kept as uint8 on the training device
    grid = Grid(cfg.tile_size, cfg.tile_size, cfg.margin, cfg.spacing) if cfg.tile_size else None
    tiles = load_tileset(cfg.data, cfg.model.channels, cfg.model.size, grid, cfg.val_percent)
    if len(tiles.train) == 0:
        raise TileError(f"no training tiles in {', '.join(map(str, cfg.data))} "
                        f"(found {tiles.stats['found']}, {tiles.stats['empty']} empty, "
                        f"{tiles.stats['duplicates']} duplicates)")
    train_tiles, val_tiles = tiles.train.to(device), tiles.val.to(device)

    # ---- model, optimizer, schedule
    model = Autoencoder(cfg.model).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = max(1, math.ceil(cfg.max_inputs / cfg.batch_size))
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)
    generator = torch.Generator(device="cpu").manual_seed(cfg.seed)
    step, wall_s = 0, 0.0
    log_path = out / "log.csv"
    if resume and (out / "state.pt").exists():
        info = json.loads((out / "config.json").read_text())
        if info["model"] != cfg.model.to_dict():
            raise TileError(f"{out}: --resume with a different model config than the saved run; "
                            f"use the same --preset/--channels or a new --out")
        model.load_state_dict(load_file(out / "model.safetensors", device=str(device)))
        # on the CPU: the RNG state must stay a CPU tensor; the optimizer moves its own state to the params
        state = torch.load(out / "state.pt", map_location="cpu", weights_only=False)
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        generator.set_state(state["generator"])
        step, wall_s = state["step"], state["wall_s"]
        # Rows logged after the last checkpoint would be logged again: drop them.
        rows = [r for r in csv.DictReader(log_path.open()) if int(r["step"]) <= step] if log_path.exists() else []
        with log_path.open("w", newline="") as f:
            writer = csv.DictWriter(f, LOG_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
    elif resume:
        raise TileError(f"{out}: nothing to resume (no state.pt); drop --resume to start a new run")
    else:
        with log_path.open("w", newline="") as f:
            csv.DictWriter(f, LOG_FIELDS).writeheader()

    size = cfg.model.size
    xy = grid_positions(size, size, cfg.coordinates, device)  # cached: the same grid every step
    eval_every = max(1, (cfg.eval_every or cfg.max_inputs // 50) // cfg.batch_size)
    autocast = (torch.autocast(device.type, dtype=torch.bfloat16) if cfg.precision == "bf16"
                else contextlib.nullcontext())

    def checkpoint(val_mse: float) -> None:
        info = {"format": 1, "preset": cfg.preset, "model": cfg.model.to_dict(), "train": cfg.to_dict(),
                "data": tiles.stats, "coordinates": cfg.coordinates,
                "progress": {"step": step, "inputs": step * cfg.batch_size, "total_steps": total_steps,
                             "wall_s": round(wall_s, 2), "val_mse": val_mse}}
        atomic_write(out / "model.safetensors", lambda p: save_file(model.state_dict(), p))
        atomic_write(out / "state.pt", lambda p: torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
             "generator": generator.get_state(), "step": step, "wall_s": wall_s}, p))
        atomic_write(out / "config.json", lambda p: p.write_text(json.dumps(info, indent=2)))

    progress = _progress(show_progress)
    task = progress.add_task("training", total=total_steps * cfg.batch_size, completed=step * cfg.batch_size,
                             loss=float("nan"), val=float("nan"), rate=0.0)
    model.train()
    sum_loss = sum_mse = 0.0
    n_since = 0
    val_mse = float("nan")
    t_last = time.perf_counter()
    with progress:
        while step < total_steps:
            # ---- one step
            idx = torch.randint(len(train_tiles), (cfg.batch_size,), generator=generator).to(device)
            batch = train_tiles[idx]
            if cfg.augment:
                batch = augment(batch, generator, cfg.max_shift)
            x = batch.float() / 255
            target = x.flatten(2).transpose(1, 2)  # [B, P, C], P pixels row-major like xy
            with autocast:
                code = model.encoder(x)
                if cfg.pixels_per_tile:
                    pick = torch.randint(size * size, (cfg.batch_size, cfg.pixels_per_tile),
                                         generator=generator).to(device)
                    pred = model.decoder(code, xy[pick])
                    target = target.gather(1, pick[..., None].expand(-1, -1, target.shape[-1]))
                else:
                    pred = model.decoder(code, xy)
            mse = F.mse_loss(pred.float(), target)
            loss = mse + cfg.std_mean_factor * code_distribution_loss(code.float())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            step += 1
            sum_loss += loss.detach()  # stays on the device: no sync per step
            sum_mse += mse.detach()
            n_since += 1

            # ---- validate, log, checkpoint
            if step % eval_every == 0 or step == total_steps:
                rate = n_since * cfg.batch_size / (time.perf_counter() - t_last)  # training steps only
                val_mse = validation_mse(model, val_tiles, cfg.coordinates)
                wall_s += time.perf_counter() - t_last
                row = {"inputs": step * cfg.batch_size, "step": step, "train_loss": float(sum_loss) / n_since,
                       "train_mse": float(sum_mse) / n_since, "val_mse": val_mse,
                       "lr": scheduler.get_last_lr()[0], "wall_s": round(wall_s, 2), "inputs_per_s": round(rate, 1)}
                with log_path.open("a", newline="") as f:
                    csv.DictWriter(f, LOG_FIELDS).writerow(row)
                checkpoint(val_mse)
                progress.update(task, completed=step * cfg.batch_size, loss=row["train_mse"], val=val_mse, rate=rate)
                if show_progress and not progress.console.is_terminal:  # a log file gets one line per validation
                    progress.console.print(f"inputs {row['inputs']}/{total_steps * cfg.batch_size}  train mse "
                                           f"{row['train_mse']:.5f}  val mse {val_mse:.5f}  {rate:.0f} inputs/s")
                sum_loss = sum_mse = 0.0
                n_since = 0
                t_last = time.perf_counter()
            elif step % 4 == 0:
                progress.update(task, completed=step * cfg.batch_size)

    from .figures import plot_losses, plot_repros  # matplotlib only once, at the end

    model.eval()
    plot_losses(log_path, out / "loss.png", title=f"{cfg.preset or 'custom'} on {tiles.stats['train']} tiles")
    plot_repros(model, val_tiles if len(val_tiles) else train_tiles, out / "repros.png", cfg.coordinates)
    return {"steps": step, "inputs": step * cfg.batch_size, "val_mse": val_mse, "wall_s": wall_s,
            "data": tiles.stats, "out": str(out)}


def _progress(enabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from rich.console import Console

    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("inputs"),
        TextColumn("loss {task.fields[loss]:.5f}  val {task.fields[val]:.5f}  {task.fields[rate]:.0f} inputs/s"),
        TimeRemainingColumn(), console=Console(stderr=True), disable=not enabled,
    )
