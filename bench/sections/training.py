"""Training throughput: inputs/s of the trainer's own step (`make_step`, levers.py) for each speed
lever set, against plain fp32 eager PyTorch on every pixel of every tile (seed-b8-h128, RGBA
32x32, batch 64)."""

from __future__ import annotations

from functools import partial

import numpy as np

from ..harness import interleave, rate, speedup
from ..registry import Section, register, target

STEPS_PER_CALL = 4  # steps per timed call for the levers that decode a few pixels (about the same time per call)


def run_steps(step, k: int) -> float:
    """k training steps; the last loss as a number (so the step's work cannot be skipped)."""
    return [step() for _ in range(k)][-1][0].item()


def training(train_tiles: np.ndarray, rounds: int, quick: bool, model=None, batch_size: int = 64) -> list[dict]:
    """inputs/s of the trainer's step per lever set, against plain fp32; --quick leaves torch.compile out."""
    import torch

    from ..levers import LEVERS, make_stepper

    tiles = torch.from_numpy(np.ascontiguousarray(train_tiles))
    levers = {k: v for k, v in LEVERS.items() if not (quick and v.get("compile"))}
    steppers, steps_per_call = {}, {}
    for name, extra in levers.items():
        step, cfg, _ = make_stepper(extra, tiles, model, batch_size)
        steps_per_call[name] = STEPS_PER_CALL if cfg.pixels_per_tile else 1
        steppers[name] = partial(run_steps, step, steps_per_call[name])
    times = interleave(steppers, rounds, warmup=2)
    base = next(iter(levers))
    per_step = {name: [t / steps_per_call[name] for t in ts] for name, ts in times.items()}
    return [{"levers": name, **LEVERS[name], "inputs_per_s": round(rate(per_step[name], batch_size), 1),
             "vs_plain": round(speedup(per_step[name], per_step[base]), 2)} for name in levers]


@register
class Training(Section):
    name = "training"
    summary = "the trainer's step per speed lever against plain fp32 (torch.compile compiles first, not with --quick)"

    def run(self, ctx, results) -> list[dict]:
        return training(ctx.rgba_tiles.train, 2 if ctx.quick else 3, ctx.quick)

    def tables(self, data) -> list:
        from rich.table import Table

        t = Table(title="training step, seed-b8-h128 RGBA 32x32, batch 64")
        for col in ("levers", "inputs/s", "vs plain"):
            t.add_column(col, justify="right" if col != "levers" else "left")
        for r in data:
            t.add_row(r["levers"], f"{r['inputs_per_s']:.0f}", f"{r['vs_plain']:.2f}x")
        return [t]

    def targets(self, data) -> list[dict]:
        fast = next((r for r in data if r["levers"].startswith("fast:")), None)
        if fast is None:
            return []
        return [target("training inputs/s vs plain fp32 eager", ">= 8x", fast["vs_plain"], fast["vs_plain"] >= 8,
                       f"{fast['vs_plain']:.1f}x")]

    def plot(self, ax, data) -> None:
        """inputs/s against plain fp32 per lever set, one horizontal bar each (plain in grey)."""
        y = np.arange(len(data))[::-1]
        ax.barh(y, [r["vs_plain"] for r in data], color=["#888"] + ["#4c72b0"] * (len(data) - 1))
        for yi, r in zip(y, data):
            ax.annotate(f" {r['vs_plain']:.1f}x  ({r['inputs_per_s']:.0f}/s)", (r["vs_plain"], yi), va="center",
                        fontsize=8)
        ax.set_yticks(y, [r["levers"].replace(" + ", "\n+ ", 1) if len(r["levers"]) > 30 else r["levers"]
                          for r in data], fontsize=8)
        ax.set_xlabel("inputs/s against plain fp32 eager")
        ax.set_xlim(0, max(r["vs_plain"] for r in data) * 1.35)
        ax.set_title("training step")
        ax.grid(True, axis="x", alpha=0.3)
