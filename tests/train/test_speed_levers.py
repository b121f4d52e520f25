"""The trainer's speed levers: the ones that promise the same numbers keep them; the rest still learn."""

import pytest
import torch

from conftest import tiny_config
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import rgba_to_channels
from manifold_train.bench import make_stepper

TILES = torch.from_numpy(rgba_to_channels(make_tiles(32, 16, seed=3), 4))


def losses(levers, steps=3):
    torch.set_num_threads(1)
    step, _, _ = make_stepper(levers, TILES, tiny_config(), batch_size=8, seed=0)
    return [float(step()[0]) for _ in range(steps)]


@pytest.mark.parametrize("levers", [{"cache_embedding": True}, {"channels_last": True},
                                    {"cache_embedding": True, "pixels_per_tile": 0}])
def test_levers_that_keep_the_numbers(levers):
    """Same seed, same batches: the same losses as plain fp32 eager, step after step."""
    torch.testing.assert_close(losses(levers), losses({}), rtol=1e-5, atol=1e-6)


def test_pixel_subset_with_cached_embedding_equals_it_without():
    subset = {"pixels_per_tile": 32}
    torch.testing.assert_close(losses({**subset, "cache_embedding": True}), losses({**subset, "cache_embedding": False}),
                               rtol=1e-5, atol=1e-6)


def test_bf16_channels_last_subset_stays_close_to_fp32():
    fast = losses({"pixels_per_tile": 32, "precision": "bf16", "channels_last": True}, steps=1)
    plain = losses({"pixels_per_tile": 32}, steps=1)
    assert abs(fast[0] - plain[0]) < 0.05 * plain[0]  # bf16 rounding only: same batch, same pixels


def test_compiled_step_runs_and_matches_eager():
    torch._dynamo.reset()
    compiled = losses({"compile": True}, steps=2)
    torch.testing.assert_close(compiled, losses({}, steps=2), rtol=1e-4, atol=1e-5)


def test_a_subset_as_large_as_the_tile_means_every_pixel():
    torch.testing.assert_close(losses({"pixels_per_tile": 16 * 16}), losses({"pixels_per_tile": 0}), rtol=1e-5, atol=1e-6)
