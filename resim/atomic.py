"""Output files written through the path the user named, whole or not at all
(docs/output.md states the rules for users).

:func:`write_bytes` writes (and :func:`write_chunks`, for data made piece by piece)

* a regular file (or a new one) through a temporary file beside it, flushed to disk, and a
  rename: a reader, or a run killed half-way, never sees half a file. An existing file
  keeps its mode and (where allowed, e.g. as root) its owner; a new one gets the usual
  ``0666 & ~umask``. An existing file you may not write (``os.access``: a read-only 0400
  file, unless you are root) is refused, as ``cp`` refuses it, though a rename could
  replace it; whether it is readable does not matter;
* a regular file with more than one hard link in place, so that every name sees the new
  content (as ``cp`` and the shell's ``>`` do; a rename would leave the other names with
  the old one). Its new size is reserved first, so a full disk leaves it as it was. (A
  program's own files, such as a run's checkpoint, ask for the rename instead:
  ``keep_links=False``);
* the file a symbolic link points to, the same way: the link stays a link;
* anything else in place, with no temporary file: a FIFO, ``/dev/null``, a terminal; and a
  path in ``/proc`` or reached through a link into it, such as ``/dev/stdout`` or
  ``/dev/fd/3``, which names an open file of the process (``-o /dev/stdout >> log`` appends
  to ``log``, as the shell asked, rather than replacing it).

Every failure is an :class:`~resim.errors.OutputError` naming the path the caller gave,
never the temporary file. :func:`check_writable` finds the likely ones (an empty path, a
missing folder, a folder that is a file or not writable, a read-only file) before any work
is done, and refuses an output that is the same file as one of the command's inputs.
"""

from __future__ import annotations

import contextlib
import errno
import mmap
import os
import stat
import sys
import tempfile
from collections.abc import Iterable

from .errors import OutputError


def _umask() -> int:
    """The umask now (read at each write: ``resim serve`` sets each client's own)."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/self/status") as fh:  # Linux: read without setting it (no race with threads)
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere the only way to read it is to set it
    os.umask(mask)
    return mask


def write_bytes(path: str | os.PathLike, data: bytes | memoryview, *, keep_links: bool = True) -> None:
    """Write ``data`` to ``path`` as the module docstring says; :class:`OutputError` if it
    cannot be written (the old content, if any, is then left as it was for regular files).
    ``keep_links=False``: a file with several hard links is replaced like any other, whole
    or not at all, and its other names keep the old content (a run folder's files: a
    ``cp -al`` backup of it stays a backup)."""
    try:
        st = _stat(path)
        if _in_place(path, st):
            append = os.O_APPEND if stat.S_ISREG(st.st_mode) else 0  # /dev/stdout redirected to a file
            with open(os.open(path, os.O_WRONLY | append), "wb") as fh:
                fh.write(data)
            return
        if st is not None and not os.access(path, os.W_OK):
            raise _error(path, _read_only(st))
        if st is not None and st.st_nlink > 1 and keep_links:
            _overwrite(path, data)
        else:
            _replace(os.path.realpath(path), (data,), st)
    except OSError as exc:
        raise _error(path, exc.strerror or str(exc)) from exc


def write_chunks(path: str | os.PathLike, chunks: Iterable[bytes], *, keep_links: bool = True) -> None:
    """:func:`write_bytes` of the ``chunks`` joined, without joining them: each is written
    as it comes (a solution of millions of elements as JSON is never held whole). The rules
    are the same: a regular file through a temporary file and a rename; one with several
    hard links from a temporary file copied in place, its size reserved first; a FIFO, a
    device or an open file of the process in place, as the chunks come."""
    try:
        st = _stat(path)
        if _in_place(path, st):
            append = os.O_APPEND if stat.S_ISREG(st.st_mode) else 0
            with open(os.open(path, os.O_WRONLY | append), "wb") as fh:
                for chunk in chunks:
                    fh.write(chunk)
            return
        if st is not None and not os.access(path, os.W_OK):
            raise _error(path, _read_only(st))
        if st is not None and st.st_nlink > 1 and keep_links:
            with tempfile.TemporaryFile(dir=os.path.dirname(os.path.realpath(path))) as tmp:
                for chunk in chunks:
                    tmp.write(chunk)
                tmp.flush()
                if not tmp.tell():
                    _overwrite(path, b"")
                else:
                    with mmap.mmap(tmp.fileno(), 0, access=mmap.ACCESS_READ) as written:
                        _overwrite(path, written)
        else:
            _replace(os.path.realpath(path), chunks, st)
    except OSError as exc:
        raise _error(path, exc.strerror or str(exc)) from exc


def write_text(path: str | os.PathLike, text: str, *, keep_links: bool = True) -> None:
    """:func:`write_bytes` of ``text`` in UTF-8."""
    write_bytes(path, text.encode("utf-8"), keep_links=keep_links)


def check_writable(path: str | os.PathLike, inputs: Iterable[tuple[str, str | os.PathLike | None]] = ()) -> None:
    """Raise :class:`OutputError` if :func:`write_bytes` to ``path`` is bound to fail: it
    is empty or a folder, its folder is missing, is not a folder or is not writable, it is
    a file you may not write; or if it would destroy an input: it is the same file (the same
    device and inode, so also through a symbolic or hard link) as one of ``inputs``, pairs
    of (what it is, its path) such as ("the netlist", "x.cir"); a path ``-`` is stdin,
    None is left out. Cheap, and meant to run before a long computation whose result goes
    to ``path``."""
    name = os.fspath(path)
    if not os.path.basename(name):  # "" or "out/"
        raise _error(path, "that names no file")
    try:
        st = _stat(path)
    except OSError as exc:  # a link loop, a search permission missing, ...
        raise _error(path, exc.strerror or str(exc)) from exc
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise _error(path, "it is a folder")
    check_distinct(path, inputs)
    if _in_place(path, st):
        if not os.access(path, os.W_OK):
            raise _error(path, "permission denied")
        return
    if st is not None and not os.access(path, os.W_OK):
        raise _error(path, _read_only(st))
    folder = os.path.dirname(os.path.realpath(path))
    shown = folder if os.path.islink(path) else os.path.dirname(name) or "."
    if not os.path.isdir(folder):
        why = f"'{shown}' is not a folder" if os.path.exists(folder) else f"folder '{shown}' does not exist"
        raise _error(path, why)
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _error(path, f"folder '{shown}' is not writable")


def check_distinct(path: str | os.PathLike, inputs: Iterable[tuple[str, str | os.PathLike | None]]) -> None:
    """Raise :class:`OutputError` if ``path`` is an existing regular file that is the same
    file (device and inode: also through a symbolic or hard link) as one of ``inputs``,
    pairs of (what it is, its path); a path ``-`` is stdin, None is left out."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):  # nothing there (or unreadable: check_writable says why)
        return
    if not stat.S_ISREG(st.st_mode):
        return
    for what, other in inputs:
        if other is not None and _same_file(st, other):
            raise _error(path, f"it is the same file as {what} '{os.fspath(other)}', which writing it would replace",
                         hint="give an output that is none of the command's inputs")


def _error(path: str | os.PathLike, why: str, hint: str | None = None) -> OutputError:
    return OutputError(f"cannot write '{os.fspath(path)}': {why}", hint=hint)


def _read_only(st: os.stat_result) -> str:
    """Why an existing file you may not write is refused."""
    return f"permission denied: it is read-only for you (mode {stat.S_IMODE(st.st_mode):04o}), as cp would find it"


def _same_file(st: os.stat_result, other: str | os.PathLike) -> bool:
    """Whether ``other`` (``-``: stdin) is the file ``st`` describes."""
    try:
        theirs = os.fstat(sys.stdin.fileno()) if os.fspath(other) == "-" else os.stat(other)
    except (OSError, ValueError, AttributeError):  # missing, or no stdin
        return False
    return (theirs.st_dev, theirs.st_ino) == (st.st_dev, st.st_ino)


def _stat(path: str | os.PathLike) -> os.stat_result | None:
    """``os.stat`` of what ``path`` names (links followed); None when nothing is there (its
    folder may be missing, or be a file)."""
    try:
        return os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def _in_place(path: str | os.PathLike, st: os.stat_result | None) -> bool:
    """Whether ``path`` (which ``st`` describes) is written in place: it exists and is not a
    regular file, or it is one of the process's open files, named through /proc."""
    return st is not None and (not stat.S_ISREG(st.st_mode) or _through_proc(path))


def _through_proc(path: str | os.PathLike) -> bool:
    """Whether ``path``, or a symbolic link on the way from it, is in /proc (/dev/stdout
    links to /proc/self/fd/1, /dev/fd to /proc/self/fd)."""
    here = os.path.abspath(path)
    for _ in range(40):  # the kernel's own limit on links followed
        here = os.path.join(os.path.realpath(os.path.dirname(here)), os.path.basename(here))
        if here.startswith("/proc/"):
            return True
        if not os.path.islink(here):
            return False
        here = os.path.join(os.path.dirname(here), os.readlink(here))
    return False


def _overwrite(path: str | os.PathLike, data: bytes | memoryview) -> None:
    """Write ``data`` over the regular file ``path`` in place (its inode, mode, owner and
    every hard link kept). Its new size is reserved before the old content is touched, so a
    full disk fails first; a reader during the write may still see part of it."""
    fd = os.open(path, os.O_WRONLY)
    try:
        if len(data):
            try:
                os.posix_fallocate(fd, 0, len(data))
            except OSError as exc:
                if exc.errno not in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):  # no reservation there
                    raise
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.ftruncate(fd, len(data))
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(target: str, chunks: Iterable[bytes | memoryview], old: os.stat_result | None) -> None:
    """Write the ``chunks`` to ``target`` (no link) through a temporary file beside it and a
    rename, with the mode and owner of the ``old`` file there."""
    fd, tmp = tempfile.mkstemp(prefix=".resim-", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as fh:
            if old is None:
                os.fchmod(fd, 0o666 & ~_umask())  # mkstemp's 0600 would make results private by accident
            else:
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):  # only root may give a file away
                        os.fchown(fd, old.st_uid, old.st_gid)
                os.fchmod(fd, stat.S_IMODE(old.st_mode))  # after chown, which clears set-id bits
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
