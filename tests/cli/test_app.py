"""The `manifold` app itself: --version, `python -m manifold_cli`, the order of the commands in --help."""

import subprocess
import sys
from importlib.metadata import version

from conftest import run_cli


def test_version_prints_the_installed_version():
    result = run_cli("--version")
    assert result.exit_code == 0 and result.output.strip() == f"manifold {version('manifold-tiles')}"


def test_python_dash_m_runs_the_same_command():
    proc = subprocess.run([sys.executable, "-m", "manifold_cli", "--version"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and proc.stdout.strip() == f"manifold {version('manifold-tiles')}"


def test_help_lists_the_commands_in_the_order_of_the_pipeline():
    text = run_cli("--help").output
    found = [name for name in ("info", "train", "export", "upscale", "eval", "bench") if f" {name} " in text]
    assert found == ["info", "train", "export", "upscale", "eval", "bench"]
    assert sorted(found, key=text.index) == found
