"""The `manifold` command line (Typer + Rich).

Data flow: ... -> runtime -> **CLI** -> plugins (which run this CLI); train/export/eval/bench are here too.

Start-up matters (a map-editor plugin pays it per click), so heavy modules are imported
inside the commands that need them: torch only for train/export/info --preset,
onnxruntime only for commands that render.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from manifold_core.errors import UserError
from manifold_train.config import COORDINATES, TRAIN_PRECISIONS
from manifold_train.config import TRAIN_DEFAULTS as D  # pure Python: the one source of training defaults

from manifold_core.pixelart import ALPHAS, PALETTES
from manifold_core.runtime import DEVICES, EDGES, PRECISIONS

app = typer.Typer(
    help="Learn a compact code for pixel-art tiles and render them again at any resolution.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)  # an error stays one line, whatever the width


def choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A Typer choice type built from the constant the code itself checks against (one source)."""
    return Enum(name, {v: v for v in values}, type=str)


Device = choices("Device", DEVICES)
Coordinates = choices("Coordinates", COORDINATES)
Precision = choices("Precision", TRAIN_PRECISIONS)
InferencePrecision = choices("InferencePrecision", PRECISIONS)
Edges = choices("Edges", EDGES)
Palette = choices("Palette", PALETTES)
Alpha = choices("Alpha", ALPHAS)


def one_line(message: str) -> str:
    """A message as one line: control characters (a newline in a file name) written as escapes."""
    return message if message.isprintable() else "".join(c if c.isprintable() else ascii(c)[1:-1] for c in message)


def warn(message: str) -> None:
    from rich.markup import escape

    console.print(f"[bold yellow]skipped:[/] {escape(one_line(message))}", highlight=False)


def fail(message: str | UserError, code: int | None = None):
    """Print `error: message` (one line) and exit; a UserError's kind chooses the exit status
    (manifold_core.errors: 1 input, 2 command line, 4 output location, 5 memory, 6 model)."""
    if code is None:
        code = getattr(message, "exit_status", 1)
    print_error(str(message))
    raise typer.Exit(code)


def print_error(message: str) -> None:
    """`error: message` on stderr, as one line."""
    from rich.markup import escape  # a message may hold [brackets]: a path, `pip install 'x[train]'`

    console.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False)


def need_torch(what: str):
    try:
        import torch  # noqa: F401
    except ImportError:
        fail(f"{what} needs PyTorch: pip install 'manifold-tiles[train]' (or `make dev`)")


@app.command()
def info(
    preset: Optional[str] = typer.Option(None, help="A named preset, e.g. seed-b8-h128."),
    model: Optional[str] = typer.Option(None, help="A model folder (from `manifold export`) or an embedded "
                                        "model's name (default, seed)."),
    channels: Optional[int] = typer.Option(None, help="With --preset: 1, 3 or 4 channels instead of the preset's."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for scripts."),
):
    """Parameter counts and configuration of a preset or a model; without options the embedded
    models (default and seed) and the list of presets."""
    if preset:
        need_torch("info --preset")
        from manifold_train.config import preset as get_preset
        from manifold_train.model import parameter_counts

        try:
            config = get_preset(preset, channels)
        except (KeyError, ValueError) as exc:  # an unknown preset, --channels 2
            fail(str(exc.args[0]), 2)
        result = {"preset": preset, **parameter_counts(config), "config": config.to_dict()}
    else:
        from manifold_core.runtime import load_model_info

        try:
            result = load_model_info(model)
        except UserError as exc:
            fail(exc)
        if not model:
            from manifold_train.config import PRESETS

            try:
                seed = load_model_info("seed")
            except UserError as exc:
                fail(exc)
            result = {"default_model": result, "seed_model": seed, "presets": list(PRESETS)}
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        from rich.pretty import pprint

        pprint(result, expand_all=True)


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
    try:
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


@app.command()
def export(
    run_dir: Path = typer.Argument(..., help="A training run directory (from `manifold train`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    coordinates: Optional[Coordinates] = typer.Option(None, help="Override the run's pixel coordinate convention."),
):
    """Export a run to encoder.onnx + decoder.onnx (any output size) + model.json."""
    need_torch("export")
    from manifold_export.onnx_export import export_model

    try:
        card = export_model(run_dir, out, coordinates.value if coordinates else None)
    except UserError as exc:
        fail(exc)
    size = f"{card.input_size}px in" if card.input_size else "any tile size in"
    val = card.metrics.get("val_mse")
    console.print(f"exported {card.preset or 'model'} ({card.decoder} kind, {card.channels} channels, {size}) "
                  f"to {out}/  validation MSE {val if val is None else f'{val:.5f}'}", markup=False)


@app.command()
def upscale(
    source: Path = typer.Argument(..., metavar="INPUT", help="A folder of tiles, one tile image, a tileset sheet "
                                  "(with --tile-size), or a Tiled tileset (.tsx) or map (.tmx)."),
    res: str = typer.Option("64", "--res", "-r", help="Output tile size: 64, or WxH like 64x48. For a .tmx, the "
                            "map's new tile size; every tileset scales by the same factor."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write (default: beside INPUT, named "
                                       "after --res). For .tsx/.tmx a folder, or a file name ending like INPUT."),
    model: Optional[str] = typer.Option(None, help="A model folder (from `manifold export`), or an embedded "
                                        "model by name: default (upscaling) or seed (the seed's global-code model)."),
    edges: Edges = typer.Option(Edges("auto"), help="What lies beyond a tile's border: clamp repeats the border, wrap "
                                "continues from the opposite side (seamless tiles stay seamless), auto wraps the "
                                "tiles that are seamless. (Local-kind models; the seed model ignores it.)"),
    palette: Palette = typer.Option(Palette("off"), help="keep: snap every output colour to the source tile's colours "
                                    "(a sheet's: the whole sheet's) when it has at most 256."),
    alpha: Alpha = typer.Option(Alpha("smooth"), help="cut: every pixel fully opaque or fully transparent; smooth: "
                                "soft edges as rendered."),
    device: Device = typer.Option(Device("auto"), help="auto uses CUDA when onnxruntime can, else the CPU."),
    precision: InferencePrecision = typer.Option(InferencePrecision("fp32"), help="int8: the decoder with quantized "
                                                 "matrix multiplies, faster on the CPU, slightly lower PSNR "
                                                 "(BENCHMARKS.md)."),
    tile_size: Optional[str] = typer.Option(None, "--tile-size", help="INPUT is a tileset sheet of tiles this "
                                            "size (32, or WxH like 32x16); every cell is rendered at --res."),
    margin: int = typer.Option(0, help="Sheet margin in pixels (with --tile-size); scaled in the output."),
    spacing: int = typer.Option(0, help="Sheet spacing between tiles in pixels (with --tile-size); scaled too."),
    allow_outside: bool = typer.Option(False, "--allow-outside", help="Read images and tilesets that a .tsx/.tmx "
                                       "names outside its own folder (refused by default)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
):
    """Render every tile again at --res with the model (onnxruntime; no torch needed).

    A folder: every readable image is rendered; each file that cannot be read is named on a
    `skipped:` line. One image, a sheet and a Tiled file are all-or-nothing. Files are written
    under temporary names and renamed, so nothing is ever half-written.

    Exit status: 0 done; 3 done, but some files were skipped; 1 an input cannot be used (nothing
    written); 2 options that cannot work; 4 the output cannot be written there; 5 too large for
    this machine's memory; 6 a broken model folder; 130 interrupted.
    """
    from manifold_core.runtime import TileModel, parse_resolution
    from .tiled import TILED_SUFFIXES, plan_tiled, write_tiled
    from manifold_core.errors import EXIT_INTERRUPTED, EXIT_SKIPPED, UsageError, shown
    from manifold_core.tiles import find_images
    from .upscale import (NothingDone, check_output, default_output, read_sheet, sheet_grid, upscale_folder,
                          upscale_image, upscale_sheet)

    files_written = None
    restore = _terminate_as_interrupt()
    try:
        try:
            height, width = parse_resolution(res)
        except UserError as exc:
            raise UsageError(str(exc)) from None
        if not source.exists():
            raise UserError(f"{shown(source)}: no such file or folder")
        if not (source.is_file() or source.is_dir()):
            raise UserError(f"{shown(source)}: not a regular file or folder (a FIFO or a device); give a file")
        tiled = source.suffix.lower() in TILED_SUFFIXES and source.is_file()
        if tile_size is not None and (tiled or source.is_dir()):
            raise UsageError(f"--tile-size is for one sheet image; {shown(source)} is "
                             f"{'a folder' if source.is_dir() else 'a Tiled file, which says its own tile size'}")
        if tile_size is None and (margin or spacing):
            raise UsageError("--margin and --spacing describe a sheet; give its --tile-size too")
        if allow_outside and not tiled:
            raise UsageError("--allow-outside is for Tiled files (.tsx, .tmx)")
        if tiled:
            plan = plan_tiled(source, out, height, width, allow_outside)
            total, files_written = plan.tiles, [str(p) for p in plan.files]
        elif tile_size is not None:
            grid = sheet_grid(tile_size, margin, spacing)
            out = out or default_output(source, height, width)
            if out.is_dir():  # a folder: the default name inside it
                out = out / default_output(source, height, width).name
            check_output(source, out)
            sheet = read_sheet(source, grid)
            total = len(sheet.tiles)
        else:
            out = out or default_output(source, height, width)
            if source.is_file() and out.is_dir():
                out = out / default_output(source, height, width).name
            check_output(source, out)
            files = find_images(source) if source.is_dir() else [source]
            if not files:
                raise UserError(f"{shown(source)}: no tile images in this folder")
            total = len(files)
        tile_model = TileModel.load(model, device.value, precision.value)
        tile_model.edges, tile_model.palette, tile_model.alpha = edges.value, palette.value, alpha.value
        with _progress(quiet or as_json) as progress:
            task = progress.add_task(f"upscaling to {width}x{height}", total=total)
            advance = lambda n: progress.advance(task, n)  # noqa: E731
            if tiled:
                summary = write_tiled(tile_model, plan, advance)
            elif tile_size is not None:
                summary = upscale_sheet(tile_model, sheet, out, height, width, advance)
            elif source.is_dir():
                summary = upscale_folder(tile_model, source, out, height, width, advance, files)
            else:
                summary = upscale_image(tile_model, source, out, height, width, advance)
    except NothingDone as exc:
        for line in exc.skipped:
            warn(line)
        fail(exc)
    except UserError as exc:
        fail(exc)
    except KeyboardInterrupt:
        fail("interrupted; no half-written or temporary file is left (tiles already written stay)",
             EXIT_INTERRUPTED)
    finally:
        restore()
    for line in summary.skipped:
        warn(line)
    result = {"tiles": summary.tiles, "seconds": round(summary.seconds, 3),
              "tiles_per_s": round(summary.tiles_per_s, 1), "provider": summary.provider,
              "resolution": [width, height], "output": str(summary.output)}
    if files_written is not None:
        result["files"] = files_written
    if summary.skipped:
        result["skipped"] = summary.skipped
    if as_json:
        print(json.dumps(result))
    else:
        skipped = f", {len(summary.skipped)} files skipped" if summary.skipped else ""
        console.print(one_line(f"{summary.tiles} tiles -> {summary.output}  ({summary.seconds:.2f} s, "
                               f"{summary.tiles_per_s:.0f} tiles/s, {summary.provider}{skipped})"),
                      highlight=False, markup=False)
    if summary.skipped:
        raise typer.Exit(EXIT_SKIPPED)


def _terminate_as_interrupt():
    """SIGTERM (an editor stopping its plugin's process) unwinds like Ctrl-C, so every temporary is
    removed on the way out; returns the function that puts the old handler back."""
    import signal

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except (ValueError, AttributeError, OSError):  # not the main thread, or no SIGTERM here
        return lambda: None
    return lambda: signal.signal(signal.SIGTERM, previous)


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="Fewer rounds, 1,000 tiles for memory, no torch.compile "
                               "and no pixel-budget sweep: about 80 s on 2 cores."),
    model: Optional[Path] = typer.Option(None, help="A model directory (default: the embedded model)."),
    data: Path = typer.Option(Path("data"), help="Folder with the Crawl sheets wall/floor/feat.png: held-out "
                              "tiles for inference and int8 PSNR (procedural tiles without them)."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Run only these sections (repeatable): matmul, "
                                             "inference, upscalers, int8, pixel_budget, training, startup, memory."),
    memory_tiles: Optional[int] = typer.Option(None, help="Tiles for the memory run (default 10,000; --quick 1,000)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    plot_png: Optional[Path] = typer.Option(None, "--plot", help="Also draw the inference and training "
                                            "figures into this PNG."),
):
    """Measure inference, training, start-up and memory side by side (ratios; see BENCHMARKS.md)."""
    need_torch("bench")
    from manifold_train.bench_suite import SECTIONS, plot, run, table

    sections = tuple(only) if only else SECTIONS
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        fail(f"--only {', '.join(sorted(unknown))}: choose from {', '.join(SECTIONS)}")
    if plot_png and not {"inference", "training"} & set(sections):
        fail("--plot draws the inference and training sections: add --only inference or --only training")
    try:
        result = run(quick=quick, model_dir=model, data=data, sections=sections, memory_tiles=memory_tiles,
                     log=lambda s: console.print(f"[dim]{s}[/]", highlight=False))
    except UserError as exc:
        fail(str(exc))
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        out = Console(soft_wrap=False)
        for t in table(result):
            out.print(t)
    if plot_png:
        plot(result, plot_png)
        console.print(f"figure: {plot_png}", markup=False)


@app.command("eval")
def eval_(
    tiles: List[Path] = typer.Argument(..., metavar="TILES...", help="Folders of tiles, tile images, tileset "
                                       "sheets (with --tile-size), or Tiled tilesets (.tsx) / maps (.tmx)."),
    model: Optional[List[str]] = typer.Option(None, "--model", help="A model: an embedded one by name (default) "
                                              "or an exported model's folder; repeat to compare several."),
    scale: float = typer.Option(2.0, "--scale", help="Shrink by this factor, then upscale by it (2, 3, 1.5...). "
                                "Scale2x, hqx, xBRZ and Real-ESRGAN only do whole factors."),
    degrade: str = typer.Option("box,nearest", "--degrade", help="How tiles are shrunk, comma-separated: box "
                                "(area average: blurred) and/or nearest (every n-th pixel: crisp, aliased)."),
    methods: Optional[str] = typer.Option(None, "--methods", help="Comma-separated subset of: nearest, bicubic, "
                                          "lanczos, scalenx, hqx, xbrz, realesrgan, manifold (default: all)."),
    limit: Optional[int] = typer.Option(None, "--limit", help="Score this many tiles, spread evenly over TILES."),
    tile_size: Optional[str] = typer.Option(None, "--tile-size", help="TILES are sheets of tiles this size (32, "
                                            "or WxH like 32x16)."),
    margin: int = typer.Option(0, help="Sheet margin in pixels (with --tile-size)."),
    spacing: int = typer.Option(0, help="Sheet spacing between tiles in pixels (with --tile-size)."),
    sheet: Optional[Path] = typer.Option(None, "--sheet", help="Also draw a contact sheet PNG: a few tiles, "
                                         "original | shrunk | each method, pixels doubled."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress lines on stderr."),
):
    """Measure upscaling quality: shrink each tile, bring it back with every method, compare (PSNR, SSIM)."""
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("skimage", "scalenx", "hqx")):
        fail("manifold eval needs the [eval] extra: pip install 'manifold-tiles[eval]'")
    from manifold_core.errors import UsageError
    from manifold_core.tiles import Grid
    from manifold_eval.degrade import DEGRADATIONS
    from manifold_eval.evaluate import evaluate
    from manifold_eval.inputs import load_tiles
    from manifold_eval.report import table
    from manifold_eval.scalers import make_methods
    from manifold_eval.sheet import contact_sheet
    from manifold_core.runtime import parse_resolution

    try:
        if not 1 <= scale <= 16:
            raise UsageError(f"--scale {scale:g}: give a factor from 1 to 16")
        degradations = [d.strip() for d in degrade.split(",") if d.strip()]
        wrong = [d for d in degradations if d not in DEGRADATIONS]
        if wrong or not degradations:
            raise UsageError(f"--degrade {degrade!r}: choose from {', '.join(DEGRADATIONS)} (comma-separated)")
        grid = None
        if tile_size is not None:
            try:
                th, tw = parse_resolution(tile_size)
            except UserError:
                raise UsageError(f"--tile-size {tile_size!r}: give a size like 32 or WxH like 32x16") from None
            grid = Grid(tw, th, margin, spacing)
        elif margin or spacing:
            raise UsageError("--margin and --spacing describe a sheet; give its --tile-size too")
        if sheet is not None and sheet.suffix.lower() != ".png":
            raise UsageError(f"--sheet {sheet}: give a .png file name")
        chosen = make_methods([m.strip() for m in methods.split(",") if m.strip()] if methods else None, model)
        _, found = load_tiles(tiles, grid, limit)
        log = (lambda s: None) if quiet else (lambda s: console.print(f"[dim]{s}[/]", highlight=False))
        result = evaluate(found, chosen, scale, degradations, log=log)
        if not result.tiles:
            raise UserError(f"no tile is big enough to shrink by {scale:g} (and not fully transparent)")
        if sheet is not None:
            contact_sheet(result, sheet)
    except UserError as exc:
        fail(str(exc), getattr(exc, "exit_status", 1))
    if as_json:
        print(json.dumps({**result.as_dict(), "sheet": str(sheet) if sheet else None}))
    else:
        Console(soft_wrap=False).print(table(result))
        if result.left_out:
            console.print(f"{result.left_out} tiles left out: fully transparent or under 2 px once shrunk",
                          highlight=False, markup=False)
        if sheet is not None:
            console.print(f"contact sheet: {sheet}", highlight=False, markup=False)


def _progress(disabled: bool):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("tiles"),
                    TimeElapsedColumn(), console=console, disable=disabled)


def main() -> None:
    """The `manifold` command: Typer runs it, except that a mistake on the command line (an unknown
    option, a value not among the choices, a missing argument) is one `error:` line with exit
    status 2, like every other mistake, instead of Typer's usage box."""
    import sys

    try:
        status = app(standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - only Typer's usage errors are handled here
        show, message = getattr(exc, "show", None), getattr(exc, "format_message", None)
        if message is None or show is None:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `manifold` or `manifold COMMAND` alone: the help
            show()
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        hint = f"; see `{ctx.command_path} --help`" if ctx is not None else ""
        print_error(f"{message().rstrip('.')}{hint}")
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
