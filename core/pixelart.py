"""Pixel-art finishing of rendered tiles: `manifold upscale --palette keep --alpha cut`.

Data flow: ... -> runtime renders -> **pixel-art finishing** -> written files. numpy only.

A model renders smooth colours: new in-between shades, soft transparent edges. Pixel art
usually wants neither: `--palette keep` snaps every output colour to the nearest colour of
the source tile (or of the whole sheet, so tiles that share a palette keep sharing it), and
`--alpha cut` makes every pixel fully opaque or fully transparent (at half alpha); `--alpha auto`
does so for the tiles whose own alpha is only 0 and 255 (hard-edged sprites and opaque tiles).

`--palette auto` keeps the palette of those tiles only. `--style` names the usual pairs (STYLES):
pixel is keep + cut, smooth is neither, and auto (manifold upscale's default) is auto + auto, so
crisp pixel art comes back crisp and art with soft edges comes back as rendered, without a flag.
"""

from __future__ import annotations

import numpy as np

MAX_PALETTE = 256  # more colours than this is not a palette: the tile is left as rendered
PALETTES = ("off", "keep", "auto")
ALPHAS = ("smooth", "cut", "auto")
STYLES = {"auto": ("auto", "auto"), "pixel": ("keep", "cut"), "smooth": ("off", "smooth")}  # -> (palette, alpha)


def hard_alpha(tile: np.ndarray) -> bool:
    """Whether an RGBA tile's alpha is only 0 and 255: a hard-edged sprite or an opaque tile, as pixel
    art is drawn (a shrunk copy or painted art with soft edges is not)."""
    return bool(np.isin(tile[..., 3], (0, 255)).all())
_ROWS = 65536  # output pixels compared against the palette at a time (memory: rows x colours)


def palette_of(rgba: np.ndarray) -> np.ndarray | None:
    """The distinct colours of an RGBA image or stack [..., 4] uint8 (fully transparent pixels count
    as one colour, transparent black), or None when there are more than MAX_PALETTE."""
    pixels = rgba.reshape(-1, 4)
    pixels = np.where(pixels[:, 3:4] == 0, 0, pixels)
    colours = np.unique(pixels.view(np.uint32).ravel()).view(np.uint8).reshape(-1, 4)
    return colours if len(colours) <= MAX_PALETTE else None


def snaps(source: np.ndarray, palette: str, shared_palette: np.ndarray | None = None) -> bool:
    """Whether finish() snaps this source tile's rendering to a palette (the rule is finish's own)."""
    if palette == "off" or (palette == "auto" and not hard_alpha(source)):
        return False
    return shared_palette is not None or palette_of(source) is not None


def snap_to_palette(rgba: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Every pixel of [..., 4] uint8 replaced by the nearest palette colour [K, 4] uint8.

    Nearest in RGBA with the colour weighted by alpha (premultiplied), so a faint edge pixel
    goes to transparent rather than to whatever colour it happens to carry."""
    shape = rgba.shape
    flat = rgba.reshape(-1, 4).astype(np.float32)
    pal = palette.astype(np.float32)
    premul = lambda c: np.concatenate([c[:, :3] * c[:, 3:4] / 255, c[:, 3:4]], axis=1)
    p = premul(pal)
    p_sq = (p * p).sum(1)
    out = np.empty_like(flat, dtype=np.uint8)
    for start in range(0, len(flat), _ROWS):
        q = premul(flat[start:start + _ROWS])
        distance = p_sq[None, :] - 2 * q @ p.T  # |q - p|^2 without the constant |q|^2
        out[start:start + _ROWS] = palette[distance.argmin(1)]
    return out.reshape(shape)


def cut_alpha(rgba: np.ndarray, threshold: int = 128) -> np.ndarray:
    """Alpha to 0 or 255 at `threshold`; the colour under a transparent pixel becomes black."""
    out = rgba.copy()
    opaque = out[..., 3] >= threshold
    out[..., 3] = np.where(opaque, 255, 0)
    out[~opaque] = 0
    return out


def finish(rendered: np.ndarray, sources: np.ndarray, palette: str = "off", alpha: str = "smooth",
           shared_palette: np.ndarray | None = None) -> np.ndarray:
    """Apply the options to rendered tiles [N, H, W, 4] whose sources are [N, h, w, 4].

    palette "keep": each tile snaps to its own source's colours, or to `shared_palette` (a
    sheet's) when given; a source with more than MAX_PALETTE colours is left as rendered.
    alpha "cut": every tile's alpha to 0 or 255. "auto" (either): only for the sources whose alpha is hard."""
    if palette not in PALETTES or alpha not in ALPHAS:
        raise ValueError(f"palette must be one of {PALETTES} and alpha one of {ALPHAS}")
    hard = [hard_alpha(source) for source in sources] if "auto" in (palette, alpha) else [False] * len(sources)
    cut = [alpha == "cut" or (alpha == "auto" and h) for h in hard]
    out = rendered.copy()
    for i, source in enumerate(sources):
        if cut[i]:  # before the palette: an opaque pixel snaps among the opaque colours
            out[i] = cut_alpha(out[i])
        if snaps(source, palette, shared_palette):
            out[i] = snap_to_palette(out[i], shared_palette if shared_palette is not None else palette_of(source))
            if cut[i]:  # and after: a palette's own soft alphas must not undo the cut
                out[i] = cut_alpha(out[i])
    return out
