"""manifold_core.variants: shifted copies, patches that cover `strength` of the inside, bands kept."""

from __future__ import annotations

import numpy as np
import pytest

from manifold_core.synthetic import make_tiles
from manifold_core.variants import SHIFTS, inside_cells, patches, rolled_copies, seam_cells, shuffle, variant_labels


def test_rolled_copies_are_the_tile_shifted():
    tile = make_tiles(1, 32, seed=3)[0]
    copies = rolled_copies(tile[None], variants=3, seed=1)
    assert len(copies.sources) == 1 + 3 * SHIFTS and np.array_equal(copies.sources[0], tile)
    for (dy, dx), source in zip(copies.offsets[1:], copies.sources[1:]):
        assert 8 <= dy <= 24 and 8 <= dx <= 24
        assert np.array_equal(source, np.roll(tile, (dy, dx), axis=(0, 1)))
    assert copies.of[(2, 0)] == [3, 4]
    again = rolled_copies(tile[None], variants=3, seed=1)
    assert again.offsets == copies.offsets and rolled_copies(tile[None], 3, seed=2).offsets != copies.offsets


@pytest.mark.parametrize("strength", [0.0, 0.25, 0.5, 0.75, 1.0])
def test_patches_cover_strength_of_the_inside_and_never_the_bands(strength):
    chosen = patches(32, 32, strength, 7, 1)
    inside = inside_cells(32, 32)
    assert not chosen[~inside].any()
    share = (chosen[inside] > 0).mean()
    assert abs(share - strength) < 0.02, share
    assert set(np.unique(chosen)) <= {0, 1, 2}


def test_shuffle_takes_cells_from_the_copies():
    tile = make_tiles(1, 16, seed=0)[0]
    copies = rolled_copies(tile[None], variants=2, seed=0)
    base = np.zeros((34, 34), np.int64)
    assert np.array_equal(shuffle(base, copies, 0, 0.5, 0, [True]), base)  # variant 0 is the tile
    one = shuffle(base, copies, 1, 0.5, 0, [True])
    assert set(np.unique(one)) == {0, *copies.of[(1, 0)]}
    assert not np.array_equal(one, shuffle(base, copies, 2, 0.5, 0, [True]))
    # not seamless: the cells next to a copy's wrap-around seam stay the tile's
    clamped = shuffle(base, copies, 1, 1.0, 0, [False])
    for index in copies.of[(1, 0)]:
        near = seam_cells(copies.offsets[index], (16, 16), 32, 32)
        assert not (clamped[near] == index).any()
    assert (clamped != 0).any()


def test_variant_labels():
    tile = make_tiles(1, 16, seed=0)[0]
    copies = rolled_copies(tile[None], variants=4, seed=0)
    labels = variant_labels(copies, 4, 0.5, 0, [True])(24, 24)
    assert labels.shape == (4, 26, 26)
    assert len({labels[k].tobytes() for k in range(4)}) == 4
    assert not labels[:, ~inside_cells(24, 24)].any()
