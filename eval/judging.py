"""Judges' answers to blind sheets (blind.py) and the key -> win rates per method and scale.

Data flow: blind sheets -> judges -> **answers + key -> win rates** -> report.

    answers = parse_answers(text)          # one judge's file
    rates = win_rates(key, {"judge1": answers, ...})

An answer is a line naming a row, A or B, and optionally a confidence 1-3 and a reason:

    2x-row1: A (2) keeps the checker pattern
    4x-row12 - B (confidence 3) cleaner outline

Anything else in a file (the judge's closing sentences, blank lines) is not an answer and is
ignored. A row a judge answers twice counts once, the first answer (the repeats are counted in
`repeated`); a row the key does not have is counted in `unknown`. Win rate: per scale, the
share of all judges' answers that prefer each method.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

ANSWER = re.compile(r"^\W*(?P<row>\d+x-row\d+)\s*[:=\-–—]?\s*(?P<choice>[AB])(?![A-Za-z|/])"
                    r"(?:\s*\(\s*(?:confidence\s*)?(?P<confidence>[123])\s*\))?\s*[-–—:,.]?\s*(?P<reason>.*)$",
                    re.IGNORECASE)


@dataclass(frozen=True)
class Answer:
    row: str  # e.g. 2x-row1
    choice: str  # A or B
    confidence: int | None
    reason: str


def parse_answers(text: str) -> list[Answer]:
    """Every answer line of one judge's file, in order."""
    answers = []
    for line in text.splitlines():
        m = ANSWER.match(line.strip())
        if m:
            answers.append(Answer(m["row"].lower(), m["choice"].upper(),
                                  int(m["confidence"]) if m["confidence"] else None, m["reason"].strip()))
    return answers


@dataclass
class MethodTally:
    wins: int = 0
    confidence: list[int] = field(default_factory=list)  # of its wins, where given


@dataclass
class ScaleTally:
    scale: int
    answers: int = 0
    methods: dict[str, MethodTally] = field(default_factory=dict)

    def share(self, method: str) -> float | None:
        return self.methods[method].wins / self.answers if self.answers else None


@dataclass
class WinRates:
    methods: list[str]
    scales: list[ScaleTally]
    judges: int
    unanswered: dict[str, int]  # judge -> rows of the key they did not answer
    repeated: int = 0
    unknown: int = 0

    def as_dict(self) -> dict:
        return {"methods": self.methods, "judges": self.judges, "unanswered": self.unanswered,
                "repeated": self.repeated, "unknown_rows": self.unknown,
                "scales": [{"scale": s.scale, "answers": s.answers,
                            "methods": {m: {"wins": t.wins, "share": None if s.share(m) is None else round(s.share(m), 4),
                                            "mean_confidence": round(sum(t.confidence) / len(t.confidence), 2)
                                            if t.confidence else None} for m, t in s.methods.items()}}
                           for s in self.scales]}


def row_scale(row: str) -> int:
    return int(row.split("x-", 1)[0])


def win_rates(key: dict, answers: dict[str, list[Answer]]) -> WinRates:
    """Tally every judge's answers against the key (blind.py's key.json, as a dict)."""
    rows: dict[str, dict] = key["rows"]
    methods = list(key["methods"])
    scales = sorted({row_scale(r) for r in rows})
    tallies = {s: ScaleTally(s, 0, {m: MethodTally() for m in methods}) for s in scales}
    result = WinRates(methods, [tallies[s] for s in scales], len(answers), {})
    for judge, given in answers.items():
        seen: set[str] = set()
        for answer in given:
            if answer.row not in rows:
                result.unknown += 1
                continue
            if answer.row in seen:
                result.repeated += 1
                continue
            seen.add(answer.row)
            winner = rows[answer.row][answer.choice]
            tally = tallies[row_scale(answer.row)]
            tally.answers += 1
            tally.methods[winner].wins += 1
            if answer.confidence is not None:
                tally.methods[winner].confidence.append(answer.confidence)
        result.unanswered[judge] = len(rows) - len(seen)
    return result


def read_key(text: str, name: str = "key") -> dict:
    """A key file's text (blind.py's key.json) as a dict; a UserError for anything else."""
    import json

    from manifold_core.errors import UserError

    try:
        key = json.loads(text)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to read
        key = None
    rows = key.get("rows") if isinstance(key, dict) else None
    methods = key.get("methods") if isinstance(key, dict) else None
    pairs = (methods, methods[::-1]) if isinstance(methods, list) else ()
    well_formed = (isinstance(rows, dict) and isinstance(methods, list) and len(methods) == 2
                   and all(isinstance(m, str) for m in methods)
                   and all(isinstance(r, dict) and [r.get("A"), r.get("B")] in pairs
                           and re.fullmatch(r"\d+x-row\d+", label) for label, r in rows.items()))
    if not well_formed:
        raise UserError(f"{name}: not a key written by `manifold blind` (key.json)")
    return key
