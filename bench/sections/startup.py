"""Start-up: wall time of `manifold upscale` on one tile (what an editor plugin pays per click),
fp32 and int8, against starting bare Python, side by side; and that run's peak RSS."""

from __future__ import annotations

import statistics
import sys
from functools import partial
from pathlib import Path

from ..context import write_tiles
from ..harness import interleave, speedup
from ..processes import manifold_command, peak_rss_mb, run_quietly
from ..registry import Section, register, target


def startup(work: Path, rounds: int) -> dict:
    one = work / "one"
    write_tiles(one, 1)
    tile = one / "tile_00000.png"
    cmd = manifold_command()
    commands = {
        "upscale_fp32": cmd + ["upscale", str(tile), "--res", "64", "-o", str(work / "one-64.png"), "-q"],
        "upscale_int8": cmd + ["upscale", str(tile), "--res", "64", "-o", str(work / "one-64-int8.png"), "-q",
                               "--precision", "int8"],
        "python": [sys.executable, "-c", "pass"],
    }
    times = interleave({name: partial(run_quietly, c) for name, c in commands.items()}, rounds)
    rss = peak_rss_mb(commands["upscale_fp32"])[1]
    return {"upscale_one_tile_s": round(statistics.median(times["upscale_fp32"]), 3),
            "upscale_one_tile_int8_s": round(statistics.median(times["upscale_int8"]), 3),
            "python_start_s": round(statistics.median(times["python"]), 3),
            "vs_python_start": round(speedup(times["python"], times["upscale_fp32"]), 2),
            "one_tile_peak_rss_mb": round(rss, 1),
            "command": " ".join(Path(c).name if i == 0 else c for i, c in enumerate(commands["upscale_fp32"]))}


@register
class Startup(Section):
    name = "startup"
    summary = "manifold upscale on one tile, against a bare Python start"

    def run(self, ctx, results) -> dict:
        return startup(ctx.work, 4 if ctx.quick else 7)

    def tables(self, data) -> list:
        from rich.table import Table

        t = Table(title="start-up", show_header=False)
        t.add_row("manifold upscale, one tile (fp32 / int8)",
                  f"{data['upscale_one_tile_s']:.2f} s / {data['upscale_one_tile_int8_s']:.2f} s "
                  f"({data['vs_python_start']:.1f}x bare Python start)")
        t.add_row("its peak RSS", f"{data['one_tile_peak_rss_mb']:.0f} MB")
        return [t]

    def targets(self, data) -> list[dict]:
        s = data["upscale_one_tile_s"]
        return [target("start-up: manifold upscale on one tile", "< 1.0 s", s, s < 1.0, f"{s:.2f} s")]
