"""Output that streams: stdout, or --out written progressively to a temporary file beside
it and renamed into place at the end, so the file is complete or absent (never half-written).

The target checks (symlink, directory, an input, exists without --force) are _output's.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Iterable
from typing import IO

from losscli.cli._output import _check_target, _remove, write_stdout
from losscli.errors import OutputError


class Sink:
    """write() pieces of text; commit() publishes them, abort() throws them away."""

    def __init__(self, out: str | None, force: bool = False, inputs: Iterable[str] = ()) -> None:
        self.out = None if out in (None, "-") else out
        self._tmp: str | None = None
        self._fh: IO[str] | None = None
        if self.out is None:
            if sys.stdout is None:
                raise OutputError("stdout is closed", "give --out FILE", where="<stdout>")
            return
        _check_target(self.out, force, inputs)
        directory = os.path.dirname(os.path.abspath(self.out))
        try:
            fd, self._tmp = tempfile.mkstemp(dir=directory,
                                             prefix=f".{os.path.basename(self.out)}.",
                                             suffix=".tmp")
        except OSError as exc:
            raise OutputError(f"cannot create a file in {directory}: {exc.strerror or exc}",
                              "choose a writable directory", where=self.out) from None
        self._fh = os.fdopen(fd, "w", encoding="utf-8")

    @property
    def to_stdout(self) -> bool:
        return self.out is None

    def write(self, text: str) -> None:
        if not text:
            return
        if self._fh is None:
            write_stdout(text)
            return
        try:
            self._fh.write(text)
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None

    def commit(self) -> None:
        if self._fh is None or self._tmp is None or self.out is None:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self._tmp, self.out)
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None
        self._fh = None
        self._tmp = None

    def abort(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None
        if self._tmp is not None:
            _remove(self._tmp)
            self._tmp = None

    def _error(self, exc: OSError) -> OutputError:
        what = "disk full" if exc.errno == errno.ENOSPC else f"cannot write: {exc.strerror}"
        return OutputError(what, "free space or choose another --out", where=self.out)
