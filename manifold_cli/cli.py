"""The `manifold` command line (Typer + Rich): the app (app.py) with every command registered.

Data flow: ... -> runtime -> **CLI** -> plugins (which run this CLI).

SIGTERM (an editor stopping its plugin's process) is turned into KeyboardInterrupt before
anything else is imported, so from the first milliseconds on it unwinds like Ctrl-C: one
`error: interrupted` line, exit status 130, every temporary removed on the way out.
"""

from __future__ import annotations

import sys

from . import interrupts

interrupts.install()  # first, before the slow imports below

__all__ = ["main"]  # and `app`, loaded on first use (__getattr__)
INTERRUPTED = "error: interrupted; no half-written or temporary file is left\n"


def _app():
    from .app import app

    from .commands import info, train, export, upscale, transitions, variants, eval, blind, bench  # noqa: F401  # isort: skip  (the order of `manifold --help`)
    return app


def __getattr__(name: str):
    if name == "app":  # `from manifold_cli.cli import app`: the app with every command on it
        return _app()
    raise AttributeError(name)


def main() -> None:
    """The `manifold` command: Typer runs it, except that a mistake on the command line (an unknown
    option, a value not among the choices, a missing argument) is one `error:` line with exit
    status 2, like every other mistake, instead of Typer's usage box."""
    try:
        app = _app()
        status = app(standalone_mode=False)
    except KeyboardInterrupt:  # in the imports, or in a command that does not word it itself
        interrupts.settled()  # first: a second signal cannot cut the message short
        sys.stderr.write(INTERRUPTED)
        sys.exit(130)
    except Exception as exc:
        if type(exc).__name__ == "Abort" or interrupts.signalled:
            # click's word for a KeyboardInterrupt, or whatever a library made of one: an import cut short
            # is an ImportError from a C extension, a RuntimeError from a class body (__set_name__)
            interrupts.settled()
            sys.stderr.write(INTERRUPTED)
            sys.exit(130)
        show, message = getattr(exc, "show", None), getattr(exc, "format_message", None)
        if message is None or show is None:
            raise
        if type(exc).__name__ == "NoArgsIsHelpError":  # `manifold` or `manifold COMMAND` alone: the help
            show()
            sys.exit(0)
        from .app import print_error

        ctx = getattr(exc, "ctx", None)
        hint = f"; see `{ctx.command_path} --help`" if ctx is not None else ""
        print_error(f"{message().rstrip('.')}{hint}")
        sys.exit(getattr(exc, "exit_code", 2))
    interrupts.settled()
    if status == 130 and interrupts.signalled and not sys.modules["manifold_cli.app"].errors_printed:
        sys.stderr.write(INTERRUPTED)  # Typer turned a KeyboardInterrupt in its own parsing into 130, silently
    sys.exit(status if isinstance(status, int) else 0)


if __name__ == "__main__":
    main()
