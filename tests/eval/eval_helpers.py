"""Tiles and methods the eval tests share (kept here so no test module imports another)."""

import numpy as np

from manifold_core.synthetic import make_tiles
from manifold_eval.scalers import Method


def pixel_doubled(count=6, size=12, seed=0):
    art = make_tiles(count, size, seed=seed, transparent_share=0.5)
    return art.repeat(2, axis=1).repeat(2, axis=2)  # every art pixel is a 2x2 block


def gradients(count=4, size=24):
    yy, xx = np.mgrid[:size, :size] / (size - 1)
    tiles = []
    for k in range(count):
        t = np.zeros((size, size, 4), np.uint8)
        t[..., 0] = np.rint(255 * xx)
        t[..., 1] = np.rint(255 * yy)
        t[..., 2] = np.rint(255 * (xx + yy) / 2 * (k + 1) / count)
        t[..., 3] = 255
        tiles.append(t)
    return tiles


class Missing(Method):
    name, label = "ghost", "ghost"

    def missing(self):
        return "ghostscale not installed: apt-get install ghostscale"
