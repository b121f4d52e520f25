import hashlib
import json
import subprocess
import sys

import pytest
from conftest import SEED_TABLE
from PIL import Image
from typer.testing import CliRunner

from manifold_cli.cli import app

runner = CliRunner()


def tree_digest(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("name", SEED_TABLE)
def test_info_preset_json(name):
    result = runner.invoke(app, ["info", "--preset", name, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["encoder_params"] == 1_725_264 and data["decoder_params"] == SEED_TABLE[name]


@pytest.mark.parametrize("args,message", [(["--preset", "nope"], "unknown preset"),
                                          (["--preset", "seed-b8-h128", "--channels", "2"], "channels must be 1, 3 or 4")])
def test_info_bad_preset_or_channels_is_one_usage_error(args, message):
    result = runner.invoke(app, ["info"] + args)
    assert result.exit_code == 2 and message in result.output  # 2: the command line cannot work
    assert "Traceback" not in result.output and result.output.count("\n") == 1


def test_info_model_json(tiny_model_dir):
    result = runner.invoke(app, ["info", "--model", str(tiny_model_dir), "--json"])
    assert json.loads(result.stdout)["channels"] == 4


def test_upscale_folder_writes_every_tile_and_leaves_the_input_alone(tile_folder, tiny_model_dir, tmp_path):
    before = tree_digest(tile_folder)
    out = tmp_path / "out"
    result = runner.invoke(app, ["upscale", str(tile_folder), "--res", "40x24", "-o", str(out),
                                 "--model", str(tiny_model_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["tiles"] == 48 and summary["resolution"] == [40, 24]
    outputs = sorted(p.relative_to(out) for p in out.rglob("*.png"))
    assert outputs == sorted(p.relative_to(tile_folder) for p in tile_folder.rglob("*.png"))
    assert all(Image.open(out / p).size == (40, 24) for p in outputs)
    assert tree_digest(tile_folder) == before
    assert not list(out.rglob(".*"))  # no temporary files left


def test_default_output_is_a_sibling_named_after_the_resolution(tmp_path, tiny_model_dir):
    src = tmp_path / "tiles"
    src.mkdir()
    Image.new("RGBA", (16, 16), (200, 10, 10, 255)).save(src / "a.png")
    result = runner.invoke(app, ["upscale", str(src), "--res", "32", "--model", str(tiny_model_dir), "-q"])
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "tiles-32" / "a.png").size == (32, 32)
    single = runner.invoke(app, ["upscale", str(src / "a.png"), "--res", "48", "--model", str(tiny_model_dir), "-q"])
    assert single.exit_code == 0 and Image.open(src / "a-48.png").size == (48, 48)
    assert single.output.startswith(f"1 tile -> {src / 'a-48.png'}")  # the summary line counts in English


@pytest.mark.parametrize("args,message,status", [
    (["--res", "64", "-o", "{src}"], "inputs are never overwritten", 2),
    (["--res", "64", "-o", "{src}/inside"], "inside the input folder", 2),
    (["--res", "6x6x6"], "--res", 2),
    (["--res", "64", "--model", "{src}"], "not a model directory", None),  # the model side chooses its status
])
def test_upscale_errors_are_one_clear_line(tile_folder, args, message, status):
    result = runner.invoke(app, ["upscale", str(tile_folder)] + [a.format(src=tile_folder) for a in args])
    assert result.exit_code == status if status else result.exit_code not in (0, 3)
    assert message in result.output and "Traceback" not in result.output


def test_upscale_runs_where_torch_cannot_be_imported(tile_folder, tiny_model_dir, tmp_path):
    code = ("import sys; sys.modules['torch'] = None\n"
            "from manifold_cli.cli import main\n"
            "sys.argv = ['manifold'] + sys.argv[1:]\n"
            "main()")
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-c", code, "upscale", str(tile_folder), "--res", "32",
                           "-o", str(out), "--model", str(tiny_model_dir), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["tiles"] == 48
    assert len(list(out.rglob("*.png"))) == 48


def test_train_cli_end_to_end(tile_folder, tmp_path):
    run = tmp_path / "run"
    result = runner.invoke(app, ["train", str(tile_folder), "--preset", "seed-b4-h64", "--channels", "4",
                                 "--max-inputs", "64", "--batch-size", "16", "--out", str(run)])
    assert result.exit_code == 0, result.output
    assert "trained 64 inputs" in result.output
    result = runner.invoke(app, ["export", str(run), "-o", str(tmp_path / "model")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "model" / "decoder.onnx").exists()


def test_error_messages_keep_their_brackets(tmp_path):
    missing = tmp_path / "tiles[train]" / "a[bold].png"
    result = runner.invoke(app, ["upscale", str(missing), "--res", "64"])
    assert result.exit_code == 1 and f"{missing}: no such file or folder" in result.output


def test_summary_keeps_the_brackets_of_a_path(tmp_path, tiny_model_dir):
    tiles = tmp_path / "tiles[bold]"
    tiles.mkdir()
    Image.new("RGBA", (16, 16), (200, 40, 40, 255)).save(tiles / "a.png")
    result = runner.invoke(app, ["upscale", str(tiles), "--res", "32", "--model", str(tiny_model_dir)])
    assert result.exit_code == 0, result.output
    assert f"-> {tmp_path / 'tiles[bold]-32'}" in result.output


@pytest.mark.parametrize("args", [["upscale", "tiles", "--edges", "diagonal"], ["upscale"],
                                  ["upscale", "tiles", "--bogus"], ["train"], ["info", "--channels", "x"]])
def test_command_line_mistakes_are_one_error_line_with_status_2(args):
    """The real entry point (not Typer's usage box): one `error:` line naming the help to read."""
    proc = subprocess.run([sys.executable, "-m", "manifold_cli.cli", *args], capture_output=True, text=True,
                          timeout=120)
    lines = (proc.stdout + proc.stderr).strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stdout + proc.stderr
    assert lines[0].startswith("error: ") and "--help" in lines[0]


def test_no_arguments_shows_the_help():
    proc = subprocess.run([sys.executable, "-m", "manifold_cli.cli"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "upscale" in proc.stdout + proc.stderr


def test_a_factor_renders_each_tile_times_its_own_size(tmp_path, tiny_model_dir):
    src = tmp_path / "tiles"
    (src / "big").mkdir(parents=True)
    Image.new("RGBA", (16, 16), (200, 10, 10, 255)).save(src / "small.png")
    Image.new("RGBA", (30, 20), (10, 200, 10, 255)).save(src / "big" / "wide.png")
    result = runner.invoke(app, ["upscale", str(src), "--res", "4x", "--model", str(tiny_model_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["scale"] == 4 and summary["resolution"] is None  # tiles of two sizes
    out = tmp_path / "tiles-4x"  # the default output is named after --res, as with a size
    assert Image.open(out / "small.png").size == (64, 64) and Image.open(out / "big" / "wide.png").size == (120, 80)
    one = runner.invoke(app, ["upscale", str(src / "big" / "wide.png"), "--res", "1.5X", "--model",
                              str(tiny_model_dir), "--json"])
    assert one.exit_code == 0, one.output
    assert json.loads(one.stdout)["resolution"] == [45, 30]  # sides rounded half up
    assert Image.open(src / "big" / "wide-1.5x.png").size == (45, 30)


@pytest.mark.parametrize("res,message", [("0x", "more than 0 and at most 16"), ("17x", "at most 16"),
                                         ("2.x5", "or a factor like 4x"), ("16x", "would be 4096x8192")])
def test_a_factor_that_cannot_work_is_one_usage_error(tmp_path, tiny_model_dir, res, message):
    Image.new("RGBA", (256, 512), (200, 10, 10, 255)).save(tmp_path / "tall.png")
    result = runner.invoke(app, ["upscale", str(tmp_path / "tall.png"), "--res", res, "--model", str(tiny_model_dir)])
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tall.png"]
