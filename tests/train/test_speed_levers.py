"""The trainer's speed levers, for each model kind: the ones that promise the same numbers keep them;
the rest still learn."""

import pytest
import torch
from conftest import tiny_config, tiny_local_config

from manifold_bench.levers import make_stepper
from manifold_core.synthetic import make_tiles
from manifold_core.tiles import rgba_to_channels

TILES = torch.from_numpy(rgba_to_channels(make_tiles(32, 16, seed=3), 4))
KINDS = {"global": tiny_config, "local": tiny_local_config}


def losses(levers, steps=3, kind="global"):
    torch.set_num_threads(1)
    step, _, _ = make_stepper(levers, TILES, KINDS[kind](), batch_size=8, seed=0)
    return [float(step()[0]) for _ in range(steps)]


# the embedding cache is the global kind's (its positional embedding); channels-last is every kind's encoder
@pytest.mark.parametrize("kind,levers", [("global", {"cache_embedding": True}), ("global", {"channels_last": True}),
                                         ("global", {"cache_embedding": True, "pixels_per_tile": 0}),
                                         ("local", {"channels_last": True})])
def test_levers_that_keep_the_numbers(levers, kind):
    """Same seed, same batches: the same losses as plain fp32 eager (bench.PLAIN), step after step."""
    torch.testing.assert_close(losses(levers, kind=kind), losses({}, kind=kind), rtol=1e-5, atol=1e-6)


def test_pixel_subset_with_cached_embedding_equals_it_without():
    subset = {"pixels_per_tile": 32}
    torch.testing.assert_close(losses({**subset, "cache_embedding": True}),
                               losses({**subset, "cache_embedding": False}), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_bf16_channels_last_subset_stays_close_to_fp32(kind):
    fast = losses({"pixels_per_tile": 32, "precision": "bf16", "channels_last": True}, steps=1, kind=kind)
    plain = losses({"pixels_per_tile": 32}, steps=1, kind=kind)
    assert fast[0] != plain[0]  # really another precision
    assert abs(fast[0] - plain[0]) < 0.05 * plain[0]  # bf16 rounding only: same batch, same pixels


def test_pixel_subset_changes_the_local_kinds_loss():
    """The local kind draws its query points from the generator too: a subset is another loss."""
    assert losses({"pixels_per_tile": 32}, steps=1, kind="local") != losses({}, steps=1, kind="local")


def test_compiled_step_runs_and_matches_eager():
    torch._dynamo.reset()
    compiled = losses({"compile": True}, steps=2)
    torch.testing.assert_close(compiled, losses({}, steps=2), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_a_subset_as_large_as_the_tile_means_every_pixel(kind):
    torch.testing.assert_close(losses({"pixels_per_tile": 16 * 16}, kind=kind), losses({"pixels_per_tile": 0}, kind=kind),
                               rtol=1e-5, atol=1e-6)


def test_auto_precision_picks_bf16_only_where_the_cpu_has_it():
    from manifold_train.trainer import resolve_precision

    cpu = torch.device("cpu")
    assert resolve_precision("fp32", cpu) == "fp32" and resolve_precision("bf16", cpu) == "bf16"
    assert resolve_precision("fp32", cpu, {"amx_bf16"}) == "fp32"  # only "auto" looks at the CPU
    assert resolve_precision("auto", cpu, {"avx2", "avx512f"}) == "fp32"
    assert resolve_precision("auto", cpu, {"avx512f", "avx512_bf16"}) == "bf16"
    assert resolve_precision("auto", cpu, {"amx_bf16", "amx_tile"}) == "bf16"
