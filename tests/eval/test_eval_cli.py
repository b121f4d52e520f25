import importlib.util
import json

from PIL import Image
from typer.testing import CliRunner

from manifold_cli.cli import app

runner = CliRunner()


def test_eval_folder_prints_json_and_writes_a_sheet(tile_folder, tmp_path):
    sheet = tmp_path / "eval.png"
    result = runner.invoke(app, ["eval", str(tile_folder), "--limit", "8", "--methods", "nearest,bicubic,xbrz,manifold",
                                 "--json", "--sheet", str(sheet), "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"scale", "degradations", "tiles", "alpha_tiles", "methods", "results", "sheet"} <= set(data)
    assert data["tiles"] == 8 and data["scale"] == 2 and data["degradations"] == ["box", "nearest"]
    assert data["methods"] == ["nearest", "bicubic", "xbrz", "manifold"] and len(data["results"]) == 8
    manifold = next(r for r in data["results"] if r["method"] == "manifold" and r["degradation"] == "box")
    assert manifold["psnr"] > 5 and 0 < manifold["ssim"] < 1 and manifold["tiles_per_s"] > 0
    with Image.open(sheet) as image:
        assert image.width > 200 and image.height > 200


def test_eval_table_names_each_method(tile_folder):
    result = runner.invoke(app, ["eval", str(tile_folder), "--limit", "6", "--methods", "nearest,lanczos",
                                 "--degrade", "nearest", "--scale", "1.5", "-q"])
    assert result.exit_code == 0, result.output
    assert "Lanczos" in result.stdout and "PSNR" in result.stdout and "box" not in result.stdout


def test_bad_options_are_one_usage_error_line(tile_folder):
    for args, words in ((["--degrade", "blur"], "--degrade"), (["--scale", "0.5"], "--scale"),
                        (["--methods", "waifu2x"], "choose from")):
        result = runner.invoke(app, ["eval", str(tile_folder)] + args)
        assert result.exit_code == 2 and words in result.output and result.output.count("\n") == 1, result.output


def test_missing_eval_extra_is_one_error_line_with_the_pip_command(tile_folder, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "skimage" else real(name, *a))
    result = runner.invoke(app, ["eval", str(tile_folder)])
    assert result.exit_code == 1 and result.output.count("\n") == 1
    assert "error:" in result.output and "pip install 'manifold-tiles[eval]'" in result.output
