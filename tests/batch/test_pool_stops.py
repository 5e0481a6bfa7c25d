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

import pytest

from losscli.batch import engine

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="POSIX signals and /proc")


def test_a_ctrl_c_in_the_section_is_raised_at_its_end():
    steps = []
    with pytest.raises(KeyboardInterrupt):
        with engine._stops_deferred():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # the main thread runs the handler between bytecodes
                pass
            steps.append("the section ran to its end")
    assert steps == ["the section ran to its end"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


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
