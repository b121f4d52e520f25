"""Shared by the editor-extension tests: finding external programs (Tiled, Lua) and the plugins folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"


def require_program(name: str, package: str) -> str:
    """The path of `name`; without it the test fails under CI (CI=true) and skips elsewhere."""
    path = shutil.which(name)
    if path:
        return path
    message = (f"{name} not found: install Debian's {package} "
               f"(`sudo apt-get install {package}`, or `bash scripts/install_test_tools.sh` as root)")
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(message + "; under CI this test must run", pytrace=False)
    pytest.skip(message)

