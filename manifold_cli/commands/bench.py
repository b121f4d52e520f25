"""`manifold bench`: the speed benchmark (manifold_train.bench_suite)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from manifold_core.errors import UserError

from ..app import (
    app,
    console,
    fail,
    need_torch,
)


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
        from manifold_core.files import inputs_protected
        from manifold_core.runtime import resolve_model

        try:
            with inputs_protected([resolve_model(model), data]):  # --plot never lands on a model or a data file
                plot(result, plot_png)
        except UserError as exc:
            fail(exc)
        console.print(f"figure: {plot_png}", markup=False)

