"""Reliability of `manifold upscale`: bad files, unwritable outputs, memory, kills,
concurrent runs, hostile names and inputs. Inputs are checked unchanged after every case.

Read-only and full file systems are small tmpfs mounts (root, or CAP_SYS_ADMIN); a read-only
folder falls back to permissions where not root; a case that can have neither is skipped with
the reason. Kills happen at a chosen moment: the child stops itself right after writing its
Nth temporary file and signals the test, which then kills it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tiled_project import build_project
from typer.testing import CliRunner

import manifold_cli.upscale as upscale_module
from manifold_cli.cli import app
from manifold_core.files import TEMP_PREFIX, is_temporary
from manifold_core.synthetic import make_tiles

runner = CliRunner()
STILL = 60  # seconds a child may take to reach the chosen moment (a guard against hanging, not a measure)


def digest(folder: Path) -> dict:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if is_temporary(p)] if folder.exists() else []


def upscale(*args) -> "CliRunner.Result":
    """`manifold upscale ARGS -q` in this process (no progress bar: the output is the messages)."""
    return runner.invoke(app, ["upscale", *map(str, args), "-q"])


def error_line(result) -> str:
    """The output is exactly one `error:` line (after any `skipped:` lines); returns it."""
    lines = result.output.splitlines()
    assert lines and lines[-1].startswith("error: "), result.output
    assert all(line.startswith("skipped: ") for line in lines[:-1]), result.output
    assert "Traceback" not in result.output
    return lines[-1]


def tiles_folder(root: Path, count: int = 6, size: int = 16) -> Path:
    folder = root / "tiles"
    folder.mkdir(parents=True)
    for i, tile in enumerate(make_tiles(count, size, seed=1)):
        Image.fromarray(tile).save(folder / f"t{i}.png")
    return folder


def unchanged(before: dict, folder: Path) -> bool:
    """Every file of `before` (a digest) is still there with the same content."""
    now = digest(folder)
    return all(now.get(name) == sha for name, sha in before.items())


def readable_pngs(folder: Path) -> int:
    """Every non-temporary PNG under `folder` (symlinks aside) is complete; returns how many."""
    count = 0
    for path in folder.rglob("*.png"):
        if not is_temporary(path) and not path.is_symlink():
            with Image.open(path) as image:
                image.load()
            count += 1
    return count


# ---------------------------------------------------------------- 11.6 a folder with some bad files
def test_a_folder_with_bad_files_does_every_good_tile_and_names_each_bad_one(tmp_path, tiny_model_dir):
    src = tiles_folder(tmp_path)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (src / "empty.png").write_bytes(b"")
    good = (src / "t0.png").read_bytes()
    (src / "cut.png").write_bytes(good[: len(good) // 2])  # truncated
    Image.new("RGBA", (4000, 1), (200, 0, 0, 255)).save(src / "strip.png")  # not a tile: 4000:1
    before = digest(src)
    out = tmp_path / "out"
    result = upscale(src, "--res", 24, "-o", out, "--model", tiny_model_dir, "--json")
    assert result.exit_code == 3, result.output  # done, some files skipped
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped: ")]
    assert sorted(re.search(r"/(\w+\.png)\b", line).group(1) for line in skipped) == \
        ["broken.png", "cut.png", "empty.png", "strip.png"]
    assert "not a tile" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["tiles"] == 6 and len(summary["skipped"]) == 4
    assert sorted(p.name for p in out.iterdir()) == [f"t{i}.png" for i in range(6)]
    assert readable_pngs(out) == 6 and not temporaries(out)
    assert digest(src) == before


def test_a_folder_of_only_bad_files_writes_nothing(tmp_path, tiny_model_dir):
    src = tmp_path / "tiles"
    src.mkdir()
    (src / "a.png").write_bytes(b"nope")
    (src / "b.gif").write_bytes(b"GIF89a")
    out = tmp_path / "out" / "deeper"
    result = upscale(src, "--res", 24, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 1
    assert "none of its 2 images could be read; nothing written" in error_line(result)
    assert result.output.count("skipped: ") == 2
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------- 11.5 outputs that cannot be written
def can_mount() -> str | None:
    """None when this process can mount a tmpfs, else the reason it cannot."""
    if sys.platform != "linux":
        return "tmpfs mounts need Linux"
    if os.geteuid() != 0:
        return "mounting a tmpfs needs root (CAP_SYS_ADMIN)"
    return None


@contextmanager
def tmpfs(where: Path, size: str, read_only: bool = False):
    where.mkdir(parents=True, exist_ok=True)
    reason = can_mount()
    if reason:
        pytest.skip(reason)
    options = f"size={size},mode=0777" + (",ro" if read_only else "")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True, text=True)
    if done.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


@contextmanager
def read_only_folder(where: Path):
    """A folder nothing can be written into: a read-only tmpfs as root, else permissions."""
    if can_mount() is None:
        with tmpfs(where, "1m", read_only=True):
            yield where
        return
    where.mkdir(parents=True)
    where.chmod(0o555)
    try:
        yield where
    finally:
        where.chmod(0o755)


@pytest.fixture
def sheet(tmp_path):
    path = tmp_path / "in" / "sheet.png"
    path.parent.mkdir()
    Image.fromarray(np.concatenate(list(make_tiles(4, 16, seed=2)), axis=1)).save(path)  # 64x16: 4 tiles
    return path


def kinds_of_input(tmp_path: Path, sheet: Path) -> dict:
    """name -> (INPUT, extra options) for each kind of input."""
    src = tiles_folder(tmp_path / "k")
    return {"folder": (src, []), "image": (src / "t0.png", []), "sheet": (sheet, ["--tile-size", 16]),
            "tiled": (build_project(tmp_path / "project"), [])}


@pytest.mark.parametrize("kind", ["folder", "image", "sheet", "tiled"])
def test_a_read_only_output_is_one_error_line(tmp_path, tiny_model_dir, sheet, kind):
    source, extra = kinds_of_input(tmp_path, sheet)[kind]
    before = digest(source.parent)
    with read_only_folder(tmp_path / "ro") as ro:
        out = ro / "out" if kind in ("folder", "tiled") else ro / "out.png"
        result = upscale(source, "--res", 24, "-o", out, "--model", tiny_model_dir, *extra)
        assert result.exit_code == 4, result.output
        line = error_line(result)
        assert "cannot write" in line and ("read-only" in line or "permission denied" in line)
        assert list(ro.iterdir()) == []
    assert digest(source.parent) == before


@pytest.mark.parametrize("kind", ["folder", "image", "sheet", "tiled"])
def test_an_output_under_a_file_is_one_error_line(tmp_path, tiny_model_dir, sheet, kind):
    source, extra = kinds_of_input(tmp_path, sheet)[kind]
    blocker = tmp_path / "blocker.png"
    blocker.write_bytes(b"a file")
    out = blocker / "out" if kind in ("folder", "tiled") else blocker / "out" / "x.png"
    result = upscale(source, "--res", 24, "-o", out, "--model", tiny_model_dir, *extra)
    assert result.exit_code == 4, result.output
    assert "blocker.png is in the way" in error_line(result)
    assert blocker.read_bytes() == b"a file"


@pytest.mark.skipif(not Path("/sys").is_dir(), reason="needs a /sys folder (Linux)")
def test_a_system_folder_is_one_error_line(tmp_path, tiny_model_dir):
    src = tiles_folder(tmp_path)
    result = upscale(src, "--res", 24, "-o", "/sys/manifold-out", "--model", tiny_model_dir)
    assert result.exit_code == 4, result.output
    assert "/sys/manifold-out: cannot write" in error_line(result)
    assert not Path("/sys/manifold-out").exists()


@pytest.mark.parametrize("kind", ["folder", "sheet", "tiled"])
def test_a_full_disk_is_one_error_line_and_leaves_no_temporary(tmp_path, tiny_model_dir, sheet, kind):
    source, extra = kinds_of_input(tmp_path, sheet)[kind]
    before = digest(source.parent)
    with tmpfs(tmp_path / "small", "64k") as small:
        (small / "mine.txt").write_bytes(b"x" * (56 << 10))  # the user's file; leaves about 8 KiB free
        out = small / "out" if kind in ("folder", "tiled") else small / "out.png"
        result = upscale(source, "--res", 160, "-o", out, "--model", tiny_model_dir, "--style", "smooth", *extra)  # soft: big PNGs
        assert result.exit_code == 4, result.output
        assert "the disk is full" in error_line(result)
        assert not temporaries(small)
        assert (small / "mine.txt").read_bytes() == b"x" * (56 << 10)
        if kind == "folder":
            readable_pngs(small)  # whatever tiles fitted are complete files
        else:
            assert sorted(p.name for p in small.iterdir()) == ["mine.txt"]  # all or nothing
    assert digest(source.parent) == before


# ---------------------------------------------------------------- 11.5 memory
def test_a_sheet_too_large_for_memory_is_refused_with_the_figure(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(upscale_module, "available_memory", lambda: 8 << 30)
    path = tmp_path / "sheet.png"
    Image.fromarray(make_tiles(1, 64, seed=0)[0]).save(path)
    result = upscale(path, "--tile-size", 1, "--res", 4096, "--model", tiny_model_dir)
    assert result.exit_code == 5, result.output
    line = error_line(result)
    assert "262,144x262,144 px sheet" in line and "GiB of memory and 8.0 GiB is available" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sheet.png"]


def test_one_tile_at_a_size_that_cannot_fit_is_refused(tmp_path, tiny_model_dir, monkeypatch):
    monkeypatch.setattr(upscale_module, "available_memory", lambda: 1 << 30)
    src = tiles_folder(tmp_path, count=2)
    for target in (src, src / "t0.png"):
        result = upscale(target, "--res", 4096, "-o", tmp_path / "out", "--model", tiny_model_dir)
        assert result.exit_code == 5, result.output
        assert "--res 4096x4096 needs about" in error_line(result)
    assert not (tmp_path / "out").exists()


def test_large_outputs_render_fewer_tiles_at_a_time():
    assert upscale_module.tiles_per_chunk(64, 64) == upscale_module.FILES_PER_CHUNK
    assert upscale_module.tiles_per_chunk(4096, 4096) == 1
    assert 1 < upscale_module.tiles_per_chunk(512, 512) < upscale_module.FILES_PER_CHUNK


def test_available_memory_is_a_positive_figure_on_linux():
    if not Path("/proc/meminfo").exists():
        pytest.skip("no /proc/meminfo")
    assert upscale_module.available_memory() > 0


# ---------------------------------------------------------------- 11.7 kills, 11.2 planted symlinks
CHILD = r"""
import os, sys, time
ready, nth = sys.argv[1], int(sys.argv[2])
import manifold_cli.tiled as tiled
import manifold_cli.upscale as upscale
real, calls = upscale.write_png, [0]
def write_png(path, rgba):  # stop right after the nth temporary is written, and say so
    real(path, rgba)
    calls[0] += 1
    if calls[0] == nth:
        open(ready, "w").close()
        time.sleep(600)
upscale.write_png = tiled.write_png = write_png
from manifold_cli.cli import main
sys.argv = ["manifold"] + sys.argv[3:]
main()
"""


def run_until(tmp_path: Path, nth: int, *args) -> subprocess.Popen:
    """Start `manifold ARGS` in a child that stops after writing its nth temporary."""
    ready = tmp_path / f"ready-{nth}-{time.monotonic_ns()}"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(ready), str(nth), *map(str, args)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + STILL
    while not ready.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the child never reached write {nth}: {proc.communicate()}")
        time.sleep(0.02)
    return proc


def kill_cases(tmp_path: Path, tiny_model_dir: Path):
    src = tiles_folder(tmp_path / "in", count=8)
    level = build_project(tmp_path / "project")
    sheet_path = tmp_path / "in" / "sheet.png"
    Image.fromarray(np.concatenate(list(make_tiles(4, 16, seed=2)), axis=1)).save(sheet_path)
    return {"folder": ([src, "--res", 24, "-o", tmp_path / "out"], tmp_path / "out", 5),
            "tiled": ([level, "--res", 48], level.parent, 2),
            "sheet": ([sheet_path, "--tile-size", 16, "--res", 24, "-o", tmp_path / "out.png"], tmp_path, 1)}


@pytest.mark.parametrize("kind", ["folder", "tiled", "sheet"])
def test_a_killed_run_leaves_nothing_half_written_and_the_next_run_cleans_up(tmp_path, tiny_model_dir, kind):
    args, watch, nth = kill_cases(tmp_path, tiny_model_dir)[kind]
    inputs = digest(tmp_path)
    proc = run_until(tmp_path, nth, "upscale", *args, "--model", tiny_model_dir, "-q")
    proc.kill()  # SIGKILL: no chance to clean up
    proc.communicate()
    left = temporaries(watch)
    assert left, "the kill came after the temporaries were written"
    assert all(p.name.startswith(f"{TEMP_PREFIX}{proc.pid}-") for p in left)
    readable_pngs(watch)  # every finished-looking file is complete
    if kind != "folder":  # all or nothing: no output yet, only temporaries and the inputs
        assert sorted(k for k in digest(tmp_path) if not is_temporary(k) and not k.startswith("ready-")) == \
            sorted(k for k in inputs if not k.startswith("ready-"))
    result = upscale(*args, "--model", tiny_model_dir, "-q")  # the next run over the same folder
    assert result.exit_code == 0, result.output
    assert not temporaries(watch)
    assert unchanged(inputs, tmp_path)


@pytest.mark.parametrize("kind", ["folder", "tiled"])
def test_sigterm_unwinds_like_ctrl_c_and_leaves_no_temporary(tmp_path, tiny_model_dir, kind):
    args, watch, nth = kill_cases(tmp_path, tiny_model_dir)[kind]
    before = digest(watch) if watch.exists() else {}
    proc = run_until(tmp_path, nth, "upscale", *args, "--model", tiny_model_dir, "-q")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=STILL)
    assert proc.returncode == 130, err
    assert err.startswith("error: interrupted") and err.count("\n") == 1
    assert not temporaries(watch)
    if kind == "tiled":
        assert digest(watch) == before  # all or nothing: nothing
    else:
        assert not (watch.exists() and list(watch.iterdir()))  # nothing was committed yet


def test_leftovers_in_an_output_folder_never_become_inputs(tmp_path, tiny_model_dir):
    """A killed run's temporaries in a folder that is later upscaled itself are not read as tiles."""
    src = tiles_folder(tmp_path, count=3)
    (src / f"{TEMP_PREFIX}999999999-abc.png").write_bytes(b"half a png")
    (src / "sub").mkdir()
    result = upscale(src, "--res", 24, "-o", tmp_path / "out", "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["t0.png", "t1.png", "t2.png"]


def test_symlinks_planted_in_the_output_folder_are_never_written_through(tmp_path, tiny_model_dir):
    src = tiles_folder(tmp_path, count=2)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"precious")
    out = tmp_path / "out"
    out.mkdir()
    for name in (".t0.png.tmp.png", ".t1.png.tmp.png", f"{TEMP_PREFIX}{os.getpid()}-000000000000.png"):
        (out / name).symlink_to(victim)
    (out / "t1.png").symlink_to(victim)  # even the target name itself: replaced, not followed
    result = upscale(src, "--res", 24, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 0, result.output
    assert victim.read_bytes() == b"precious"
    assert not (out / "t1.png").is_symlink() and readable_pngs(out) == 2


# ---------------------------------------------------------------- 11.8 concurrent runs
@pytest.mark.parametrize("kind", ["folder", "tiled"])
def test_three_concurrent_runs_into_one_folder_all_succeed(tmp_path, tiny_model_dir, kind):
    if kind == "folder":
        src = tiles_folder(tmp_path / "in", count=40)
        out = tmp_path / "out"
        args = [src, "--res", 24, "-o", out]
    else:
        src = build_project(tmp_path / "project")
        out = tmp_path / "hd"
        args = [src, "--res", 48, "-o", out]
    procs = [subprocess.Popen([sys.executable, "-m", "manifold_cli.cli", "upscale", *map(str, args),
                               "--model", str(tiny_model_dir), "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    results = [(p.communicate(timeout=120)[1], p.returncode) for p in procs]
    assert all(code == 0 for _, code in results), results
    assert not temporaries(out)
    alone = tmp_path / "alone"
    args[args.index(out)] = alone
    assert upscale(*args, "--model", tiny_model_dir, "-q").exit_code == 0
    assert digest(out) == {k: v for k, v in digest(alone).items()} and readable_pngs(out) > 0


# ---------------------------------------------------------------- 11.9 smaller cases
def test_a_long_strip_is_refused_not_squashed(tmp_path, tiny_model_dir):
    path = tmp_path / "strip.png"
    Image.new("RGBA", (10000, 1), (10, 200, 10, 255)).save(path)
    result = upscale(path, "--res", 32, "--model", tiny_model_dir)
    assert result.exit_code == 1
    assert "is 10000x1 px, not a tile" in error_line(result) and "--tile-size" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["strip.png"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_is_refused_without_blocking(tmp_path, tiny_model_dir):
    fifo = tmp_path / "tile.png"
    os.mkfifo(fifo)
    folder = tmp_path / "tiles"
    tiles_folder(tmp_path, count=1)
    os.mkfifo(folder / "fifo.png")
    for source in (fifo, folder):  # a child, so a regression hangs one process, not the suite
        proc = subprocess.run([sys.executable, "-m", "manifold_cli.cli", "upscale", str(source), "--res", "24",
                               "-o", str(tmp_path / "out" / source.name), "--model", str(tiny_model_dir), "-q"],
                              capture_output=True, text=True, timeout=STILL)
        if source == fifo:
            assert proc.returncode == 1 and "not a regular file" in proc.stderr and proc.stderr.count("\n") == 1
        else:
            assert proc.returncode == 0, proc.stderr  # the FIFO in a folder is not an image file
    from manifold_core.tiles import read_rgba
    with pytest.raises(Exception, match="a FIFO, not an image file"):
        read_rgba(fifo)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_fifo_at_an_outputs_name_is_the_users_and_stays(tmp_path, tiny_model_dir):
    src = tiles_folder(tmp_path, count=2)
    out = tmp_path / "out"
    out.mkdir()
    os.mkfifo(out / sorted(p.name for p in src.iterdir())[0])
    result = upscale(src, "--res", 24, "-o", out, "--model", tiny_model_dir)
    assert result.exit_code == 2 and "manifold did not write it" in error_line(result)
    assert [p.name for p in out.iterdir()] == [sorted(p.name for p in src.iterdir())[0]]
    assert stat.S_ISFIFO(os.lstat(next(out.iterdir())).st_mode)


def test_a_newline_in_a_file_name_keeps_every_message_one_line(tmp_path, tiny_model_dir):
    src = tiles_folder(tmp_path, count=2)
    (src / "bad\nname.png").write_bytes(b"not an image")
    result = upscale(src, "--res", 24, "-o", tmp_path / "out", "--model", tiny_model_dir)
    assert result.exit_code == 3
    skipped = [line for line in result.output.splitlines() if line.startswith("skipped: ")]
    assert len(skipped) == 1 and "bad\\nname.png" in skipped[0]
    missing = upscale(tmp_path / "no\nsuch.png", "--res", 24, "--model", tiny_model_dir)
    assert missing.exit_code == 1 and "no\\nsuch.png" in error_line(missing)


def test_no_telemetry_file_and_no_process_spawned(tmp_path, tiny_model_dir):
    src = tiles_folder(tmp_path, count=1)
    code = ("import subprocess, sys\n"
            "def refuse(*a, **k): raise AssertionError('a process was spawned')\n"
            "subprocess.Popen = refuse\n"
            "from manifold_cli.cli import main\n"
            "sys.argv = ['manifold'] + sys.argv[1:]\n"
            "main()")
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    env["HOME"] = str(home)
    proc = subprocess.run([sys.executable, "-c", code, "upscale", str(src), "--res", "24", "-o", str(tmp_path / "o"),
                           "--model", str(tiny_model_dir), "-q", "--device", "auto"],
                          capture_output=True, text=True, env=env, timeout=STILL)
    assert proc.returncode == 0, proc.stderr
    assert list(home.rglob("*")) == []  # onnxruntime wrote no device id or database under ~/.cache


def test_the_documented_maximum_fits_an_ordinary_machine(tiny_local_model_dir):
    """--res 4096 on one tile: bands of rows keep the decoder's share small; what remains is the
    image itself (under 2 GiB), so an 8 GB machine renders it."""
    from manifold_core.runtime import TileModel

    model = TileModel.load(tiny_local_model_dir, "cpu")
    need = upscale_module.render_memory(model, 1, 4096, 4096)
    assert need < 2 << 30, need
    model.bands = False  # an old export without bands would need the decoder on every pixel at once
    assert upscale_module.render_memory(model, 1, 4096, 4096) > 4 * need
