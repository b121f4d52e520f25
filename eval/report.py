"""The Rich tables of an evaluation: per degradation, per method, PSNR (pooled over nearest's
sampling phases, with the spread of the per-phase PSNRs), SSIM, alpha PSNR, tiles/s; and of the
originals mode: consistency, palette fidelity, alpha hardness, tiles/s. The best of each
column (within a degradation) in bold; a method that did not run says why.

Data flow: tiles -> degrade -> scalers -> metrics -> **report** (the tables).
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .evaluate import EvalResult
from .metrics import PALETTE_TOLERANCE, PSNR_CAP
from .originals import OriginalsResult

COLUMNS = (("psnr", "PSNR", "{:.2f}"), ("spread", "phase spread", ""), ("ssim", "SSIM", "{:.4f}"),
           ("alpha_psnr", "alpha PSNR", "{:.2f}"), ("tiles_per_s", "tiles/s", "{:,.0f}"))
ORIGINAL_COLUMNS = (("consistency", "consistency PSNR", "{:.2f}"), ("palette", "palette", "{:.1%}"),
                    ("alpha_hardness", "alpha hardness", "{:.1%}"), ("tiles_per_s", "tiles/s", "{:,.0f}"))
PSNR_KEYS = ("psnr", "alpha_psnr", "consistency")


def fmt(value, pattern: str, key: str) -> str:
    if value is None or value != value:
        return "-"
    if key in PSNR_KEYS and value >= PSNR_CAP:
        return "exact"
    return pattern.format(value)


def spread(row) -> str:
    """min..max of the per-phase PSNRs, where there were several phases."""
    if row.phases < 2 or row.psnr_min is None:
        return "-"
    return f"{fmt(row.psnr_min, '{:.2f}', 'psnr')}..{fmt(row.psnr_max, '{:.2f}', 'psnr')}"


def add_rows(t: Table, rows: list, columns: tuple, notes: bool, first_cell: str | None) -> None:
    """One block of rows (one degradation, or the originals), the best of each column in bold."""
    scored = [key for key, _, pattern in columns if pattern]
    best = {key: max((getattr(r, key) for r in rows if getattr(r, key) is not None
                      and getattr(r, key) == getattr(r, key)), default=None) for key in scored}
    for i, r in enumerate(rows):
        cells = ([first_cell if i == 0 else ""] if first_cell is not None else []) + [escape(r.label)]
        if r.note:
            cells += ["n/a"] + [""] * (len(columns) - 1) + [f"[dim]{escape(r.note)}[/]"]
        else:
            for key, _, pattern in columns:
                if not pattern:
                    cells.append(spread(r))
                    continue
                value = getattr(r, key)
                text = fmt(value, pattern, key)
                many = sum(1 for o in rows if getattr(o, key) is not None) > 1
                cells.append(f"[bold]{text}[/]" if value is not None and value == best[key] and many else text)
            cells += [""] if notes else []
        t.add_row(*cells, end_section=i == len(rows) - 1)


def table(result: EvalResult, title: str | None = None) -> Table:
    phases = ", ".join(f"{d} at {len(p)} sampling phase{'s' if len(p) > 1 else ''}"
                       for d, p in result.phases.items() if d == "nearest")
    t = Table(title=title or f"{result.tiles} tiles ({result.alpha_tiles} with transparency) shrunk by "
              f"{result.scale:g} and upscaled {result.scale:g}x; PSNR in dB" + (f"; {phases}, pooled" if phases else ""),
              title_justify="left")
    t.add_column("shrunk by")
    t.add_column("method")
    for _key, head, _ in COLUMNS:
        t.add_column(head, justify="right")
    notes = any(r.note for r in result.rows)
    if notes:
        t.add_column("note", overflow="fold")
    for degradation in result.degradations:
        add_rows(t, [r for r in result.rows if r.degradation == degradation], COLUMNS, notes, degradation)
    return t


def originals_table(result: OriginalsResult, title: str | None = None) -> Table:
    t = Table(title=title or f"{result.tiles} original tiles upscaled {result.scale:g}x, no ground truth: "
              f"consistency = PSNR (dB) of the result box-shrunk back vs the source; palette = share of pixels "
              f"within {PALETTE_TOLERANCE} levels of a source colour; alpha hardness = share of alpha 0 or 255, "
              f"over the {result.hard_alpha_tiles} sources with hard-edged transparency", title_justify="left")
    t.add_column("method")
    for _key, head, _ in ORIGINAL_COLUMNS:
        t.add_column(head, justify="right")
    notes = any(r.note for r in result.rows)
    if notes:
        t.add_column("note", overflow="fold")
    add_rows(t, result.rows, ORIGINAL_COLUMNS, notes, None)
    return t
