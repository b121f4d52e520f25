"""Every exit status of the README's table, end to end through the installed `manifold` command
(a new process each, as a script or an editor extension runs it)."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from manifold_core.synthetic import make_tiles

pytestmark = pytest.mark.slow
MANIFOLD = Path(sys.executable).with_name("manifold")
README = Path(__file__).resolve().parents[2] / "README.md"


def manifold(*args, **kwargs) -> subprocess.CompletedProcess:
    command = [str(MANIFOLD)] if MANIFOLD.exists() else [sys.executable, "-m", "manifold_cli.cli"]
    return subprocess.run([*command, *map(str, args)], capture_output=True, text=True, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("statuses")
    (root / "tiles").mkdir()
    for i, tile in enumerate(make_tiles(3, 16, seed=4)):
        Image.fromarray(tile).save(root / "tiles" / f"t{i}.png")
    (root / "mixed").mkdir()
    Image.fromarray(make_tiles(1, 16, seed=5)[0]).save(root / "mixed" / "good.png")
    (root / "mixed" / "bad.png").write_bytes(b"not a png")
    Image.fromarray(np.full((64, 64, 4), 200, np.uint8)).save(root / "pixels.png")  # 4,096 tiles of 1 px
    (root / "a-file").write_text("in the way")
    (root / "broken-model").mkdir()
    (root / "broken-model" / "model.json").write_text("{not json")
    return root


CASES = {
    0: lambda r: ["upscale", r / "tiles", "--res", 24, "-o", r / "out0"],
    3: lambda r: ["upscale", r / "mixed", "--res", 24, "-o", r / "out3"],
    1: lambda r: ["upscale", r / "missing", "--res", 24],
    2: lambda r: ["upscale", r / "tiles", "--res", "64x"],
    4: lambda r: ["upscale", r / "tiles", "--res", 24, "-o", r / "a-file" / "out"],
    5: lambda r: ["upscale", r / "pixels.png", "--tile-size", 1, "--res", 4096, "-o", r / "huge.png"],
    6: lambda r: ["upscale", r / "tiles", "--res", 24, "-o", r / "out6", "--model", r / "broken-model"],
}


def documented() -> set[int]:
    table = README.read_text().split("### When something goes wrong", 1)[1].split("\n\n", 3)[2]
    return {int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)}


def test_every_documented_status_has_a_case_here():
    assert documented() == set(CASES) | {130}


@pytest.mark.parametrize("status", sorted(CASES))
def test_each_status_end_to_end(inputs, status):
    proc = manifold(*CASES[status](inputs), "-q")
    assert proc.returncode == status, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    if status == 0:
        assert len(lines) == 1 and lines[0].startswith("3 tiles -> ")  # the summary line
    elif status == 3:
        assert lines and lines[0].startswith("skipped: ") and all(not line.startswith("error") for line in lines)
    else:
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr


def test_status_130_end_to_end(inputs):
    command = [str(MANIFOLD)] if MANIFOLD.exists() else [sys.executable, "-m", "manifold_cli.cli"]
    proc = subprocess.Popen([*command, "upscale", str(inputs / "tiles"), "--res", "24", "-o", str(inputs / "out130")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].startswith("error: interrupted") and "Traceback" not in err
