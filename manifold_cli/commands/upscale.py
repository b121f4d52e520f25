"""`manifold upscale`: parse the options, plan the job, run it, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from manifold_core.errors import UserError

from ..app import (
    Alpha,
    Device,
    Edges,
    InferencePrecision,
    Palette,
    app,
    console,
    fail,
    one_line,
    progress_bar,
    warn,
)


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
    from manifold_core.errors import EXIT_INTERRUPTED, EXIT_SKIPPED, UsageError, shown
    from manifold_core.runtime import TileModel, parse_resolution
    from manifold_core.tiles import find_images

    from ..tiled import TILED_SUFFIXES, plan_tiled, write_tiled
    from ..upscale import (
        NothingDone,
        check_output,
        default_output,
        read_sheet,
        sheet_grid,
        upscale_folder,
        upscale_image,
        upscale_sheet,
    )

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
        with progress_bar(quiet or as_json) as progress:
            task = progress.add_task(f"upscaling to {width}x{height}", total=total)
            advance = lambda n: progress.advance(task, n)
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

