"""Blind comparison sheets: rows of original | A | B, where A and B are two methods' upscales of
the same crisp original in a random left/right order per row, for judges who must not know
which method is which; the key (which method is A in each row) goes to a separate file.

Data flow: tiles -> scalers -> **blind sheets + key** -> judges -> judging.py (win rates).

    sheets, key = blind_sheets(names, tiles, make_methods(["xbrz", "manifold:default+pixel"]), scales=(2, 4))
    # sheets: [("blind-2x-1.png", image), ...]; key: a dict for key.json

The judges' brief (a pixel artist's question, the answer format) is docs-side; each row is
labelled like `2x-row9` (numbered per scale across its sheets), which is what an answer line
names: `2x-row9: A (2) cleaner outline`. ROWS rows a sheet; every picture in a row is shown at
the same size, about CELL pixels: the original and both results are magnified by repeating
pixels (never filtered) over a grey checkerboard where transparent. The order is drawn from
`seed`, so the same tiles, methods and seed give the same sheets and key.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from manifold_core.errors import UsageError, UserError

from .scalers import Method, clean
from .sheet import INK, font, on_checker, text_width

ROWS = 8  # rows a sheet
CELL = 192  # about this many screen pixels a picture
GAP = 12
CHECKER = 8  # screen pixels per checkerboard square
KEY_FORMAT = 1


def zoom_for(side: int, cell: int = CELL) -> int:
    """The whole magnification that brings a `side`-pixel picture closest to `cell` pixels."""
    return max(1, round(cell / max(1, side)))


def upscale_all(method: Method, tiles: list[np.ndarray], scale: int) -> list[np.ndarray]:
    """Every tile upscaled by `scale` with `method` (batched by size), in order."""
    groups: dict[tuple[int, int], list[int]] = {}
    for i, t in enumerate(tiles):
        groups.setdefault(t.shape[:2], []).append(i)
    out: list[np.ndarray | None] = [None] * len(tiles)
    try:
        method.prepare(scale)
        for (h, w), ids in groups.items():
            result = method.upscale(np.stack([tiles[i] for i in ids]), h * scale, w * scale)
            if result.shape != (len(ids), h * scale, w * scale, 4):
                raise RuntimeError(f"returned {result.shape}, not {(len(ids), h * scale, w * scale, 4)}")
            for i, o in zip(ids, result):
                out[i] = clean(o)
    except UserError:
        raise  # a model that cannot run: its own status
    except Exception as exc:  # noqa: BLE001 - a broken tool: one error line, not a traceback
        raise UserError(f"{method.name} failed at {scale}x: {type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:160] if str(exc) else ''}") from None
    return out


def draw_sheet(title: str, rows: list[tuple[str, np.ndarray, np.ndarray, np.ndarray]], scale: int) -> Image.Image:
    """One sheet: a title, then per row its label and original | A | B at one size (magnified)."""
    head, label_font = font(18), font(16)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    pictures = []
    for label, original, a, b in rows:
        z = zoom_for(max(a.shape[:2]))
        pictures.append((label, on_checker(original, scale * z, CHECKER), on_checker(a, z, CHECKER),
                         on_checker(b, z, CHECKER)))
    cell_w = max(max(p[1].width, p[2].width, p[3].width) for p in pictures)
    cell_h = max(max(p[1].height, p[2].height, p[3].height) for p in pictures)
    label_w = max(text_width(probe, p[0], label_font) for p in pictures) + GAP
    top = 34 + 24
    width = GAP + label_w + 3 * (cell_w + GAP)
    height = top + len(pictures) * (cell_h + GAP) + GAP
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    draw.text((GAP, 8), title, font=head, fill=INK)
    for k, caption in enumerate(("original", "A", "B")):
        x = GAP + label_w + k * (cell_w + GAP)
        draw.text((x + (cell_w - text_width(draw, caption, head)) // 2, 34), caption, font=head, fill=INK)
    y = top
    for label, *cells in pictures:
        draw.text((GAP, y + cell_h // 2 - 8), label, font=label_font, fill=INK)
        for k, picture in enumerate(cells):
            x = GAP + label_w + k * (cell_w + GAP)
            sheet.paste(picture, (x + (cell_w - picture.width) // 2, y + (cell_h - picture.height) // 2))
        y += cell_h + GAP
    return sheet


def blind_sheets(names: Sequence[str], tiles: Sequence[np.ndarray], methods: Sequence[Method],
                 scales: Sequence[int] = (2, 4), seed: int = 0, rows_per_sheet: int = ROWS
                 ) -> tuple[list[tuple[str, Image.Image]], dict]:
    """The sheets (file name, picture) and the key of a blind comparison of two methods."""
    if len(methods) != 2 or methods[0].name == methods[1].name:
        raise UsageError("a blind comparison needs two different methods, like xbrz,manifold:default+pixel")
    for scale in scales:
        if not float(scale).is_integer() or scale < 2:
            raise UsageError(f"blind sheets are drawn at whole scales of 2 or more, not {scale:g}")
        for m in methods:
            reason = m.missing() or m.unsupported(scale)
            if reason:
                raise UsageError(f"{m.name} cannot be compared at {scale:g}x: {reason}")
    kept = [(n, clean(t)) for n, t in zip(names, tiles) if (np.asarray(t)[..., 3] > 0).any()]
    if not kept:
        raise UsageError("no tile to compare (every one is fully transparent)")
    rng = np.random.default_rng(seed)
    sheets: list[tuple[str, Image.Image]] = []
    key = {"format": KEY_FORMAT, "seed": seed, "methods": [m.name for m in methods],
           "scales": [int(s) for s in scales], "rows": {}}
    originals = [t for _, t in kept]
    for scale in (int(s) for s in scales):
        results = [upscale_all(m, originals, scale) for m in methods]
        rows = []
        for i, (name, original) in enumerate(kept):
            a_first = bool(rng.integers(2))
            a, b = (0, 1) if a_first else (1, 0)
            label = f"{scale}x-row{i + 1}"
            sheet_name = f"blind-{scale}x-{i // rows_per_sheet + 1}.png"
            key["rows"][label] = {"sheet": sheet_name, "tile": name, "A": methods[a].name, "B": methods[b].name}
            rows.append((label, original, results[a][i], results[b][i]))
        for start in range(0, len(rows), rows_per_sheet):
            number = start // rows_per_sheet + 1
            title = (f"{scale}x, sheet {number}: which of A or B would you rather ship as this art at "
                     f"{scale}x? (pixels shown enlarged)")
            sheets.append((f"blind-{scale}x-{number}.png", draw_sheet(title, rows[start:start + rows_per_sheet], scale)))
    return sheets, key
