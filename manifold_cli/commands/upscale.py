"""`manifold upscale`: parse the options, plan the job, run it, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..app import (
    Alpha,
    Device,
    Edges,
    Footprints,
    InferencePrecision,
    Palette,
    Style,
    app,
    command_errors,
    console,
    one_line,
    plural,
    progress_bar,
    render_options,
    warn,
)
from ..options import Margin, Resolution, Spacing, TileSize


@app.command()
def upscale(
    source: Path = typer.Argument(..., metavar="INPUT", help="A folder of tiles, one tile image, a tileset sheet "
                                  "(with --tile-size), or a Tiled tileset (.tsx) or map (.tmx)."),
    res: Resolution = "64",
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Where to write (default: beside INPUT, named "
                                       "after --res). For .tsx/.tmx a folder, or a file name ending like INPUT."),
    model: Optional[str] = typer.Option(None, help="A model folder (from `manifold export`), or an embedded "
                                        "model by name: default (upscaling) or seed (the seed's global-code model)."),
    edges: Edges = typer.Option(Edges("auto"), help="What lies beyond a tile's border: clamp repeats the border, wrap "
                                "continues from the opposite side (seamless tiles stay seamless), auto wraps the "
                                "tiles that are seamless. (Local-kind models; the seed model ignores it.)"),
    style: Style = typer.Option(Style("auto"), help="pixel: --palette keep --alpha cut (crisp pixel art); smooth: "
                                "colours and edges as rendered; auto: keep each tile's palette when it has one (at "
                                "most 256 colours) and cut the alpha of the tiles whose alpha is hard."),
    palette: Optional[Palette] = typer.Option(None, help="keep: snap every output colour to the source tile's colours "
                                              "(a sheet's: the whole sheet's) when it has at most 256; off: as "
                                              "rendered. Default: the --style's."),
    alpha: Optional[Alpha] = typer.Option(None, help="cut: every pixel fully opaque or fully transparent; smooth: "
                                          "soft edges as rendered; auto: cut the tiles whose own alpha is hard. "
                                          "Default: the --style's."),
    footprints: Footprints = typer.Option(Footprints("keep"), help="keep: each source pixel's footprint in the "
                                          "result keeps its colour on average (no swelling, no added outlines; "
                                          "MODEL.md); free: the model's pixels as it draws them."),
    device: Device = typer.Option(Device("auto"), help="auto uses CUDA when onnxruntime can, else the CPU."),
    precision: InferencePrecision = typer.Option(InferencePrecision("fp32"), help="int8: the decoder with quantized "
                                                 "matrix multiplies, faster on the CPU, slightly lower PSNR "
                                                 "(BENCHMARKS.md)."),
    tile_size: TileSize = None,
    margin: Margin = 0,
    spacing: Spacing = 0,
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
    from manifold_core.errors import EXIT_SKIPPED

    # everything, the imports too: a SIGTERM at any moment is the one `interrupted` line
    with command_errors("interrupted; no half-written or temporary file is left (tiles already written stay)"):
        from manifold_core.runtime import TileModel

        from ..options import output_size, sheet_grid
        from ..upscale import make_plan

        size = output_size(res)
        plan = make_plan(source, out, size, sheet_grid(tile_size, margin, spacing), allow_outside)
        options = render_options(edges, Style(style), palette, alpha, footprints)
        tile_model = TileModel.load(model, device.value, precision.value)
        several = getattr(plan, "scale", None) is not None  # a folder at --res 4x: each tile its own size
        with progress_bar(quiet or as_json) as progress:
            label = f"upscaling {size.tag}" if several else f"upscaling to {plan.width}x{plan.height}"
            task = progress.add_task(label, total=plan.tiles)
            summary = plan.run(tile_model, options, lambda n: progress.advance(task, n))
    report(summary, plan, None if several else (plan.width, plan.height), getattr(size, "factor", None), as_json)
    if summary.skipped:
        raise typer.Exit(EXIT_SKIPPED)


def report(summary, plan, resolution: tuple[int, int] | None, scale: float | None, as_json: bool) -> None:
    """The summary line (or --json): `resolution` (width, height) of every tile, None when a
    --res factor gave tiles of several sizes; `scale`: that factor."""
    for line in summary.skipped:
        warn(line)
    result = {"tiles": summary.tiles, "seconds": round(summary.seconds, 3),
              "tiles_per_s": round(summary.tiles_per_s, 1), "provider": summary.provider,
              "resolution": list(resolution) if resolution else None, "output": str(summary.output)}
    if scale is not None:
        result["scale"] = scale
    if plan.files is not None:
        result["files"] = [str(p) for p in plan.files]
    if summary.skipped:
        result["skipped"] = summary.skipped
    if as_json:
        print(json.dumps(result))
    else:
        skipped = f", {plural(len(summary.skipped), 'file')} skipped" if summary.skipped else ""
        console.print(one_line(f"{plural(summary.tiles, 'tile')} -> {summary.output}  ({summary.seconds:.2f} s, "
                               f"{summary.tiles_per_s:.0f} tiles/s, {summary.provider}{skipped})"),
                      highlight=False, markup=False)
