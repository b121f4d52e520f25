"""The one error type a user sees: something they can fix, said in one line that tells them how.

Data flow: beside every stage; the CLI (manifold_cli/cli.py) turns these into `error:` lines.

Raised anywhere in the pipeline (reading tiles, training, export, the runtime); the CLI turns it
into `error: <message>` and an exit status (see `manifold_cli.cli`). Anything else that escapes is
a bug in manifold.

The subclasses only choose the exit status (`exit_status`), so scripts and editor extensions can
tell the kinds apart; catching `UserError` catches them all. The statuses (README, `--help`):

    0  done                                   3  done, but some input files were skipped
    1  an error in an input (nothing written)  4  the output location cannot be written
    2  the command line asks for the impossible 5  too large for this machine's memory
    6  the model folder is broken             130  interrupted (Ctrl-C, SIGTERM, SIGHUP)
"""

from __future__ import annotations

EXIT_SKIPPED = 3  # not an error: every readable file was done; each skipped file was named
EXIT_INTERRUPTED = 130


class UserError(ValueError):
    """A problem with the user's input or environment, said in one line that tells what to do."""

    exit_status = 1


class UsageError(UserError):
    """Options that cannot work (a malformed --res, options that do not go together, -o = the input)."""

    exit_status = 2


class OutputError(UserError):
    """The output cannot be written there: read-only, no permission, under a file, disk full, not ours to replace."""

    exit_status = 4


class TooLargeError(UserError):
    """What was asked for does not fit in this machine's memory (the message gives the figure)."""

    exit_status = 5


class ModelError(UserError):
    """A model folder that cannot be used: missing, corrupt or inconsistent files."""

    exit_status = 6


def shown(path: object) -> str:
    """A file name as an error line shows it: as is, or quoted with escapes when it holds a newline,
    another control character or bytes that are not text, so the message stays one readable line."""
    text = str(path)
    return text if text.isprintable() else ascii(text)
