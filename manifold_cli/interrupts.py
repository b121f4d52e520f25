"""Ctrl-C and SIGTERM as KeyboardInterrupt, installed by cli.py before anything heavy is imported.

Tiny on purpose (signal and nothing else): it is imported first. `signalled` lets a command tell
an interrupt from an ordinary failure when a library turned the KeyboardInterrupt into its own
error (onnxruntime's C extension reports an import interrupted half-way as ImportError).
"""

from __future__ import annotations

import signal

signalled: list[int] = []


def interrupt(signum, frame):
    signalled.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """SIGTERM (an editor stopping its plugin's process) and Ctrl-C both raise KeyboardInterrupt, and
    are noted; handlers someone else set are left alone."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        signal.signal(signal.SIGTERM, interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupt)


def settled() -> None:
    """The outcome is decided (the exit status is chosen): a signal from now on changes nothing.
    Ignored, not default: Python's shutdown would put back SIG_DFL, and a late SIGTERM would then
    kill the finished process and change its status."""
    for number in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(number) is interrupt:
            signal.signal(number, signal.SIG_IGN)
