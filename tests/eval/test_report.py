from eval_helpers import Missing, gradients
from rich.console import Console

from manifold_core.synthetic import make_tiles
from manifold_eval.evaluate import evaluate
from manifold_eval.originals import score_originals
from manifold_eval.report import originals_table, table
from manifold_eval.scalers import make_methods


def render(t, styles: bool = False) -> str:
    console = Console(width=220, record=True, force_terminal=styles, color_system="standard" if styles else None)
    console.print(t)
    return console.export_text(styles=styles)


def test_table_lists_every_method_per_degradation_with_notes_and_the_phase_spread():
    result = evaluate(gradients(2), [Missing()] + make_methods(["nearest", "bicubic", "scalenx"]), 2, ["box", "nearest"])
    text = render(table(result))
    for word in ("box", "nearest", "bicubic", "Scale2x", "PSNR", "phase spread", "SSIM", "alpha PSNR", "tiles/s",
                 "ghostscale not installed: apt-get install ghostscale", "nearest at 4 sampling phases, pooled"):
        assert word in text
    assert text.count("ghostscale not installed") == 2
    row = result.row("nearest", "bicubic")
    assert f"{row.psnr_min:.2f}..{row.psnr_max:.2f}" in text


def test_best_value_is_bold():
    result = evaluate(gradients(2), make_methods(["nearest", "bicubic"]), 2, ["box"])
    best, other = f"{result.row('box', 'bicubic').psnr:.2f}", f"{result.row('box', 'nearest').psnr:.2f}"
    text = render(table(result), styles=True)
    assert f"\x1b[1m{best}" in text and f"\x1b[1m{other}" not in text and other in text


def test_originals_table_names_the_measures_and_says_na():
    result = score_originals(list(make_tiles(3, 8, seed=1, transparent_share=0.5)), make_methods(["nearest", "mmpx"]), 3)
    text = render(originals_table(result))
    for word in ("consistency PSNR", "palette", "alpha hardness", "within 8 levels", "exact", "100.0%",
                 "MMPX does 2x and 4x only"):
        assert word in text
