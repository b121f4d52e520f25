"""The upscaling speed target: `manifold upscale`'s in-process path (TileModel.render, fp32, CPU) with
each embedded model (and --model), and Real-ESRGAN-ncnn (realesr-animevideov3-x2 on the CPU,
manifold_eval.scalers), on the same 32x32 RGBA tiles at 32 -> 64 px, side by side."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Callable

from manifold_core.pixelart import STYLES
from manifold_core.runtime import RenderOptions, TileModel

from ..harness import interleave, rate, ratio_text, speedup
from ..references import load_realesrgan, upscale_models
from ..registry import Section, register, target

UPSCALE_TILES = 32  # tiles per timed call
# `manifold upscale`'s defaults: --edges auto (wrap where a tile is seamless) and --style auto (the
# pixel-art finish, through the exact pixel-style decoder, for the tiles with hard alpha)
UPSCALE_OPTIONS = RenderOptions("auto", *STYLES["auto"])
UPSCALE_TARGET = "manifold upscale >= 100 tiles/s at 32->64 fp32 and faster than Real-ESRGAN-ncnn"


def rendered(model: TileModel, tiles, out: int) -> list:
    return list(model.render(tiles, out, out, UPSCALE_OPTIONS))


def upscalers(models: dict[str, Path], tiles, rounds: int, notes: list[str]) -> dict:
    """The same RGBA tiles [N, S, S, 4] to 2S x 2S through each model (by label) and Real-ESRGAN-ncnn x2."""
    batch = tiles[:UPSCALE_TILES]
    size = batch.shape[1]
    out = 2 * size
    candidates: dict[str, Callable[[], object]] = {}
    meta: dict[str, dict] = {}
    for label, folder in models.items():
        model = TileModel.load(folder, device="cpu")
        candidates[label] = partial(rendered, model, batch, out)
        meta[label] = {"what": "manifold upscale (TileModel.render, fp32, CPU, its default options)", "model": str(folder),
                       "kind": model.card.kind, "preset": model.card.preset}
    esr, reason = load_realesrgan()
    if esr is None:
        notes.append(f"Real-ESRGAN skipped: {reason}")
    else:
        esr.prepare(2)
        candidates["realesrgan"] = partial(esr.upscale, batch, out, out)
        meta["realesrgan"] = {"what": "Real-ESRGAN-ncnn realesr-animevideov3-x2, CPU (manifold_eval.scalers)"}
    times = interleave(candidates, rounds)
    rows = []
    for label in candidates:
        row = {"method": label, **meta[label], "tiles_per_s": round(rate(times[label], len(batch)), 2)}
        for other, key in (("realesrgan", "vs_realesrgan"), ("seed", "vs_seed")):
            if other in times and other != label:
                row[key] = round(speedup(times[label], times[other]), 3)
        rows.append(row)
    return {"in_px": size, "out_px": out, "tiles_per_call": len(batch), "rows": rows}


@register
class Upscalers(Section):
    name = "upscalers"
    summary = "manifold upscale (the embedded models) and Real-ESRGAN-ncnn, 32 -> 64 px"

    def run(self, ctx, results) -> dict:
        from ..context import to_rgba

        return upscalers(upscale_models(ctx.given, ctx.notes), to_rgba(ctx.rgba_tiles.val), ctx.rounds, ctx.notes)

    def tables(self, data) -> list:
        from rich.table import Table

        t = Table(title=f"upscalers: the same {data['tiles_per_call']} tiles, {data['in_px']} -> {data['out_px']} px, "
                        f"side by side")
        for col in ("method", "model", "tiles/s", "vs Real-ESRGAN", "vs seed"):
            t.add_column(col, justify="left" if col in ("method", "model") else "right")
        for r in data["rows"]:
            what = f"{r['kind']}, {r['preset'] or Path(r['model']).name}" if "kind" in r else r["what"]
            t.add_row(r["method"], what, f"{r['tiles_per_s']:.1f}", ratio_text(r.get("vs_realesrgan")),
                      ratio_text(r.get("vs_seed")))
        return [t]

    def targets(self, data) -> list[dict]:
        """The default model's rate against the target; not met where Real-ESRGAN was not measured."""
        default = next((r for r in data["rows"] if r["method"] == "default"), None)
        if default is None:
            return []
        esr = next((r for r in data["rows"] if r["method"] == "realesrgan"), None)
        fast_enough = default["tiles_per_s"] >= 100
        goal = ">= 100 tiles/s and > 1x Real-ESRGAN"
        if esr is None:  # half of the target unmeasured: not met
            return [target(UPSCALE_TARGET, goal, default["tiles_per_s"], False,
                           f"{default['tiles_per_s']:.0f} tiles/s; Real-ESRGAN not measured here")]
        return [target(UPSCALE_TARGET, goal, default["tiles_per_s"], fast_enough and default["vs_realesrgan"] > 1,
                       f"{default['tiles_per_s']:.0f} tiles/s, {default['vs_realesrgan']:.2f}x Real-ESRGAN-ncnn "
                       f"({esr['tiles_per_s']:.0f} tiles/s)")]
