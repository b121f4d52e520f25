"""scripts/gpu_check.py: the set-up it does, the pixel comparison, and the report it writes, the
last from a real (small) run of its CPU half."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from manifold_core.tiles import read_rgba, write_png

# The scripts run as files (python scripts/gpu_check.py), not as an installed package
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))

import gpu_check
from gpu_script_helpers import NEW_ENOUGH_PYTHON

pytestmark = NEW_ENOUGH_PYTHON

REPO = Path(__file__).resolve().parents[2]


def test_cuda_library_dirs_are_the_nvidia_lib_folders_with_libraries(tmp_path):
    site = tmp_path / "site-packages"
    for folder, lib in (("cu13", "libcublas.so.13"), ("cudnn", "libcudnn.so.9"), ("empty", None)):
        (site / "nvidia" / folder / "lib").mkdir(parents=True)
        if lib:
            (site / "nvidia" / folder / "lib" / lib).write_bytes(b"")
    (site / "other" / "lib").mkdir(parents=True)
    (site / "other" / "lib" / "libx.so").write_bytes(b"")
    assert gpu_check.cuda_library_dirs([str(site), str(tmp_path / "absent")]) == [
        str(site / "nvidia" / "cu13" / "lib"), str(site / "nvidia" / "cudnn" / "lib")]


@pytest.mark.slow
def test_shim_imports_this_checkout_and_runs_the_cli(tmp_path):
    bin_dir = gpu_check.make_shim(tmp_path / "shim")
    gpu_check.make_shim(tmp_path / "shim")  # again, as a rerun does: the links are replaced
    env = {"PYTHONPATH": str(tmp_path / "shim"), "PATH": f"{bin_dir}:/usr/bin:/bin"}
    where = subprocess.run([sys.executable, "-c", "import manifold_core, manifold_cli; "
                            "print(manifold_core.__file__); print(manifold_cli.__file__)"],
                           capture_output=True, text=True, env=env, cwd=tmp_path, check=True).stdout.split()
    assert where == [str(tmp_path / "shim/manifold_core/__init__.py"), str(tmp_path / "shim/manifold_cli/__init__.py")]
    assert Path(where[0]).resolve() == REPO / "core" / "__init__.py"
    helped = subprocess.run([str(bin_dir / "manifold"), "upscale", "--help"], capture_output=True, text=True, env=env)
    assert helped.returncode == 0 and "--device" in helped.stdout


def test_compare_folders_finds_the_largest_difference(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        tile = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
        other = tile.copy()
        if i == 1:
            other[2, 3, 0] = tile[2, 3, 0] ^ 0x07  # differs by up to 7
            other[5, 5, 3] = 255 - tile[5, 5, 3]
        write_png(a / f"t{i}.png", tile)
        write_png(b / f"t{i}.png", other)
    got = gpu_check.compare_folders(a, b)
    first, second = (read_rgba(p).astype(int) for p in (a / "t1.png", b / "t1.png"))
    assert got["max_difference"] == int(np.abs(first - second).max()) > 0
    assert got["pixels_differing"] == 2 and got["pixels"] == 3 * 64
    (b / "t2.png").unlink()
    with pytest.raises(RuntimeError, match="not the same files"):
        gpu_check.compare_folders(a, b)


def test_rates_compare_per_tile_when_calls_render_different_counts():
    times = {"cpu": [1.0, 2.0, 1.0], "cuda, 64 tiles per run": [0.5, 0.5, 1.0]}
    got = gpu_check.rates(times, {"cpu": 32, "cuda, 64 tiles per run": 64})
    assert got["cpu"] == {"tiles_per_s": 32.0, "vs_cpu": None}
    # 128 tiles/s at the median; per round 4x, 8x, 2x the CPU's rate: the median ratio is 4
    assert got["cuda, 64 tiles per run"] == {"tiles_per_s": 128.0, "vs_cpu": 4.0}


def test_node_placement_counts_nodes_once_per_provider(tmp_path):
    def node(name, provider, op):
        return {"cat": "Node", "name": name, "args": {"provider": provider, "op_name": op}}

    events = [{"cat": "Session", "name": "model_run", "args": {}},
              node("/Conv_kernel_time", "CUDAExecutionProvider", "Conv"),
              node("/Conv_kernel_time", "CUDAExecutionProvider", "Conv"),  # a second run of the same node
              node("/Shape_fence_before", "CPUExecutionProvider", "Shape"),
              node("/Shape_kernel_time", "CPUExecutionProvider", "Shape"),
              node("/Range_kernel_time", "CPUExecutionProvider", "Range")]
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps(events))
    assert gpu_check.node_placement(profile) == {
        "nodes": {"CUDAExecutionProvider": 1, "CPUExecutionProvider": 2}, "not_on_cuda": ["Range", "Shape"]}


def test_a_failing_stage_is_recorded_and_the_next_one_runs(tmp_path):
    report = gpu_check.Report(tmp_path, "cuda")
    with report.stage("cli"):
        raise RuntimeError("--device cuda printed CPUExecutionProvider,\n not CUDAExecutionProvider")
    with report.stage("startup"):
        report.data["startup"] = [{"device": "cpu", "provider": "CPUExecutionProvider", "seconds": 0.5}]
    written = json.loads((tmp_path / "gpu-report.json").read_text())
    assert written["errors"] == [{"stage": "cli", "error": "RuntimeError: --device cuda printed "
                                  "CPUExecutionProvider, not CUDAExecutionProvider"}]
    assert [s["stage"] for s in written["stages"]] == ["startup"]
    text = (tmp_path / "gpu-report.md").read_text()
    assert "## Errors" in text and "- cli: RuntimeError" in text
    assert "| cpu | CPUExecutionProvider | 0.50 |" in text


def test_markdown_shows_the_cuda_columns():
    """The GPU run's rows (none has run yet): ratio and the share inside onnxruntime, options shown."""
    data = {"date": "d", "candidate": "cuda", "seconds": 1, "errors": [], "speed": [
        {"model": "default", "res": 64, "candidate": "cpu", "tiles_per_call": 256, "tiles_per_s": 1234.5,
         "vs_cpu": None, "ort_share": 0.9},
        {"model": "default", "res": 64, "candidate": "cuda, 256 tiles per run", "tiles_per_call": 4096,
         "tiles_per_s": 20000.0, "vs_cpu": 16.2, "ort_share": 0.25}],
        "float": [{"model": "seed", "res": 128, "variant": "cuda, use_tf32=0", "max_abs": 3.1e-06,
                   "pixels_differing": 0, "pixels": 1048576}],
        "cuda_provider_options": {"use_tf32": "1", "device_id": "0", "cudnn_conv_algo_search": "EXHAUSTIVE"}}
    text = gpu_check.markdown(data)
    assert "| default | 64 | cpu | 256 | 1,234 | - | 90 % |" in text  # rounds half to even
    assert "| default | 64 | cuda, 256 tiles per run | 4096 | 20,000 | 16.20x | 25 % |" in text
    assert "| seed | 128 | cuda, use_tf32=0 | 3.10e-06 | 0 of 1,048,576 |" in text
    assert "`use_tf32=1`, `cudnn_conv_algo_search=EXHAUSTIVE`" in text and "device_id" not in text


@pytest.mark.slow
def test_a_real_cpu_run_writes_its_measured_figures_into_the_report(tmp_path, monkeypatch):
    """The CPU half as `gpu_check.sh --cpu-only` runs it, made small: one model, one size, 4 tiles."""
    monkeypatch.setattr(gpu_check, "MODELS", ("default",))
    monkeypatch.setattr(gpu_check, "RESOLUTIONS", (64,))
    monkeypatch.setattr(gpu_check, "CLI_TILES", 4)
    monkeypatch.setattr(gpu_check, "MAX_SPEED_TILES", 8)
    bin_dir = gpu_check.make_shim(tmp_path / "shim")
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "shim"))
    out = tmp_path / "out"
    status = gpu_check.main(["--device", "cpu", "--out", str(out), "--rounds", "2", "--seconds-per-call", "0.01",
                             "--skip", "startup"])
    data = json.loads((out / "gpu-report.json").read_text())
    assert status == 0 and data["errors"] == []
    assert [s["stage"] for s in data["stages"]] == ["machine", "cli", "float", "placement", "speed"]
    assert [(r["graph"], list(r["nodes"])) for r in data["placement"]] == [
        ("encoder", ["CPUExecutionProvider"]), ("decoder", ["CPUExecutionProvider"])]
    assert {r["provider"] for r in data["cli"]} == {"CPUExecutionProvider"}
    candidate = [r for r in data["cli"] if r["device"] == "cpu" and "max_difference" in r]
    assert candidate and candidate[0]["pixels"] == 4 * 64 * 64
    speed = data["speed"]
    assert [r["candidate"] for r in speed] == ["cpu", "cpu (CLI settings)", "cpu, 64 tiles per run"]
    assert all(r["tiles_per_s"] > 0 and r["tiles_per_call"] == 8 and 0 < r["ort_share"] <= 1 for r in speed)
    text = (out / "gpu-report.md").read_text()
    for r in speed:  # every measured figure is in the table, as measured
        assert f"| default | 64 | {r['candidate']} | 8 | {gpu_check._num(r['tiles_per_s'])} |" in text
    for r in data["float"]:
        assert f"| default | 64 | cpu | {r['max_abs']:.2e} |" in text


def test_over_budget_skips_the_stages_left_and_says_so(tmp_path):
    out = tmp_path / "out"
    status = gpu_check.main(["--device", "cpu", "--out", str(out), "--budget-s", "0"])
    data = json.loads((out / "gpu-report.json").read_text())
    assert status == 1
    assert [s["stage"] for s in data["stages"]] == ["machine"]
    assert [e["stage"] for e in data["errors"]] == ["cli", "float", "placement", "speed", "startup"]
    assert all(e["error"].startswith("skipped: ") for e in data["errors"])
    assert data["machine"]["providers"][-1] == "CPUExecutionProvider"
