"""Every file losscli writes (`--out`, `--png`, batch's records) is written here: whole or not
at all, with the permissions a plain file would get.

    with AtomicFile("result.json", force=False, inputs=["in.json"]) as out:
        out.write(text)

The data goes to a temporary file beside the target, is flushed and synced, then linked or
renamed over the target: a reader sees the old file or the new one, never half of one; a
failure (disk full, Ctrl-C, an error while rendering) removes the temporary file. On Linux
the temporary file has no name (O_TMPFILE) until it is complete: a run killed outright
(SIGKILL, the OOM killer) leaves nothing behind, where a named one stayed as `.NAME.*.tmp`.
The new file's mode is the old file's when --force replaces one, else 0666 less the umask
(0644 under umask 022), as `open()` would create it. The target must not be an input, a
symbolic link, a directory or anything but a regular file, nor exist without --force (exit
6 for each).
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterable
from typing import IO, Any

from losscli.errors import OutputError

# The files begun in this run and not committed, by path: (option, existed before). What a
# Ctrl-C left of them is then known for its message (cli/__init__.py): each is as it was.
_BEGUN: dict[str, tuple[str, bool]] = {}
# Their temporary files, by target path, until committed or discarded: a signal (Ctrl-C,
# SIGTERM) can stop the run after a temporary file is made and before the code that would
# discard it holds it (between Sink() and its try-block), so the CLI removes what is left.
_TEMPORARY: dict[str, str] = {}


# Names tried for a temporary file before giving up (each 32 random bits: a clash is rare).
NAME_TRIES = 100


def open_exclusive(path: str) -> int:
    """A new file at `path`, 0600 until its mode is set; FileExistsError if one is there."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


# An unnamed file is given its name through /proc/self/fd (linkat); without /proc, or where
# the system or the file system has no O_TMPFILE, the temporary file is named from the start.
UNNAMED = hasattr(os, "O_TMPFILE") and os.path.isdir("/proc/self/fd")
_NO_UNNAMED = (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL)


def link_unnamed(source: str, directory: str, name: str) -> None:
    """Give the unnamed file at `source` (its /proc/self/fd link) the name directory/name.
    linkat must follow the link (AT_SYMLINK_FOLLOW): os.link without a directory
    descriptor calls link(2), which links the /proc entry itself (EXDEV)."""
    dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.link(source, name, src_dir_fd=dfd, dst_dir_fd=dfd, follow_symlinks=True)
    finally:
        os.close(dfd)


def open_unnamed(directory: str) -> int | None:
    """A new file without a name in `directory`, 0600 until its mode is set; None where the
    file system cannot make one."""
    try:
        return os.open(directory, os.O_TMPFILE | os.O_WRONLY, 0o600)
    except OSError as exc:
        if exc.errno in _NO_UNNAMED:
            return None
        raise


def unfinished() -> list[str]:
    """What became of the files this run began and did not commit, for the message of an
    interrupted run: `--out FILE left unchanged` (it existed), or `--out FILE not written`."""
    return [f"{option} {path} {'left unchanged' if existed else 'not written'}"
            for path, (option, existed) in _BEGUN.items()]


def discard_unfinished() -> None:
    """Remove the temporary files of this run that were neither committed nor discarded
    (an interrupted run): the targets are left as they were."""
    for tmp in list(_TEMPORARY.values()):
        try:
            os.unlink(tmp)
        except OSError:
            pass
    _TEMPORARY.clear()


def forget() -> None:
    """A new run (the CLI run more than once in one process, as the tests do)."""
    _BEGUN.clear()
    _TEMPORARY.clear()


class AtomicFile:
    """A file written through a temporary file and a rename (see the module docstring).

    `option` names the option the path came from, for messages (`--out`, `--png`).
    """

    def __init__(self, path: str, *, force: bool = False, inputs: Iterable[str] = (),
                 binary: bool = False, option: str = "--out") -> None:
        self.path = path
        self.option = option
        self.force = force
        check_target(path, force, inputs)
        directory = directory_of(path, option)
        _BEGUN[path] = (option, os.path.lexists(path))
        mode = mode_for(path)
        self._directory = directory
        self._tmp: str | None = None  # the temporary file's name, while it has one
        try:
            fd = self._create(directory, os.path.basename(path))
        except OSError as exc:
            raise OutputError(f"cannot create a file in {directory}: {reason(exc)}",
                              "choose a writable directory", where=path) from None
        try:
            os.fchmod(fd, mode)
            # surrogateescape: a file name whose bytes are not UTF-8 (CSV and tables write it
            # as it is; JSON has escaped it already) is written as those bytes, as stdout
            # writes it in the C.UTF-8 locale, not refused with exit 6
            self._fh: IO[Any] | None = (os.fdopen(fd, "wb") if binary
                                        else os.fdopen(fd, "w", encoding="utf-8",
                                                       errors="surrogateescape"))
        except OSError as exc:
            os.close(fd)
            self._discard()
            raise self._error(exc) from None

    def _create(self, directory: str, base: str) -> int:
        """The temporary file: unnamed where the system can (open_unnamed), else created
        exclusively under a name registered (_TEMPORARY) before it exists: a signal that
        lands while it is being made (mkstemp names it only once made) cannot leave a file
        that the cleanup does not know."""
        if UNNAMED:
            fd = open_unnamed(directory)
            if fd is not None:
                return fd
        return self._named(directory, base, open_exclusive)

    def _named(self, directory: str, base: str, make: Any) -> Any:
        """make(name) under a fresh temporary name beside the target (`.BASE.RANDOM.tmp`),
        the name registered before it exists and kept as self._tmp."""
        for _ in range(NAME_TRIES):
            self._tmp = os.path.join(directory, f".{base}.{secrets.token_hex(4)}.tmp")
            _TEMPORARY[self.path] = self._tmp
            try:
                return make(self._tmp)
            except FileExistsError:
                continue
            except OSError:
                _TEMPORARY.pop(self.path, None)
                self._tmp = None
                raise
        _TEMPORARY.pop(self.path, None)
        self._tmp = None
        raise FileExistsError(errno.EEXIST, "no free temporary name", directory)

    @property
    def handle(self) -> IO[Any]:
        """The open temporary file (for writers that want a file object, e.g. savefig)."""
        assert self._fh is not None, "the file is committed or aborted"
        return self._fh

    def write(self, data: str | bytes) -> None:
        """Append to the temporary file; a failure discards it and says why."""
        try:
            self.handle.write(data)
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None

    def commit(self) -> None:
        """Sync the data and link or rename it over the target."""
        if self._fh is None:
            return
        try:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            if self._tmp is None:  # unnamed: it is reached through its descriptor
                self._publish(f"/proc/self/fd/{self._fh.fileno()}")
                self._fh.close()
            else:
                self._fh.close()
                self._publish(self._tmp)
            self._fh = None
            _TEMPORARY.pop(self.path, None)
            _BEGUN.pop(self.path, None)
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None
        except BaseException:
            self.abort()
            raise

    def _publish(self, source: str) -> None:
        """Put the temporary file (`source`: its name, or its /proc/self/fd link when it has
        none) at the target. Without --force, a hard link that cannot replace anything: a
        file that appeared at the target while this run wrote (another run, an editor) is
        refused, not silently replaced; a file system without hard links takes the rename
        after the check. With --force, a rename over the old file (an unnamed file is
        named first: a rename needs a name)."""
        if self.force:
            if self._tmp is None:
                self._named(self._directory, os.path.basename(self.path),
                            lambda name: link_unnamed(source, self._directory,
                                                      os.path.basename(name)))
            assert self._tmp is not None
            os.replace(self._tmp, self.path)
            self._tmp = None
            return
        try:
            if self._tmp is None:
                link_unnamed(source, self._directory, os.path.basename(self.path))
            else:
                os.link(self._tmp, self.path)
        except FileExistsError:
            raise OutputError("appeared while this run wrote it", f"refusing to overwrite; "
                              f"give --force, or another {self.option}",
                              where=self.path) from None
        except OSError:  # no hard links here (EPERM, ENOTSUP, EXDEV)
            if self._tmp is None:
                raise
            check_target(self.path, False)
            os.replace(self._tmp, self.path)
            self._tmp = None
            return
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:  # the target is in place; the other name is only left over
                pass
            self._tmp = None

    def abort(self) -> None:
        """Throw the data away: the target is left as it was."""
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None
        self._discard()

    def _discard(self) -> None:
        """Remove the temporary file's name, if it has one (an unnamed file went with its
        descriptor)."""
        _TEMPORARY.pop(self.path, None)
        if self._tmp is not None:
            try:
                os.unlink(self._tmp)
            except OSError:
                pass
            self._tmp = None

    def _error(self, exc: OSError) -> OutputError:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        return OutputError(f"cannot write: {reason(exc)}",
                           f"free some space or choose another {self.option}" if full
                           else f"choose another {self.option}", where=self.path)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def reason(exc: OSError) -> str:
    """An OSError as a phrase for a one-line message."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full (no space left on device)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return str(exc.strerror or exc)


def check_target(path: str, force: bool, inputs: Iterable[str] = ()) -> None:
    """Refuse (exit 6) a target that is a link, a directory, an input, not a regular file,
    or that exists without `force`."""
    if os.path.islink(path):
        raise OutputError("is a symbolic link", "refusing to write through it; give a plain "
                          "path", where=path)
    if os.path.isdir(path):
        raise OutputError("is a directory", "give a file name", where=path)
    if not os.path.lexists(path):
        return
    for source in inputs:
        if source != "-" and os.path.exists(source) and os.path.samefile(source, path):
            raise OutputError("is one of the inputs", "write to another file", where=path)
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OutputError("is not a regular file (a device, FIFO or socket)",
                          "give a file name, or redirect stdout instead of --out", where=path)
    if not force:
        raise OutputError("already exists", "use --force to overwrite it", where=path)


def check_destination(path: str, force: bool, inputs: Iterable[str] = (),
                      option: str = "--out") -> None:
    """What AtomicFile would refuse (exit 6), checked before any input is read or anything
    computed: the target (check_target) and the directory it goes in. A run whose output
    would be refused then says only that, not its warnings first (QA17b L3)."""
    check_target(path, force, inputs)
    directory = directory_of(path, option)
    if not os.path.isdir(directory):
        raise OutputError(f"no directory {directory}", f"create it, or choose another "
                          f"{option}", where=path)


def directory_of(path: str, option: str = "--out") -> str:
    """The directory a file is written in, or why it has none (exit 6)."""
    try:
        return os.path.dirname(os.path.abspath(path))
    except FileNotFoundError:  # os.getcwd() of a directory removed under the run
        raise OutputError("cannot create a file in the current directory: it no longer "
                          "exists", f"cd to a directory that exists, or give {option} "
                          "as an absolute path", where=path) from None


def mode_for(path: str) -> int:
    """The new file's permissions: the old file's when replacing one, else 0666 less umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask, read without changing it where the system says (Linux), since
    setting it to read it back races with other threads creating files."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask
