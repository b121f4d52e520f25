"""`manifold train`: the command-line face of manifold_train.trainer.

Its options are generated from TrainConfig's fields (manifold_train.config: name, type, default,
help and choices in one place), so a new training setting is one field there and nothing here.
"""

import dataclasses
import inspect
from enum import Enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from manifold_core.errors import UserError
from manifold_train.config import PHASES, TRAIN_OPTIONS  # pure Python

from ..app import app, choices, console, fail, need_torch

Phase = choices("Phase", PHASES)


def _option(f: dataclasses.Field) -> inspect.Parameter:
    """A TrainConfig field as a Typer option: `--batch-size 64`, `--augment/--no-augment`, choices."""
    kind = {"int": int, "float": float, "bool": bool, "str": str}[f.type if isinstance(f.type, str) else f.type.__name__]
    meta = f.metadata
    if meta["choices"]:
        kind = choices(f.name.title().replace("_", ""), meta["choices"])
    names = [meta["flag"]] if meta["flag"] else []
    default = kind(f.default) if meta["choices"] else f.default
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=default,
                             annotation=Annotated[kind, typer.Option(*names, help=meta["help"])])


def train(
    data: Annotated[List[Path], typer.Argument(help="Tile images, folders of tiles, or tileset sheets (with "
                                                    "--tile-size).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Run directory: checkpoint.pt, log.csv, loss.png, "
                                                          "repros.png.")],
    preset: Annotated[str, typer.Option(help="Model preset (`manifold info` lists them): seed-* are the global "
                                             "kind (one code per tile), local-* the local kind (a feature "
                                             "grid).")] = "seed-b8-h128",
    channels: Annotated[Optional[int], typer.Option(help="1 (grey), 3 (RGB) or 4 (RGBA); default: the "
                                                         "preset's.")] = None,
    phase: Annotated[Optional[Phase], typer.Option(help="Upscaling kinds: where nearest shrinking samples each "
                                                      "footprint: center, or random per batch (default: the "
                                                      "preset's task).")] = None,
    degrade: Annotated[Optional[str], typer.Option(help="Upscaling kinds: how the task shrinks tiles, comma-"
                                                        "separated, one drawn per batch: box, nearest, bicubic, "
                                                        "majority (default: box,nearest,bicubic).")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the run in --out from its last checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option(help="Start a new run in an --out that holds one (its files are "
                                                 "replaced).")] = False,
    **settings,
):
    """Train the autoencoder on tiles (PyTorch). Ctrl-C writes a checkpoint and stops; --resume continues."""
    need_torch("train")
    from manifold_train.config import TaskConfig, TrainConfig
    from manifold_train.kinds import preset as get_preset
    from manifold_train.trainer import train as run_training

    try:
        model_config = get_preset(preset, channels)
    except (KeyError, ValueError) as exc:
        fail(str(exc.args[0]), 2)
    settings = {k: v.value if isinstance(v, Enum) else v for k, v in settings.items()}
    task = TaskConfig()
    if phase:
        task = dataclasses.replace(task, phase=Phase(phase).value)
    if degrade:
        task = dataclasses.replace(task, degradations=tuple(d.strip() for d in degrade.split(",") if d.strip()))
    cfg = TrainConfig(data=[str(d) for d in data], out=str(out), model=model_config, task=task, preset=preset,
                      **settings)
    from manifold_core.files import inputs_protected, refuse_input

    try:
        with inputs_protected(data):  # a run folder inside the data, or --out naming a tile, is refused
            refuse_input(out / "log.csv")  # before any folder is made
            result = run_training(cfg, resume=resume, overwrite=overwrite)
    except UserError as exc:
        fail(exc)
    if result.get("rank", 0) != 0:  # under torchrun the first process reports for all
        return
    d = result["data"]
    if result["interrupted"]:
        console.print(f"interrupted after {result['inputs']:,} inputs; checkpoint written. Continue with: "
                      f"manifold train ... -o {out} --resume", markup=False)
        raise typer.Exit(130)
    console.print(f"trained {result['inputs']:,} inputs on {d['train']} tiles ({d['val']} held out, "
                  f"{d['empty']} empty and {d['duplicates']} duplicates skipped) in {result['wall_s']:.0f} s; "
                  f"validation MSE {result['val_mse']:.5f}")
    console.print(f"run: {out}/  (loss.png, repros.png, log.csv; next: manifold export {out} -o MODEL_DIR)",
                  markup=False)


_fixed = [p for p in inspect.signature(train).parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
train.__signature__ = inspect.Signature(_fixed + [_option(f) for f in TRAIN_OPTIONS])
app.command()(train)
