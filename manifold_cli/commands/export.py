"""`manifold export`: a run -> a model directory (manifold_export); `--add-int8` adds the int8 decoder
to a model directory exported without it (manifold_export.quantize)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from manifold_core.errors import UsageError, UserError

from ..app import (
    Coordinates,
    app,
    console,
    fail,
    need_torch,
)


@app.command()
def export(
    run_dir: Optional[Path] = typer.Argument(None, help="A training run directory (from `manifold train`)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Model directory to write."),
    coordinates: Optional[Coordinates] = typer.Option(None, help="Override the run's pixel coordinate convention."),
    add_int8: Optional[str] = typer.Option(None, "--add-int8", metavar="MODEL", help="Instead of exporting a run: "
                                           "add decoder.int8.onnx (`--precision int8`) to this model folder (or "
                                           "embedded model), exported before export wrote it."),
):
    """Export a run to encoder.onnx + decoder.onnx (any output size) + model.json (or, with --add-int8,
    add the int8 decoder to a model folder)."""
    need_torch("export")
    try:
        if add_int8 is not None:
            if run_dir is not None or out is not None or coordinates is not None:
                raise UsageError("--add-int8 MODEL works on a model folder alone: give no run directory, --out "
                                 "or --coordinates with it")
            add_int8_decoder(add_int8)
            return
        if run_dir is None or out is None:
            raise UsageError("give a run directory and --out (or --add-int8 MODEL); see `manifold export --help`")
        from manifold_core.files import inputs_protected
        from manifold_export.onnx_export import export_model

        read = [p for p in run_dir.iterdir() if p.is_file()] if run_dir.is_dir() else [run_dir]
        with inputs_protected(read):  # the run's own files are never an output
            card = export_model(run_dir, out, coordinates.value if coordinates else None)
    except UserError as exc:
        fail(exc)
    size = f"{card.input_size}px in" if card.input_size else "any tile size in"
    val = card.metrics.get("val_mse")
    console.print(f"exported {card.preset or 'model'} ({card.kind} kind, {card.channels} channels, {size}) "
                  f"to {out}/  validation MSE {val if val is None else f'{val:.5f}'}", markup=False)


def add_int8_decoder(model: str) -> None:
    """Quantize a model folder's decoder.onnx into decoder.int8.onnx beside it (and note it in model.json).

    The folder is loaded first, as `manifold upscale` would: a broken one is a ModelError (exit
    status 6) and nothing is written."""
    from manifold_core.runtime import TileModel, resolve_model
    from manifold_export.quantize import INT8_DECODER, quantize_model_dir

    folder = resolve_model(model)
    TileModel.load(folder, device="cpu")
    note = quantize_model_dir(folder)
    kept = ", ".join(note["kept_fp32"]) or "none"
    console.print(f"added {INT8_DECODER} to {folder}/  MatMuls kept fp32: {kept}", markup=False)
