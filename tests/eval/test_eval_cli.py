import importlib.util
import json
import os
import shutil

from PIL import Image
from typer.testing import CliRunner

from manifold_cli.cli import app
from manifold_core.runtime import DEFAULT_MODEL_DIR

runner = CliRunner()


def one_error(result, status: int, words: str = "") -> None:
    assert result.exit_code == status, result.output
    assert result.output.startswith("error:") and result.output.count("\n") == 1 and words in result.output, \
        result.output


def test_eval_folder_prints_json_for_the_standard_scales_and_writes_a_sheet_each(tile_folder, tmp_path):
    sheet = tmp_path / "eval.png"
    result = runner.invoke(app, ["eval", str(tile_folder), "--limit", "4", "--methods", "nearest,bicubic,mmpx,manifold",
                                 "--json", "--sheet", str(sheet), "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "shrink" and data["scales"] == [2, 3, 4]
    assert data["methods"] == ["nearest", "bicubic", "mmpx", "manifold"]
    assert data["sheets"] == [str(tmp_path / f"eval-{s}x.png") for s in (2, 3, 4)]
    for run, scale, phases in zip(data["runs"], (2, 3, 4), (4, 9, 16)):
        assert run["scale"] == scale and run["tiles"] == 4 and run["phases"] == {"box": 1, "nearest": phases}
        assert len(run["results"]) == 8
        mmpx = next(r for r in run["results"] if r["method"] == "mmpx" and r["degradation"] == "nearest")
        assert (mmpx["psnr"] is None and "MMPX does 2x and 4x only" in mmpx["note"]) == (scale == 3)
        model = next(r for r in run["results"] if r["method"] == "manifold" and r["degradation"] == "nearest")
        assert model["psnr_min"] <= model["psnr"] <= model["psnr_max"] and model["phases"] == phases
    for s in (2, 3, 4):
        with Image.open(tmp_path / f"eval-{s}x.png") as image:
            assert image.width > 200 and image.height > 200


def test_one_scale_one_sheet_name_and_the_table(tile_folder, tmp_path):
    sheet = tmp_path / "one.png"
    result = runner.invoke(app, ["eval", str(tile_folder), "--limit", "6", "--methods", "nearest,lanczos",
                                 "--degrade", "nearest", "--scale", "1.5", "--sheet", str(sheet), "-q"])
    assert result.exit_code == 0, result.output
    assert "Lanczos" in result.stdout and "PSNR" in result.stdout and "8 sampling phases" in result.stdout
    assert sheet.is_file()


def test_originals_mode_json(tile_folder):
    result = runner.invoke(app, ["eval", str(tile_folder), "--limit", "3", "--originals", "--scale", "2,4",
                                 "--methods", "nearest,mmpx,manifold:default+pixel", "--json", "-q"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["mode"] == "originals" and [r["scale"] for r in data["runs"]] == [2, 4]
    rows = {r["method"]: r for r in data["runs"][0]["results"]}
    assert rows["nearest"]["consistency_psnr"] == 100 and rows["mmpx"]["palette_fidelity"] == 1
    assert rows["manifold:default+pixel"]["palette_fidelity"] == 1 and rows["manifold:default+pixel"]["note"] is None


def test_help_lists_the_registered_methods(tile_folder):
    result = runner.invoke(app, ["eval", "--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for word in ("mmpx", "xbrz", "realesrgan", "manifold:default+pixel", "--originals", "--phases"):
        assert word in text


def test_bad_options_are_one_usage_error_line(tile_folder):
    for args, words in ((["--degrade", "blur"], "--degrade"), (["--scale", "0.5"], "--scale"),
                        (["--scale", "2,x"], "--scale"), (["--phases", "0"], "--phases"),
                        (["--methods", "waifu2x"], "choose from"),
                        (["--methods", "manifold:default+shiny"], "unknown render option")):
        one_error(runner.invoke(app, ["eval", str(tile_folder)] + args), 2, words)


def test_negative_margin_or_spacing_is_the_upscale_usage_error(tile_folder):
    sheet = next(tile_folder.glob("*.png"))
    for args in (["--margin", "-1"], ["--spacing", "-3"]):
        one_error(runner.invoke(app, ["eval", str(sheet), "--tile-size", "8"] + args), 2,
                  "--margin and --spacing must be at least 0")


def test_sheet_naming_an_input_tile_is_refused_and_the_tile_kept(tile_folder):
    tile = sorted(tile_folder.glob("*.png"))[0]
    before = tile.read_bytes()
    for name in (tile, tile_folder / "sub" / ".." / tile.name):
        one_error(runner.invoke(app, ["eval", str(tile_folder), "--limit", "2", "--scale", "2", "--methods", "nearest",
                                      "--sheet", str(name), "-q"]), 2, "is one of the input files")
    assert tile.read_bytes() == before


def test_sheet_at_a_planted_symlink_replaces_the_link_not_its_target(tile_folder, tmp_path):
    victim = tmp_path / "victim.png"
    victim.write_bytes(b"not yours to overwrite")
    link = tmp_path / "eval.png"
    link.symlink_to(victim)
    result = runner.invoke(app, ["eval", str(tile_folder), "--limit", "2", "--scale", "2", "--methods", "nearest",
                                 "--sheet", str(link), "-q"])
    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == b"not yours to overwrite" and not link.is_symlink()
    assert Image.open(link).width > 50


def test_an_unwritable_sheet_place_is_status_4(tile_folder, tmp_path):
    a_file = tmp_path / "file"
    a_file.write_text("x")
    (tmp_path / "folder.png").mkdir()
    places = [a_file / "eval.png", tmp_path / "folder.png"] + (["/proc/eval.png"] if os.path.isdir("/proc/self") else [])
    for place in places:
        one_error(runner.invoke(app, ["eval", str(tile_folder), "--limit", "2", "--scale", "2", "--methods",
                                      "nearest", "--sheet", str(place), "-q"]), 4)
    assert a_file.read_text() == "x"


def test_an_input_folder_nested_1100_deep_is_evaluated(deep_folder):
    result = runner.invoke(app, ["eval", str(deep_folder), "--scale", "2", "--methods", "nearest", "--json", "-q"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"][0]["tiles"] == 1


def test_a_named_model_that_cannot_load_is_status_6_with_or_without_json(tile_folder, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(DEFAULT_MODEL_DIR, broken)
    (broken / "decoder.onnx").write_bytes(b"\x08\x07 not a graph")
    for model in ("/nonexistent", str(broken)):
        for extra in ([], ["--json"]):
            result = runner.invoke(app, ["eval", str(tile_folder), "--limit", "2", "--scale", "2", "--model", model,
                                         "--methods", "nearest,manifold", "-q"] + extra)
            one_error(result, 6)
            assert "{" not in result.stdout


def test_missing_eval_extra_is_one_error_line_with_the_pip_command(tile_folder, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "skimage" else real(name, *a))
    one_error(runner.invoke(app, ["eval", str(tile_folder)]), 1, "pip install 'manifold-tiles[eval]'")

