"""Reading a mirror once: a directory handle, bounded reads of regular files, a private verified snapshot.

Verification must judge exactly the bytes its consumers use. A :class:`MirrorTree` opens the
mirror directory once (``O_DIRECTORY | O_NOFOLLOW``) and reads everything relative to that
handle (``openat(2)`` with ``O_NOFOLLOW | O_NONBLOCK``): no symbolic link is followed, a FIFO,
socket or device is refused by its directory entry (``lstat``) before it is opened, and every
read is bounded. :func:`read_listed` hashes each listed file while copying it into a private
staging directory, so the copy holds precisely the bytes whose sha256 was checked;
:meth:`Snapshot.publish` renames it into place only after the whole mirror verified. Consumers
(debian/rules, ``serve``, ``install-test``, build reuse) read that snapshot, never the mirror
path again.

A mirror replaced as a whole while it is read (``debwheels sign`` swaps in a new directory
with ``renameat2(RENAME_EXCHANGE)`` and deletes the old one) is noticed with
:meth:`MirrorTree.replaced`: the reader starts again on the new directory rather than report
files the publisher removed as tampering.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from debwheels.errors import UsageError, VerificationError
from debwheels.fsutil import cleaned_up, replace_dir
from debwheels.mirror.sums import SIGNATURES_DIR, UNLISTED, MirrorDiff
from debwheels.safetext import escape

#: Largest file a mirror may list (bytes); the largest wheels on PyPI are about 2.5 GB.
MAX_FILE_BYTES = 4 << 30
#: Largest detached signature (bytes); an armored ed25519 or RSA-4096 signature is under 1 kB.
MAX_SIGNATURE_BYTES = 64 << 10
_CHUNK = 1 << 20
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class NotRegular(Exception):
    """A path that is missing, a link, or not a regular file (internal to this module's callers)."""

    def __init__(self, name: str, missing: bool) -> None:
        super().__init__(name)
        self.name = name
        self.missing = missing


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """Read the regular file *path* (not following a final symbolic link), at most *limit* bytes.

    A FIFO, socket, device or link is refused from its ``lstat`` without being opened for
    reading; ``O_NONBLOCK`` keeps a file swapped for a FIFO in between from blocking.

    Args:
        path: the file.
        limit: largest accepted size in bytes.
        what: how messages name the file (escaped here).

    Returns:
        bytes: the whole content.

    Raises:
        VerificationError: missing, not a regular file, unreadable, or larger than *limit*.
    """
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode):
            raise VerificationError(f"{escape(what)} is {_kind(info.st_mode)}, not a regular file: remove it")
        fd = os.open(path, _FILE_FLAGS)
    except FileNotFoundError:
        raise VerificationError(f"{escape(what)} does not exist") from None
    except OSError as exc:
        raise VerificationError(f"{escape(what)} cannot be read ({exc.strerror}): fix or remove it") from None
    try:
        return _read_fd(fd, limit, what)
    finally:
        os.close(fd)


def _read_fd(fd: int, limit: int, what: str) -> bytes:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise VerificationError(f"{escape(what)} is {_kind(info.st_mode)}, not a regular file: remove it")
    if info.st_size > limit:
        raise VerificationError(f"{escape(what)} is {info.st_size} bytes, more than the {limit} allowed: remove it")
    chunks = []
    size = 0
    while chunk := os.read(fd, min(_CHUNK, limit + 1 - size)):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise VerificationError(f"{escape(what)} grew beyond the {limit} bytes allowed while it was read")
    return b"".join(chunks)


def copy_verified(source: Path, target: Path, sha256: str, what: str) -> None:
    """Copy the regular file *source* to the new file *target*, keeping it only if its bytes have *sha256*.

    The sha256 is computed over the very bytes written to *target*, so *target* is a private
    verified copy even if *source* changes during or after the copy (a hard link would share
    later changes; this never links).

    Args:
        source: the file to copy (a final symbolic link is not followed; FIFOs and devices refused).
        target: the copy to create (must not exist).
        sha256: the expected hex digest, from a verified list.
        what: how messages name the file (escaped here).

    Raises:
        VerificationError: *source* is missing, not a regular file, larger than
            :data:`MAX_FILE_BYTES`, or its bytes differ from *sha256* (*target* is removed).
    """
    try:
        if not stat.S_ISREG(os.lstat(source).st_mode):
            raise VerificationError(f"{escape(what)} is not a regular file any more: verify the mirror again")
        fd = os.open(source, _FILE_FLAGS)
    except FileNotFoundError:
        raise VerificationError(f"{escape(what)} disappeared after it was verified: run again") from None
    except OSError as exc:
        raise VerificationError(f"{escape(what)} cannot be read ({exc.strerror})") from None
    try:
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            digest = hashlib.sha256()
            size = 0
            while chunk := os.read(fd, _CHUNK):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    break
                digest.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
        finally:
            os.close(out)
    finally:
        os.close(fd)
    if size > MAX_FILE_BYTES or digest.hexdigest() != sha256:
        target.unlink()
        raise VerificationError(
            f"{escape(what)} changed after it was verified (its sha256 is not the signed one): "
            "something is writing to the mirror; check it and run again"
        )


class MirrorTree:
    """An open handle on a mirror directory; every read is relative to it.

    Use as a context manager (the handle is closed on exit).

    Raises:
        VerificationError: the path is missing, a symbolic link, or not a directory.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.fd = os.open(path, _DIR_FLAGS)
        except FileNotFoundError:
            raise VerificationError(
                f"{escape(str(path))} does not exist: build the mirror with 'make wheels'"
            ) from None
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise VerificationError(
                    f"{escape(str(path))} is not a directory (a symbolic link or a file): give the mirror directory itself"
                ) from None
            raise VerificationError(f"{escape(str(path))} cannot be opened ({exc.strerror})") from None
        info = os.fstat(self.fd)
        self.identity = (info.st_dev, info.st_ino)

    def __enter__(self) -> MirrorTree:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def replaced(self) -> bool:
        """True when the path no longer names the directory opened (a publish swapped it, or it was removed)."""
        try:
            info = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return True
        return (info.st_dev, info.st_ino) != self.identity or os.fstat(self.fd).st_nlink == 0

    def _parent(self, segments: list[str]) -> int:
        """A new descriptor on the directory *segments* below the mirror (links not followed)."""
        fd = os.dup(self.fd)
        try:
            for segment in segments:
                child = os.open(segment, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
        except BaseException:
            os.close(fd)
            raise
        return fd

    def open_regular(self, name: str) -> int:
        """Open the listed file *name* (``/``-separated) for reading, or raise :class:`NotRegular`."""
        segments = name.split("/")
        try:
            parent = self._parent(segments[:-1])
        except FileNotFoundError:
            raise NotRegular(name, missing=True) from None
        except OSError:
            raise NotRegular(name, missing=False) from None
        try:
            info = os.stat(segments[-1], dir_fd=parent, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                raise NotRegular(name, missing=False)
            fd = os.open(segments[-1], _FILE_FLAGS, dir_fd=parent)
        except FileNotFoundError:
            raise NotRegular(name, missing=True) from None
        except OSError:
            raise NotRegular(name, missing=False) from None
        finally:
            os.close(parent)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise NotRegular(name, missing=False)
        return fd

    def read(self, name: str, limit: int) -> bytes:
        """The whole regular file *name*, at most *limit* bytes.

        Raises:
            VerificationError: missing, not a regular file, or too large.
        """
        where = f"{self.path}/{name}"
        try:
            fd = self.open_regular(name)
        except NotRegular as exc:
            if exc.missing:
                raise VerificationError(f"{escape(where)} is missing") from None
            raise VerificationError(f"{escape(where)} is not a regular file: remove it") from None
        try:
            return _read_fd(fd, limit, where)
        finally:
            os.close(fd)

    def signature_names(self) -> list[str]:
        """The entry names of ``signatures/``, sorted.

        Raises:
            VerificationError: ``signatures/`` is missing, a link or not a directory.
        """
        try:
            fd = self._parent([SIGNATURES_DIR])
        except OSError:
            raise VerificationError(
                f"{escape(str(self.path))} has no {SIGNATURES_DIR}/ directory: the mirror is unsigned; "
                "run 'debwheels sign'"
            ) from None
        try:
            return sorted(os.listdir(fd))
        finally:
            os.close(fd)

    def walk(self, listed: dict[str, str]) -> tuple[set[str], set[str]]:
        """Entries below the mirror except the unlisted top-level names: (present, odd).

        *present* holds every non-directory entry's path (regular or not; a link counts as
        present and is judged when opened). A directory that holds no listed path, and a link
        to a directory, is one *odd* entry and is not descended.
        """
        prefixes = {"/".join(name.split("/")[:i]) for name in listed for i in range(1, name.count("/") + 1)}
        present: set[str] = set()
        odd: set[str] = set()
        pending: list[str] = [""]
        while pending:
            base = pending.pop()
            fd = self._parent(base.split("/") if base else [])
            try:
                entries = list(os.scandir(fd))
            finally:
                os.close(fd)
            for entry in entries:
                path = f"{base}/{entry.name}" if base else entry.name
                if not base and entry.name in UNLISTED:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    (pending.append(path) if path in prefixes else odd.add(path))
                else:
                    present.add(path)
        return present, odd


@dataclass
class Snapshot:
    """A private staging directory the verified files are copied into, renamed to *target* when complete.

    Attributes:
        target: where the verified snapshot appears (replacing what is there) on :meth:`publish`.
        staging: the hidden sibling being filled (mode 0700).
    """

    target: Path
    staging: Path = field(init=False)

    def __post_init__(self) -> None:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.staging = self.target.parent / f".{self.target.name}.partial-{os.getpid()}"
        if self.staging.exists() or self.staging.is_symlink():
            shutil.rmtree(self.staging)
        self.staging.mkdir(mode=0o700)

    def create(self, name: str) -> int:
        """A new write-only descriptor for *name* (``/``-separated) in the staging directory."""
        path = self.staging / name
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o444)

    def write(self, name: str, data: bytes) -> None:
        """Write *data* (already checked) as *name*."""
        fd = self.create(name)
        try:
            os.write(fd, data) if data else None
        finally:
            os.close(fd)

    def publish(self) -> Path:
        """Rename the complete staging directory to :attr:`target` (replacing it) and return *target*."""
        replace_dir(self.staging, self.target)
        return self.target

    def discard(self) -> None:
        """Remove the staging directory (on failure)."""
        shutil.rmtree(self.staging, ignore_errors=True)


@contextmanager
def snapshot_at(target: Path | None, mirror: Path) -> Iterator[Snapshot | None]:
    """A :class:`Snapshot` for *target* (None: no snapshot), discarded unless published.

    Raises:
        UsageError: *target* is the mirror or inside it.
    """
    if target is None:
        yield None
        return
    resolved, root = target.resolve(), mirror.resolve()
    if resolved == root or root in resolved.parents:
        raise UsageError(f"--snapshot {escape(str(target))} is inside the mirror: give a directory outside it")
    with cleaned_up(lambda: Snapshot(target), Snapshot.discard) as snap:
        yield snap


def _copy_and_hash(tree: MirrorTree, name: str, snap: Snapshot | None, keep: bool) -> tuple[str | None, bytes | None]:
    """sha256 of listed file *name* (None when missing or not regular), hashing exactly what is copied.

    Returns the content too when *keep* (for files parsed after the check, e.g. release.json).
    """
    try:
        fd = tree.open_regular(name)
    except NotRegular:
        return None, None
    out = -1
    try:
        if os.fstat(fd).st_size > MAX_FILE_BYTES:
            return None, None
        out = snap.create(name) if snap is not None else -1
        digest = hashlib.sha256()
        kept: list[bytes] = []
        size = 0
        while chunk := os.read(fd, _CHUNK):
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                return None, None
            digest.update(chunk)
            if out >= 0:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(out, view) :]
            if keep:
                kept.append(chunk)
        return digest.hexdigest(), b"".join(kept) if keep else None
    finally:
        os.close(fd)
        if out >= 0:
            os.close(out)


@dataclass(frozen=True)
class ListedRead:
    """The result of :func:`read_listed`.

    Attributes:
        diff: the mirror against its list (missing, extra, changed; each sorted).
        kept: the bytes of the files asked for with *keep* that matched the list.
    """

    diff: MirrorDiff
    kept: dict[str, bytes]


def read_listed(
    tree: MirrorTree, listed: dict[str, str], snap: Snapshot | None, keep: frozenset[str] = frozenset()
) -> ListedRead:
    """Compare the mirror under *tree* with *listed*, copying each listed file into *snap* as it is hashed.

    Files are read on every core (hashlib releases the GIL). A listed path that is a link,
    not a regular file or larger than :data:`MAX_FILE_BYTES` counts as changed; anything not
    listed (files, unlisted directories) as extra. Only the bytes that were hashed reach *snap*.

    Args:
        tree: the open mirror.
        listed: relative path -> sha256, from the signed list.
        snap: where to copy the files, or None to check only.
        keep: names whose content to return (when they match the list).

    Returns:
        ListedRead: the difference and the kept contents.
    """
    present, odd = tree.walk(listed)
    missing = sorted(set(listed) - present)
    extra = sorted((present - set(listed)) | odd)
    names = sorted(set(listed) & present)

    def one(name: str) -> tuple[str | None, bytes | None]:
        return _copy_and_hash(tree, name, snap, name in keep)

    workers = min(len(names), os.cpu_count() or 1) or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = dict(zip(names, pool.map(one, names), strict=True))
    changed = sorted(n for n, (digest, _) in results.items() if digest != listed[n])
    kept = {n: data for n, (digest, data) in results.items() if data is not None and digest == listed[n]}
    return ListedRead(MirrorDiff(tuple(missing), tuple(extra), tuple(changed)), kept)
