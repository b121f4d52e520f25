from rich.console import Console
from test_evaluate import Missing, gradients

from manifold_eval.evaluate import evaluate
from manifold_eval.report import table
from manifold_eval.scalers import make_methods


def render(result) -> str:
    console = Console(width=200, record=True, force_terminal=False)
    console.print(table(result))
    return console.export_text()


def test_table_lists_every_method_per_degradation_with_notes():
    result = evaluate(gradients(2), [Missing()] + make_methods(["nearest", "bicubic", "scalenx"]), 2, ["box", "nearest"])
    text = render(result)
    for word in ("box", "nearest", "bicubic", "Scale2x", "PSNR", "SSIM", "alpha PSNR", "tiles/s",
                 "ghostscale not installed: apt-get install ghostscale"):
        assert word in text
    assert text.count("ghostscale not installed") == 2


def test_best_value_is_bold():
    result = evaluate(gradients(2), make_methods(["nearest", "bicubic"]), 2, ["box"])
    best = f"{result.row('box', 'bicubic').psnr:.2f}"
    cells = [row for row in table(result).columns[2]._cells]
    assert f"[bold]{best}[/]" in cells
