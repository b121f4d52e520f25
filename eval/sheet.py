"""The contact sheets: a few tiles, per degradation one block of rows
    original | shrunk input | each method
(or, for the originals mode, original | each method's upscale), every cell pixel-magnified
(nearest, `zoom`x, 2 by default) on a grey checkerboard that shows transparency, with column
labels and each method's PSNR (consistency) over the whole set above its column.
The shrunk input is drawn at its own size, centred in its cell; for nearest, the inputs and
results shown are those of the first sampling phase (the dB are pooled over all of them).

Data flow: tiles -> degrade -> scalers -> metrics -> **contact sheet**.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from manifold_core.tiles import checkerboard

from .evaluate import EvalResult
from .metrics import PSNR_CAP
from .originals import OriginalsResult

CHECKER_CELL = 4  # screen pixels per checkerboard square
GAP = 6
BACKGROUND = (255, 255, 255, 255)
INK = (20, 20, 20, 255)
DIM = (110, 110, 110, 255)


def font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 without FreeType sizes
        return ImageFont.load_default()


def on_checker(tile: np.ndarray, zoom: int, cell: int = CHECKER_CELL) -> Image.Image:
    """An RGBA tile magnified `zoom` times by repeating pixels, over a grey checkerboard of
    `cell`-pixel squares (on screen), as RGB."""
    big = np.repeat(np.repeat(tile, zoom, axis=0), zoom, axis=1).astype(np.float64)
    a = big[..., 3:] / 255.0
    rgb = big[..., :3] * a + checkerboard(*big.shape[:2], cell) * 255.0 * (1 - a)
    return Image.fromarray(np.rint(rgb).astype(np.uint8), "RGB")


def text_width(draw: ImageDraw.ImageDraw, text: str, f) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=f)
    return right - left


@dataclass
class Block:
    """One block of a sheet: a title line, column labels with a caption under each, rows of cells
    (RGBA tiles, or None for n/a)."""

    title: str
    columns: list[tuple[str, str]]
    rows: list[list[np.ndarray | None]]


def draw_blocks(blocks: list[Block], zoom: int) -> Image.Image:
    """Blocks one under the other; every cell pixel-magnified `zoom`x on the checkerboard, centred."""
    head, small = font(13), font(11)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    cells = [c for b in blocks for row in b.rows for c in row if c is not None]
    cell_h = max(c.shape[0] for c in cells) * zoom
    tile_w = max(c.shape[1] for c in cells) * zoom
    count = max(len(b.columns) for b in blocks)
    widths = [max([tile_w] + [max(text_width(probe, b.columns[k][0], head), text_width(probe, b.columns[k][1], small))
                              + 4 for b in blocks if k < len(b.columns)]) for k in range(count)]
    title_h, label_h = 22, 34
    width = max(sum(widths) + GAP * (count + 1), max(text_width(probe, b.title, head) for b in blocks) + 2 * GAP)
    height = GAP + sum(title_h + label_h + len(b.rows) * (cell_h + GAP) + GAP for b in blocks)
    sheet = Image.new("RGBA", (width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    y = GAP
    for block in blocks:
        draw.text((GAP, y + 2), block.title, font=head, fill=INK)
        y += title_h
        x = GAP
        for (label, under), w in zip(block.columns, widths):
            draw.text((x + (w - text_width(draw, label, head)) // 2, y), label, font=head, fill=INK)
            draw.text((x + (w - text_width(draw, under, small)) // 2, y + 17), under, font=small, fill=DIM)
            x += w + GAP
        y += label_h
        for row in block.rows:
            x = GAP
            for cell, w in zip(row, widths):
                if cell is not None:
                    image = on_checker(cell, zoom)
                    sheet.paste(image, (x + (w - image.width) // 2, y + (cell_h - image.height) // 2))
                else:
                    draw.text((x + w // 2 - 8, y + cell_h // 2 - 6), "n/a", font=small, fill=DIM)
                x += w + GAP
            y += cell_h + GAP
        y += GAP
    return sheet.convert("RGB")


def db(value: float) -> str:
    return "exact" if value >= PSNR_CAP else f"{value:.2f} dB"


def contact_sheet(result: EvalResult, zoom: int = 2) -> Image.Image:
    """The sheet of `result`'s sample tiles: per degradation, original | shrunk | each method."""
    refs = result.sample_references
    if not refs:
        raise ValueError("no sample tiles to draw")
    blocks = []
    for degradation in result.degradations:
        def caption(name: str, degradation: str = degradation) -> str:
            row = result.row(degradation, name)
            return "n/a" if row.note else db(row.psnr)

        phases = len(result.phases.get(degradation, [None]))
        outputs = result.sample_outputs.get(degradation, {})
        blocks.append(Block(
            f"shrunk by {result.scale:g} with {degradation}, then {result.scale:g}x up (pixels shown {zoom}x; "
            f"dB: PSNR over all {result.tiles} tiles" + (f" and {phases} phases; the first phase shown)"
                                                          if phases > 1 else ")"),
            [("original", ""), ("input", "shrunk")] + [(m.title(result.scale), caption(m.name)) for m in result.methods],
            [[ref, result.sample_inputs[degradation][k]] + [(outputs.get(m.name) or [None] * len(refs))[k]
                                                             for m in result.methods] for k, ref in enumerate(refs)]))
    return draw_blocks(blocks, zoom)


def originals_sheet(result: OriginalsResult, zoom: int = 2) -> Image.Image:
    """The sheet of the originals mode: original | each method's upscale, with its consistency."""
    sources = result.sample_sources
    if not sources:
        raise ValueError("no sample tiles to draw")

    def caption(name: str) -> str:
        row = result.row(name)
        return "n/a" if row.note else db(row.consistency)

    return draw_blocks([Block(
        f"originals upscaled {result.scale:g}x (pixels shown {zoom}x; dB: consistency over all {result.tiles} tiles)",
        [("original", "")] + [(m.title(result.scale), caption(m.name)) for m in result.methods],
        [[src] + [(result.sample_outputs.get(m.name) or [None] * len(sources))[k] for m in result.methods]
         for k, src in enumerate(sources)])], zoom)
