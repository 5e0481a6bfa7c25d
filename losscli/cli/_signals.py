"""SIGTERM and SIGHUP (a `timeout`, a CI cancel, `kill PID`, a closed terminal) stop a run the
way Ctrl-C does: as a KeyboardInterrupt, so that every file being written is thrown away
(render/atomic_file.py), worker processes and clusters are stopped, and the run ends with
`error: interrupted (SIGTERM); --out FILE left unchanged` and exit 128 + the signal's number.

Installed by the `losscli` script only (cli.main), never on `import losscli`: a notebook or a
program that uses the library keeps its own signal handling. Worker processes (`--jobs`,
Dask) are spawned, so they start with the default action, not this handler: one killed with
the others (`timeout` signals the whole process group) dies quietly, and only this process
says anything.
"""

from __future__ import annotations

import os
import signal
from types import FrameType

# The signals taken like Ctrl-C. SIGINT keeps Python's own handler (a KeyboardInterrupt).
HANDLED = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


class Terminated(KeyboardInterrupt):
    """A stop asked for by a signal other than SIGINT. A KeyboardInterrupt, so that whatever
    cleans up after Ctrl-C (an `except BaseException` that discards a temporary file, typer
    turning it into exit 130, a cluster closed) does the same for it."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_received: int | None = None


def _stop(signum: int, frame: FrameType | None) -> None:
    """Raise Terminated in the main thread, once: a second signal while the first one's
    cleanup runs (removing the temporary file, stopping workers) must not cut it short, so it
    is noted and otherwise ignored (SIGKILL still ends a run that will not stop)."""
    global _received
    if _received is not None:
        return
    _received = signum
    raise Terminated(signum)


def install() -> None:
    """Take SIGTERM and SIGHUP like Ctrl-C, each where its action is the default: a signal
    ignored by whoever started us (`nohup` ignores SIGHUP) stays ignored."""
    global _received
    _received = None
    for signum in HANDLED:
        try:
            if signal.getsignal(signum) == signal.SIG_DFL:
                signal.signal(signum, _stop)
        except (ValueError, OSError):  # not the main thread, or a platform that refuses
            pass


def uninstall() -> None:
    """The default actions back (the run is over: nothing is left to clean up)."""
    for signum in HANDLED:
        try:
            if signal.getsignal(signum) is _stop:
                signal.signal(signum, signal.SIG_DFL)
        except (ValueError, OSError):
            pass


def finishing(code: int) -> None:
    """The run is over and its output flushed: a signal from here to the process's end (a
    teardown of 0.1-0.3 s where worker processes ran) ends the process at once with the
    run's own code, not 143 for a run whose output is whole (a CI job cancelled then would
    distrust a good file)."""
    def done(signum: int, frame: FrameType | None) -> None:
        os._exit(code)

    for signum in (*HANDLED, signal.SIGINT):
        try:
            if signal.getsignal(signum) in (signal.SIG_DFL, signal.default_int_handler):
                signal.signal(signum, done)
        except (ValueError, OSError):
            pass


def exit_code(default: int) -> int:
    """128 + the signal's number (143 for SIGTERM, 129 for SIGHUP), as a shell reports a
    process killed by it; `default` (130) for Ctrl-C."""
    return default if _received is None else 128 + _received


def name() -> str | None:
    """`SIGTERM`, for the message; None for Ctrl-C."""
    return None if _received is None else signal.Signals(_received).name
