"""`manifold transitions`: parse the options, plan the Wang set, render it, write it, report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from manifold_core.wang import KINDS

from ..app import (
    Alpha,
    Device,
    Edges,
    Palette,
    Style,
    app,
    choices,
    command_errors,
    console,
    one_line,
    plural,
    progress_bar,
    render_options,
)

WangKind = choices("WangKind", KINDS)


@app.command()
def transitions(
    first: str = typer.Argument(..., metavar="A", help="The first terrain (Wang colour 1): a tile image, or a tile "
                                "of a Tiled tileset as TILESET.tsx#ID."),
    second: str = typer.Argument(..., metavar="B", help="The second terrain (Wang colour 2), the same size as A."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="The tileset to write, ending in .tsx (its sheet "
                                       "goes beside it as .png), or a folder. Default: A-B.tsx beside A."),
    res: str = typer.Option("64", "--res", "-r", help="The new tiles' size: 64, WxH like 64x48, or a "
                     "factor of the terrain tiles' own, like 2x."),
    wang: WangKind = typer.Option(WangKind("corner"), "--wang", help="corner: 16 tiles, a colour per corner "
                                  "(Tiled's corner set); edge: 16 tiles, a colour per edge, B drawn as paths across "
                                  "A; blob: the 47-tile blob set (Tiled's mixed set: corners and edges)."),
    variants: int = typer.Option(0, "--variants", help="Variants of every Wang tile, with the same corners and "
                                 "edges and another inside; Tiled's brush picks among them at random."),
    seed: int = typer.Option(0, "--seed", help="Chooses the boundaries' shapes and the variants: the same seed "
                             "gives the same files, byte for byte."),
    boundary: str = typer.Option("noisy", "--boundary", help="smooth: round, even boundaries; noisy: ragged ones; "
                                 "a number: ragged with bumps of that many source pixels."),
    model: Optional[str] = typer.Option(None, help="A model folder, or an embedded model by name: default or seed."),
    edges: Edges = typer.Option(Edges("auto"), help="What lies beyond a terrain tile's border: wrap (a seamless "
                                "terrain stays seamless), clamp, or auto (wrap the seamless ones)."),
    style: Style = typer.Option(Style("auto"), help="As for upscale: pixel, smooth or auto; each terrain is drawn in "
                                "the style upscale gives it (auto: its palette kept when it has at most 256 colours)."),
    palette: Optional[Palette] = typer.Option(None, help="As for upscale; default: the --style's."),
    alpha: Optional[Alpha] = typer.Option(None, help="As for upscale; default: the --style's."),
    device: Device = typer.Option(Device("auto"), help="auto uses CUDA when onnxruntime can, else the CPU."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON on stdout."),
):
    """Render a terrain transition set of A and B for Tiled's terrain brush: a sheet and a .tsx.

    Every tile's corners (or edges) are A or B; the regions between are drawn by the model from
    A's and B's own latent cells under a seeded mask, and the mask along each edge depends on
    that edge's colours alone, so any two tiles that Tiled's Wang rules put side by side join
    without a seam. Open the .tsx in Tiled and paint with the Terrain Sets view.

    Exit status: 0 done; 1 an input cannot be used (nothing written); 2 options that cannot
    work; 4 the output cannot be written there; 5 too large for this machine's memory; 6 a
    broken model folder; 130 interrupted.
    """
    with command_errors():  # everything, the imports too: a SIGTERM is the one `interrupted` line
        from manifold_core.runtime import TileModel

        from ..options import output_size
        from ..transitions import plan_transitions, run_transitions

        job = plan_transitions(first, second, out, output_size(res), WangKind(wang).value, variants, seed, boundary)
        height, width = job.height, job.width
        options = render_options(edges, Style(style), palette, alpha)
        tile_model = TileModel.load(model, device.value)
        with progress_bar(quiet or as_json) as progress:
            task = progress.add_task(f"{job.kind} set at {width}x{height}", total=job.tiles)
            summary = run_transitions(job, tile_model, options, lambda n: progress.advance(task, n))
    joins = summary.joins
    result = {"tiles": summary.tiles, "wang": job.kind, "variants": job.variants, "seconds": round(summary.seconds, 3),
              "provider": summary.provider, "resolution": [width, height], "output": str(summary.output),
              "files": [str(p) for p in summary.files], "joins": {k: round(v, 3) for k, v in joins.items()}}
    if as_json:
        print(json.dumps(result))
        return
    with_variants = f", {plural(job.variants, 'variant')}" if job.variants else ""
    console.print(one_line(f"{summary.tiles} tiles ({job.kind} set of {job.a.name} and {job.b.name}"
                           f"{with_variants}) -> {job.tsx} + {job.png.name}  "
                           f"({summary.seconds:.2f} s, {summary.provider})"), highlight=False, markup=False)
    console.print(one_line(f"joins: mean step across the {joins['pairs']} edges Tiled may join "
                           f"{joins['edge_mean']:.1f} (at most {joins['edge_max']:.1f}); between neighbouring pixels "
                           f"inside the terrains {joins['inside_sources']:.1f}, inside the new tiles "
                           f"{joins['inside_tiles']:.1f}"), highlight=False, markup=False)
