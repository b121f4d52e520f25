"""Render tiles with an exported model: numpy + onnxruntime, no torch.

One API for every caller (CLI, plugins through the CLI, tests, benchmark):

    model = TileModel.load()              # the embedded default model, or TileModel.load(dir)
    for rgba in model.render(tiles, 64, 64):   # tiles: [N, h, w, 4] uint8, any tile size
        ...                               # [n, 64, 64, 4] uint8, chunk by chunk

Work is cut into chunks of about `pixel_budget` output pixels, so a 10,000-tile input never
holds more than one chunk of decoded tiles, and a chunk's activations stay near the cache.

`precision="int8"` (`manifold upscale --precision int8`) renders with decoder.int8.onnx, the
decoder with dynamically quantized MatMuls (see manifold_export/quantize.py): faster on the
CPU, not bit-exact. BENCHMARKS.md has the speed and the PSNR it costs.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from manifold_core.errors import UserError
from manifold_core.tiles import channels_to_rgba, is_empty, resize_tile, rgba_to_channels

# onnxruntime's telemetry writes a device id and a database under ~/.cache at import unless this
# is set first (it is read once, when onnxruntime loads); a user's own setting wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

DEFAULT_MODEL_DIR = Path(__file__).parent / "default_model"
# Models shipped inside the package, selectable by name (`--model seed`); anything else is a folder.
EMBEDDED_MODELS = {"default": DEFAULT_MODEL_DIR}
FORMAT_VERSION = 1
DEFAULT_PIXEL_BUDGET = 4096  # output pixels per decoder run, tuned by `manifold bench` (BENCHMARKS.md)
ENCODE_BATCH = 32  # tiles per encoder run: its activations for 256 tiles alone took ~400 MB (BENCHMARKS.md)
PRECISIONS = ("fp32", "int8")
DECODER_FILES = {"fp32": "decoder.onnx", "int8": "decoder.int8.onnx"}


def resolve_model(model: str | Path | None = None) -> Path:
    """None -> the default model; an embedded model's name -> its folder; else the folder given."""
    if model is None or str(model) == "":
        return DEFAULT_MODEL_DIR
    if str(model) in EMBEDDED_MODELS and not Path(model).exists():
        return EMBEDDED_MODELS[str(model)]
    return Path(model)


def load_model_info(model_dir: str | Path | None = None) -> dict:
    model_dir = resolve_model(model_dir)
    card = model_dir / "model.json"
    if not card.exists():
        raise UserError(f"{model_dir}: not a model directory (no model.json); make one with `manifold export`")
    info = json.loads(card.read_text())
    if info.get("format_version") != FORMAT_VERSION:
        raise UserError(f"{model_dir}: model format {info.get('format_version')} is not {FORMAT_VERSION}; "
                        f"export it again with this version of manifold")
    for name in ("encoder.onnx", "decoder.onnx"):
        if not (model_dir / name).exists():
            raise UserError(f"{model_dir}: {name} is missing; export the model again")
    return info


def cuda_driver_present() -> bool:
    """A cheap, quiet check before asking onnxruntime for CUDA (which logs errors when it fails).

    Asks the dynamic loader for the driver library directly: ctypes.util.find_library would run
    ldconfig and gcc on Linux for every start."""
    names = {"win32": ("nvcuda.dll",), "linux": ("libcuda.so.1",)}.get(sys.platform, ())
    for name in names:
        try:
            ctypes.CDLL(name)
            return True
        except OSError:
            continue
    return False


def session_options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def make_sessions(model_dir: Path, device: str, precision: str = "fp32"):
    """(encoder, decoder, provider): CUDA when asked or available and really working, else CPU.

    int8 is a CPU path (onnxruntime's quantized MatMul kernels): with it, auto means the CPU.
    """
    import onnxruntime as ort

    if precision not in PRECISIONS:
        raise UserError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    decoder = model_dir / DECODER_FILES[precision]
    if not decoder.exists():
        raise UserError(f"{model_dir}: no {decoder.name} for --precision {precision}; export the model again "
                        f"(`manifold export` writes it) or add it with `python -m manifold_export.quantize {model_dir}`")
    if precision == "int8" and device == "cuda":
        raise UserError("--precision int8 runs on the CPU; use --device cpu (or auto), or fp32 on the GPU")
    if precision == "int8":
        device = "cpu"
    ort.set_default_logger_severity(3)
    paths = [str(model_dir / "encoder.onnx"), str(decoder)]
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in ort.get_available_providers() \
            and cuda_driver_present():
        try:
            if hasattr(ort, "preload_dlls"):
                ort.preload_dlls()
            sessions = [ort.InferenceSession(p, session_options(), providers=["CUDAExecutionProvider"])
                        for p in paths]
            if all(s.get_providers()[0] == "CUDAExecutionProvider" for s in sessions):
                return (*sessions, "CUDAExecutionProvider")
        except Exception:  # noqa: BLE001 - any CUDA failure means: use the CPU
            pass
    if device == "cuda":
        raise UserError("--device cuda: onnxruntime cannot use CUDA here (needs onnxruntime-gpu, an NVIDIA "
                        "driver and CUDA 12 libraries); use --device auto or cpu")
    sessions = [ort.InferenceSession(p, session_options(), providers=["CPUExecutionProvider"]) for p in paths]
    return (*sessions, "CPUExecutionProvider")


@dataclass
class TileModel:
    info: dict
    encoder: object
    decoder: object
    provider: str
    pixel_budget: int = DEFAULT_PIXEL_BUDGET
    precision: str = "fp32"

    @classmethod
    def load(cls, model_dir: str | Path | None = None, device: str = "auto", precision: str = "fp32") -> "TileModel":
        model_dir = resolve_model(model_dir)
        info = load_model_info(model_dir)
        return cls(info, *make_sessions(model_dir, device, precision), precision=precision)

    @property
    def channels(self) -> int:
        return self.info["channels"]

    @property
    def size(self) -> int:
        return self.info["input_size"]

    def encode(self, tiles: np.ndarray) -> np.ndarray:
        """[N, C, S, S] uint8 in the model's channels -> codes [N, D] float32, ENCODE_BATCH tiles per run."""
        if not len(tiles):
            return np.zeros((0, self.info["code_size"]), np.float32)
        return np.concatenate([self.encoder.run(None, {"image": tiles[i:i + ENCODE_BATCH].astype(np.float32) / 255})[0]
                               for i in range(0, len(tiles), ENCODE_BATCH)])

    def decode(self, codes: np.ndarray, height: int, width: int) -> np.ndarray:
        """[N, D] -> [N, C, height, width] float32 in [0, 1], one decoder run per chunk of tiles."""
        per_run = max(1, self.pixel_budget // (height * width))
        h, w = np.array(height, np.int64), np.array(width, np.int64)
        return np.concatenate([self.decoder.run(None, {"code": codes[i:i + per_run], "height": h, "width": w})[0]
                               for i in range(0, len(codes), per_run)]) if len(codes) else \
            np.zeros((0, self.channels, height, width), np.float32)

    def render(self, tiles: np.ndarray, height: int, width: int, chunk: int = 256) -> Iterator[np.ndarray]:
        """RGBA tiles [N, h, w, 4] uint8 (any h, w) -> chunks of [n, height, width, 4] uint8, in order.

        Fully transparent tiles stay fully transparent (and cost nothing). A model without an
        alpha channel gets the tile's own alpha, scaled with nearest neighbour.
        """
        for start in range(0, len(tiles), chunk):
            part = tiles[start:start + chunk]
            out = np.zeros((len(part), height, width, 4), np.uint8)
            keep = ~is_empty(part)
            if keep.any():
                sized = np.stack([resize_tile(t, self.size) for t in part[keep]])
                images = self.decode(self.encode(rgba_to_channels(sized, self.channels)), height, width)
                alpha = None
                if self.channels < 4:
                    alpha = np.stack([nearest(t[..., 3], height, width) for t in part[keep]])
                out[keep] = channels_to_rgba(images, alpha)
            yield out


def nearest(channel: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of one [h, w] channel, sampling at pixel centres."""
    h, w = channel.shape
    rows = ((np.arange(height) + 0.5) * h / height).astype(int)
    cols = ((np.arange(width) + 0.5) * w / width).astype(int)
    return channel[rows[:, None], cols[None, :]]


def parse_resolution(text: str) -> tuple[int, int]:
    """'64' -> (64, 64); '64x48' (W x H) -> (height 48, width 64)."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or min(parts) < 1 or max(parts) > 4096:
        raise UserError(f"--res {text!r}: give a size like 64 or WxH like 64x48 (1 to 4096 pixels)")
    width, height = parts
    return height, width
