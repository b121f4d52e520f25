"""Render tiles with an exported model: numpy + onnxruntime, no torch.

Data flow: ... -> export -> model directory -> **runtime** -> CLI / plugins. One API for every
caller (CLI, plugins through the CLI, tests, benchmark, eval):

    model = TileModel.load()              # the embedded default model, TileModel.load("seed"), or a folder
    for rgba in model.render(tiles, 64, 64):   # tiles: [N, h, w, 4] uint8, one tile size per call
        ...                               # [n, 64, 64, 4] uint8, chunk by chunk
    model.render(tiles, 64, 64, RenderOptions(edges="wrap", palette="keep", alpha="cut"))

A model folder is hostile input until checked: every file is a regular file before it is opened
(a FIFO would block), the graphs' inputs and outputs must be the ones model.json describes, any
error onnxruntime raises while running is a ModelError,
and a decoder that outputs inf or nan is a broken model, not a picture.

The model kind (model.json's `decoder`) changes only how a tile is fed to the encoder: the
global kind resamples every tile to its input size; the local kind takes the tile as it is,
padded by `pad` pixels whose edges are clamped or wrapped (`edges`). Both graphs are then
run the same way (the contract is in manifold_core/card.py).

Work is cut into chunks of about `pixel_budget` output pixels, so a 10,000-tile input never
holds more than one chunk of decoded tiles, and a chunk's activations stay near the cache.

`precision="int8"` (`manifold upscale --precision int8`) renders with decoder.int8.onnx, the
decoder with dynamically quantized MatMuls (see manifold_export/quantize.py): faster on the
CPU, not bit-exact. BENCHMARKS.md has the speed and the PSNR it costs.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import os
import stat
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .card import ModelCard, read_card
from .errors import ModelError, UsageError, UserError, shown
from .footprints import back_project, owners, repair_footprints
from .pixelart import ALPHAS, PALETTES, finish, hard_alpha, snaps
from .tiles import channels_to_rgba, is_empty, premultiply, resize_tile, rgba_to_channels, unpremultiply

# onnxruntime's telemetry writes a device id and a database under ~/.cache at import unless this
# is set first (it is read once, when onnxruntime loads); a user's own setting wins.
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

MODELS_DIR = Path(__file__).parent / "models"
DEFAULT_MODEL_DIR = MODELS_DIR / "default"
# Models shipped inside the package, selectable by name (`--model seed`); anything else is a folder.
EMBEDDED_MODELS = {"default": DEFAULT_MODEL_DIR, "seed": MODELS_DIR / "seed"}
DEFAULT_PIXEL_BUDGET = 4096  # output pixels per decoder run, tuned by `manifold bench` (BENCHMARKS.md)
ENCODE_BATCH = 32  # tiles per encoder run: its activations for 256 tiles alone took ~400 MB (BENCHMARKS.md)
PRECISIONS = ("fp32", "int8")
DEVICES = ("auto", "cpu", "cuda")
DECODER_FILES = {"fp32": "decoder.onnx", "int8": "decoder.int8.onnx"}
EDGES = ("clamp", "wrap", "auto")  # how the local kind sees beyond a tile's border
FOOTPRINTS = ("keep", "free")  # RenderOptions.footprints
NUMPY_PAD = {"clamp": "edge", "wrap": "wrap"}


def resolve_model(model: str | Path | None = None) -> Path:
    """None -> the default model; an embedded model's name -> its folder; else the folder given."""
    if model is None or str(model) == "":
        return DEFAULT_MODEL_DIR
    if str(model) in EMBEDDED_MODELS and not Path(model).exists():
        return EMBEDDED_MODELS[str(model)]
    return Path(model)


def load_model_info(model_dir: str | Path | None = None) -> dict:
    """model.json of a model (checked), as a dict; see manifold_core.card for the fields."""
    return load_card(model_dir).to_dict()


def load_card(model_dir: str | Path | None = None) -> ModelCard:
    model_dir = resolve_model(model_dir)
    if not model_dir.is_dir():
        names = ", ".join(EMBEDDED_MODELS)
        what = "is not a folder" if os.path.lexists(model_dir) else "no such model folder"
        raise ModelError(f"--model {shown(model_dir)}: {what} (or name: {names})")
    card = read_card(model_dir)
    for name in ("encoder.onnx", "decoder.onnx"):
        model_file(model_dir, name)
    return card


def model_file(model_dir: Path, name: str, hint: str = "export the model again", missing: str = "") -> Path:
    """model_dir/name when it is a regular file; a ModelError saying what is there instead (checked
    before anything opens it: a FIFO would block the reader forever)."""
    path = model_dir / name
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if os.path.islink(path):
            raise ModelError(f"{shown(model_dir)}: {name} is a broken symbolic link; {hint}") from None
        raise ModelError(f"{shown(model_dir)}: {missing or f'{name} is missing'}; {hint}") from None
    except OSError as exc:
        raise ModelError(f"{shown(model_dir)}: {name} cannot be read ({exc.strerror}); {hint}") from None
    if not stat.S_ISREG(mode):
        what = "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode) else "not a regular file"
        raise ModelError(f"{shown(model_dir)}: {name} is {what}, not a model file; {hint}")
    return path


def seamless(tile: np.ndarray) -> bool:
    """Does an RGBA tile [h, w, 4] tile seamlessly? Its wrap-around seams (last column against the
    first, last row against the first) differ no more than neighbouring columns and rows inside it."""
    t = tile.astype(np.float32)
    if min(t.shape[:2]) < 4:
        return False
    inside_x, seam_x = np.abs(np.diff(t, axis=1)).mean(), np.abs(t[:, 0] - t[:, -1]).mean()
    inside_y, seam_y = np.abs(np.diff(t, axis=0)).mean(), np.abs(t[0] - t[-1]).mean()
    return bool(seam_x <= 1.5 * inside_x + 1 and seam_y <= 1.5 * inside_y + 1)


def edge_mode(tile: np.ndarray, edges: str) -> str:
    """clamp or wrap for one tile: as asked, or for "auto" wrap exactly when the tile is seamless."""
    if edges != "auto":
        return edges
    return "wrap" if seamless(tile) else "clamp"


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


def ort_cuda_version() -> str:
    """The CUDA major version this onnxruntime-gpu was built for ("13.x"), from its build info."""
    try:
        from onnxruntime.capi import build_and_package_info as info
    except ImportError:
        return "12.x or 13.x"
    version = getattr(info, "cuda_version", "") or ""
    return f"{version.split('.')[0]}.x" if version else "12.x or 13.x"


def session_options():
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 4  # fatal only: every error is ours to word, as one `error:` line
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return options


def make_sessions(model_dir: Path, device: str, precision: str = "fp32"):
    """(encoder, decoder, provider): CUDA when asked or available and really working, else CPU.

    int8 is a CPU path (onnxruntime's quantized MatMul kernels): with it, auto means the CPU.
    """
    import onnxruntime as ort

    if precision not in PRECISIONS:
        raise UsageError(f"--precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    hint = "export the model again" if precision == "fp32" else (
        f"export the model again (`manifold export` writes it) or add it with "
        f"`manifold export --add-int8 {shown(model_dir)}`")
    decoder = model_file(model_dir, DECODER_FILES[precision], hint,
                         missing=f"no {DECODER_FILES[precision]} for --precision {precision}")
    if precision == "int8" and device == "cuda":
        raise UsageError("--precision int8 runs on the CPU; use --device cpu (or auto), or fp32 on the GPU")
    if precision == "int8":
        device = "cpu"
    ort.set_default_logger_severity(4)
    paths = [str(model_file(model_dir, "encoder.onnx")), str(decoder)]
    why = "onnxruntime has no CUDA provider (install onnxruntime-gpu)"
    if device in ("auto", "cuda") and "CUDAExecutionProvider" in ort.get_available_providers():
        why = "no NVIDIA driver found (libcuda)"
        if cuda_driver_present():
            try:
                if hasattr(ort, "preload_dlls"):  # it prints its warnings: keep stdout for --json
                    with contextlib.redirect_stdout(sys.stderr if device == "cuda" else io.StringIO()):
                        ort.preload_dlls()
                sessions = [ort.InferenceSession(p, session_options(), providers=["CUDAExecutionProvider"])
                            for p in paths]
                if all(s.get_providers()[0] == "CUDAExecutionProvider" for s in sessions):
                    return (*sessions, "CUDAExecutionProvider")
                why = "onnxruntime fell back from CUDA (its CUDA or cuDNN libraries did not load)"
            except Exception as exc:  # noqa: BLE001 - any CUDA failure means: use the CPU
                why = f"{exc.__class__.__name__}: {str(exc).splitlines()[0][:200] if str(exc) else 'no message'}"
    if device == "cuda":
        raise UserError(f"--device cuda: onnxruntime cannot use CUDA here ({why}); it needs onnxruntime-gpu, an "
                        f"NVIDIA driver and the CUDA {ort_cuda_version()} and cuDNN 9 libraries (pip install "
                        f"'onnxruntime-gpu[cuda,cudnn]' brings them); or use --device auto or cpu")
    sessions = []
    for path in paths:
        try:
            sessions.append(ort.InferenceSession(path, session_options(), providers=["CPUExecutionProvider"]))
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a damaged graph
            raise ModelError(f"{path}: onnxruntime cannot load it ({exc.__class__.__name__}); the model folder is "
                             f"damaged: export the model again") from None
    return (*sessions, "CPUExecutionProvider")


@dataclass(frozen=True)
class RenderOptions:
    """How render() sees and finishes tiles (`manifold upscale --edges/--palette/--alpha`), one
    value per call. `edges` (models that pad their input): "clamp" repeats the border pixels
    outward, "wrap" continues from the opposite side (a seamless tile stays seamless), "auto"
    wraps the tiles that are seamless. `palette` and `alpha`: pixel-art finishing (pixelart.py).
    `footprints`: "keep" (each source pixel's footprint keeps its colour on average: footprints.py)
    or "free" (the decoder's pixels as they are)."""

    edges: str = "clamp"
    palette: str = "off"
    alpha: str = "smooth"
    footprints: str = "keep"

    def __post_init__(self):
        if self.footprints not in FOOTPRINTS:
            raise UsageError(f"--footprints must be one of {', '.join(FOOTPRINTS)}, got {self.footprints!r}")
        if self.edges not in EDGES:
            raise UsageError(f"--edges must be one of {', '.join(EDGES)}, got {self.edges!r}")
        if self.palette not in PALETTES or self.alpha not in ALPHAS:
            raise UsageError(f"--palette is one of {', '.join(PALETTES)} and --alpha one of {', '.join(ALPHAS)}")


class _Session:
    """An onnxruntime session whose run-time failures are one ModelError."""

    def __init__(self, session, name: str):
        self.session, self.name = session, name

    def __getattr__(self, attr):
        return getattr(self.session, attr)

    def run(self, outputs, feeds):
        # The memory a render needs was checked against what is free before it started (the CLI's
        # estimate), so a graph that still fails to allocate asks for more than its card says:
        # a broken model, like any other run-time failure.
        try:
            result = self.session.run(outputs, feeds)
        except MemoryError:
            raise ModelError(f"{self.name}: ran out of memory, far beyond what its model.json describes; the "
                             f"model folder is broken: export the model again") from None
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a graph that breaks
            raise ModelError(f"{self.name}: onnxruntime cannot run it ({exc.__class__.__name__}: "
                             f"{first_line(str(exc))}); the model folder is broken: export the model again") from None
        if len(result) < 1 or not isinstance(result[0], np.ndarray):
            raise ModelError(f"{self.name}: gave no array; the model folder is broken: export the model again")
        return result


def first_line(text: str, limit: int = 160) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line[:limit]


@dataclass
class TileModel:
    card: ModelCard
    encoder: object
    decoder: object
    provider: str
    pixel_budget: int = DEFAULT_PIXEL_BUDGET
    precision: str = "fp32"
    exact: object = None  # decoder.pixel.onnx's session (models whose card lists the "pixel" style), always fp32

    @classmethod
    def load(cls, model_dir: str | Path | None = None, device: str = "auto", precision: str = "fp32") -> "TileModel":
        model_dir = resolve_model(model_dir)
        card = load_card(model_dir)
        encoder, decoder, provider = make_sessions(model_dir, device, precision)
        model = cls(card, _Session(encoder, f"{shown(model_dir)}: encoder.onnx"),
                    _Session(decoder, f"{shown(model_dir)}: {DECODER_FILES[precision]}"), provider, precision=precision)
        model.check_graphs(model_dir)
        if "pixel" in card.styles:  # fp32 with --precision int8 too: each pixel one source pixel's exact colour
            model.exact = model.load_style(model_dir, "pixel")
        return model

    def load_style(self, model_dir: Path, style: str):
        """decoder.STYLE.onnx on the main decoder's provider, checked against it: the same inputs and output."""
        import onnxruntime as ort

        name = f"decoder.{style}.onnx"
        path = model_file(model_dir, name, "export the model again", missing=f"model.json names the style {style!r} "
                          f"but {name} is missing")
        try:
            session = ort.InferenceSession(str(path), session_options(), providers=[self.provider])
        except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types for a damaged graph
            raise ModelError(f"{path}: onnxruntime cannot load it ({exc.__class__.__name__}); the model folder is "
                             f"damaged: export the model again") from None
        signature = lambda s: ([(i.name, len(i.shape)) for i in s.get_inputs()], [len(o.shape) for o in s.get_outputs()])
        if signature(session) != signature(self.decoder):
            raise ModelError(f"{path}: its inputs and output are not decoder.onnx's; export the model again")
        return _Session(session, f"{shown(model_dir)}: {name}")


    def check_graphs(self, model_dir: Path) -> None:
        """The graphs are the ones model.json describes (a swapped or foreign .onnx is refused): one
        4-D image in, a latent of at least 2 dimensions whose width is the card's code_size out of
        the encoder and into the decoder, scalar sizes, and a 4-D image of any height and width out."""
        enc_in, dec_in = self.encoder.get_inputs(), self.decoder.get_inputs()
        enc_out, dec_out = self.encoder.get_outputs(), self.decoder.get_outputs()
        if len(enc_in) == 1 and enc_out and len(dec_in) >= 3 and dec_out:
            shape, expect_size = enc_in[0].shape, self.card.input_size
            latent_out, latent_in, image = enc_out[0].shape, dec_in[0].shape, dec_out[0].shape
            fixed = lambda d: isinstance(d, int)
            ok = (enc_in[0].name == "image" and len(shape) == 4 and shape[1] == self.card.channels
                  and (expect_size is None or tuple(shape[2:]) == (expect_size, expect_size))
                  and [i.name for i in dec_in][1:] in (["height", "width"], ["height", "width", "top", "rows"])
                  and all(i.shape == [] for i in dec_in[1:])
                  and len(image) == 4 and (image[1] == self.card.channels or not fixed(image[1]))
                  and not fixed(image[2]) and not fixed(image[3])
                  and len(latent_out) == len(latent_in) >= 2
                  and latent_out[1] == latent_in[1] and latent_out[1] in (self.card.code_size, None)
                  or False)
        else:
            ok = False
        if not ok:
            raise ModelError(f"{model_dir}: encoder.onnx/decoder.onnx do not match model.json ({self.card.kind} "
                            f"model, {self.card.channels} channels); export the model again")
        self.latent_name = dec_in[0].name
        self.bands = len(dec_in) == 5  # renders bands of rows (format 2); format 1 renders whole images

    @property
    def info(self) -> dict:
        return self.card.to_dict()

    @property
    def channels(self) -> int:
        return self.card.channels

    def encoder_input(self, tiles: np.ndarray, edges: str = "clamp") -> np.ndarray:
        """RGBA tiles [N, h, w, 4] -> the encoder's input [N, C, H, W] uint8: resampled to the input
        size (global kind) or padded by `pad` pixels, clamped or wrapped (local kind)."""
        if self.card.input_size:
            tiles = np.stack([resize_tile(t, self.card.input_size) for t in tiles])
        x = rgba_to_channels(tiles, self.channels)
        if self.card.pad:
            p = self.card.pad
            x = np.stack([np.pad(t, ((0, 0), (p, p), (p, p)), mode=NUMPY_PAD[edge_mode(tile, edges)])
                          for t, tile in zip(x, tiles)])
        return x

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Encoder input [N, C, H, W] uint8 -> latents [N, ...] float32, ENCODE_BATCH tiles per run."""
        def image(part):
            part = part.astype(np.float32) / 255
            return premultiply(part) if self.card.premultiplied else part

        latents = [self.encoder.run(None, {"image": image(x[i:i + ENCODE_BATCH])})[0]
                   for i in range(0, len(x), ENCODE_BATCH)]
        if any(latent.ndim < 2 or len(latent) != len(x[i * ENCODE_BATCH:(i + 1) * ENCODE_BATCH])
               for i, latent in enumerate(latents)):
            raise ModelError(f"{self.encoder.name}: its latent does not have one row per tile; the model folder "
                             f"is broken: export the model again")
        return np.concatenate(latents)

    def decode(self, latents: np.ndarray, height: int, width: int, decoder=None) -> np.ndarray:
        """[N, ...] -> [N, C, height, width] float32 in [0, 1], about `pixel_budget` output pixels per
        decoder run: several tiles per run when they are small, bands of rows of one tile when it is
        large (so --res 4096 needs memory for the image, not for the decoder on every pixel at once).
        `decoder`: another session of the same contract (a style's) instead of decoder.onnx."""
        decoder = decoder or self.decoder
        h, w = np.array(height, np.int64), np.array(width, np.int64)
        out = np.empty((len(latents), self.channels, height, width), np.float32)

        def run(latent, top, rows):
            image = decoder.run(None, {
                self.latent_name: latent, "height": h, "width": w,
                **({"top": np.array(top, np.int64), "rows": np.array(rows, np.int64)} if self.bands else {})})[0]
            if image.shape != (len(latent), self.channels, rows, width):
                raise ModelError(f"{decoder.name}: gave an image of shape {image.shape}, not "
                                 f"{(len(latent), self.channels, rows, width)}; the model folder is broken: "
                                 f"export the model again")
            if not np.isfinite(image).all():
                raise ModelError(f"{decoder.name}: gave inf or nan pixels; the model folder is broken: "
                                 f"export the model again")
            return image

        if self.bands and height * width > self.pixel_budget:
            rows = max(1, self.pixel_budget // width)
            for i in range(len(latents)):
                for top in range(0, height, rows):
                    out[i, :, top:top + rows] = run(latents[i:i + 1], top, min(rows, height - top))
            return out
        per_run = max(1, self.pixel_budget // (height * width))
        for i in range(0, len(latents), per_run):
            out[i:i + per_run] = run(latents[i:i + per_run], 0, height)
        return out

    def render(self, tiles: np.ndarray, height: int, width: int, options: RenderOptions = RenderOptions(),
               chunk: int = 256, shared_palette: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """RGBA tiles [N, h, w, 4] uint8 (one size per call) -> chunks of [n, height, width, 4] uint8, in order.

        Fully transparent tiles stay fully transparent (and cost nothing). A model without an
        alpha channel gets the tile's own alpha, scaled with nearest neighbour. `edges` (local
        kind), `palette` and `alpha`: `options` (RenderOptions); a sheet passes its own colours
        as `shared_palette`.
        """
        edges, palette, alpha = options.edges, options.palette, options.alpha
        for start in range(0, len(tiles), chunk):
            part = tiles[start:start + chunk]
            out = np.zeros((len(part), height, width, 4), np.uint8)
            keep = ~is_empty(part)
            if keep.any():
                sources = part[keep]
                snapped = np.array([snaps(t, palette, shared_palette) for t in sources], bool)
                exact = snapped if self.exact is not None else None  # the pixel style's exact colours there
                crisp = snapped & np.array([hard_alpha(t) for t in sources], bool)
                current = sources
                for size in self.passes(sources.shape[1], sources.shape[2], height, width):
                    rendered = self.render_pass(current, *size, edges, exact)
                    current = keep_footprints(rendered, current, snapped, crisp) if options.footprints == "keep" \
                        else rendered
                out[keep] = finish(current, sources, palette, alpha, shared_palette)
            yield out

    def passes(self, in_height: int, in_width: int, height: int, width: int) -> list[tuple[int, int]]:
        """The sizes rendered one after the other: the output size, reached in steps of at most the
        card's scale_step (none: one pass). 16 -> 64 with step 2 is 16 -> 32 -> 64; 16 -> 40 is 16 -> 32 -> 40."""
        sizes, h, w, step = [], in_height, in_width, self.card.scale_step
        while step and (height > step * h or width > step * w):
            h, w = min(height, step * h), min(width, step * w)
            sizes.append((h, w))
        return sizes + [(height, width)]

    def render_pass(self, tiles: np.ndarray, height: int, width: int, edges: str, exact: np.ndarray | None
                    ) -> np.ndarray:
        """One rendering of non-empty RGBA tiles [n, h, w, 4] at height x width, unfinished uint8 RGBA."""
        latents = self.encode(self.encoder_input(tiles, edges))
        if exact is not None and exact.any():  # each tile through one of the two decoders
            images = np.empty((len(tiles), self.channels, height, width), np.float32)
            images[exact] = self.decode(latents[exact], height, width, self.exact)
            if not exact.all():
                images[~exact] = self.decode(latents[~exact], height, width)
        else:
            images = self.decode(latents, height, width)
        if self.card.premultiplied:
            unpremultiply(images)
        alpha_channel = None
        if self.channels < 4:
            alpha_channel = np.stack([nearest(t[..., 3], height, width) for t in tiles])
        return channels_to_rgba(images, alpha_channel)


def keep_footprints(rendered: np.ndarray, sources: np.ndarray, snapped: np.ndarray, crisp: np.ndarray) -> np.ndarray:
    """One pass's renderings [n, H, W, 4] uint8 whose footprints keep their sources' colours
    (footprints.py): back-projected where new colours are allowed (`snapped` False), repaired with
    the source's own colours where the palette is kept and the alpha is hard (`crisp`); each pass
    against its own input, so 4x in two passes moves no more than 2x does, twice."""
    out = rendered.copy()
    if (~snapped).any():
        out[~snapped] = back_project(rendered[~snapped], sources[~snapped])
    if crisp.any():
        out[crisp] = repair_footprints(rendered[crisp], sources[crisp])
    return out


def nearest(channel: np.ndarray, height: int, width: int) -> np.ndarray:
    """Nearest-neighbour resize of one [h, w] channel, sampling at pixel centres."""
    h, w = channel.shape
    return channel[owners(h, height)[:, None], owners(w, width)[None, :]]


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
