import json

import pytest

from manifold_core.errors import UserError
from manifold_eval.judging import parse_answers, read_key, win_rates

KEY = {"format": 1, "methods": ["xbrz", "manifold:default+pixel"], "scales": [2, 4], "rows": {
    "2x-row1": {"A": "xbrz", "B": "manifold:default+pixel"},
    "2x-row2": {"A": "manifold:default+pixel", "B": "xbrz"},
    "4x-row1": {"A": "xbrz", "B": "manifold:default+pixel"},
}}


def test_answer_lines_in_the_judges_format_and_looser_ones():
    text = """Judge 1
2x-row1: A (2) keeps the checker pattern
2x-row2 - b (confidence 3) cleaner outline
4x-row1: B
2x-rowN: A|B (confidence 1-3) short reason
The styles differ: one rounds, one keeps the blocks. Both are fine.
"""
    answers = parse_answers(text)
    assert [(a.row, a.choice, a.confidence) for a in answers] == [("2x-row1", "A", 2), ("2x-row2", "B", 3),
                                                                  ("4x-row1", "B", None)]
    assert answers[0].reason == "keeps the checker pattern"
    assert parse_answers("2x-row1: A|B (confidence 1-3) short reason\n2x-row3: Both look fine") == []


def test_win_rates_per_scale_over_all_judges():
    one = parse_answers("2x-row1: A (3) x\n2x-row2: A (1) y\n4x-row1: B (2)\n2x-row1: B again\n9x-row1: A")
    two = parse_answers("2x-row1: B (2)\n")
    rates = win_rates(KEY, {"one": one, "two": two})
    two_x, four_x = rates.scales
    assert (two_x.scale, two_x.answers, four_x.answers) == (2, 3, 1)
    # one: row1 -> xbrz, row2 (A is the model) -> the model; two: row1 B -> the model
    assert two_x.methods["xbrz"].wins == 1 and two_x.methods["manifold:default+pixel"].wins == 2
    assert two_x.share("manifold:default+pixel") == pytest.approx(2 / 3)
    assert four_x.share("manifold:default+pixel") == 1.0
    assert rates.repeated == 1 and rates.unknown == 1 and rates.unanswered == {"one": 0, "two": 2}
    data = rates.as_dict()
    assert data["scales"][0]["methods"]["manifold:default+pixel"] == {"wins": 2, "share": 0.6667,
                                                                      "mean_confidence": 1.5}


def test_a_key_that_is_not_ours_is_one_user_error():
    assert read_key(json.dumps(KEY))["methods"] == KEY["methods"]
    bad = [b"\xff", "[]", '{"rows": {}}', json.dumps({**KEY, "methods": ["a"]}), "[" * 100000,
           json.dumps({**KEY, "rows": {"row1": {"A": "xbrz", "B": "manifold:default+pixel"}}}),
           json.dumps({**KEY, "rows": {"2x-row1": {"A": ["x"], "B": "xbrz"}}})]
    for text in bad:
        with pytest.raises(UserError, match="not a key written by `manifold blind`"):
            read_key(text if isinstance(text, str) else text.decode("latin-1"), "k.json")
