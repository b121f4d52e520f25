"""The machine a run measured: CPU, cores, instruction sets, load, library versions, date (the head
of every run; rates are read against it, ratios hold across machines)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

import numpy as np

ISA = {"avx2", "fma", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"}  # what the kernels use


def machine() -> dict:
    info = {"platform": platform.platform(), "python": platform.python_version(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    if hasattr(os, "getloadavg"):  # other work on the machine at the start: the ratios hold, the rates drop
        info["load_average_1min"] = round(os.getloadavg()[0], 2)
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name"))
        flags = set(next(line for line in cpuinfo.splitlines() if line.startswith("flags")).split())
        info["isa"] = sorted(flags & ISA)
    except (OSError, StopIteration):
        info["cpu"] = platform.processor()
    import onnxruntime

    info["numpy"], info["onnxruntime"] = np.__version__, onnxruntime.__version__
    try:
        import torch

        info["torch"], info["torch_threads"] = torch.__version__, torch.get_num_threads()
    except ImportError:
        pass
    return info
