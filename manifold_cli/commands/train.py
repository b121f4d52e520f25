"""`manifold train`: the command-line face of manifold_train.trainer."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from manifold_core.errors import UserError
from manifold_train.config import TRAIN_DEFAULTS as D  # pure Python: the one source of training defaults

from ..app import (
    Coordinates,
    Precision,
    app,
    console,
    fail,
    need_torch,
)


@app.command()
def train(
    data: List[Path] = typer.Argument(..., help="Tile images, folders of tiles, or tileset sheets (with --tile-size)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory: checkpoint.pt, log.csv, loss.png, repros.png."),
    preset: str = typer.Option("seed-b8-h128", help="Model preset (`manifold info` lists them): seed-* are the "
                               "global kind (one code per tile), local-* the local kind (a feature grid)."),
    channels: Optional[int] = typer.Option(None, help="1 (grey), 3 (RGB) or 4 (RGBA); default: the preset's."),
    max_inputs: int = typer.Option(D["max_inputs"], help="Tiles to show the model (the seed's unit: 1M)."),
    batch_size: int = typer.Option(D["batch_size"]),
    lr: float = typer.Option(D["lr"], help="AdamW learning rate, cosine-annealed to 0 over the run."),
    weight_decay: float = typer.Option(D["weight_decay"]),
    std_mean_factor: float = typer.Option(D["std_mean_factor"], help="Weight of the seed's code std/mean "
                                          "constraint (global kind)."),
    tile_size: int = typer.Option(D["tile_size"], help="Inputs are sheets cut into tiles of this size (0: one "
                                  "tile per image)."),
    margin: int = typer.Option(D["margin"], help="Sheet margin in pixels."),
    spacing: int = typer.Option(D["spacing"], help="Sheet spacing between tiles in pixels."),
    val_percent: int = typer.Option(D["val_percent"], help="Share of tiles held out for validation (split by "
                                    "content hash), 1 to 99."),
    augment: bool = typer.Option(D["augment"], help="Random flips (and the seed's 1-pixel shifts, global kind)."),
    coordinates: Coordinates = typer.Option(D["coordinates"], help="Pixel centres, or the seed's corner-aligned grid."),
    pixels_per_tile: int = typer.Option(D["pixels_per_tile"], help="Decoder loss on this many random pixels per "
                                        "tile (0: every pixel, the seed's recipe): as good per input and much faster."),
    precision: Precision = typer.Option(D["precision"], help="bf16 autocast; auto: bf16 on a CPU with AVX-512 "
                                        "BF16 or AMX and on GPUs that support it, else fp32."),
    channels_last: bool = typer.Option(D["channels_last"], help="Encoder tensors in NHWC layout (same numbers, "
                                       "a little faster on the CPU)."),
    compile: bool = typer.Option(D["compile"], "--compile", help="torch.compile the forward pass (about even on a "
                                 "2-core CPU, plus compile time; see BENCHMARKS.md)."),
    cache_embedding: bool = typer.Option(D["cache_embedding"], help="Embed the pixel grid once per run (global "
                                         "kind; same numbers)."),
    eval_every: int = typer.Option(D["eval_every"], help="Inputs between validations and checkpoints (0: 50 per run)."),
    seed: int = typer.Option(D["seed"]),
    device: str = typer.Option(D["device"], help="cpu or cuda."),
    threads: int = typer.Option(D["threads"], help="CPU threads for torch (0: all cores)."),
    resume: bool = typer.Option(False, help="Continue the run in --out from its last checkpoint."),
    overwrite: bool = typer.Option(False, help="Start a new run in an --out that holds one (its files are replaced)."),
):
    """Train the autoencoder on tiles (PyTorch). Ctrl-C writes a checkpoint and stops; --resume continues."""
    need_torch("train")
    from manifold_train.config import TrainConfig
    from manifold_train.config import preset as get_preset
    from manifold_train.trainer import train as run_training

    try:
        model_config = get_preset(preset, channels)
    except (KeyError, ValueError) as exc:
        fail(str(exc.args[0]), 2)
    cfg = TrainConfig(
        data=[str(d) for d in data], out=str(out), model=model_config, preset=preset, tile_size=tile_size,
        margin=margin, spacing=spacing, val_percent=val_percent, max_inputs=max_inputs, batch_size=batch_size,
        lr=lr, weight_decay=weight_decay, std_mean_factor=std_mean_factor, augment=augment,
        coordinates=Coordinates(coordinates).value, pixels_per_tile=pixels_per_tile,
        precision=Precision(precision).value, channels_last=channels_last, compile=compile,
        cache_embedding=cache_embedding, eval_every=eval_every, seed=seed, device=device, threads=threads,
    )
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

