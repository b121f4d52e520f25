"""scripts/ is no package: its modules are loaded from their files, as `python scripts/x.py` runs them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses and pickling look a module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def new_enough_python():
    """The GPU scripts use tomllib and tarfile's extraction filters: Python 3.11 or later, as this
    workplace and its GPU machine (3.12) have; the project itself runs on 3.10."""
    if sys.version_info < (3, 11):
        pytest.skip("scripts/gpu_*.py need Python 3.11 or later (tomllib, tarfile filters)")


@pytest.fixture(scope="session")
def gpu_wheel(new_enough_python):
    return load_script("gpu_wheel")


@pytest.fixture(scope="session")
def gpu_check(new_enough_python):
    return load_script("gpu_check")
