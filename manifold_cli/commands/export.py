"""`manifold export`: a run -> a model directory (manifold_export)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from manifold_core.errors import UserError

from ..app import (
    Coordinates,
    app,
    console,
    fail,
    need_torch,
)


@app.command()
def export(
    run_dir: Path = typer.Argument(..., help="A training run directory (from `manifold train`)."),
    out: Path = typer.Option(..., "--out", "-o", help="Model directory to write."),
    coordinates: Optional[Coordinates] = typer.Option(None, help="Override the run's pixel coordinate convention."),
):
    """Export a run to encoder.onnx + decoder.onnx (any output size) + model.json."""
    need_torch("export")
    from manifold_core.files import inputs_protected
    from manifold_export.onnx_export import export_model

    try:
        read = [p for p in run_dir.iterdir() if p.is_file()] if run_dir.is_dir() else [run_dir]
        with inputs_protected(read):  # the run's own files are never an output
            card = export_model(run_dir, out, coordinates.value if coordinates else None)
    except UserError as exc:
        fail(exc)
    size = f"{card.input_size}px in" if card.input_size else "any tile size in"
    val = card.metrics.get("val_mse")
    console.print(f"exported {card.preset or 'model'} ({card.kind} kind, {card.channels} channels, {size}) "
                  f"to {out}/  validation MSE {val if val is None else f'{val:.5f}'}", markup=False)

