"""The section registry: one module per section, each registered once, run in an order where every
section's needs come first."""

import pytest

from manifold_bench import registry
from manifold_bench.registry import RESERVED, SECTIONS, Section, load_sections, plan, register
from manifold_core.errors import UsageError


def test_every_module_registers_the_section_it_is_named_after():
    sections = load_sections()
    assert {type(s).__module__.rsplit(".", 1)[1]: name for name, s in sections.items()} == {n: n for n in sections}
    for name, section in sections.items():
        assert section.name == name and section.summary and set(section.needs) <= set(sections)
        assert type(section).tables is not Section.tables and type(section).run is not Section.run


def test_a_second_section_of_the_same_name_is_refused(monkeypatch):
    monkeypatch.setattr(registry, "SECTIONS", dict(load_sections()))
    with pytest.raises(ValueError, match="'matmul' is registered twice"):
        register(type("Again", (Section,), {"name": "matmul", "summary": "again"}))
    with pytest.raises(ValueError, match="the result's own keys"):
        register(type("Notes", (Section,), {"name": RESERVED[3], "summary": "notes"}))
    assert set(registry.SECTIONS) == set(SECTIONS)


def test_needs_run_first_and_the_rest_by_name():
    names = [s.name for s in plan()]
    assert names == sorted(set(names), key=names.index)  # each once
    for position, name in enumerate(names):
        assert all(need in names[:position] for need in SECTIONS[name].needs)
    assert [s.name for s in plan(["memory"])] == ["startup", "memory"]
    assert [s.name for s in plan(["inference", "matmul"])] == ["matmul", "inference"]
    assert set(names) == {n for n, s in load_sections().items() if s.by_default}


def test_a_circle_of_needs_is_refused(monkeypatch):
    sections = dict(load_sections())
    monkeypatch.setattr(registry, "SECTIONS", sections)
    for a, b in (("ping", "pong"), ("pong", "ping")):
        sections[a] = type(a, (Section,), {"name": a, "summary": a, "needs": (b,)})()
    with pytest.raises(ValueError, match="ping -> pong -> ping"):
        plan(["ping"])


def test_an_unknown_section_is_a_usage_error_that_lists_them():
    with pytest.raises(UsageError, match="--only nope: choose from .*upscalers") as raised:
        plan(["nope", "matmul"])
    assert raised.value.exit_status == 2
