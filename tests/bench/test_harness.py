"""The timing harness: turns, alternating order, medians."""

from manifold_bench.harness import interleave, rate, rate_text, ratio_text, speedup


def test_harness_interleaves_and_takes_medians():
    calls = []
    times = interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b"]  # warm-up, then alternating order
    assert [len(t) for t in times.values()] == [3, 3]
    assert speedup([1.0, 2.0, 1.0], [3.0, 2.0, 4.0]) == 3.0  # median of 3, 1, 4
    assert rate([2.0, 1.0, 4.0], 10) == 5.0


def test_cells_say_what_was_not_measured():
    assert (ratio_text(1.754), ratio_text(None), rate_text(158.26), rate_text(None)) == ("1.75x", "-", "158.3", "-")
