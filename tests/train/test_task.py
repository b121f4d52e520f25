"""The upscaling task: how tiles are shrunk and which task a batch gets."""

import numpy as np
import pytest
import torch

from manifold_train.config import TaskConfig
from manifold_train.task import draw, nearest_indices, premultiply, shrink, unpremultiply


def test_shrink_degradations():
    x = torch.arange(16.0).reshape(1, 1, 4, 4) / 16
    box = shrink(x, 2, "box")
    torch.testing.assert_close(box[0, 0, 0, 0], x[0, 0, :2, :2].mean())
    nearest = shrink(x, 2, "nearest")  # the centre of each footprint: pixels 1 and 3, as Pillow and eval
    torch.testing.assert_close(nearest[0, 0], x[0, 0, 1::2, 1::2])
    assert shrink(x, 3, "bicubic").shape == (1, 1, 3, 3)
    assert shrink(x, 4, "none") is x
    with pytest.raises(ValueError):
        shrink(x, 2, "blur")


def test_shrink_matches_manifold_eval_for_rgba_tiles():
    """Training and `manifold eval` degrade tiles the same way (premultiplied box, centre nearest)."""

    from manifold_core.synthetic import make_tiles
    from manifold_eval import degrade

    tiles = make_tiles(4, 16, seed=1)  # RGBA with transparent parts
    x = torch.from_numpy(tiles).permute(0, 3, 1, 2).float() / 255
    for name in ("box", "nearest"):
        ours = (unpremultiply(shrink(premultiply(x), 8, name)) * 255).round().permute(0, 2, 3, 1).numpy().astype(np.int16)
        theirs = np.stack([getattr(degrade, name)(t, 2) for t in tiles]).astype(np.int16)
        assert np.abs(ours - theirs).max() <= 1, name


def test_nearest_at_the_centre_phase_is_torchs_nearest_exact_at_any_scale():
    x = torch.rand(2, 4, 30, 30)
    for size in (15, 11, 20, 7):
        torch.testing.assert_close(shrink(x, size, "nearest"),
                                   torch.nn.functional.interpolate(x, size=(size, size), mode="nearest-exact"))


def test_nearest_phases_take_every_pixel_of_a_footprint():
    """At 2x the phases 0.25 and 0.75 keep pixels 0, 2, 4... and 1, 3, 5...: every pixel is some phase's."""
    assert nearest_indices(8, 4, 0.25).tolist() == [0, 2, 4, 6]
    assert nearest_indices(8, 4, 0.75).tolist() == [1, 3, 5, 7]
    assert nearest_indices(9, 3, 0.0).tolist() == [0, 3, 6] and nearest_indices(9, 3, 0.99).tolist() == [2, 5, 8]
    x = torch.arange(64.0).reshape(1, 1, 8, 8)
    torch.testing.assert_close(shrink(x, 4, "nearest", (0.25, 0.75))[0, 0], x[0, 0, 1::2, 0::2])


def draws(task, n=200, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = premultiply(torch.rand(2, 4, 16, 16))
    return [draw(x, g, task) for _ in range(n)]


def test_the_task_mix_follows_its_shares():
    found = draws(TaskConfig(round_trip=0.5, scale_two=0.5, wrap=0.0))
    sizes = {d.size for d in found}
    assert sizes == {16, 8} and {d.edges for d in found} == {"clamp"}
    assert 70 < sum(d.size == 16 for d in found) < 130  # about half the batches are round trips
    only_box = draws(TaskConfig(round_trip=0.0, scale_two=0.0, degradations=("box",)))
    assert {d.degradation for d in only_box} == {"box"} and len({d.size for d in only_box}) > 3


def test_a_random_phase_changes_what_nearest_keeps_and_the_centre_does_not():
    task = dict(round_trip=0.0, scale_two=1.0, degradations=("nearest",))
    centre = {d.low.numpy().tobytes() for d in draws(TaskConfig(**task), n=20)}
    random = {d.low.numpy().tobytes() for d in draws(TaskConfig(**task, phase="random"), n=20)}
    assert len(centre) == 1 and len(random) == 4  # the same tiles: one shrink at the centre, all four 2x2 phases


def test_task_config_problems_are_named():
    assert TaskConfig().problems() == []
    assert any("phase" in p for p in TaskConfig(phase="left").problems())
    assert any("degradations" in p for p in TaskConfig(degradations=("blur",)).problems())
    assert any("round_trip" in p for p in TaskConfig(round_trip=0.7, scale_two=0.5).problems())


def test_majority_keeps_the_colour_that_covers_most_of_each_footprint():
    x = torch.zeros(1, 1, 4, 4)
    x[0, 0, :3, :3] = 1.0  # a 3x3 white square in the top-left corner of a black 4x4 tile
    torch.testing.assert_close(shrink(x, 2, "majority")[0, 0], torch.tensor([[1.0, 1.0], [1.0, 0.0]]))
    rgba = torch.rand(2, 4, 12, 12)
    out = shrink(rgba, 4, "majority")  # every output pixel is one of its footprint's pixels, all channels
    for i in range(4):
        for j in range(4):
            block = rgba[:, :, 3 * i:3 * i + 3, 3 * j:3 * j + 3].flatten(2)
            assert all(any(torch.equal(out[b, :, i, j], block[b, :, k]) for k in range(9)) for b in range(2))
    assert shrink(rgba, 5, "majority").shape == (2, 4, 5, 5)  # 12 / 5 is no whole factor: nearest
