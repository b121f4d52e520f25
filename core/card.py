"""model.json: the contract between export (writes it) and the runtime (reads it), as one type.

Data flow: ... -> export -> **model directory** (encoder.onnx, decoder.onnx, decoder.int8.onnx,
model.json) -> runtime. The graphs:

    encoder.onnx   image [batch, C, H, W] float in [0, 1] -> latent
                   global: H = W = input_size (tiles are resampled to it first), latent = code [batch, D]
                   local:  any H, W, already padded by `pad` pixels on every side, latent = grid
    decoder.onnx   latent, height, width, top, rows (int64) -> image [batch, C, rows, width] in [0, 1]:
                   rows top .. top + rows - 1 of the height x width image (format 1: latent, height,
                   width -> the whole image)

Pure Python: the runtime reads it without torch.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import ModelError

FORMAT_VERSION = 3  # 1: before model kinds (read as kind "global", pad 0); 2: the kind was called `decoder`
READABLE_VERSIONS = (1, 2, 3)


@dataclass(frozen=True)
class ModelCard:
    # The runtime feeds every model from these fields alone; it never asks which kind made it.
    kind: str  # the model kind that made it (manifold_train.kinds), for people and the bench
    channels: int  # 1 grey, 3 RGB, 4 RGBA
    input_size: int | None  # tiles are resampled to input_size x input_size first; None: any size as it is
    pad: int  # pixels of clamp/wrap padding the encoder expects around a tile (0: none)
    code_size: int  # numbers per tile (a code) or per grid cell (a feature grid)
    decoder_width: int = 0  # floats the decoder holds per output pixel at once (the memory estimate)
    scale_step: int = 0  # >0: the runtime upscales by at most this factor a pass (16 -> 64 as 16 -> 32 -> 64)
    styles: list = field(default_factory=list)  # other renderings: decoder.STYLE.onnx each ("pixel": exact colours)
    coordinates: str = "center"  # the pixel-centre convention (docs/ARCHITECTURE.md)
    premultiplied: bool = False  # RGBA in and out with colour times alpha (the local kind)
    preset: str = ""
    architecture: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    trained_on: dict = field(default_factory=dict)
    metrics: dict = field(default_factory=dict)
    int8: dict = field(default_factory=dict)
    exported: str = ""
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        # NaN/inf are not JSON: a metric that could not be measured is written as null
        clean = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v
        d = self.to_dict()
        d["metrics"] = {k: clean(v) for k, v in d["metrics"].items()}
        return json.dumps(d, indent=2, allow_nan=False) + "\n"

    def write(self, model_dir: str | Path) -> None:
        (Path(model_dir) / "model.json").write_text(self.to_json())


# field -> the JSON types it may hold
_TYPES = {"kind": (str,), "decoder_width": (int,), "styles": (list,), "scale_step": (int,),
          "channels": (int,), "input_size": (int, type(None)),
          "pad": (int,),
          "premultiplied": (bool,),
          "code_size": (int,), "coordinates": (str,), "preset": (str,), "architecture": (dict,),
          "parameters": (dict,), "trained_on": (dict,), "metrics": (dict,), "int8": (dict,), "exported": (str,),
          "format_version": (int,)}
_REQUIRED = ("channels", "input_size", "code_size")
# Bounds far beyond any real model, so a hostile value (a pad of 1e9) is refused here instead of
# failing as a huge allocation later.
_LIMITS = {"pad": 256, "input_size": 4096, "code_size": 1 << 16, "decoder_width": 1 << 16}
MAX_DEPTH = 32  # nesting of arrays and objects in model.json (a 100,000-deep one is refused, not recursed)


def _too_deep(value, limit: int = MAX_DEPTH) -> bool:
    """Does a parsed JSON value nest deeper than `limit`? (iteratively: no recursion to run out of)"""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack += [(v, depth + 1) for v in item.values()]
        elif isinstance(item, list):
            stack += [(v, depth + 1) for v in item]
    return False


def read_card(model_dir: str | Path) -> ModelCard:
    """model.json of a model directory, checked field by field; a UserError says what is wrong."""
    path = Path(model_dir) / "model.json"
    redo = "export the model again with `manifold export`"
    if not path.is_file():
        what = "its model.json is not a regular file" if path.exists() else "no model.json"
        raise ModelError(f"{model_dir}: not a model directory ({what}); make one with `manifold export`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path}: not readable JSON ({exc.__class__.__name__}); {redo}") from None
    except RecursionError:
        raise ModelError(f"{path}: nested too deeply to be a model card; {redo}") from None
    if not isinstance(data, dict):
        raise ModelError(f"{path}: not a JSON object; {redo}")
    if _too_deep(data):
        raise ModelError(f"{path}: nested more than {MAX_DEPTH} levels deep, which no model card is; {redo}")
    version = data.get("format_version")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise ModelError(f"{path}: model format {version!r} is not one this manifold reads "
                         f"({', '.join(map(str, READABLE_VERSIONS))}); {redo}")
    if version == 1:  # before model kinds: the seed's global-code model
        data = {**data, "kind": "global", "pad": 0}
    if version <= 2:
        data = _from_format_2(data)
    missing = [k for k in ("kind",) + _REQUIRED + ("pad",) if k not in data]
    if missing:
        raise ModelError(f"{path}: missing {', '.join(missing)}; {redo}")
    known = {f.name for f in dataclasses.fields(ModelCard)}
    data = {k: v for k, v in data.items() if k in known}  # newer optional fields are ignored
    for name, value in data.items():
        types = _TYPES[name]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):  # bool is an int to Python
            raise ModelError(f"{path}: {name} is {value!r}, which is not a {' or '.join(t.__name__ for t in types)}; {redo}")
    if data["channels"] not in (1, 3, 4) or data["code_size"] < 1 or data["pad"] < 0 \
            or (data["input_size"] is not None and data["input_size"] < 1) or data.get("decoder_width", 0) < 0 \
            or data.get("scale_step", 0) not in (0, 2, 3, 4):
        raise ModelError(f"{path}: channels, code_size, input_size, pad, decoder_width or scale_step out of range; "
                         f"{redo}")
    for name, limit in _LIMITS.items():
        if isinstance(data.get(name), int) and data[name] > limit:
            raise ModelError(f"{path}: {name} {data[name]:.6g} is beyond any model (at most {limit}); {redo}")
    if data["input_size"] is not None and data["pad"]:
        raise ModelError(f"{path}: a model whose tiles are resampled to input_size takes no pad; {redo}")
    styles = data.get("styles", [])
    if len(styles) > 8 or not all(isinstance(s, str) and s.isidentifier() and len(s) <= 32 for s in styles):
        raise ModelError(f"{path}: styles must be a short list of names (decoder.NAME.onnx each); {redo}")
    return ModelCard(**data)


def _from_format_2(data: dict) -> dict:
    """Formats 1 and 2 named the kind `decoder` and did not say the decoder's width: the two kinds
    of then, "global" (its MLP's hidden width) and "local" (four cells of local_latent features)."""
    data = dict(data)
    kind = data.pop("decoder", data.get("kind", "global"))
    data["kind"] = kind
    arch = data.get("architecture") if isinstance(data.get("architecture"), dict) else {}
    width = arch.get("local_latent", 64) if kind == "local" else arch.get("decoder_n_hid", 256)
    data.setdefault("decoder_width", 4 * width if kind == "local" else width)
    return data
