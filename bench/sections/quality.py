"""Training quality at the same number of inputs: the plain and the fast recipe (levers.py) trained
for the same inputs on the same tiles, their validation MSE and wall time side by side.

It trains two models from scratch (64,000 inputs each by default: the plain recipe alone is
about half an hour on 2 cores), so it runs only when asked: `manifold bench --only quality`
(`--quality-inputs N` to change the count). The runs are written to the bench's temporary
folder and removed with it; only their figures are kept."""

from __future__ import annotations

import time

from ..context import SHEETS, TILE, write_tiles
from ..registry import Section, register

INPUTS, QUICK_INPUTS = 64_000, 8_000
BATCH = 64
PROCEDURAL_TILES = 1024


@register
class Quality(Section):
    name = "quality"
    summary = "validation MSE of the plain and the fast training recipe after the same number of inputs"
    by_default = False

    def run(self, ctx, results) -> list[dict]:
        from manifold_train.config import TrainConfig
        from manifold_train.trainer import train

        from ..levers import FAST, PLAIN, bench_model

        sheets = [ctx.data / f"{s}.png" for s in SHEETS]
        if all(p.exists() for p in sheets):
            data, tile_size, source = [str(p) for p in sheets], TILE, f"Dungeon Crawl sheets ({ctx.data}/)"
        else:
            folder = ctx.work / "quality-tiles"
            write_tiles(folder, PROCEDURAL_TILES, seed=20)
            data, tile_size, source = [str(folder)], 0, f"{PROCEDURAL_TILES} procedural tiles (no Crawl sheets in {ctx.data})"
        inputs = ctx.quality_inputs or (QUICK_INPUTS if ctx.quick else INPUTS)
        rows = []
        for name, levers in {"plain": {}, "fast": FAST}.items():
            ctx.log(f"quality: the {name} recipe for {inputs:,} inputs")
            cfg = TrainConfig(data=data, out=str(ctx.work / f"quality-{name}"), model=bench_model(),
                              tile_size=tile_size, max_inputs=inputs, batch_size=BATCH,
                              eval_every=max(BATCH, inputs // 4), **{**PLAIN, **levers})
            t = time.perf_counter()
            result = train(cfg, show_progress=False)
            rows.append({"levers": name, **{k: levers.get(k, v) for k, v in PLAIN.items()}, "inputs": result["inputs"],
                         "val_mse": result["val_mse"], "train_wall_s": round(result["wall_s"], 1),
                         "run_wall_s": round(time.perf_counter() - t, 1), "source": source})
        return rows

    def tables(self, data) -> list:
        from rich.table import Table

        t = Table(title=f"training quality, seed-b8-h128 RGBA, batch 64, the same inputs: {data[0]['source']}")
        for col in ("recipe", "inputs", "validation MSE", "training s"):
            t.add_column(col, justify="left" if col == "recipe" else "right")
        for r in data:
            t.add_row(r["levers"], f"{r['inputs']:,}", f"{r['val_mse']:.5f}", f"{r['train_wall_s']:.0f}")
        return [t]

