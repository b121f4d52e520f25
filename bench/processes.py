"""`manifold` as a user's editor plugin runs it: a child process, timed and its peak memory read."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def manifold_command() -> list[str]:
    """The installed `manifold` executable beside this Python (what a plugin runs), else `python -m`."""
    script = Path(sys.executable).parent / "manifold"
    return [str(script)] if script.exists() else [sys.executable, "-m", "manifold_cli.cli"]


# Runs the command as its child and reports the child's peak RSS. The measuring process must be
# small: Linux carries the RSS a process had before exec() into its peak, and a child forked
# from the bench itself (torch loaded) would start from the bench's size.
_RSS_HELPER = """
import os, subprocess, sys
proc = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(proc.pid, 0)
sys.stderr.write("\\npeak_rss_kib=%d\\n" % usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_rss_mb(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MB, stdout) of one run of `cmd`, measured by a small helper process."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _RSS_HELPER, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {proc.stderr.strip()[-500:]}")
    kib = int(proc.stderr.rsplit("peak_rss_kib=", 1)[1].split()[0])  # Linux: ru_maxrss in KiB
    return wall, kib / 1024, proc.stdout


def run_quietly(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True)
