"""The originals mode: crisp original tiles (no ground truth) upscaled by s with every method,
scored on what a pixel artist checks: consistency with the source, palette fidelity and alpha
hardness (metrics.OriginalsScore says how each is measured).

Data flow: tiles -> **originals: scalers -> metrics** -> report.

    result = score_originals(tiles, make_methods(["nearest", "mmpx", "manifold"]), scale=2)
    for row in result.rows: row.method, row.consistency, row.palette, row.alpha_hardness

Output size: each side times s (rounded for a fractional s). Fully transparent tiles and tiles
under 2 px are left out. A method that is not installed, cannot do the scale or fails is a note;
a model the user named that cannot run (a UserError) stops the run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from manifold_core.errors import UserError

from .evaluate import SAMPLES, rounded
from .metrics import OriginalsScore, has_hard_alpha
from .scalers import Method, clean


@dataclass
class OriginalsRow:
    method: str
    label: str
    consistency: float | None = None  # dB
    palette: float | None = None  # share, 0..1
    alpha_hardness: float | None = None  # share, 0..1; None: no source with hard alpha
    tiles_per_s: float | None = None
    seconds: float | None = None
    note: str | None = None

    def as_dict(self) -> dict:
        return {"method": self.method, "label": self.label, "consistency_psnr": rounded(self.consistency, 3),
                "palette_fidelity": rounded(self.palette, 4), "alpha_hardness": rounded(self.alpha_hardness, 4),
                "tiles_per_s": rounded(self.tiles_per_s, 1), "seconds": rounded(self.seconds, 3), "note": self.note}


@dataclass
class OriginalsResult:
    scale: float
    methods: list[Method]
    rows: list[OriginalsRow]
    tiles: int
    hard_alpha_tiles: int  # sources with transparency, alpha only 0 or 255 (alpha hardness is over these)
    left_out: int
    sample_sources: list[np.ndarray] = field(default_factory=list)
    sample_outputs: dict[str, list[np.ndarray] | None] = field(default_factory=dict)

    def row(self, method: str) -> OriginalsRow:
        return next(r for r in self.rows if r.method == method)

    def as_dict(self) -> dict:
        return {"scale": self.scale, "mode": "originals", "tiles": self.tiles,
                "hard_alpha_tiles": self.hard_alpha_tiles, "left_out": self.left_out,
                "methods": [m.name for m in self.methods], "results": [r.as_dict() for r in self.rows]}


def output_size(height: int, width: int, scale: float) -> tuple[int, int]:
    return max(1, round(height * scale)), max(1, round(width * scale))


def score_originals(tiles: Sequence[np.ndarray], methods: Sequence[Method], scale: float = 2,
                    samples: int = SAMPLES, log: Callable[[str], None] = lambda s: None) -> OriginalsResult:
    """Upscale every tile by `scale` with every method and score the results (module docstring)."""
    if not scale >= 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    kept = [clean(t) for t in tiles if min(np.asarray(t).shape[:2]) >= 2 and (np.asarray(t)[..., 3] > 0).any()]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, t in enumerate(kept):
        groups.setdefault(t.shape[:2], []).append(i)
    sample_ids = sorted(set(np.linspace(0, len(kept) - 1, min(samples, len(kept))).round().astype(int).tolist())) \
        if kept else []
    result = OriginalsResult(scale, list(methods), [], len(kept), sum(has_hard_alpha(t) for t in kept),
                             len(tiles) - len(kept), [kept[i] for i in sample_ids])
    for method in methods:
        row = OriginalsRow(method.name, method.title(scale))
        result.rows.append(row)
        result.sample_outputs[method.name] = None
        row.note = method.missing() or method.unsupported(scale)
        if row.note or not kept:
            continue
        log(f"originals, {scale:g}x: {method.title(scale)}")
        score, outputs, seconds = OriginalsScore(), {}, 0.0
        try:
            method.prepare(scale)
            for (h, w), ids in groups.items():
                batch = np.stack([kept[i] for i in ids])
                height, width = output_size(h, w, scale)
                start = time.perf_counter()
                out = method.upscale(batch, height, width)
                seconds += time.perf_counter() - start
                if out.shape != (len(ids), height, width, 4) or out.dtype != np.uint8:
                    raise RuntimeError(f"returned {out.shape} {out.dtype}, not {(len(ids), height, width, 4)} uint8")
                score.add(batch, clean(out))
                outputs.update((i, o) for i, o in zip(ids, out) if i in sample_ids)
        except UserError:
            raise
        except Exception as exc:  # noqa: BLE001 - one broken tool is a note in the table, not a crash
            row.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
            continue
        row.consistency, row.palette, row.alpha_hardness = score.consistency, score.palette, score.alpha_hardness
        row.seconds = seconds
        row.tiles_per_s = len(kept) / seconds if seconds > 0 else float("inf")
        result.sample_outputs[method.name] = [outputs[i] for i in sample_ids]
    return result
