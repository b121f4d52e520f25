"""Shrink every tile, bring it back with every method, score it against the original.

Data flow: tiles -> eval: degrade -> **scalers -> metrics** -> report, sheet.

    result = evaluate(tiles, make_methods(), scale=2, degradations=("box", "nearest"))
    for row in result.rows: row.degradation, row.method, row.psnr, row.psnr_min, row.psnr_max, row.tiles_per_s

Nearest shrinking is done at every sampling phase (degrade.phases: all s x s offsets of an
integer scale, a seeded spread for a fractional one) and each method brings back every phase:
a row's PSNR, SSIM and alpha PSNR are pooled over all phases, `psnr_min`/`psnr_max` give the
spread of the per-phase PSNRs. At 2x both phases of an axis sit half a pixel off the centre, so a
method that does not lean on one has a narrow spread; at 3x and 4x the off-centre phases shift
the picture by up to a pixel and every method's spread is wide. Box has one phase.

Tiles are [H, W, 4] uint8 RGBA of any sizes (grouped by size for the methods that batch).
Fully transparent tiles, and tiles too small to shrink to at least 2x2 pixels, are left out
(`result.left_out` counts them). tiles/s is the wall time of the method's upscale calls only
(every phase's tiles counted): loading a model or a library (`prepare`) is not counted.
A method that is not installed, cannot do the scale or fails is a note in its row; a model the
user named that cannot load or breaks (a UserError such as ModelError) stops the evaluation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from manifold_core.errors import UserError

from .degrade import DEGRADATIONS, FRACTIONAL_PHASES, PHASE_SEED, Phase, degrade, low_size, phases, reference
from .metrics import Score
from .scalers import Method, clean

SAMPLES = 6  # tiles kept for the contact sheet


def rounded(value, digits: int):
    return None if value is None or value != value else round(value, digits)


@dataclass
class Row:
    degradation: str
    method: str  # the method's name (JSON key, --methods)
    label: str  # its column title at this scale, e.g. Scale2x
    psnr: float | None = None  # pooled over every tile and phase
    ssim: float | None = None
    alpha_psnr: float | None = None  # None: no tile has transparency, or the method did not run
    psnr_min: float | None = None  # the lowest and highest PSNR of one phase (nearest; box: the same)
    psnr_max: float | None = None
    phases: int = 1
    tiles_per_s: float | None = None
    seconds: float | None = None
    note: str | None = None  # why there are no scores: not installed, cannot do this scale, failed

    def as_dict(self) -> dict:
        return {"degradation": self.degradation, "method": self.method, "label": self.label,
                "psnr": rounded(self.psnr, 3), "ssim": rounded(self.ssim, 4), "alpha_psnr": rounded(self.alpha_psnr, 3),
                "psnr_min": rounded(self.psnr_min, 3), "psnr_max": rounded(self.psnr_max, 3), "phases": self.phases,
                "tiles_per_s": rounded(self.tiles_per_s, 1), "seconds": rounded(self.seconds, 3), "note": self.note}


@dataclass
class EvalResult:
    scale: float
    degradations: list[str]
    methods: list[Method]
    rows: list[Row]
    tiles: int  # tiles scored
    alpha_tiles: int  # of those, tiles with any transparency
    left_out: int  # fully transparent or too small for the scale
    phases: dict[str, list[Phase]] = field(default_factory=dict)  # per degradation, the sampling phases
    # For the contact sheet: a few originals (as compared), and per degradation the shrunk
    # inputs and each method's results (None where it did not run), at the first phase.
    sample_references: list[np.ndarray] = field(default_factory=list)
    sample_inputs: dict[str, list[np.ndarray]] = field(default_factory=dict)
    sample_outputs: dict[str, dict[str, list[np.ndarray] | None]] = field(default_factory=dict)

    def row(self, degradation: str, method: str) -> Row:
        return next(r for r in self.rows if r.degradation == degradation and r.method == method)

    def as_dict(self) -> dict:
        return {"scale": self.scale, "degradations": self.degradations, "tiles": self.tiles,
                "alpha_tiles": self.alpha_tiles, "left_out": self.left_out,
                "phases": {d: len(p) for d, p in self.phases.items()},
                "methods": [m.name for m in self.methods], "results": [r.as_dict() for r in self.rows]}


def usable(tile: np.ndarray, scale: float) -> bool:
    h, w = low_size(*tile.shape[:2], scale)
    return min(h, w) >= 2 and (tile[..., 3] > 0).any()


def degradation_phases(degradation: str, scale: float, count: int, seed: int) -> list[Phase]:
    """The phases a degradation is done at: nearest's every phase, box's one (no phase: the centre)."""
    return phases(scale, count, seed) if degradation == "nearest" else [(0.5, 0.5)]


def evaluate(tiles: Sequence[np.ndarray], methods: Sequence[Method], scale: float = 2,
             degradations: Sequence[str] = DEGRADATIONS, samples: int = SAMPLES,
             log: Callable[[str], None] = lambda s: None, phase_count: int = FRACTIONAL_PHASES,
             phase_seed: int = PHASE_SEED) -> EvalResult:
    """Score every method on every degradation of `tiles` at `scale` (see the module docstring);
    `phase_count` and `phase_seed` choose the phases of a fractional scale."""
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
                        {d: degradation_phases(d, scale, phase_count, phase_seed) for d in degradations},
                        [refs[i] for i in sample_ids])
    if not refs:
        return result
    for degradation in degradations:
        phase_list = result.phases[degradation]
        lows = [[degrade(t, scale, degradation, phase) for t in kept] for phase in phase_list]
        result.sample_inputs[degradation] = [lows[0][i] for i in sample_ids]
        result.sample_outputs[degradation] = {}
        for method in methods:
            row = Row(degradation, method.name, method.title(scale), phases=len(phase_list))
            result.rows.append(row)
            result.sample_outputs[degradation][method.name] = None
            row.note = method.missing() or method.unsupported(scale)
            if row.note:
                continue
            log(f"{scale:g}x, {degradation}" + (f" ({len(phase_list)} phases)" if len(phase_list) > 1 else "")
                + f": {method.title(scale)}")
            try:
                scores, outputs, seconds = run_method(method, scale, lows, refs, groups, sample_ids)
            except UserError:
                raise  # a model the user named that cannot run: the command's error, not a note
            except Exception as exc:  # noqa: BLE001 - one broken tool is a note in the table, not a crash
                row.note = f"failed: {type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
                continue
            pooled = Score.pooled(scores)
            row.psnr, row.ssim, row.alpha_psnr = pooled.psnr, pooled.ssim, pooled.alpha_psnr
            row.psnr_min, row.psnr_max = min(s.psnr for s in scores), max(s.psnr for s in scores)
            row.seconds = seconds
            done = len(refs) * len(phase_list)
            row.tiles_per_s = done / seconds if seconds > 0 else float("inf")
            result.sample_outputs[degradation][method.name] = [outputs[i] for i in sample_ids]
    return result


def run_method(method: Method, scale: float, lows: list[list[np.ndarray]], refs: list[np.ndarray],
               groups: dict[tuple[int, int], list[int]], sample_ids: list[int]
               ) -> tuple[list[Score], dict[int, np.ndarray], float]:
    """Bring back every phase's shrunk tiles with `method`: (a Score per phase, the first phase's
    outputs of the sample tiles, seconds spent in upscale)."""
    method.prepare(scale)
    scores, outputs, seconds = [], {}, 0.0
    for k, phase_lows in enumerate(lows):
        score = Score()
        for (h, w), ids in groups.items():
            batch = np.stack([phase_lows[i] for i in ids])
            start = time.perf_counter()
            out = method.upscale(batch, h, w)
            seconds += time.perf_counter() - start
            if out.shape != (len(ids), h, w, 4) or out.dtype != np.uint8:
                raise RuntimeError(f"returned {out.shape} {out.dtype}, not {(len(ids), h, w, 4)} uint8")
            score.add(np.stack([refs[i] for i in ids]), out)
            if k == 0:
                outputs.update((i, o) for i, o in zip(ids, out) if i in sample_ids)
        scores.append(score)
    return scores, outputs, seconds
