"""The Rich table of an evaluation: per degradation, per method, PSNR, SSIM, alpha PSNR, tiles/s;
the best of each column within a degradation in bold; a method that did not run says why.

Data flow: tiles -> degrade -> scalers -> metrics -> **report** (the table).
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .evaluate import EvalResult
from .metrics import PSNR_CAP

COLUMNS = (("psnr", "PSNR", "{:.2f}"), ("ssim", "SSIM", "{:.4f}"), ("alpha_psnr", "alpha PSNR", "{:.2f}"),
           ("tiles_per_s", "tiles/s", "{:,.0f}"))


def fmt(value, pattern: str, key: str) -> str:
    if value is None or value != value:
        return "-"
    if key in ("psnr", "alpha_psnr") and value >= PSNR_CAP:
        return "exact"
    return pattern.format(value)


def table(result: EvalResult, title: str | None = None) -> Table:
    t = Table(title=title or f"{result.tiles} tiles ({result.alpha_tiles} with transparency) shrunk by "
              f"{result.scale:g} and upscaled {result.scale:g}x; PSNR in dB", title_justify="left")
    t.add_column("shrunk by")
    t.add_column("method")
    for _key, head, _ in COLUMNS:
        t.add_column(head, justify="right")
    notes = any(r.note for r in result.rows)
    if notes:
        t.add_column("note", overflow="fold")
    for degradation in result.degradations:
        rows = [r for r in result.rows if r.degradation == degradation]
        best = {key: max((getattr(r, key) for r in rows if getattr(r, key) is not None
                          and getattr(r, key) == getattr(r, key)), default=None) for key, _, _ in COLUMNS}
        for i, r in enumerate(rows):
            cells = [degradation if i == 0 else "", r.label]
            if r.note:
                cells += ["n/a"] + [""] * (len(COLUMNS) - 1) + [f"[dim]{escape(r.note)}[/]"]
            else:
                for key, _, pattern in COLUMNS:
                    value = getattr(r, key)
                    text = fmt(value, pattern, key)
                    cells.append(f"[bold]{text}[/]" if value is not None and value == best[key]
                                 and sum(1 for o in rows if getattr(o, key) is not None) > 1 else text)
                cells += [""] if notes else []
            t.add_row(*cells, end_section=i == len(rows) - 1)
    return t
