"""Every command that writes a file: it refuses an input as its output, and never writes
through a symlink planted at an output's name or at a folder below its output folder, at any depth.
The victims the links point to are checked byte for byte afterwards. An existing file at an
output's name is replaced only when manifold wrote it (a rerun); a user's own file there, or one
that lost manifold's mark, refuses the whole run before anything is written.
`eval --sheet` and `blind` write through manifold_core.files too (eval/outputs.py) and are
covered here beside the others.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import run_cli
from PIL import Image

from manifold_core.synthetic import make_tiles

VICTIM = b"a user's file, never to be written through"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree(folder: Path) -> dict:
    return {str(p.relative_to(folder)): sha(p) for p in sorted(folder.rglob("*")) if p.is_file() and not p.is_symlink()}


@pytest.fixture
def world(tmp_path):
    """Inputs of every kind, and a victim file and folder outside everything."""
    (tmp_path / "tiles" / "sub" / "deeper").mkdir(parents=True)
    t = make_tiles(4, 16, seed=8)
    for i, tile in enumerate(t[:2]):
        Image.fromarray(tile).save(tmp_path / "tiles" / f"t{i}.png")
    Image.fromarray(t[2]).save(tmp_path / "tiles" / "sub" / "t2.png")
    Image.fromarray(t[3]).save(tmp_path / "tiles" / "sub" / "deeper" / "t3.png")
    Image.fromarray(np.concatenate(list(t), axis=1)).save(tmp_path / "sheet.png")
    (tmp_path / "set.tsx").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<tileset version="1.10" name="s" tilewidth="16" tileheight="16" '
        'tilecount="4" columns="4"><image source="sheet.png" width="64" height="16"/></tileset>\n')
    (tmp_path / "map.tmx").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<map version="1.10" orientation="orthogonal" width="1" height="1" '
        'tilewidth="16" tileheight="16"><tileset firstgid="1" source="set.tsx"/>'
        '<imagelayer id="2" name="bg"><image source="tiles/t0.png"/></imagelayer></map>\n')
    (tmp_path / "victims").mkdir()
    (tmp_path / "victims" / "victim").write_bytes(VICTIM)
    return tmp_path


def victims_intact(world: Path) -> None:
    assert [p.name for p in (world / "victims").iterdir()] == ["victim"]
    assert (world / "victims" / "victim").read_bytes() == VICTIM


# ---------------------------------------------------------------- upscale: every kind of input
UPSCALES = {  # kind: (arguments, the output folder, the files it writes there)
    "folder": (lambda w: [w / "tiles", "-o", w / "out"], "out", ["t0.png", "sub/t2.png", "sub/deeper/t3.png"]),
    "image": (lambda w: [w / "tiles" / "t0.png", "-o", w / "out" / "one.png"], "out", ["one.png"]),
    "sheet": (lambda w: [w / "sheet.png", "--tile-size", 16, "-o", w / "out" / "s.png"], "out", ["s.png"]),
    "tsx": (lambda w: [w / "set.tsx", "-o", w / "out"], "out", ["set-32.tsx", "set-32.png"]),
    "tmx": (lambda w: [w / "map.tmx", "-o", w / "out"], "out", ["map-32.tmx", "set-32.tsx", "set-32.png"]),
}


def run_upscale(world, kind, *extra):
    args, _, _ = UPSCALES[kind]
    return run_cli("upscale", *args(world), "--res", 32, "-q", *extra)


@pytest.mark.parametrize("kind", UPSCALES)
def test_upscale_writes_no_file_through_a_link_at_an_output_name(world, kind):
    _, folder, files = UPSCALES[kind]
    for name in files:
        link = world / folder / name
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(world / "victims" / "victim")
    result = run_upscale(world, kind)
    assert result.exit_code == 0, result.output
    victims_intact(world)
    for name in files:  # each link was replaced by a real file, or left alone (a Tiled output then takes
        link = world / folder / name  # another name: two links to one victim are one taken name)
        assert not link.is_symlink() or kind in ("tsx", "tmx")


@pytest.mark.parametrize("kind,depth", [("folder", 1), ("folder", 2), ("folder", 3), ("tmx", 1)])
def test_upscale_never_writes_through_a_folder_link_below_its_output(world, kind, depth):
    if kind == "tmx":  # the map names its tileset from a subfolder, so the outputs get one too
        (world / "lib").mkdir()
        shutil.move(world / "set.tsx", world / "lib" / "set.tsx")
        (world / "lib" / "set.tsx").write_text((world / "lib" / "set.tsx").read_text().replace("sheet.png", "../sheet.png"))
        (world / "map.tmx").write_text((world / "map.tmx").read_text().replace('source="set.tsx"', 'source="lib/set.tsx"'))
        planted = "lib"
    else:
        planted = ["sub", "sub/deeper", None][depth - 1]
        if planted is None:
            (world / "tiles" / "sub" / "deeper" / "more").mkdir()
            Image.fromarray(make_tiles(1, 16, seed=1)[0]).save(world / "tiles" / "sub" / "deeper" / "more" / "x.png")
            planted = "sub/deeper/more"
    link = world / "out" / planted
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(world / "victims", target_is_directory=True)
    before = tree(world / "tiles")
    result = run_upscale(world, kind, "--allow-outside") if kind == "tmx" else run_upscale(world, kind)
    assert result.exit_code == 4 and "symbolic link" in result.output, result.output
    victims_intact(world)
    assert tree(world / "tiles") == before


@pytest.mark.parametrize("kind,target", [("image", "tiles/t0.png"), ("sheet", "sheet.png"), ("tsx", "set.tsx"),
                                         ("tmx", "tiles/t0.png"), ("folder", "tiles/sub")])
def test_upscale_refuses_an_input_as_its_output(world, kind, target):
    args, _, _ = UPSCALES[kind]
    argv = [a for a in args(world)]
    argv[argv.index("-o") + 1] = world / target
    if kind == "tmx":
        argv[argv.index("-o") + 1] = world / "map.tmx"
    before = tree(world)
    result = run_cli("upscale", *argv, "--res", 32, "-q")
    assert result.exit_code == 2, result.output
    assert tree(world) == before


# ---------------------------------------------------------------- transitions, variants
def test_transitions_and_variants_write_no_file_through_a_link_at_an_output_name(world):
    outputs = {"transitions": (["transitions", world / "tiles" / "t0.png", world / "tiles" / "t1.png", "-o",
                                world / "out" / "set.tsx"], ["set.tsx", "set.png"]),
               "variants": (["variants", world / "tiles" / "t0.png", "-n", 2, "-o", world / "out"],
                            ["t0-1.png", "t0-2.png"])}
    (world / "out").mkdir()
    for args, names in outputs.values():
        for name in names:
            (world / "out" / name).symlink_to(world / "victims" / "victim")
        before = tree(world / "tiles")
        result = run_cli(*args, "--res", 16, "-q")
        assert result.exit_code == 0, result.output
        victims_intact(world)
        assert all((world / "out" / n).is_file() and not (world / "out" / n).is_symlink() for n in names)
        assert tree(world / "tiles") == before


# ---------------------------------------------------------------- train, export, bench
def train_args(world, out):
    return ["train", world / "tiles", "-o", out, "--preset", "seed-b4-h64", "--max-inputs", 32, "--batch-size", 16,
            "--threads", 1, "--val-percent", 25]


@pytest.mark.slow
def test_train_writes_no_file_through_a_link_and_refuses_its_data_as_output(world):
    out = world / "run"
    out.mkdir()
    names = ["log.csv", "loss.png", "repros.png", "checkpoint.pt", "config.json"]
    for name in names:
        (out / name).symlink_to(world / "victims" / "victim")
    result = run_cli(*train_args(world, out), "--overwrite")
    assert result.exit_code == 0, result.output
    victims_intact(world)
    assert all((out / n).is_file() and not (out / n).is_symlink() for n in names)
    before = tree(world / "tiles")
    refused = run_cli(*train_args(world, world / "tiles" / "run"))
    assert refused.exit_code == 2 and "input" in refused.output, refused.output
    assert tree(world / "tiles") == before and not (world / "tiles" / "run").exists()


def test_export_never_writes_through_a_link_in_the_model_it_replaces(world, tiny_run, tiny_model_dir):
    model = world / "model"
    shutil.copytree(tiny_model_dir, model)
    (model / "decoder.int8.onnx").unlink()
    (model / "decoder.int8.onnx").symlink_to(world / "victims" / "victim")
    result = run_cli("export", tiny_run, "-o", model)
    assert result.exit_code == 0, result.output
    victims_intact(world)
    assert not (model / "decoder.int8.onnx").is_symlink()
    linked = world / "linked-model"
    linked.symlink_to(world / "victims", target_is_directory=True)
    assert run_cli("export", tiny_run, "-o", linked).exit_code == 4
    victims_intact(world)


def test_export_refuses_its_run_as_its_output(world, tiny_run):
    run = world / "run-copy"
    shutil.copytree(tiny_run, run)
    before = tree(run)
    result = run_cli("export", run, "-o", run / "checkpoint.pt")
    assert result.exit_code in (2, 4), result.output
    assert tree(run) == before


@pytest.fixture
def canned_bench(monkeypatch):
    import manifold_bench.suite as suite

    result = {"machine": {"cpu": "test", "cores": 1, "date": "2026-01-01"},
              "training": [{"levers": "plain fp32", "vs_plain": 1.0, "inputs_per_s": 100.0}]}
    monkeypatch.setattr(suite, "run", lambda **kwargs: result)
    monkeypatch.setattr(suite, "tables", lambda result: [])


def test_bench_plot_never_writes_through_a_link_and_refuses_an_input(world, canned_bench, tiny_model_dir):
    plot = world / "plot.png"
    plot.symlink_to(world / "victims" / "victim")
    result = run_cli("bench", "--only", "training", "--plot", plot, "--data", world / "tiles")
    assert result.exit_code == 0, result.output
    victims_intact(world)
    assert not plot.is_symlink() and Image.open(plot).format == "PNG"
    for target in (world / "tiles" / "t0.png", world / "tiles" / "new.png"):
        before = tree(world / "tiles")
        refused = run_cli("bench", "--only", "training", "--plot", target, "--data", world / "tiles")
        assert refused.exit_code == 2 and "input" in refused.output, refused.output
        assert tree(world / "tiles") == before
    model = world / "model"
    shutil.copytree(tiny_model_dir, model)
    refused = run_cli("bench", "--only", "training", "--model", model, "--plot", model / "decoder.onnx")
    assert refused.exit_code == 2, refused.output
    assert json.loads((model / "model.json").read_text())


def test_eval_sheet_never_writes_through_a_link_and_refuses_an_input(world):
    result = run_cli("eval", world / "tiles", "--sheet", world / "tiles" / "t0.png", "--methods", "nearest", "--scale", "2")
    assert result.exit_code == 2


# ---------------------------------------------------------------- a user's own file at an output's name
MINE = b"my notes, not a tile"


def state(folder: Path) -> dict:
    """Every file's bytes and inode: a file replaced by identical bytes still shows (a new inode)."""
    return {str(p.relative_to(folder)): (sha(p), p.stat().st_ino) for p in sorted(folder.rglob("*")) if p.is_file()}


def refused_as_foreign(result, name: str) -> None:
    assert result.exit_code == 2, result.output
    assert "already exists and manifold did not write it" in result.output and name in result.output, result.output
    assert "Traceback" not in result.output


def resave_without_mark(path: Path) -> None:
    """What another program does: the same pixels saved again, without manifold's Software chunk."""
    with Image.open(path) as image:
        image.load()
        assert image.info.get("Software", "").startswith("manifold")  # it was marked
        copy = image.copy()
    copy.save(path, format="PNG")


@pytest.mark.parametrize("kind", UPSCALES)
def test_upscale_replaces_its_own_outputs_and_refuses_a_users_file(world, kind):
    _, folder, files = UPSCALES[kind]
    out = world / folder
    assert run_upscale(world, kind).exit_code == 0
    first = state(out)
    assert run_upscale(world, kind).exit_code == 0  # a rerun onto its own outputs: replaced, the same bytes
    again = state(out)
    assert {k: v[0] for k, v in again.items()} == {k: v[0] for k, v in first.items()}
    assert all(again[k][1] != first[k][1] for k in files)  # really written again, not skipped
    mine = out / files[-1]  # the folder's deepest tile, the Tiled tileset's sheet, the only image
    mine.write_bytes(MINE)
    before = state(out)
    refused_as_foreign(run_upscale(world, kind), files[-1])
    assert state(out) == before and mine.read_bytes() == MINE  # nothing written, not even the other outputs
    assert not [p for p in out.rglob("*") if p.name.startswith(".manifold-tmp-")]


def test_upscale_refuses_a_png_that_lost_the_mark_and_a_tsx_tiled_saved(world):
    assert run_upscale(world, "folder").exit_code == 0
    resave_without_mark(world / "out" / "t0.png")
    (world / "out" / "sub" / "t2.png").write_bytes(MINE)
    result = run_upscale(world, "folder")
    refused_as_foreign(result, ".png")
    assert ("t0.png" in result.output) != ("t2.png" in result.output)  # a folder run names the first one
    assert "and 1 more output" in result.output  # and counts the rest
    assert run_upscale(world, "tsx").exit_code == 0
    tsx = world / "out" / "set-32.tsx"
    assert b"<!-- written by manifold" in tsx.read_bytes()[:200]
    tsx.write_text("\n".join(line for line in tsx.read_text().splitlines() if "<!--" not in line))  # as Tiled saves it
    before = state(world / "out")
    refused_as_foreign(run_upscale(world, "tsx"), "set-32.tsx")
    assert state(world / "out") == before


def test_transitions_and_variants_replace_their_own_outputs_and_refuse_a_users_file(world):
    commands = {"transitions": (["transitions", world / "tiles" / "t0.png", world / "tiles" / "t1.png", "-o",
                                 world / "tr" / "set.tsx", "--res", 16, "-q"], world / "tr", "set.tsx"),
                "variants": (["variants", world / "tiles" / "t0.png", "-n", 2, "-o", world / "va", "--res", 16, "-q"],
                             world / "va", "t0-2.png")}
    for args, out, name in commands.values():
        assert run_cli(*args).exit_code == 0
        first = state(out)
        assert run_cli(*args).exit_code == 0
        assert {k: v[0] for k, v in state(out).items()} == {k: v[0] for k, v in first.items()}
        (out / name).write_bytes(MINE)
        before = state(out)
        refused_as_foreign(run_cli(*args), name)
        assert state(out) == before
    resave_without_mark(world / "tr" / "set.png")
    (world / "tr" / "set.tsx").unlink()
    refused_as_foreign(run_cli(*commands["transitions"][0]), "set.png")


def test_eval_sheet_and_blind_replace_their_own_outputs_and_refuse_a_users_file(world):
    sheet = world / "report" / "sheet.png"
    evaluate = ["eval", world / "tiles", "--sheet", sheet, "--methods", "nearest", "--scale", "2", "-q"]
    assert run_cli(*evaluate).exit_code == 0
    assert run_cli(*evaluate).exit_code == 0, "a rerun onto its own sheet"
    resave_without_mark(sheet)
    refused_as_foreign(run_cli(*evaluate), "sheet.png")

    blind = ["blind", world / "tiles", "--pair", "nearest,mmpx", "--scale", "2", "-o", world / "blind"]
    assert run_cli(*blind).exit_code == 0
    key = json.loads((world / "blind" / "key.json").read_text())
    assert key["written_by"].startswith("manifold") and key["rows"]
    first = state(world / "blind")
    assert run_cli(*blind).exit_code == 0
    assert {k: v[0] for k, v in state(world / "blind").items()} == {k: v[0] for k, v in first.items()}
    del key["written_by"]
    (world / "blind" / "key.json").write_text(json.dumps(key))  # the user's own copy of a key
    before = state(world / "blind")
    refused_as_foreign(run_cli(*blind), "key.json")
    assert state(world / "blind") == before


def test_bench_plot_replaces_its_own_plot_and_refuses_a_users_file(world, canned_bench):
    plot = world / "plot.png"
    bench = ["bench", "--only", "training", "--plot", plot, "--data", world / "tiles"]
    assert run_cli(*bench).exit_code == 0
    assert run_cli(*bench).exit_code == 0, "a rerun onto its own plot"
    resave_without_mark(plot)
    result = run_cli(*bench)
    refused_as_foreign(result, "plot.png")
    assert "--plot" in result.output
