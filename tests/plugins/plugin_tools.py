"""Shared by the editor-extension tests: external programs (Tiled, Lua), the manifold command, paths.

Not a conftest.py: the other test folders import tests/conftest.py as `conftest`, and a second
conftest module of that name would shadow it.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from conftest import missing_tool

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"


def require_program(name: str, package: str) -> str:
    """The path of `name`; without it the test fails under CI (CI=true) and skips elsewhere."""
    path = shutil.which(name)
    if path:
        return path
    missing_tool(f"{name} not found: install Debian's {package} "
                 f"(`sudo apt-get install {package}`, or `bash scripts/install_test_tools.sh` as root)")



@pytest.fixture(scope="session")
def manifold_exe() -> str:
    """The `manifold` console script of the Python running the tests (the project's venv)."""
    beside = Path(sys.executable).with_name("manifold")
    if beside.exists():
        return str(beside)
    found = shutil.which("manifold")
    if not found:
        pytest.fail("the manifold command is not installed (pip install -e .)", pytrace=False)
    return found
