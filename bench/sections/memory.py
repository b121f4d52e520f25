"""Memory: peak RSS of `manifold upscale FOLDER --res 64` on a folder of 10,000 tiles (one PNG each;
--quick: 1,000), in one child process, against the start-up section's one-tile run."""

from __future__ import annotations

import json

from ..context import write_tiles
from ..processes import manifold_command, peak_rss_mb
from ..registry import Section, register, target

RES = 64
TILES, QUICK_TILES = 10_000, 1_000


@register
class Memory(Section):
    name = "memory"
    summary = "peak RSS of manifold upscale on a folder of tiles at --res 64"
    needs = ("startup",)  # its one-tile peak RSS is the reference

    def run(self, ctx, results) -> dict:
        count = ctx.memory_tiles or (QUICK_TILES if ctx.quick else TILES)
        folder = ctx.work / f"tiles-{count}"
        write_tiles(folder, count, seed=10)
        _, peak, out = peak_rss_mb(manifold_command() + ["upscale", str(folder), "--res", str(RES),
                                                         "-o", str(ctx.work / f"out-{count}"), "-q", "--json"])
        summary = json.loads(out.strip().splitlines()[-1])
        one_tile = results["startup"]["one_tile_peak_rss_mb"]
        return {"tiles": count, "res": RES, "peak_rss_mb": round(peak, 1),
                "vs_one_tile": round(peak / one_tile, 2) if one_tile else None,
                "tiles_per_s_in_that_run": summary["tiles_per_s"]}

    def tables(self, data) -> list:
        from rich.table import Table

        t = Table(title="memory", show_header=False)
        versus = f" ({data['vs_one_tile']:.2f}x one tile)" if data["vs_one_tile"] else ""
        t.add_row(f"peak RSS, {data['tiles']:,} tiles at --res {data['res']}", f"{data['peak_rss_mb']:.0f} MB{versus}")
        return [t]

    def targets(self, data) -> list[dict]:
        m = data["peak_rss_mb"]
        return [target(f"memory: upscaling {data['tiles']:,} tiles at --res {data['res']}", "< 1 GB peak RSS", m,
                       m < 1024, f"{m:.0f} MB")]
