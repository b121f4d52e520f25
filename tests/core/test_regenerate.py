"""manifold_core.regenerate: tiles mixed from several sources under masks, in the latent grid (the default
model) or as pictures (the seed model's one code per tile)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from manifold_core.regenerate import grid_latent, pixel_cells, render_composite
from manifold_core.runtime import RenderOptions, TileModel
from manifold_core.tiles import read_rgba
from manifold_core.wang import neighbours, tile_masks, wang_set

TERRAIN = Path(__file__).resolve().parents[1] / "data" / "terrain"
AUTO = RenderOptions("auto", "auto", "auto")


@pytest.fixture(scope="module")
def model():
    return TileModel.load(None, "cpu")


@pytest.fixture(scope="module")
def terrains():
    return np.stack([read_rgba(TERRAIN / "grass.png"), read_rgba(TERRAIN / "sand.png")])


def constant(value: int, count: int = 1):
    return lambda h, w: np.full((count, h + 2, w + 2), value, np.int64)


def test_one_source_everywhere_is_the_plain_upscale(model, terrains, res=128):
    """A cell away from any boundary renders exactly as upscale renders its source (at 128 from 32, in two
    passes, the mixing in the second; 64, one pass: tests/cli/test_transitions_command.py)."""
    assert grid_latent(model)
    for k in range(2):
        plain = np.concatenate(list(model.render(terrains[k:k + 1], res, res, RenderOptions("wrap", "auto", "auto", "free"))))
        mixed = render_composite(model, terrains, constant(k), res, res, AUTO)
        assert np.array_equal(mixed, plain)


@pytest.mark.parametrize("axis", ["x", "y"])
def test_two_neighbours_join_as_one_picture(model, terrains, axis):
    """Two tiles Tiled may put side by side, rendered apart, are the two halves of the picture of both
    rendered at once (sources and masks laid side by side): the join is as the inside."""
    wang = wang_set("corner")
    i, j, _ = next(p for p in neighbours(wang) if p[2] == axis and p[0] != p[1]
                   and len(set(wang.ids[p[0]][1::2] + wang.ids[p[1]][1::2])) == 2)
    masks = tile_masks(wang, 32, 32, seed=4).astype(np.int64)
    apart = render_composite(model, terrains, lambda h, w: masks[[i, j]], 64, 64, AUTO)
    doubled = np.stack([np.concatenate([t, t], axis=1 if axis == "x" else 0) for t in terrains])
    if axis == "x":
        both = np.concatenate([masks[i][:, :-1], masks[j][:, 1:]], axis=1)
        picture = render_composite(model, doubled, lambda h, w: both[None], 64, 128, AUTO)[0]
        halves = np.concatenate([apart[0], apart[1]], axis=1)
    else:
        both = np.concatenate([masks[i][:-1], masks[j][1:]], axis=0)
        picture = render_composite(model, doubled, lambda h, w: both[None], 128, 64, AUTO)[0]
        halves = np.concatenate([apart[0], apart[1]], axis=0)
    assert (picture != halves).any(-1).mean() == 0.0


def test_each_terrain_keeps_its_style_up_to_the_boundary(model, terrains):
    """Grass (39 colours) gets the pixel style, as upscale gives it: every pixel drawn in a grass cell is
    the exact colour of a grass or a sand pixel, at the boundary too; sand (934 colours, more than a
    palette) is rendered smooth, as upscale renders it."""
    masks = tile_masks(wang_set("corner"), 32, 32, seed=0).astype(np.int64)
    tiles = render_composite(model, terrains, lambda h, w: masks, 64, 64, AUTO)
    cells = pixel_cells(64, 32)
    in_grass = masks[:, cells[:, None], cells[None, :]] == 0  # [16, 64, 64]
    colours = {tuple(c) for c in terrains.reshape(-1, 4)}
    assert {tuple(c) for c in tiles[in_grass]} <= colours
    assert {tuple(c) for c in tiles[~in_grass]} - colours, "sand cells are the smooth rendering"


def test_global_code_models_composite_their_pictures(terrains):
    """The seed kind has no grid: each source is rendered at the output size and the pictures composited."""
    model = TileModel.load("seed", "cpu")
    assert not grid_latent(model)
    plain = RenderOptions("clamp", "off", "smooth")
    each = [np.concatenate(list(model.render(terrains[k:k + 1], 24, 24, plain)))[0] for k in range(2)]

    def half(h, w):
        labels = np.zeros((1, h + 2, w + 2), np.int64)
        labels[:, :, 1 + w // 2:] = 1
        return labels

    mixed = render_composite(model, terrains, half, 24, 24, plain)[0]
    assert np.array_equal(mixed[:, :12], each[0][:, :12]) and np.array_equal(mixed[:, 12:], each[1][:, 12:])
