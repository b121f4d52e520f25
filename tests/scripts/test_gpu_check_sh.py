"""scripts/gpu_check.sh: the calls of a GPU loan, played here on a copy of the checkout with a small
bundle: the pieces arrive one call at a time, the last call installs and starts the check, a rerun
needs no piece; and the --cpu-only dry run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# The scripts run as files (python scripts/gpu_check.py), not as an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import gpu_check
from gpu_script_helpers import NEW_ENOUGH_PYTHON, prepared

REPO = Path(__file__).resolve().parents[2]
SCRIPTS = ("gpu_check.sh", "gpu_check.py", "gpu_wheel.py")
pytestmark = [pytest.mark.slow, NEW_ENOUGH_PYTHON]  # each call starts bash and Python several times


def checkout_copy(tmp_path: Path) -> Path:
    """The scripts and pyproject.toml copied, the package folders linked: what a device call unpacks."""
    repo = tmp_path / "repo"
    (repo / "scripts").mkdir(parents=True)
    for name in SCRIPTS:
        shutil.copy(REPO / "scripts" / name, repo / "scripts" / name)
    shutil.copy(REPO / "pyproject.toml", repo / "pyproject.toml")
    import tomllib  # Python 3.11+, as the fixtures check

    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    for folder in set(packages.values()):
        (repo / folder).symlink_to(REPO / folder, target_is_directory=True)
    return repo


def device_call(repo: Path, source: Path, pieces: list[str], tmp_path: Path, *args: str):
    """One call: the checkout carries the manifest and these pieces in .whl/gpu/ (none: a rerun)."""
    carried = repo / ".whl" / "gpu"
    shutil.rmtree(carried, ignore_errors=True)
    if pieces:
        carried.mkdir(parents=True)
        for name in ("manifest.json", *pieces):
            shutil.copy(source / name, carried / name)
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)  # the device tool empties $OUT before each command
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out), "GPU_STASH": str(tmp_path / "stash")}
    env.pop("PYTHONPATH", None)
    proc = subprocess.run(["bash", str(repo / "scripts" / "gpu_check.sh"), *args], capture_output=True, text=True,
                          env=env)
    return proc, out


def test_the_calls_of_a_loan(tmp_path):
    repo = checkout_copy(tmp_path)
    source = prepared(tmp_path / "prep")
    names = [p["name"] for p in json.loads((source / "manifest.json").read_text())["pieces"]]
    for i, name in enumerate(names[:-1], 1):
        proc, out = device_call(repo, source, [name], tmp_path, "--budget-s", "0")
        assert proc.returncode == 0, proc.stderr
        assert f"pieces held: {i} of {len(names)}" in proc.stdout
        assert f"pieces held: {i} of" in (out / "gpu-check.log").read_text()  # the log comes back too
        assert not (out / "gpu-report.json").exists()
    # The last piece: install, then the check (here without CUDA, and with no time: machine stage only).
    proc, out = device_call(repo, source, [names[-1]], tmp_path, "--budget-s", "0")
    assert "(all)" in proc.stdout and "6 files match their RECORD" in proc.stdout
    report = json.loads((out / "gpu-report.json").read_text())
    assert proc.returncode == 1  # stages skipped for want of time are no success
    assert report["candidate"] == "cuda" and [s["stage"] for s in report["stages"]] == ["machine"]
    assert set(report["machine"]["cuda_libraries"]) == set(gpu_check.CUDA_LIBRARIES)
    stash = tmp_path / "stash"
    assert report["machine"]["ld_library_path"] == os.environ.get("LD_LIBRARY_PATH", "")  # no nvidia/*/lib here
    assert (stash / "site" / "alpha" / "__init__.py").is_file()
    # A rerun on the same machine: nothing carried, nothing unpacked again.
    proc, out = device_call(repo, source, [], tmp_path, "--budget-s", "0")
    assert "already holds bundle" in proc.stdout and (out / "gpu-report.md").is_file()


def test_a_damaged_piece_stops_the_call(tmp_path):
    repo = checkout_copy(tmp_path)
    source = prepared(tmp_path / "prep")
    (source / "piece-01").write_bytes(b"damaged")
    proc, out = device_call(repo, source, ["piece-01"], tmp_path)
    assert proc.returncode == 1
    assert "error: piece-01:" in proc.stdout + proc.stderr
    assert not (tmp_path / "stash" / "piece-01").exists()


def test_cpu_only_runs_the_cpu_half_and_leaves_no_temporary(tmp_path):
    before = set(Path(os.environ.get("TMPDIR", "/tmp")).glob("manifold-gpu-check.*"))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out)}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "gpu_check.sh"), "--cpu-only", "--budget-s", "0"],
                          capture_output=True, text=True, env=env)
    report = json.loads((out / "gpu-report.json").read_text())
    assert proc.returncode == 1 and report["candidate"] == "cpu"
    assert "cuda_libraries" not in report["machine"]
    assert "# GPU check" in (out / "gpu-check.log").read_text()
    assert set(Path(os.environ.get("TMPDIR", "/tmp")).glob("manifold-gpu-check.*")) == before
