"""Shrink every tile, bring it back with every method, score it against the original.

Data flow: tiles -> eval: degrade -> **scalers -> metrics** -> report, sheet.

    result = evaluate(tiles, make_methods(), scale=2, degradations=("box", "nearest"))
    for row in result.rows: row.degradation, row.method, row.psnr, row.ssim, row.alpha_psnr, row.tiles_per_s

Tiles are [H, W, 4] uint8 RGBA of any sizes (grouped by size for the methods that batch).
Fully transparent tiles, and tiles too small to shrink to at least 2x2 pixels, are left out
(`result.left_out` counts them). tiles/s is the wall time of the method's upscale calls only:
loading a model or a library (`prepare`) is not counted.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .degrade import DEGRADATIONS, degrade, low_size, reference
from .metrics import Score
from .scalers import Method, clean

SAMPLES = 6  # tiles kept for the contact sheet


@dataclass
class Row:
    degradation: str
    method: str  # the method's name (JSON key, --methods)
    label: str  # its column title at this scale, e.g. Scale2x
    psnr: float | None = None
    ssim: float | None = None
    alpha_psnr: float | None = None  # None: no tile has transparency, or the method did not run
    tiles_per_s: float | None = None
    seconds: float | None = None
    note: str | None = None  # why there are no scores: not installed, integer scales only, failed

    def as_dict(self) -> dict:
        rnd = lambda v, n: None if v is None or v != v else round(v, n)
        return {"degradation": self.degradation, "method": self.method, "label": self.label,
                "psnr": rnd(self.psnr, 3), "ssim": rnd(self.ssim, 4), "alpha_psnr": rnd(self.alpha_psnr, 3),
                "tiles_per_s": rnd(self.tiles_per_s, 1), "seconds": rnd(self.seconds, 3), "note": self.note}


@dataclass
class EvalResult:
    scale: float
    degradations: list[str]
    methods: list[Method]
    rows: list[Row]
    tiles: int  # tiles scored
    alpha_tiles: int  # of those, tiles with any transparency
    left_out: int  # fully transparent or too small for the scale
    # For the contact sheet: a few originals (as compared), and per degradation the shrunk
    # inputs and each method's results (None where it did not run).
    sample_references: list[np.ndarray] = field(default_factory=list)
    sample_inputs: dict[str, list[np.ndarray]] = field(default_factory=dict)
    sample_outputs: dict[str, dict[str, list[np.ndarray] | None]] = field(default_factory=dict)

    def row(self, degradation: str, method: str) -> Row:
        return next(r for r in self.rows if r.degradation == degradation and r.method == method)

    def as_dict(self) -> dict:
        return {"scale": self.scale, "degradations": self.degradations, "tiles": self.tiles,
                "alpha_tiles": self.alpha_tiles, "left_out": self.left_out,
                "methods": [m.name for m in self.methods], "results": [r.as_dict() for r in self.rows]}


def usable(tile: np.ndarray, scale: float) -> bool:
    h, w = low_size(*tile.shape[:2], scale)
    return min(h, w) >= 2 and (tile[..., 3] > 0).any()


def evaluate(tiles: Sequence[np.ndarray], methods: Sequence[Method], scale: float = 2,
             degradations: Sequence[str] = DEGRADATIONS, samples: int = SAMPLES,
             log: Callable[[str], None] = lambda s: None) -> EvalResult:
    """Score every method on every degradation of `tiles` at `scale` (see the module docstring)."""
    if not scale >= 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    for d in degradations:
        if d not in DEGRADATIONS:
            raise ValueError(f"degradation must be one of {', '.join(DEGRADATIONS)}, got {d!r}")
    kept = [clean(t) for t in tiles if usable(np.asarray(t), scale)]
    refs = [reference(t, scale) for t in kept]
    groups: dict[tuple[int, int], list[int]] = {}
    for i, r in enumerate(refs):
        groups.setdefault(r.shape[:2], []).append(i)
    sample_ids = sorted(set(np.linspace(0, len(refs) - 1, min(samples, len(refs))).round().astype(int).tolist())) \
        if refs else []
    result = EvalResult(scale, list(degradations), list(methods), [], len(refs),
                        sum(bool((r[..., 3] < 255).any()) for r in refs), len(tiles) - len(kept),
                        [refs[i] for i in sample_ids])
    if not refs:
        return result
    for degradation in degradations:
        lows = [degrade(t, scale, degradation) for t in kept]
        result.sample_inputs[degradation] = [lows[i] for i in sample_ids]
        result.sample_outputs[degradation] = {}
        for method in methods:
            row = Row(degradation, method.name, method.title(scale))
            result.rows.append(row)
            result.sample_outputs[degradation][method.name] = None
            row.note = method.missing() or (None if method.supports(scale) else
                                            f"does {min(method.scales)}x to {max(method.scales)}x only")
            if row.note:
                continue
            log(f"{degradation}: {method.title(scale)}")
            try:
                method.prepare(scale)
                score, outputs, seconds = Score(), {}, 0.0
                for (h, w), ids in groups.items():
                    batch = np.stack([lows[i] for i in ids])
                    start = time.perf_counter()
                    out = method.upscale(batch, h, w)
                    seconds += time.perf_counter() - start
                    if out.shape != (len(ids), h, w, 4) or out.dtype != np.uint8:
                        raise RuntimeError(f"returned {out.shape} {out.dtype}, not {(len(ids), h, w, 4)} uint8")
                    score.add(np.stack([refs[i] for i in ids]), out)
                    outputs.update((i, o) for i, o in zip(ids, out) if i in sample_ids)
            except Exception as exc:  # noqa: BLE001 - one broken tool is a note in the table, not a crash
                row.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                continue
            row.psnr, row.ssim, row.alpha_psnr = score.psnr, score.ssim, score.alpha_psnr
            row.seconds = seconds
            row.tiles_per_s = len(refs) / seconds if seconds > 0 else float("inf")
            result.sample_outputs[degradation][method.name] = [outputs[i] for i in sample_ids]
    return result
