"""The `manifold` command line (Typer + Rich): the app (app.py) with every command registered.

Data flow: ... -> runtime -> **CLI** -> plugins (which run this CLI).
"""

from __future__ import annotations

from .app import app, print_error

from .commands import info, train, export, upscale, eval, blind, bench  # noqa: F401  # isort: skip  (the order of `manifold --help`)

__all__ = ["app", "main"]


def main() -> None:
    """The `manifold` command: Typer runs it, except that a mistake on the command line (an unknown
    option, a value not among the choices, a missing argument) is one `error:` line with exit
    status 2, like every other mistake, instead of Typer's usage box."""
    import sys

    try:
        status = app(standalone_mode=False)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        show, message = getattr(exc, "show", None), getattr(exc, "format_message", None)
        if message is None or show is None:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `manifold` or `manifold COMMAND` alone: the help
            show()
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        hint = f"; see `{ctx.command_path} --help`" if ctx is not None else ""
        print_error(f"{message().rstrip('.')}{hint}")
        sys.exit(getattr(exc, "exit_code", 2))
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
