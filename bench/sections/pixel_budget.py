"""The decoder's pixel budget (output pixels per decoder run): render speed for several budgets
against the runtime's default, at --res 32 and 64 (full run only)."""

from __future__ import annotations

from functools import partial

from manifold_core.runtime import DEFAULT_PIXEL_BUDGET, TileModel

from ..context import to_rgba
from ..harness import interleave, rate, speedup
from ..registry import Section, register

BUDGETS = (1024, 2048, 4096, 8192, 16384, 65536)
RESOLUTIONS = (32, 64)
TILES_PER_CALL = {32: 64, 64: 16}
ROUNDS = 3


def render_with_budget(model: TileModel, budget: int, tiles, res: int) -> list:
    model.pixel_budget = budget
    return list(model.render(tiles, res, res))


@register
class PixelBudget(Section):
    name = "pixel_budget"
    summary = "render speed for several decoder chunk sizes"
    in_quick = False

    def run(self, ctx, results) -> list[dict]:
        model = TileModel.load(ctx.model_dir, device="cpu")
        rgba, rows = to_rgba(ctx.tiles.val), []
        for res in RESOLUTIONS:
            batch = rgba[:TILES_PER_CALL[res]]
            times = interleave({b: partial(render_with_budget, model, b, batch, res) for b in BUDGETS}, ROUNDS)
            for b in BUDGETS:
                rows.append({"res": res, "pixel_budget": b, "default": b == DEFAULT_PIXEL_BUDGET,
                             "tiles_per_s": round(rate(times[b], len(batch)), 2),
                             "vs_default": round(speedup(times[b], times[DEFAULT_PIXEL_BUDGET]), 3)})
        return rows

    def tables(self, data) -> list:
        from rich.table import Table

        t = Table(title="decoder pixel budget (output pixels per run) vs the default")
        for col in ("res", "budget", "tiles/s", "vs default"):
            t.add_column(col, justify="right")
        for r in data:
            t.add_row(str(r["res"]), f"{r['pixel_budget']}{' *' if r['default'] else ''}", f"{r['tiles_per_s']:.1f}",
                      f"{r['vs_default']:.2f}x")
        return [t]
