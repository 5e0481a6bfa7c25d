"""A stop (Ctrl-C, SIGTERM) while --jobs' pool starts or stops waits for the section's end
(batch/engine._stops_deferred): raised there, not inside the pool's or the resource
tracker's locks (QA15: a run hung for ever after a Ctrl-C there), and the workers forked
in the section have SIGINT blocked, so a terminal's Ctrl-C to the group never reaches them
(their import tracebacks reached stderr)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from losscli.batch import engine

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="POSIX signals and /proc")


def test_a_ctrl_c_in_the_section_is_raised_at_its_end():
    # Sent to this thread, which blocks SIGINT in the section: it stays pending until the
    # mask is lifted at the section's end. (os.kill would let any other thread take it, as
    # a terminal's Ctrl-C may: see the next test. A thread woken late ran Python's handler
    # after the section had put KeyboardInterrupt's back, and the late KeyboardInterrupt
    # stopped a CI run's whole suite.)
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with engine._stops_deferred():
            signal.pthread_kill(threading.get_ident(), signal.SIGINT)
            for _ in range(1000):  # the main thread runs the handler between bytecodes
                pass
            steps.append("the section ran to its end")
    assert steps == ["the section ran to its end"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_ctrl_c_taken_by_another_thread_in_the_section_is_handled_at_its_end():
    # A process-wide SIGINT while this thread blocks it: another thread (numba's, a pool's)
    # takes it, and Python runs the handler in this thread at its next bytecodes. The
    # section stays open long enough for that, and the handler records rather than raises,
    # so that one taken late fails this test alone and not the whole run.
    seen = []
    ready = threading.Event()
    idle = threading.Thread(target=ready.wait, daemon=True)  # a thread free to take it
    idle.start()

    def handler(signum, frame):
        seen.append(where)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        where = "in the section's body"
        with engine._stops_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            deadline = time.monotonic() + 0.5
            while time.monotonic() < deadline:
                time.sleep(0.01)
            assert seen == []
            where = "at its end"
        deadline = time.monotonic() + 5
        while not seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen == ["at its end"]
        assert signal.getsignal(signal.SIGINT) is handler
    finally:
        signal.signal(signal.SIGINT, previous)
        ready.set()
        idle.join()


def test_a_handler_of_the_run_is_called_once_the_section_ends():
    seen = []

    def handler(signum, frame):
        seen.append(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        with engine._stops_deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):
                pass
            assert seen == []
        assert seen == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_a_process_started_in_the_section_has_sigint_blocked():
    def blocked(proc: subprocess.Popen) -> bool:
        with open(f"/proc/{proc.pid}/status") as fh:
            mask = next(line for line in fh if line.startswith("SigBlk:")).split()[1]
        return bool(int(mask, 16) >> (signal.SIGINT - 1) & 1)

    with engine._stops_deferred():
        inside = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    outside = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert blocked(inside) and not blocked(outside)
    finally:
        for proc in (inside, outside):
            proc.kill()
            proc.wait()
