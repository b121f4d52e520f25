"""int8 quality: PSNR of the int8 decoder (`--precision int8`) against fp32 on held-out tiles."""

from __future__ import annotations

import numpy as np

from manifold_core.errors import UserError
from manifold_core.runtime import TileModel
from manifold_core.tiles import premultiply

from ..context import to_rgba
from ..registry import Section, register, target

AT_2X = 64  # tiles decoded at twice the size too (int8 against fp32 only: there is no original at 2x)


def int8_quality(model_dir, tiles: np.ndarray, source: str) -> dict:
    """PSNR against the original tiles at the native size, fp32 and int8, and int8 against fp32.

    tiles: [N, C, S, S] uint8 straight colour in the model's channels. PSNR is manifold_eval's (values
    in 0..255), in the model's own colour form (premultiplied where its card says so)."""
    from manifold_eval.metrics import psnr

    fp32 = TileModel.load(model_dir, device="cpu")
    int8 = TileModel.load(model_dir, device="cpu", precision="int8")
    size = tiles.shape[-1]
    codes = fp32.encode(fp32.encoder_input(to_rgba(tiles)))
    # the decoder's colours are the card's: premultiplied by alpha for a premultiplied model, so the
    # originals are compared in the same form (straight originals against premultiplied output
    # measured the conversion, not the model: 26.3 dB for any model on the Crawl tiles)
    x = tiles.astype(np.float32) / 255
    x = 255 * (premultiply(x) if fp32.card.premultiplied else x)
    a, b = 255 * fp32.decode(codes, size, size), 255 * int8.decode(codes, size, size)
    a2, b2 = 255 * fp32.decode(codes[:AT_2X], 2 * size, 2 * size), 255 * int8.decode(codes[:AT_2X], 2 * size, 2 * size)
    p_fp32, p_int8 = psnr(x, a), psnr(x, b)
    return {"tiles": len(tiles), "source": source, "psnr_fp32_db": round(p_fp32, 3), "psnr_int8_db": round(p_int8, 3),
            "psnr_loss_db": round(p_fp32 - p_int8, 3), "int8_vs_fp32_psnr_db": round(psnr(a, b), 2),
            "int8_vs_fp32_psnr_db_at_2x": round(psnr(a2, b2), 2)}


@register
class Int8(Section):
    name = "int8"
    summary = "PSNR of the int8 decoder against fp32 on held-out tiles"

    def run(self, ctx, results) -> dict | None:
        try:
            return int8_quality(ctx.model_dir, ctx.tiles.val, ctx.tiles.source)
        except UserError as exc:  # a model exported without decoder.int8.onnx
            ctx.note(f"int8 skipped: {exc}")
            return None

    def tables(self, data) -> list:
        from rich.table import Table

        t = Table(title=f"int8 quality, {data['tiles']} tiles: {data['source']}", show_header=False)
        t.add_row("PSNR fp32 / int8 vs originals", f"{data['psnr_fp32_db']:.2f} / {data['psnr_int8_db']:.2f} dB")
        t.add_row("PSNR lost by int8", f"{data['psnr_loss_db']:.3f} dB")
        t.add_row("PSNR int8 vs fp32 output (1x / 2x)",
                  f"{data['int8_vs_fp32_psnr_db']:.1f} / {data['int8_vs_fp32_psnr_db_at_2x']:.1f} dB")
        return [t]

    def targets(self, data) -> list[dict]:
        loss = data["psnr_loss_db"]
        return [target("int8 PSNR loss against fp32 on held-out tiles", "<= 0.3 dB", loss, loss <= 0.3, f"{loss:.2f} dB")]
