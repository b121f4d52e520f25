"""Timing side by side: candidates take turns, round by round, and the figures are medians.

The machine this runs on is shared and noisy, so a ratio of two candidates timed in the same
rounds is the figure to trust; a rate (units per second) is context.
"""

from __future__ import annotations

import statistics
import time
from typing import Callable


def interleave(candidates: dict[str, Callable[[], object]], rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """Seconds per call of each candidate; they take turns, round by round, in alternating order."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in candidates}
    names = list(candidates)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            t = time.perf_counter()
            candidates[name]()
            times[name].append(time.perf_counter() - t)
    return times


def rate(times: list[float], units: float) -> float:
    """Units per second: the median over rounds."""
    return units / statistics.median(times)


def speedup(times: list[float], reference: list[float]) -> float:
    """How many times faster than the reference: the median of the per-round ratios."""
    return statistics.median(r / t for r, t in zip(reference, times))


def ratio_text(value: float | None) -> str:
    """A ratio as a table cell: `1.75x`, or `-` where it was not measured."""
    return "-" if value is None else f"{value:.2f}x"


def rate_text(value: float | None) -> str:
    """A rate as a table cell: `158.3`, or `-` where it was not measured."""
    return "-" if value is None else f"{value:.1f}"
