"""manifold_core.seams: the step across an edge and the steps inside tiles."""

from __future__ import annotations

import numpy as np

from manifold_core.seams import edge_step, inside_step, join_report


def opaque(values) -> np.ndarray:
    v = np.asarray(values, np.uint8)
    return np.stack([v, v, v, np.full_like(v, 255)], axis=-1)


def test_steps():
    ramp = opaque(np.tile(np.arange(0, 40, 10), (4, 1)))  # 0 10 20 30 across, constant down
    assert edge_step(ramp, ramp, "x") == 30 * 3 / 4  # 30 -> 0 in three channels of four
    assert edge_step(ramp, ramp, "y") == 0
    assert inside_step(ramp) == (10 * 3 / 4 * 12 + 0 * 12) / 24
    doubled = np.repeat(np.repeat(ramp, 2, 0), 2, 1)  # a 2x upscale: half the pairs lie inside a source pixel
    assert inside_step(doubled) < inside_step(ramp)
    assert inside_step(doubled, (4, 4)) == inside_step(ramp)
    hidden = ramp.copy()
    hidden[..., 3] = 0  # a fully transparent tile: its colour does not count
    assert inside_step(hidden) == 0


def test_join_report():
    a = opaque(np.zeros((4, 4)))
    b = opaque(np.full((4, 4), 40))
    tiles = np.stack([a, b])
    report = join_report(tiles, [(0, 1, "x"), (0, 0, "x"), (1, 0, "y")], tiles)
    assert report["pairs"] == 3 and report["edge_max"] == 30 and report["edge_mean"] == 20
    assert report["inside_sources"] == 0 == report["inside_tiles"]
