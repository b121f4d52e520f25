"""`manifold bench`: the speed benchmark (manifold_bench): parse -> run the chosen sections -> print
their tables (or the JSON), and draw the figure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from manifold_core.errors import UsageError, UserError

from ..app import (
    app,
    console,
    fail,
    need_torch,
)


@app.command()
def bench(
    quick: bool = typer.Option(False, "--quick", help="Fewer rounds, 1,000 tiles for memory, no torch.compile "
                               "and no pixel-budget sweep."),
    model: Optional[str] = typer.Option(None, help="A model folder or an embedded model's name (default: the "
                                        "embedded default model)."),
    data: Path = typer.Option(Path("data"), help="Folder with the Crawl sheets wall/floor/feat.png: held-out "
                              "tiles for inference and int8 PSNR (procedural tiles without them)."),
    only: Optional[List[str]] = typer.Option(None, "--only", help="Run only this section (repeatable), one of "
                                             "BENCHMARKS.md's table; a wrong name lists them. `--only quality` "
                                             "(training quality, long) runs only when named."),
    memory_tiles: Optional[int] = typer.Option(None, min=1, help="Tiles for the memory run (default 10,000; "
                                               "--quick 1,000)."),
    quality_inputs: Optional[int] = typer.Option(None, min=1, help="Inputs per recipe for --only quality "
                                                 "(default 64,000; --quick 8,000)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON on stdout."),
    plot_png: Optional[Path] = typer.Option(None, "--plot", help="Also draw the figures of the sections that have "
                                            "one (inference, training) into this PNG."),
):
    """Measure inference, training, start-up and memory side by side (ratios; see BENCHMARKS.md)."""
    need_torch("bench")
    from manifold_bench.suite import drawable, plot, plottable, run, tables
    from manifold_core.files import Staging, inputs_protected
    from manifold_core.runtime import resolve_model

    try:
        if plot_png is not None:
            if plot_png.suffix.lower() != ".png":
                raise UsageError(f"--plot {plot_png}: give a .png file name")
            if not plottable(only):
                raise UsageError(f"--plot draws the {' and '.join(drawable())} sections: add "
                                 f"{' or '.join(f'--only {n}' for n in drawable())}")
        with inputs_protected([resolve_model(model), data]), Staging(durable=False) as stage:  # --plot never on an input
            if plot_png is not None:
                stage.reserve(plot_png, "--plot")  # an unwritable location fails now, not after the run
            result = run(quick=quick, model=model, data=data, only=only, memory_tiles=memory_tiles,
                         quality_inputs=quality_inputs, log=lambda s: console.print(f"[dim]{s}[/]", highlight=False))
            if plot_png is not None:
                stage.write(plot_png, lambda tmp: plot(result, tmp))
                stage.commit()
    except UserError as exc:
        fail(exc)
    if as_json:
        print(json.dumps(result, indent=2))
    else:
        out = Console(soft_wrap=False)
        for t in tables(result):
            out.print(t)
    if plot_png is not None:
        console.print(f"figure: {plot_png}", markup=False)
