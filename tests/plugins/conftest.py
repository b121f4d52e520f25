"""Fixtures for the editor-extension tests."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest


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
