"""`manifold variants`: parse the options, plan the variants, render them, write them, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..app import Alpha, Device, Edges, Palette, Style, app, command_errors, console, one_line, progress_bar, render_options


@app.command()
def variants(
    tile: str = typer.Argument(..., metavar="TILE", help="A tile image, or a tile of a Tiled tileset as "
                               "TILESET.tsx#ID."),
    count: int = typer.Option(8, "-n", "--count", help="How many variants."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="A folder for TILE-1.png ... TILE-N.png, or a "
                                       "name ending in .png for one strip of them side by side. Default: a folder "
                                       "TILE-variants beside TILE."),
    res: Optional[str] = typer.Option(None, "--res", "-r", help="The variants' size: 64, WxH like 64x48, or a "
                                      "factor of the tile's own, like 2x. Default: the tile's own size."),
    seed: int = typer.Option(0, "--seed", help="Chooses the patches: the same seed gives the same files, byte "
                             "for byte."),
    strength: float = typer.Option(0.5, "--strength", help="The share of the tile's inside (all but a band along "
                                   "its edges) redrawn from shifted copies of itself: 0 is the tile itself, 1 all "
                                   "of its inside."),
    model: Optional[str] = typer.Option(None, help="A model folder, or an embedded model by name: default or seed."),
    edges: Edges = typer.Option(Edges("auto"), help="What lies beyond the tile's border: wrap (a seamless tile's "
                                "variants tile with each other), clamp, or auto (wrap when it is seamless)."),
    style: Style = typer.Option(Style("auto"), help="As for upscale: pixel, smooth or auto."),
    palette: Optional[Palette] = typer.Option(None, help="As for upscale; default: the --style's."),
    alpha: Optional[Alpha] = typer.Option(None, help="As for upscale; default: the --style's."),
    device: Device = typer.Option(Device("auto"), help="auto uses CUDA when onnxruntime can, else the CPU."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
):
    """Render variants of a tile: the same art reshuffled inside, its border kept.

    Each variant takes patches of the tile's latent cells from copies of the tile shifted by
    seeded offsets, and the model draws the patch boundaries from the tile's own colours. The
    band along the edges is never changed, so the variants of a seamless tile tile with each
    other in any order. The summary says how far they are from the tile (share of pixels
    changed, PSNR) and how they join.

    Exit status: 0 done; 1 an input cannot be used (nothing written); 2 options that cannot
    work; 4 the output cannot be written there; 5 too large for this machine's memory; 6 a
    broken model folder; 130 interrupted.
    """
    with command_errors():  # everything, the imports too: a SIGTERM is the one `interrupted` line
        from manifold_core.runtime import TileModel

        from ..options import output_size
        from ..variants import plan_variants, run_variants

        size = output_size(res) if res is not None else None
        job = plan_variants(tile, count, out, size, seed, strength)
        options = render_options(edges, Style(style), palette, alpha)
        tile_model = TileModel.load(model, device.value)
        with progress_bar(quiet or as_json) as progress:
            task = progress.add_task(f"{count} variants at {job.width}x{job.height}", total=count + 1)
            summary = run_variants(job, tile_model, options, lambda n: progress.advance(task, n))
    joins = summary.joins
    result = {"tiles": summary.tiles, "seconds": round(summary.seconds, 3), "provider": summary.provider,
              "resolution": [job.width, job.height], "strength": job.strength, "output": str(summary.output),
              "files": [str(p) for p in summary.files], "changed": round(summary.changed, 4),
              "psnr": round(summary.psnr, 2), "joins": {k: round(v, 3) for k, v in joins.items()}}
    if as_json:
        print(json.dumps(result))
        return
    console.print(one_line(f"{summary.tiles} variants of {job.ref.name} -> {summary.output}  ({summary.seconds:.2f} s, "
                           f"{summary.provider})"), highlight=False, markup=False)
    console.print(one_line(f"{100 * summary.changed:.0f}% of the pixels differ from the tile rendered plain "
                           f"(PSNR {summary.psnr:.1f} dB); joins between variants: mean step {joins['edge_mean']:.1f} "
                           f"(at most {joins['edge_max']:.1f}), inside the tile {joins['inside_sources']:.1f}"),
                  highlight=False, markup=False)
