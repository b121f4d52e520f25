"""`manifold export`: a training run -> model directory (encoder.onnx, decoder.onnx, model.json,
decoder.int8.onnx for `--precision int8` (quantize.py), and weights.safetensors: the same
function as PyTorch weights, batch-norm folded, under the model's layer names).

Data flow: ... -> trainer -> checkpoint -> **export** -> model directory -> runtime. Export is
"the kind's export copy (for_export), then trace": the encoder as it is, and the decoder as the kind's own
`render(latent, height, width)` (model.py), with height and width as graph inputs, so the
output size is dynamic and the pixel grid is built inside the graph with the run's coordinate
convention. The graph contract is in manifold_core/card.py.
"""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import torch
import torch.nn as nn
from safetensors.torch import save_file

from manifold_core.card import ModelCard
from manifold_core.errors import OutputError
from manifold_core.files import replace_folder, temporary_folder
from manifold_train.kinds import parameter_counts
from manifold_train.model import Autoencoder
from manifold_train.trainer import read_run

from .quantize import INT8_DECODER, RECIPE, quantize_decoder

OPSET = 17
WEIGHTS = "weights.safetensors"


class RenderGraph(nn.Module):
    """What decoder.onnx computes: the kind's render, (latent, height, width, top, rows) -> rows
    top .. top + rows - 1 of the height x width image (the runtime renders huge outputs in bands)."""

    def __init__(self, model: Autoencoder):
        super().__init__()
        self.model = model

    def forward(self, latent: torch.Tensor, height: torch.Tensor, width: torch.Tensor, top: torch.Tensor,
                rows: torch.Tensor) -> torch.Tensor:
        return self.model.render(latent, height, width, top, rows)


def trace(model: Autoencoder, folder: Path, decoder_name: str = "decoder.onnx", encoder: bool = True) -> None:
    """encoder.onnx and decoder.onnx (or only a decoder under another name) of an eval-mode,
    batch-norm-folded model into `folder`."""
    c = model.config
    image = model.export_input(c.size, c.size)
    latent = model.encode(image).detach()
    size = torch.tensor(c.size, dtype=torch.int64)
    any_size = model.card()["input_size"] is None
    image_axes = {0: "batch", 2: "in_height", 3: "in_width"} if any_size else {0: "batch"}
    latent_axes = {0: "batch", 2: "grid_height", 3: "grid_width"} if latent.dim() == 4 else {0: "batch"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tracer's notes on int conversions; the tests compare sizes
        if encoder:
            torch.onnx.export(model.encoder, (image,), folder / "encoder.onnx", dynamo=False, opset_version=OPSET,
                              input_names=["image"], output_names=[model.latent_name],
                              dynamic_axes={"image": image_axes, model.latent_name: latent_axes})
        torch.onnx.export(RenderGraph(model).eval(), (latent, size, size, torch.tensor(0), size),
                          folder / decoder_name, dynamo=False, opset_version=OPSET,
                          input_names=[model.latent_name, "height", "width", "top", "rows"], output_names=["image"],
                          dynamic_axes={model.latent_name: latent_axes, "image": {0: "batch", 2: "rows", 3: "width"}})


def export_model(run_dir: str | Path, model_dir: str | Path, coordinates: str | None = None) -> ModelCard:
    """Write encoder.onnx, decoder.onnx (+ int8) and model.json for the run; returns the card.

    The model is written into a new temporary folder beside `model_dir` and moved into place
    only when everything succeeded; an existing `model_dir` is replaced only when it is itself
    a model directory (has model.json) or empty, so export never deletes anything it did not
    make (manifold_core.files.replace_folder).
    """
    import onnx

    model_dir = Path(model_dir)
    check_model_target(run_dir, model_dir)
    info, model = read_run(run_dir, coordinates)
    model = model.for_export()  # eval mode; the global kind folds its batch-norm here
    c = model.config
    with temporary_folder(model_dir) as tmp:
        trace(model, tmp)
        styles = model.styles()
        for style, variant in styles.items():  # other renderings of the same latent (model.json `styles`)
            trace(variant, tmp, f"decoder.{style}.onnx", encoder=False)
        # the exported function as PyTorch weights, under the model's own layer names (batch-norm folded):
        # for the bench's eager anchor, fine-tuning, or reading a layer without parsing ONNX
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp / WEIGHTS)
        for name in ["encoder.onnx", "decoder.onnx"] + [f"decoder.{style}.onnx" for style in styles]:
            onnx.checker.check_model(onnx.load(tmp / name), full_check=True)
        kept_fp32 = quantize_decoder(tmp / "decoder.onnx", tmp / INT8_DECODER)  # the opt-in --precision int8 path
        train_cfg = info.get("train", {})
        progress = info["progress"]
        card = ModelCard(
            kind=model.kind, channels=c.channels, coordinates=model.coordinates, preset=info.get("preset", ""),
            architecture=c.to_dict(), parameters=parameter_counts(c), styles=list(styles), **model.card(),
            trained_on={"data": [Path(d).name for d in train_cfg.get("data", [])], "tiles": info.get("data", {}),
                        "tile_size": train_cfg.get("tile_size"), "inputs": progress["inputs"],
                        "wall_s": progress["wall_s"], "device": train_cfg.get("device"),
                        "batch_size": train_cfg.get("batch_size"), "lr": train_cfg.get("lr"),
                        "std_mean_factor": train_cfg.get("std_mean_factor"), "seed": train_cfg.get("seed"),
                        "precision": train_cfg.get("precision")},
            metrics={"val_mse": progress["val_mse"]},
            int8={"decoder": INT8_DECODER, "recipe": RECIPE, "kept_fp32": kept_fp32},
            exported=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        )
        card.write(tmp)
        replace_folder(tmp, model_dir)
    return card


def check_model_target(run_dir: str | Path, model_dir: Path) -> None:
    """Refuse a target export would have to delete something it did not make to write."""
    run, target = Path(run_dir).resolve(), model_dir.resolve()
    if target == run or run.is_relative_to(target):
        raise OutputError(f"-o {model_dir}: that would replace the run itself; choose a new folder for the model")
    if target.exists() and not target.is_dir():
        raise OutputError(f"-o {model_dir} is a file; give a folder for the model")
    if target.is_dir() and any(target.iterdir()) and not (target / "model.json").is_file():
        raise OutputError(f"-o {model_dir}: a folder with other files in it, not a model directory; "
                        f"choose a new or empty folder (export replaces only an earlier model directory)")
