"""The whole bench: run the chosen sections, collect their results, notes and targets as one
JSON-ready dict (`run`); draw it as Rich tables (`tables`) and as a picture (`plot`).

The result's keys: `quick`, `machine`, `model`, one key per section that ran (its `run`'s
value), `notes` (what was skipped or compared instead) and `targets` (each speed target, the
measured figure, met or not). Sections run in `registry.plan`'s order and read each other's
results only through `needs`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from manifold_core.files import software
from manifold_core.runtime import DEFAULT_MODEL_DIR, load_card, resolve_model

from .context import Context
from .machine import machine
from .registry import Section, load_sections, plan


def run(quick: bool = False, model: str | Path | None = None, data: Path = Path("data"),
        only: list[str] | tuple[str, ...] | None = None, memory_tiles: int | None = None,
        quality_inputs: int | None = None, log: Callable[[str], None] = lambda s: None) -> dict:
    """The chosen sections (default: every section that runs by default) and those they need.

    `model`: a model folder or an embedded model's name (default: the embedded default model).
    A broken model folder is a ModelError, an unknown section a UsageError, before anything runs."""
    sections = plan(only)
    given = resolve_model(model) if model else None
    model_dir = given or DEFAULT_MODEL_DIR
    card = load_card(model_dir)
    result: dict = {"quick": quick, "machine": machine(),
                    "model": {"dir": str(model_dir), "kind": card.kind, "preset": card.preset,
                              "channels": card.channels, "input_size": card.input_size}}
    with tempfile.TemporaryDirectory(prefix="manifold-bench-") as tmp:
        ctx = Context(model_dir=model_dir, given=given, card=card, data=Path(data), quick=quick, work=Path(tmp),
                      log=log, memory_tiles=memory_tiles, quality_inputs=quality_inputs)
        for section in sections:
            missing = [n for n in section.needs if n not in result]
            if quick and not section.in_quick:
                ctx.note(f"{section.name}: full run only (--quick leaves it out)")
            elif missing:
                ctx.note(f"{section.name} skipped: it needs {', '.join(missing)}, which did not run")
            else:
                log(f"{section.name}: {section.summary}")
                value = section.run(ctx, result)
                if value is not None:  # None: it could not run here, and said why in a note
                    result[section.name] = value
    result["notes"] = ctx.notes
    result["targets"] = targets(result)
    return result


def ran(result: dict) -> list[tuple[Section, object]]:
    """(section, its value) for each section in the result, in the order they ran."""
    registry = load_sections()
    return [(registry[key], value) for key, value in result.items() if key in registry]


def targets(result: dict) -> list[dict]:
    """Each speed target that the sections in the result decide (the anchor's only where there is one)."""
    return [row for section, value in ran(result) for row in section.targets(value)]


def plottable(names: list[str] | tuple[str, ...] | None) -> list[str]:
    """Of the sections these names run (see `plan`), those that can be drawn."""
    return [s.name for s in plan(names) if s.plot is not None]


def drawable() -> list[str]:
    """Every section that can be drawn, by name."""
    return sorted(name for name, s in load_sections().items() if s.plot is not None)


def plot(result: dict, out_png: str | Path) -> None:
    """The sections that can be drawn, one panel each, side by side (matplotlib, [train] extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [(section, value) for section, value in ran(result) if section.plot is not None]
    if not panels:
        raise ValueError(f"nothing to plot: the result has none of {', '.join(drawable())}")
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4), dpi=110, squeeze=False)
    for ax, (section, value) in zip(axes[0], panels):
        section.plot(ax, value)
    m = result["machine"]
    fig.suptitle(f"manifold bench, {m.get('cpu', '?')}, {m['cores']} cores, {m['date'][:10]}", fontsize=10)
    fig.tight_layout()
    fig.savefig(out_png, format="png", metadata={"Software": software()})  # marked: a rerun may replace it
    plt.close(fig)


def tables(result: dict) -> list:
    """The result as Rich tables: the machine and model, each section's own, the notes, the targets."""
    from rich.table import Table

    m, model = result["machine"], result["model"]
    head = Table(title=f"manifold bench{' --quick' if result['quick'] else ''}: {m.get('cpu', '?')}, {m['cores']} "
                       f"cores, {m['date']}", show_header=False)
    head.add_row("model", f"{model['dir']} ({model['kind']} kind, {model['preset'] or 'no preset'})")
    if "load_average_1min" in m:
        head.add_row("load average at the start", f"{m['load_average_1min']:.2f}")
    out = [head]
    for section, value in ran(result):
        out += section.tables(value)
    if result.get("notes"):
        t = Table(title="notes: what was skipped or compared instead", show_header=False)
        for note in result["notes"]:
            t.add_row(note)
        out.append(t)
    t = Table(title="targets")
    for col in ("target", "goal", "measured", "met"):
        t.add_column(col)
    for r in result["targets"]:
        t.add_row(r["target"], r["goal"], r["text"], "yes" if r["met"] else "[bold red]no[/]")
    out.append(t)
    return out

