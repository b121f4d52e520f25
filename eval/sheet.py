"""The contact sheet: a few tiles, per degradation one block of rows
    original | shrunk input | each method
every cell pixel-magnified (nearest, `zoom`x, 2 by default) on a grey checkerboard that shows
transparency, with column labels and each method's PSNR over the whole set above its column.
The shrunk input is drawn at its own size, centred in its cell.

Data flow: tiles -> degrade -> scalers -> metrics -> **contact sheet**.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .evaluate import EvalResult
from .metrics import PSNR_CAP

GAP = 6
BACKGROUND = (255, 255, 255, 255)
INK = (20, 20, 20, 255)
DIM = (110, 110, 110, 255)


def font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 without FreeType sizes
        return ImageFont.load_default()


def checker(height: int, width: int, cell: int = 4) -> np.ndarray:
    yy, xx = np.mgrid[:height, :width]
    light = ((yy // cell + xx // cell) % 2 == 0)[..., None]
    return np.where(light, np.array([236, 236, 236], np.float64), np.array([206, 206, 206], np.float64))


def on_checker(tile: np.ndarray, zoom: int) -> Image.Image:
    big = np.repeat(np.repeat(tile, zoom, axis=0), zoom, axis=1).astype(np.float64)
    a = big[..., 3:] / 255.0
    rgb = big[..., :3] * a + checker(*big.shape[:2]) * (1 - a)
    return Image.fromarray(np.rint(rgb).astype(np.uint8), "RGB")


def text_width(draw: ImageDraw.ImageDraw, text: str, f) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=f)
    return right - left


def contact_sheet(result: EvalResult, path: str | Path, zoom: int = 2) -> Path:
    """Draw the sheet of `result`'s sample tiles into `path` (PNG); returns the path."""
    path = Path(path)
    refs = result.sample_references
    if not refs:
        raise ValueError("no sample tiles to draw")
    head, small = font(13), font(11)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    cell_h = max(r.shape[0] for r in refs) * zoom
    tile_w = max(r.shape[1] for r in refs) * zoom
    columns = [("original", "", None), ("input", "shrunk", None)] + [
        (m.title(result.scale), "", m.name) for m in result.methods]

    def caption(degradation: str, name: str | None) -> str:
        if name is None:
            return ""
        row = result.row(degradation, name)
        if row.note:
            return "n/a"
        return "exact" if row.psnr >= PSNR_CAP else f"{row.psnr:.2f} dB"

    widths = [max(tile_w, text_width(probe, label, head) + 4,
                  max(text_width(probe, caption(d, name) or sub, small) for d in result.degradations) + 4)
              for label, sub, name in columns]
    title_h, label_h = 22, 34
    block_h = title_h + label_h + len(refs) * (cell_h + GAP)
    width = sum(widths) + GAP * (len(columns) + 1)
    height = GAP + len(result.degradations) * (block_h + GAP)
    sheet = Image.new("RGBA", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = GAP
    for degradation in result.degradations:
        draw.text((GAP, y + 2), f"shrunk by {result.scale:g} with {degradation}, then {result.scale:g}x up "
                  f"(pixels shown {zoom}x; dB: PSNR over all {result.tiles} tiles)", font=head, fill=INK)
        y += title_h
        x = GAP
        for (label, sub, name), w in zip(columns, widths):
            draw.text((x + (w - text_width(draw, label, head)) // 2, y), label, font=head, fill=INK)
            under = caption(degradation, name) or sub
            draw.text((x + (w - text_width(draw, under, small)) // 2, y + 17), under, font=small, fill=DIM)
            x += w + GAP
        y += label_h
        outputs = result.sample_outputs.get(degradation, {})
        for k, ref in enumerate(refs):
            cells = [ref, result.sample_inputs[degradation][k]] + [
                (outputs.get(m.name) or [None] * len(refs))[k] for m in result.methods]
            x = GAP
            for cell, w in zip(cells, widths):
                if cell is not None:
                    image = on_checker(cell, zoom)
                    sheet.paste(image, (x + (w - image.width) // 2, y + (cell_h - image.height) // 2))
                else:
                    draw.text((x + w // 2 - 8, y + cell_h // 2 - 6), "n/a", font=small, fill=DIM)
                x += w + GAP
            y += cell_h + GAP
        y += GAP
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.convert("RGB").save(path)
    return path
