"""The `manifold` Typer app and what every command shares: one-line errors, warnings, progress.

Data flow: ... -> runtime -> **CLI** -> plugins (which run this CLI). The commands live one per
module in manifold_cli/commands/ and register themselves on `app`; cli.py imports them all.

Start-up matters (a map-editor plugin pays it per click), so heavy modules are imported
inside the commands that need them: torch only for train/export/bench/info --preset,
onnxruntime only for commands that render.
"""

from __future__ import annotations

from contextlib import contextmanager
from enum import Enum
from typing import Annotated, Iterator

import typer
from rich.console import Console

from manifold_core.errors import EXIT_INTERRUPTED, UserError
from manifold_core.pixelart import ALPHAS, PALETTES, STYLES
from manifold_core.runtime import DEVICES, EDGES, FOOTPRINTS, PRECISIONS, RenderOptions
from manifold_train.config import COORDINATES, TRAIN_PRECISIONS

app = typer.Typer(
    help="Learn a compact code for pixel-art tiles and render them again at any resolution.",
    no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
)
console = Console(stderr=True, soft_wrap=True)  # an error stays one line, whatever the width


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("manifold-tiles")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def show_version(value: bool) -> None:
    if value:
        print(f"manifold {version()}")
        raise typer.Exit()


@app.callback()
def options(
    version: Annotated[bool, typer.Option("--version", callback=show_version, is_eager=True,
                                          help="Print manifold's version and exit.")] = False,
):
    """Learn a compact code for pixel-art tiles and render them again at any resolution."""


def choices(name: str, values: tuple[str, ...]) -> type[Enum]:
    """A Typer choice type built from the constant the code itself checks against (one source)."""
    return Enum(name, {v: v for v in values}, type=str)


Device = choices("Device", DEVICES)
Coordinates = choices("Coordinates", COORDINATES)
Precision = choices("Precision", TRAIN_PRECISIONS)
InferencePrecision = choices("InferencePrecision", PRECISIONS)
Edges = choices("Edges", EDGES)
Palette = choices("Palette", PALETTES)
Alpha = choices("Alpha", ALPHAS)
Style = choices("Style", tuple(STYLES))
Footprints = choices("Footprints", FOOTPRINTS)


def one_line(message: str) -> str:
    """A message as one line: control characters (a newline in a file name) written as escapes."""
    return message if message.isprintable() else "".join(c if c.isprintable() else ascii(c)[1:-1] for c in message)


def plural(count: int, noun: str) -> str:
    """'1 tile', '3 tiles'."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def warn(message: str) -> None:
    from rich.markup import escape

    console.print(f"[bold yellow]skipped:[/] {escape(one_line(message))}", highlight=False)


def fail(message: str | UserError, code: int | None = None):
    """Print `error: message` (one line) and exit; a UserError's kind chooses the exit status
    (manifold_core.errors: 1 input, 2 command line, 4 output location, 5 memory, 6 model)."""
    if code is None:
        code = getattr(message, "exit_status", 1)
    print_error(str(message))
    raise typer.Exit(code)


@contextmanager
def command_errors(interrupted: str = "interrupted; no half-written or temporary file is left") -> Iterator[None]:
    """A rendering command's body: a UserError is its one `error:` line (a folder's skipped files
    first), Ctrl-C or SIGTERM the `interrupted` line with status 130. An ImportError counts as the
    interrupt only when a signal came (it can land inside an import); otherwise the installation is
    broken and the traceback is the report."""
    try:
        yield
    except UserError as exc:
        for line in getattr(exc, "skipped", ()):  # a folder none of whose files could be read
            warn(line)
        fail(exc)
    except (KeyboardInterrupt, ImportError) as exc:
        from .interrupts import signalled

        if isinstance(exc, ImportError) and not signalled:
            raise
        fail(interrupted, EXIT_INTERRUPTED)


def render_options(edges: Enum, style: Enum, palette: Enum | None, alpha: Enum | None,
                   footprints: Enum | None = None) -> RenderOptions:
    """--edges, --style and the --palette/--alpha that override its halves (and --footprints), as one RenderOptions."""
    styled = STYLES[style.value]
    return RenderOptions(edges.value, palette.value if palette else styled[0], alpha.value if alpha else styled[1],
                         footprints.value if footprints else "keep")


errors_printed = 0  # cli.main words an interrupt that Typer swallowed (it returns 130) only when none was


def print_error(message: str) -> None:
    """`error: message` on stderr, as one line."""
    from rich.markup import escape  # a message may hold [brackets]: a path, `pip install 'x[train]'`

    global errors_printed
    errors_printed += 1
    console.print(f"[bold red]error:[/] {escape(one_line(message))}", highlight=False)


def need_torch(what: str):
    try:
        import torch  # noqa: F401
    except ImportError:
        fail(f"{what} needs PyTorch: pip install 'manifold-tiles[train]' (or `make dev`)")



def progress_bar(disabled: bool):
    """The bar of a long command. Transient: it goes when the command ends, so what stays is the
    summary line, or the one `error:` line alone (a check that fails inside the run left "0/1 tiles")."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("tiles"),
                    TimeElapsedColumn(), console=console, disable=disabled, transient=True)

