"""Signals against the real `manifold` entry point: SIGTERM during the
final renames of a map leaves all of its new files or none, and SIGTERM from the first moments of
the process on is one `error: interrupted` line with status 130.

Renames are slowed down with strace's syscall delay (Debian's `strace`; skipped with the reason
where it is missing or cannot trace here), so the signal lands between two of them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from manifold_core.files import is_temporary
from manifold_core.synthetic import make_tiles

pytestmark = pytest.mark.slow
STILL = 60  # seconds a child may take to reach the chosen moment (a guard against hanging, not a measure)
MANIFOLD = Path(sys.executable).with_name("manifold")


def entry() -> list[str]:
    return [str(MANIFOLD)] if MANIFOLD.exists() else [sys.executable, "-m", "manifold_cli.cli"]


def strace_problem() -> str | None:
    if shutil.which("strace") is None:
        return "needs strace (apt-get install strace) to slow the renames down"
    probe = subprocess.run(["strace", "-f", "-qq", "-o", os.devnull, "-e", "trace=none", "true"], capture_output=True)
    return None if probe.returncode == 0 else f"strace cannot trace here: {probe.stderr.decode().strip()[:80]}"


def map_with_tilesets(folder: Path, count: int = 4) -> Path:
    folder.mkdir(parents=True)
    tilesets = []
    for i in range(count):
        Image.fromarray(np.concatenate(list(make_tiles(2, 16, seed=i)), axis=1)).save(folder / f"s{i}.png")
        tilesets.append(f'<tileset firstgid="{1 + 2 * i}" name="s{i}" tilewidth="16" tileheight="16" tilecount="2" '
                        f'columns="2"><image source="s{i}.png" width="32" height="16"/></tileset>')
    path = folder / "map.tmx"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<map version="1.10" orientation="orthogonal" '
                    'renderorder="right-down" width="2" height="1" tilewidth="16" tileheight="16">\n'
                    + "\n".join(tilesets) + '\n<layer id="1" name="l" width="2" height="1"><data encoding="csv">'
                    '1,3</data></layer>\n</map>\n')
    return path


def child_of(pid: int) -> int | None:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(text[0]) if text else None


@pytest.mark.skipif(strace_problem() is not None, reason=str(strace_problem()))
@pytest.mark.parametrize("after", [1, 3])
def test_sigterm_between_the_renames_of_a_map_leaves_all_new_files_or_none(tmp_path, after):
    maps = map_with_tilesets(tmp_path / "maps").parent
    outputs = [maps / "map-32.tmx"] + [maps / f"s{i}-32.png" for i in range(4)]
    delay = "inject=rename,renameat,renameat2:delay_exit=300000"  # 0.3 s after every rename
    proc = subprocess.Popen(["strace", "-f", "-qq", "-o", os.devnull, "-e", "trace=rename,renameat,renameat2",
                             "-e", delay, *entry(), "upscale", str(maps / "map.tmx"), "--res", "32", "-q"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + STILL
    while sum(p.exists() for p in outputs) < after:  # the chosen number of renames is done, the others are not
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"never reached rename {after}: {proc.communicate()}")
        time.sleep(0.005)
    assert sum(p.exists() for p in outputs) < len(outputs), "the renames finished before the signal"
    os.kill(child_of(proc.pid), signal.SIGTERM)
    _, err = proc.communicate(timeout=STILL)
    present = [p.name for p in outputs if p.exists()]
    assert present == [p.name for p in outputs] or present == [], present  # all or nothing
    assert not [p for p in maps.iterdir() if is_temporary(p)]
    assert proc.returncode == 130, err
    assert err.startswith("error: interrupted") and err.count("\n") == 1, err


def signal_bits(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1], 16)
    return 0


def loaded(pid: int, name: str) -> bool:
    return name in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_sigterm_is_handled_before_the_heavy_imports(tmp_path):
    """The SIGTERM handler is in place before numpy (and typer, rich...) is even loaded, and a
    SIGTERM right then is the documented line and status."""
    proc = subprocess.Popen([*entry(), "upscale", str(tmp_path / "none"), "--res", "32"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + STILL
    while not signal_bits(proc.pid, "SigCgt") & (1 << (signal.SIGTERM - 1)):
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the handler never appeared: {proc.communicate()}")
    numpy_first = loaded(proc.pid, "_multiarray_umath")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=STILL)
    assert not numpy_first, "numpy was loaded before the SIGTERM handler was installed"
    assert proc.returncode == 130, err
    assert err.startswith("error: interrupted") and err.count("\n") == 1 and "Traceback" not in err, err


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
@pytest.mark.parametrize("delay", [0.05, 0.2, 0.4, 0.6, 0.8])
def test_a_signal_at_any_moment_of_start_up_is_status_130(tmp_path, delay, number):
    Image.fromarray(make_tiles(1, 16, seed=0)[0]).save(tmp_path / "t.png")
    proc = subprocess.Popen([*entry(), "upscale", str(tmp_path / "t.png"), "--res", "32", "-o", str(tmp_path / "o.png")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + STILL
    while not signal_bits(proc.pid, "SigCgt") & (1 << (signal.SIGTERM - 1)):  # Python itself has started
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"the handler never appeared: {proc.communicate()}")
    time.sleep(delay)
    proc.send_signal(number)
    _, err = proc.communicate(timeout=STILL)
    if proc.returncode == 0:  # it finished first (a late signal is ignored once the outcome is decided)
        assert (tmp_path / "o.png").is_file()
        return
    assert proc.returncode == 130, (proc.returncode, err)
    assert err.strip() and err.strip().splitlines()[-1].startswith("error: interrupted") and "Traceback" not in err, err
    assert not [p for p in tmp_path.iterdir() if is_temporary(p)]
