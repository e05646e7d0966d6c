"""File-system helpers: hashing, atomic writes and atomic directory replacement.

Nothing here writes a destination in place: content goes to a temporary sibling first and
is renamed over the destination, so an interrupted run leaves the old content or the new,
never a half-written file.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import hashlib
import os
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from debwheels import strictjson
from debwheels.errors import VerificationError

_CHUNK = 1 << 20  # bytes read per hashing step


def sha256_file(path: Path) -> str:
    """Return the lowercase hex sha256 of the file at *path*.

    Args:
        path: a regular file.

    Returns:
        str: 64 hex digits.

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write *data* to *path* through a temporary sibling, fsync it, then rename it into place.

    Args:
        path: destination; its parent directory must exist.
        data: the complete new content.
    """
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """UTF-8 variant of :func:`atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode("utf-8"))


MAX_RECORD_BYTES = 16 << 20  # a larger cache record is not read


def read_record(path: Path) -> Any:
    """A cache record: the strict JSON value in *path* (:func:`debwheels.strictjson.loads`), or None.

    For caches a miss only costs time: an absent, unreadable, oversized or malformed record is None.
    """
    try:
        return strictjson.loads(path.read_bytes(), str(path), MAX_RECORD_BYTES)
    except (OSError, VerificationError):
        return None


def write_record(path: Path, value: Any) -> None:
    """Write a cache record: *value* as stable JSON (:func:`debwheels.strictjson.render`), atomically, parents made.

    Best effort: a cache that cannot be written (full disk, read-only) is left as it was.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, strictjson.render(value))
    except OSError:
        pass


def fresh_file(path: Path) -> Path:
    """Make sure *path*'s parent exists and *path* does not (a log about to be written); return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    return path


def fresh_dir(path: Path) -> Path:
    """Remove *path* if it exists and create it empty (with parents); return it."""
    if path.exists() or path.is_symlink():
        shutil.rmtree(path)
    path.mkdir(parents=True)
    return path


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two paths with renameat2(RENAME_EXCHANGE); False where unsupported."""
    libc_name = ctypes.util.find_library("c")
    if libc_name is None:
        return False
    libc = ctypes.CDLL(libc_name, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        return False
    at_fdcwd = -100
    result = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(a))


def replace_dir(new: Path, target: Path) -> None:
    """Make directory *new* appear at *target* in one step, then delete the old content.

    Both must be on one file system. Where the kernel supports renameat2(RENAME_EXCHANGE)
    readers see either the old or the new directory, never neither.

    Args:
        new: a complete staged directory; it is consumed.
        target: the directory to replace; it need not exist.
    """
    if target.exists() and _exchange(new, target):
        shutil.rmtree(new)
        return
    old = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        os.rename(target, old)
    os.rename(new, target)
    if old.exists():
        shutil.rmtree(old)


def link_or_copy(source: Path, target: Path) -> None:
    """Hard-link *source* to *target*, or copy it where a link is impossible (other file system)."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


#: Signals that unwind debwheels (see debwheels.cli.main): held while a temporary directory is created.
_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


T = TypeVar("T")


@contextmanager
def cleaned_up(create: Callable[[], T], cleanup: Callable[[T], None]) -> Iterator[T]:
    """``create()``, yield its result, and always ``cleanup(result)`` on exit, even on SIGINT or SIGTERM.

    The signals are held (``pthread_sigmask(2)``) while *create* runs and released only inside
    the ``try`` whose ``finally`` calls *cleanup*: a signal lands either before anything was
    created or where the cleanup is certain to run, never in between.

    Args:
        create: makes the resource (a directory, a staging area).
        cleanup: removes it; runs exactly once when *create* succeeded.

    Yields:
        T: what *create* returned.
    """
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        made = create()
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        raise
    try:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)  # a pending signal is raised here, inside the try
        yield made
    finally:
        cleanup(made)


MEMORY_FS = Path("/dev/shm")  # a tmpfs on Debian (and any systemd or udev system)
MEMORY_FS_FREE = 2 << 30  # bytes: below this much free space the disk is used instead


def memory_fs() -> Path | None:
    """A writable memory filesystem with room for scratch trees (``/dev/shm``), or None.

    Unpacking sdists writes thousands of small files; on a journaling disk that costs seconds
    of system time per lock, in memory a fraction of it. Returns None when ``/dev/shm`` is
    missing, not writable, or has less than :data:`MEMORY_FS_FREE` bytes free.
    """
    try:
        stat = os.statvfs(MEMORY_FS)
    except OSError:
        return None
    if stat.f_bavail * stat.f_frsize < MEMORY_FS_FREE or not os.access(MEMORY_FS, os.W_OK | os.X_OK):
        return None
    return MEMORY_FS


@contextmanager
def private_tempdir(
    prefix: str, before_removal: Callable[[Path], None] | None = None, parent: Path | None = None
) -> Iterator[Path]:
    """A new mode-0700 directory under *parent* (default ``$TMPDIR``), removed on exit whatever happens (see :func:`cleaned_up`).

    Args:
        prefix: the directory name's prefix (``debwheels-gpg-``).
        before_removal: called with the path before it is removed (e.g. stop a gpg-agent
            whose socket lives there); its errors do not prevent the removal.
        parent: where to make it (e.g. :func:`memory_fs`); None for ``$TMPDIR``.

    Yields:
        Path: the directory.
    """

    def remove(path: Path) -> None:
        try:
            if before_removal is not None:
                before_removal(path)
        finally:
            shutil.rmtree(path, ignore_errors=True)

    with cleaned_up(lambda: Path(tempfile.mkdtemp(prefix=prefix, dir=parent)), remove) as path:
        yield path
