"""Shared fixtures: procedural tiles on disk, a tiny model config, a tiny trained run and its export."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from manifold_core.synthetic import make_tiles

# The seed log's table (docs/ARCHITECTURE.md): every seed preset must reproduce it exactly.
SEED_TABLE = {
    "seed-b4-h64": 42_497,
    "seed-b8-h128": 283_649,
    "seed-b8-l4-h128": 547_841,
    "seed-b16-l1-h128": 285_697,
    "seed-b16-h128": 549_889,
    "seed-b8-h300": 1_490_401,
    "seed-b8-h256": 1_091_585,
    "seed-b8-h64-concat": 3_502_785,
}


@pytest.fixture(scope="session")
def tile_folder(tmp_path_factory) -> Path:
    """48 procedural 16x16 RGBA tiles as PNG files, some in a subfolder."""
    folder = tmp_path_factory.mktemp("tiles")
    (folder / "sub").mkdir()
    for i, tile in enumerate(make_tiles(48, 16, seed=0)):
        Image.fromarray(tile).save(folder / ("sub" if i % 5 == 0 else ".") / f"tile_{i:02d}.png")
    return folder


DEEP_FOLDER_DEPTH = 1100
RAM = Path("/dev/shm")  # for deep_folder: removing 1,100 nested folders took 5 s on this machine's disk, 0.02 s in RAM


@pytest.fixture(scope="session")
def deep_folder(tmp_path_factory) -> Path:
    """…/deep/d/d/.../d/deep.png, 1,100 folders deep; made and removed one level at a time
    (os.makedirs and shutil.rmtree recurse and would fail on it themselves)."""
    base = Path(tempfile.mkdtemp(prefix="manifold-deep-", dir=RAM)) if os.access(RAM, os.W_OK) \
        else tmp_path_factory.mktemp("deep")
    root = base / "deep"
    root.mkdir()
    here = os.getcwd()
    try:
        os.chdir(root)
        for _ in range(DEEP_FOLDER_DEPTH):
            os.mkdir("d")
            os.chdir("d")
        Image.fromarray(make_tiles(1, 8, seed=1)[0]).save("deep.png")
    finally:
        os.chdir(here)
    yield root
    try:
        os.chdir(root)
        for _ in range(DEEP_FOLDER_DEPTH):
            os.chdir("d")
        for name in os.listdir("."):
            os.unlink(name)
        for _ in range(DEEP_FOLDER_DEPTH):
            os.chdir("..")
            os.rmdir("d")
        os.chdir(here)
        root.rmdir()
        if base.parent == RAM:
            base.rmdir()
    finally:
        os.chdir(here)


def missing_tool(message: str):
    """A program or library the test needs is not here: skip with the reason, or fail under CI
    (CI=true, set by .ci/run), where `make test` has installed every one of them."""
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"{message}; under CI this test must run", pytrace=False)
    pytest.skip(message)


def tiny_config(**changes):
    """The global kind's tiny config (GlobalCode.tiny) with some fields changed."""
    from manifold_train.kinds import get

    return get("global").tiny().replace(**changes)


def tiny_local_config(**changes):
    """The local kind's tiny config (LocalGrid.tiny) with some fields changed."""
    from manifold_train.kinds import get

    return get("local").tiny().replace(**changes)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tile_folder) -> Path:
    """A tiny model trained for a few hundred steps on the procedural tiles, with the seed's plain
    recipe (every pixel, fp32); the speed levers have their own tests."""
    from manifold_train.trainer import TrainConfig, train

    out = tmp_path_factory.mktemp("run")
    train(TrainConfig(data=[str(tile_folder)], out=str(out), model=tiny_config(), max_inputs=4096,
                      batch_size=16, lr=3e-3, val_percent=20, eval_every=1024, threads=1, pixels_per_tile=0,
                      precision="fp32", channels_last=False), show_progress=False)
    return out


def run_cli(*args):
    """`manifold ARGS` in this process (Typer's CliRunner); every argument turned into a string."""
    from typer.testing import CliRunner

    from manifold_cli.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def exported(tmp_path_factory, run: Path, name: str) -> Path:
    from manifold_export.onnx_export import export_model

    out = tmp_path_factory.mktemp(name) / "model"
    export_model(run, out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, tiny_run) -> Path:
    return exported(tmp_path_factory, tiny_run, "model")


@pytest.fixture(scope="session")
def tiny_local_run(tmp_path_factory, tile_folder) -> Path:
    """A tiny local-kind model trained briefly on the procedural tiles."""
    from manifold_train.trainer import TrainConfig, train

    out = tmp_path_factory.mktemp("local-run")
    train(TrainConfig(data=[str(tile_folder)], out=str(out), model=tiny_local_config(), max_inputs=2048,
                      batch_size=16, lr=3e-3, val_percent=20, eval_every=1024, threads=1, precision="fp32",
                      channels_last=False), show_progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_local_model_dir(tmp_path_factory, tiny_local_run) -> Path:
    return exported(tmp_path_factory, tiny_local_run, "local-model")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
