"""Ctrl-C, SIGTERM and SIGHUP as KeyboardInterrupt, installed by cli.py before anything heavy is imported.

Tiny on purpose (signal and nothing else): it is imported first. `signalled` lets a command tell
an interrupt from an ordinary failure when a library turned the KeyboardInterrupt into its own
error (onnxruntime's C extension reports an import interrupted half-way as ImportError).
"""

from __future__ import annotations

import signal

signalled: list[int] = []
# SIGHUP: the terminal that started a run was closed (not on Windows); left alone under nohup (ignored)
HANDLED = [getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)]


def interrupt(signum, frame):
    signalled.append(signum)
    raise KeyboardInterrupt


def install() -> None:
    """SIGTERM (an editor stopping its plugin's process), SIGHUP (its terminal closed) and Ctrl-C raise
    KeyboardInterrupt, and are noted; handlers someone else set (or nohup's ignoring) are left alone."""
    for number in HANDLED:
        if signal.getsignal(number) in (signal.SIG_DFL, signal.default_int_handler):
            signal.signal(number, interrupt)


def settled() -> None:
    """The outcome is decided (the exit status is chosen): a signal from now on changes nothing.
    Ignored, not default: Python's shutdown would put back SIG_DFL, and a late SIGTERM would then
    kill the finished process and change its status."""
    for number in HANDLED:
        if signal.getsignal(number) is interrupt:
            signal.signal(number, signal.SIG_IGN)
