"""The bench sections by name: each one a `Section` subclass in its own module of sections/,
registered with `@register`, which refuses a second section of the same name.

A section measures one thing and owns one key of the result (`manifold bench --json`): `run`
returns that key's JSON-ready value (or None when it cannot run here, after a note saying why),
`tables` turns the value into Rich tables, `targets` checks it against the speed targets, and
a section that can be drawn has a `plot` (one matplotlib panel). Nothing outside sections/
names a section, except where a section reads another's result, which it declares in `needs`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Any, ClassVar

from manifold_core.errors import UsageError

if TYPE_CHECKING:
    from .context import Context


class Section:
    """One part of the bench. Subclasses set the class attributes and implement `run` and `tables`."""

    name: ClassVar[str]  # the result's key and the name --only takes
    summary: ClassVar[str]  # one line: what it measures (the progress line and BENCHMARKS.md's table)
    needs: ClassVar[tuple[str, ...]] = ()  # sections whose results `run` reads: they run first, chosen or not
    in_quick: ClassVar[bool] = True  # False: --quick leaves it out (and notes that it did)
    by_default: ClassVar[bool] = True  # False: runs only when --only names it (it takes long)
    plot: ClassVar[Any] = None  # a section that draws defines `plot(self, ax, data)`

    def run(self, ctx: Context, results: dict[str, Any]) -> Any:
        """Measure; `results` holds what the sections run before this one returned (by name)."""
        raise NotImplementedError

    def tables(self, data: Any) -> list:
        """`data` (what run returned, possibly read back from JSON) as Rich tables."""
        raise NotImplementedError

    def targets(self, data: Any) -> list[dict]:
        """The speed targets this section's figures decide (see `target`); none by default."""
        return []


SECTIONS: dict[str, Section] = {}
RESERVED = ("quick", "machine", "model", "notes", "targets")  # the result's other keys (suite.py)


def register(cls: type[Section]) -> type[Section]:
    """Class decorator: add one instance of the section to SECTIONS under its name (once)."""
    if cls.name in RESERVED:
        raise ValueError(f"bench section {cls.name!r} ({cls.__module__}): the name is one of the result's own keys")
    if cls.name in SECTIONS:
        raise ValueError(f"bench section {cls.name!r} is registered twice: by {type(SECTIONS[cls.name]).__module__} "
                         f"and by {cls.__module__}")
    SECTIONS[cls.name] = cls()
    return cls


def target(name: str, goal: str, measured: float, met: bool, text: str) -> dict:
    """One row of the targets table: what, the goal, the figure, whether it is met, the figure as text."""
    return {"target": name, "goal": goal, "measured": measured, "met": bool(met), "text": text}


def load_sections() -> dict[str, Section]:
    """Import every module of sections/ (each registers its sections) and return the registry."""
    from . import sections

    for module in pkgutil.iter_modules(sections.__path__):
        importlib.import_module(f"{sections.__name__}.{module.name}")
    return SECTIONS


def plan(only: list[str] | tuple[str, ...] | None = None) -> list[Section]:
    """The sections to run, in run order: those named (default: every section that runs by default)
    and the ones they need, each need before the section that reads it, otherwise by name.

    An unknown name is a UsageError (exit status 2) that lists the names."""
    registry = load_sections()
    unknown = sorted(set(only or ()) - set(registry))
    if unknown:
        raise UsageError(f"--only {', '.join(unknown)}: choose from {', '.join(sorted(registry))}")
    chosen = list(only) if only else [n for n, s in registry.items() if s.by_default]
    order: list[Section] = []

    def visit(name: str, path: tuple[str, ...] = ()) -> None:
        if name in path:
            raise ValueError(f"bench sections need each other in a circle: {' -> '.join(path + (name,))}")
        section = registry[name]
        if section not in order:
            for need in section.needs:
                visit(need, path + (name,))
            order.append(section)

    for name in sorted(chosen):
        visit(name)
    return order
