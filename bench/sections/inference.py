"""Inference: tiles/s of the runtime (TileModel.render: RGBA tiles in, RGBA tiles out) at --res 32,
64 and 128, fp32 and int8, against the seed-style eager anchor (anchor.py) where the model's kind
has one, else against an embedded model that has one and Real-ESRGAN-ncnn; FLOPs counted on the
model (torch_model.py), achieved GFLOP/s against the matmul section's rate."""

from __future__ import annotations

from functools import partial

import numpy as np

from manifold_core.errors import UserError
from manifold_core.runtime import TileModel

from ..context import to_rgba
from ..harness import interleave, rate, rate_text, ratio_text, speedup
from ..references import anchored_reference, load_realesrgan
from ..registry import Section, register, target

RESOLUTIONS = (32, 64, 128)
TILES_PER_CALL = {32: 64, 64: 16, 128: 4}  # about the same work per timed call
# the bars of the plot, label -> row key (only those a run measured are drawn)
BARS = {"anchor (eager, per tile)": "anchor_tiles_per_s", "anchored model (runtime fp32)": "reference_tiles_per_s",
        "Real-ESRGAN-ncnn (CPU)": "realesrgan_tiles_per_s", "runtime fp32": "runtime_fp32_tiles_per_s",
        "runtime int8": "runtime_int8_tiles_per_s"}
RATIOS = {"fp32_vs_anchor": "anchor", "fp32_vs_reference": "anchored model", "fp32_vs_realesrgan": "Real-ESRGAN"}


def rendered(model: TileModel, tiles: np.ndarray, res: int) -> list:
    """What `manifold upscale` computes for the tiles at res x res (the generator consumed)."""
    return list(model.render(tiles, res, res))


def anchor_render(encoder, decoder, x: np.ndarray, res: int, convention: str) -> list:
    from ..anchor import anchor_decode, anchor_encode

    return anchor_decode(decoder, anchor_encode(encoder, x), res, res, convention)


def load_int8(model_dir, notes: list[str]) -> TileModel | None:
    try:
        return TileModel.load(model_dir, device="cpu", precision="int8")
    except UserError as exc:  # a model exported without decoder.int8.onnx
        notes.append(f"int8 skipped: {exc}")
        return None


@register
class Inference(Section):
    name = "inference"
    summary = ("runtime fp32 and int8 at --res 32, 64, 128 against the eager anchor, or the anchored embedded "
               "model and Real-ESRGAN")
    needs = ("matmul",)

    def run(self, ctx, results) -> dict:
        """Rows per resolution; and the largest difference between the anchor's and the runtime's images."""
        from ..anchor import anchor_applies, anchor_decode, anchor_encode, anchor_unavailable, load_anchor
        from ..torch_model import flop_model

        matmul_fp32 = results["matmul"]["fp32_gflops"]
        fp32 = TileModel.load(ctx.model_dir, device="cpu")
        int8 = load_int8(ctx.model_dir, ctx.notes)
        tiles = ctx.tiles.val
        rgba, size = to_rgba(tiles), tiles.shape[-1]
        anchor = reference = esr = folder = None
        if anchor_applies(fp32.card):
            reason = anchor_unavailable(ctx.model_dir)
            if reason:
                ctx.note(f"anchor skipped: {reason}")
            else:
                anchor = load_anchor(ctx.model_dir)
        else:
            ctx.note(f"anchor: none for a {fp32.card.kind}-kind model; compared with an embedded model that has one "
                     f"and Real-ESRGAN")
            folder = anchored_reference(ctx.model_dir)
            if folder is not None:
                reference = TileModel.load(folder, device="cpu")
            else:
                ctx.note("no embedded model with the anchor to compare with")
            esr, reason = load_realesrgan()
            if reason:
                ctx.note(f"Real-ESRGAN skipped: {reason}")
        counter = flop_model(ctx.model_dir)
        rows, worst = [], None
        for res in RESOLUTIONS:
            n = TILES_PER_CALL[res]
            batch = rgba[:n]
            x = fp32.encoder_input(batch)
            latents = fp32.encode(x)
            candidates = {"runtime_fp32": partial(rendered, fp32, batch, res),
                          "runtime_fp32_decode": partial(fp32.decode, latents, res, res)}
            if int8 is not None:
                candidates["runtime_int8"] = partial(rendered, int8, batch, res)
            if anchor is not None:
                encoder, decoder, convention = anchor
                codes = anchor_encode(encoder, x)
                images = np.stack([i.numpy() for i in anchor_decode(decoder, codes, res, res, convention)])
                worst = max(worst or 0.0, float(np.abs(images - fp32.decode(latents, res, res)).max()))
                candidates["anchor"] = partial(anchor_render, encoder, decoder, x, res, convention)
                candidates["anchor_decode"] = partial(anchor_decode, decoder, codes, res, res, convention)
            if reference is not None:
                candidates["reference"] = partial(rendered, reference, batch, res)
            factor = res // size if res % size == 0 else 0
            if esr is not None and esr.supports(factor):
                esr.prepare(factor)
                candidates["realesrgan"] = partial(esr.upscale, batch, res, res)
            times = interleave(candidates, ctx.rounds)
            # the runtime renders in passes of at most the card's scale_step (32 -> 128 with step 2 is
            # 32 -> 64 -> 128, the encoder run again on 64): count every pass; the decode-only timing
            # is one decoder run from the tile's latents straight to res
            steps = fp32.passes(size, size, res, res)
            counts = [counter.flops(h, w, oh, ow) for (h, w), (oh, ow) in zip([(size, size), *steps[:-1]], steps)]
            encoder_flops, decoder_flops = sum(c["encoder"] for c in counts), sum(c["decoder"] for c in counts)
            total = encoder_flops + decoder_flops
            gflops = rate(times["runtime_fp32"], n * total / 1e9)
            decode_gflops = rate(times["runtime_fp32_decode"], n * counter.flops(size, size, res, res)["decoder"] / 1e9)
            row = {"res": res, "tile": size, "tiles_per_call": n, "passes": len(steps),
                   "runtime_fp32_tiles_per_s": round(rate(times["runtime_fp32"], n), 2),
                   "encoder_flops": encoder_flops, "decoder_flops": decoder_flops,
                   "mflop_per_tile": round(total / 1e6, 1),
                   "fp32_gflops": round(gflops, 1), "fp32_of_matmul": round(gflops / matmul_fp32, 3),
                   "decode_fp32_gflops": round(decode_gflops, 1),
                   "decode_fp32_of_matmul": round(decode_gflops / matmul_fp32, 3)}
            if int8 is not None:
                row.update(runtime_int8_tiles_per_s=round(rate(times["runtime_int8"], n), 2),
                           int8_vs_fp32=round(speedup(times["runtime_int8"], times["runtime_fp32"]), 3))
            if anchor is not None:
                row.update(anchor_tiles_per_s=round(rate(times["anchor"], n), 2),
                           fp32_vs_anchor=round(speedup(times["runtime_fp32"], times["anchor"]), 3),
                           decode_fp32_vs_anchor_decode=round(speedup(times["runtime_fp32_decode"],
                                                                      times["anchor_decode"]), 3))
                if int8 is not None:
                    row["int8_vs_anchor"] = round(speedup(times["runtime_int8"], times["anchor"]), 3)
            for key in ("reference", "realesrgan"):
                if key in times:
                    row[f"{key}_tiles_per_s"] = round(rate(times[key], n), 2)
                    row[f"fp32_vs_{key}"] = round(speedup(times["runtime_fp32"], times[key]), 3)
            rows.append(row)
        data = {"rows": rows}
        if reference is not None:
            data["reference"] = str(folder)
        if worst is not None:
            data["anchor_max_abs_diff"] = worst
        return data

    def tables(self, data) -> list:
        from rich.table import Table

        rows = data["rows"]
        against = [label for key, label in RATIOS.items() if any(key in r for r in rows)]
        t = Table(title="inference (tiles in, RGBA tiles out)" + (f" vs {', '.join(against)}" if against else ""))
        columns = [("res", lambda r: str(r["res"])), ("fp32 tiles/s", lambda r: rate_text(r["runtime_fp32_tiles_per_s"])),
                   ("int8 tiles/s", lambda r: rate_text(r.get("runtime_int8_tiles_per_s")))]
        if any("anchor_tiles_per_s" in r for r in rows):
            columns += [("anchor tiles/s", lambda r: rate_text(r.get("anchor_tiles_per_s"))),
                        ("fp32 / anchor", lambda r: ratio_text(r.get("fp32_vs_anchor"))),
                        ("int8 / anchor", lambda r: ratio_text(r.get("int8_vs_anchor"))),
                        ("decode fp32 / anchor", lambda r: ratio_text(r.get("decode_fp32_vs_anchor_decode")))]
        for key, label in (("reference", "anchored model"), ("realesrgan", "Real-ESRGAN")):
            if any(f"{key}_tiles_per_s" in r for r in rows):
                columns += [(f"{label} tiles/s", lambda r, key=key: rate_text(r.get(f"{key}_tiles_per_s"))),
                            (f"fp32 / {label}", lambda r, key=key: ratio_text(r.get(f"fp32_vs_{key}")))]
        columns += [("MFLOP/tile", lambda r: f"{r['mflop_per_tile']:,.1f}"),
                    ("fp32 GFLOP/s", lambda r: f"{r['fp32_gflops']:.0f}"),
                    ("of matmul", lambda r: f"{100 * r['fp32_of_matmul']:.0f}%")]
        for col, _ in columns:
            t.add_column(col, justify="right")
        for r in rows:
            t.add_row(*(cell(r) for _, cell in columns))
        tables = [t]
        if "anchor_max_abs_diff" in data:
            same = Table(show_header=False)
            same.add_row("largest difference, anchor vs runtime images", f"{data['anchor_max_abs_diff']:.2e}")
            tables.append(same)
        return tables

    def targets(self, data) -> list[dict]:
        at64 = next((r for r in data["rows"] if r["res"] == 64), None)
        if at64 is None:
            return []
        rows = []
        if "fp32_vs_anchor" in at64:
            rows.append(target("inference fp32 vs anchor at --res 64", ">= 1.5x", at64["fp32_vs_anchor"],
                               at64["fp32_vs_anchor"] >= 1.5, f"{at64['fp32_vs_anchor']:.2f}x"))
        rows.append(target("inference fp32 share of the fp32 matmul rate at --res 64", ">= 60%", at64["fp32_of_matmul"],
                           at64["fp32_of_matmul"] >= 0.6, f"{100 * at64['fp32_of_matmul']:.0f}%"))
        if "int8_vs_anchor" in at64:
            rows.append(target("inference int8 vs anchor at --res 64", ">= 3x", at64["int8_vs_anchor"],
                               at64["int8_vs_anchor"] >= 3, f"{at64['int8_vs_anchor']:.2f}x"))
        return rows

    def plot(self, ax, data) -> None:
        """Tiles/s per resolution, a bar per candidate (log scale), the first ratio written on the runtime's."""
        rows = data["rows"]
        x = np.arange(len(rows))
        bars = {label: key for label, key in BARS.items() if any(r.get(key) for r in rows)}
        width = 0.8 / len(bars)
        for i, (label, key) in enumerate(bars.items()):
            ax.bar(x + (i - (len(bars) - 1) / 2) * width, [r.get(key) or 0 for r in rows], width, label=label)
        ratio = next((k for k in RATIOS if any(k in r for r in rows)), None)
        for xi, r in zip(x, rows):
            if ratio and ratio in r:
                ax.annotate(f"{r[ratio]:.2f}x", (xi, r["runtime_fp32_tiles_per_s"]), ha="center", va="bottom",
                            fontsize=8)
        ax.set_xticks(x, [f"--res {r['res']}" for r in rows])
        ax.set_yscale("log")
        ax.set_ylabel("tiles/s (log)")
        ax.set_title("inference: tiles in, RGBA tiles out" + (f" (label: fp32 / {RATIOS[ratio]})" if ratio else ""))
        ax.legend(fontsize=8)
        ax.grid(True, axis="y", alpha=0.3)
