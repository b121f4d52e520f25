"""Training on several processes runs on PyTorch's own engine: torchrun + DistributedDataParallel.

Two CPU processes on the gloo backend stand in for several GPUs or hosts.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conftest import tiny_config, tiny_local_config

from manifold_bench.levers import make_stepper
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import rgba_to_channels


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


KINDS = {"global": tiny_config, "local": tiny_local_config}


def one_ddp_step(rank: int, world: int, port: int, results, kind: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.set_num_threads(1)
    # every process has its own tiles: only the gradient all-reduce can keep the weights equal
    tiles = torch.from_numpy(rgba_to_channels(make_tiles(16, 16, seed=100 + rank), 4))
    step, _, model = make_stepper({"pixels_per_tile": 32}, tiles, KINDS[kind](), batch_size=8 * world, seed=rank)
    params = list(model.parameters())
    before = torch.cat([p.detach().flatten() for p in params]).clone()
    for _ in range(3):
        step()
    after = torch.cat([p.detach().flatten() for p in params])
    gathered = [torch.zeros_like(after) for _ in range(world)]
    dist.all_gather(gathered, after)
    results.put((rank, bool((after != before).any()), all(torch.equal(g, gathered[0]) for g in gathered)))
    dist.destroy_process_group()


@pytest.mark.parametrize("kind", KINDS)
def test_ddp_keeps_two_gloo_processes_in_step(kind):
    """Each kind's own training task (the local kind draws its scale and degradation per process)."""
    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    mp.start_processes(one_ddp_step, args=(2, free_port(), results, kind), nprocs=2, join=True, start_method="spawn")
    got = sorted(results.get(timeout=30) for _ in range(2))
    assert got == [(0, True, True), (1, True, True)]  # both moved, and to the very same weights


def test_torchrun_trains_with_two_cpu_processes(tile_folder, tmp_path):
    """The real command under torchrun: rank 0 writes the run, the log counts the global batch."""
    run = tmp_path / "run"
    manifold = Path(sys.executable).parent / "manifold"
    entry = [str(manifold)] if manifold.exists() else ["-m", "manifold_cli.cli"]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           *(entry if entry[0] == "-m" else entry), "train", str(tile_folder), "--preset", "seed-b4-h64",
           "--channels", "4", "--max-inputs", "96", "--batch-size", "16", "--eval-every", "48",
           "--pixels-per-tile", "64", "--threads", "1", "--out", str(run)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    info = json.loads((run / "config.json").read_text())
    assert info["world_size"] == 2 and info["progress"]["inputs"] == 96 and info["progress"]["step"] == 6
    rows = (run / "log.csv").read_text().splitlines()
    assert [r.split(",")[0] for r in rows[1:]] == ["48", "96"]  # one log, written once, by rank 0
    assert (run / "loss.png").exists() and (run / "checkpoint.pt").exists()  # one file: weights and state
    assert "trained 96 inputs" in proc.stderr
    shutil.rmtree(run)
