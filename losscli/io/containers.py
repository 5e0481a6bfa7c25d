"""What the readers of optional formats share: a file's named arrays read on demand, and
the one-line refusal when the extra that reads a format is not installed."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from losscli.errors import BadData


class Container(Mapping[str, Any]):
    """The named arrays of a file (tensors, columns, datasets), each read when first asked
    for: the arrays that are not roles are listed, never read.

    `close` releases the file the arrays are read from (an h5py File, a ParquetFile). Whoever
    reads the roles closes the container once they are arrays (`with container:` or
    close()): left to the garbage collector, the file stays open as long as anything holds
    the container, e.g. a notebook keeping the last exception's traceback, and h5py then
    refuses to rewrite the file in that process ("unable to truncate a file which is already
    open"). Arrays already read stay valid; reading another one after close is an error.
    """

    def __init__(self, names: list[str], load: Callable[[str], Any],
                 has: Callable[[str], bool] | None = None,
                 listing: Callable[[], list[str]] | None = None,
                 close: Callable[[], None] | None = None) -> None:
        self._names = names
        self._load = load
        self._has = has
        self._listing = listing
        self._close = close
        self._cache: dict[str, Any] = {}

    def close(self) -> None:
        """Release the file (again is harmless)."""
        close, self._close = self._close, None
        if close is not None:
            close()

    def __enter__(self) -> Container:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def listing(self) -> list[str]:
        """What messages list as the file's arrays: its names, or more where `has` finds
        arrays beyond them (an HDF5 file's datasets inside groups)."""
        return list(self._names) if self._listing is None else self._listing()

    def __getitem__(self, name: str) -> Any:
        if name not in self:
            raise KeyError(name)
        if name not in self._cache:
            self._cache[name] = self._load(name)
        return self._cache[name]

    def __contains__(self, name: object) -> bool:
        return name in self._names or (self._has is not None and isinstance(name, str)
                                       and self._has(name))

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def require_extra(module: str, extra: str, what: str, where: str) -> Any:
    """Import `module`, or refuse the input (exit 4) saying which extra reads it."""
    top = module.split(".")[0]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        try:
            present = importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            present = False
        if present:  # installed, but it cannot load (e.g. built for another numpy)
            detail = " ".join(str(exc).split())[:160]
            raise BadData(f"{what}, which needs {top}: it is installed but fails to import "
                          f"({detail})", f"install versions that work together: pip install "
                          f"--upgrade 'losscli[{extra}]'", where=where) from None
        raise BadData(f"{what}, which needs {top} (not installed)",
                      f"install the reader: pip install 'losscli[{extra}]'",
                      where=where) from None


__all__ = ["Container", "require_extra"]
