"""manifold_core.noise: seeded, smooth, bounded."""

from __future__ import annotations

import numpy as np

from manifold_core.noise import seeded, smoothstep, value_noise


def test_seeded_generators_depend_on_the_key_alone():
    assert seeded(1, "a", 2).random() == seeded(1, "a", 2).random()
    assert seeded(1, "a", 2).random() != seeded(1, "a", 3).random() != seeded(2, "a", 2).random()


def test_value_noise_is_smooth_and_bounded():
    u, v = np.meshgrid(np.linspace(0, 1, 200), np.linspace(0, 1, 200))
    n = value_noise(seeded(0), u, v, 0.25)
    assert n.min() >= -1 and n.max() <= 1 and n.std() > 0.1
    assert np.abs(np.diff(n, axis=1)).max() < 0.1  # no jumps between neighbouring points 1/200 apart
    # the same field sampled on a coarser grid: the same values where the points coincide
    coarse = value_noise(seeded(0), u[::4, ::4], v[::4, ::4], 0.25)
    assert np.allclose(coarse, n[::4, ::4])


def test_smoothstep_is_flat_outside():
    assert smoothstep(np.array([-1.0, 0.0, 0.5, 1.0, 2.0])).tolist() == [0.0, 0.0, 0.5, 1.0, 1.0]
