"""The machine's matrix-multiply rate: the ceiling the inference section's GFLOP/s are read against."""

from __future__ import annotations

import time

import numpy as np

from ..registry import Section, register

SIZE = 2048  # n x n x n: large enough for every engine to reach its peak, a second or two per multiply


def matmul_gflops(a, b, repeats: int = 5) -> float:
    """GFLOP/s of the square multiply a @ b (numpy or torch arrays), best of `repeats` after a warm-up."""
    n = a.shape[0]
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 / best / 1e9


@register
class Matmul(Section):
    name = "matmul"
    summary = "matmul rate: fp32 (best of numpy and torch) and torch bf16"

    def run(self, ctx, results) -> dict:
        import torch

        x = np.random.default_rng(0).standard_normal((2, SIZE, SIZE), np.float32)
        t = torch.from_numpy(x)
        rates = {"numpy_fp32": matmul_gflops(x[0], x[1]), "torch_fp32": matmul_gflops(t[0], t[1]),
                 "torch_bf16": matmul_gflops(t[0].bfloat16(), t[1].bfloat16())}
        return {"n": SIZE, "fp32_gflops": max(rates["numpy_fp32"], rates["torch_fp32"]),
                "bf16_gflops": rates["torch_bf16"], "by_engine": {k: round(v, 1) for k, v in rates.items()}}

    def tables(self, data) -> list:
        from rich.table import Table

        t = Table(title=f"matmul, {data['n']}^3 (the ceiling for GFLOP/s)", show_header=False)
        t.add_row("fp32 / bf16 GFLOP/s", f"{data['fp32_gflops']:.0f} / {data['bf16_gflops']:.0f}")
        t.add_row("by engine", ", ".join(f"{k} {v:.0f}" for k, v in data["by_engine"].items()))
        return [t]
