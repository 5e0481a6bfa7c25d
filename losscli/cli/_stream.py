"""Output that streams: stdout, or --out written progressively to a temporary file beside
it and renamed into place at the end, so the file is complete or absent (never half-written).

The file is render/atomic_file.py's, the one writer of every file losscli writes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from losscli.cli._output import stdout_closed, write_stdout
from losscli.render.atomic_file import AtomicFile


class Sink:
    """write() pieces of text; commit() publishes them, abort() throws them away."""

    def __init__(self, out: str | None, force: bool = False, inputs: Iterable[str] = ()) -> None:
        self.out = None if out in (None, "-") else out
        self._file: AtomicFile | None = None
        if self.out is None:
            if sys.stdout is None:
                raise stdout_closed()
            return
        self._file = AtomicFile(self.out, force=force, inputs=inputs)

    @property
    def to_stdout(self) -> bool:
        return self.out is None

    def write(self, text: str) -> None:
        if not text:
            return
        if self._file is None:
            write_stdout(text)
            return
        self._file.write(text)

    def commit(self) -> None:
        if self._file is not None:
            self._file.commit()

    def abort(self) -> None:
        if self._file is not None:
            self._file.abort()
