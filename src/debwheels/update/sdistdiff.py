"""What changed upstream between two sdists of one package, for the maintainer to read before signing.

Both sdists (``.tar.gz`` or legacy ``.zip``, as the source distribution format specification
describes: https://packaging.python.org/en/latest/specifications/source-distribution-format/)
are read in memory with :mod:`tarfile` and :mod:`zipfile`; nothing is ever extracted. They are
hash-checked but untrusted: links, devices and FIFOs are never followed or read, they are
*special* entries compared by their type and target; a member over ``max_text_bytes`` is compared
by sha256 only; at most :data:`MAX_ARCHIVE_BYTES` of each archive are decompressed. The single
top directory (``idna-3.7/``) is stripped so that both sides pair up by path. Of duplicate members
the last one counts, as when the archive is unpacked for the build; directories are not compared.

A change is flagged *build time* when it changes what runs or decides things while the wheel is
built (:func:`runs_at_build_time`, plus anything under a PEP 517 ``backend-path``), and the
``[build-system]`` tables (PEP 517/518) of both sides' ``pyproject.toml`` are compared.
"""

from __future__ import annotations

import difflib
import hashlib
import lzma
import posixpath
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, Literal

from debwheels.build.sources import parse_build_system
from debwheels.errors import UnsafeArchiveError
from debwheels.safetext import clip, escape

#: Most bytes decompressed from one archive (tar headers and skipped data included).
MAX_ARCHIVE_BYTES = 2 * 1024 * 1024 * 1024
_CHUNK = 1024 * 1024
FILES_LISTED = 60  # paths named on the summary's files line
_MAX_LINK_BYTES = 4096
_HARDLINK = "hardlink -> "
#: File names (anywhere in the tree) and suffixes whose changes run or decide things at build time.
BUILD_NAMES = frozenset(
    {"setup.py", "setup.cfg", "pyproject.toml", "MANIFEST.in", "Cargo.toml", "Cargo.lock", "build.rs"}
    | {"meson.build", "meson.options", "meson_options.txt", "CMakeLists.txt"}
)
BUILD_SUFFIXES = (".pyx", ".pxd", ".pxi", ".c", ".h", ".cc", ".cpp", ".cxx", ".hh", ".hpp", ".rs")

#: What a damaged archive raises while read (RuntimeError: an encrypted zip member;
#: NotImplementedError: a zip compression method Python lacks).
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, zlib.error, lzma.LZMAError, EOFError, OSError)
_ARCHIVE_ERRORS_ZIP = (RuntimeError, NotImplementedError)


@dataclass(frozen=True)
class FileChange:
    """One path that differs between the two sdists (top directory stripped).

    Attributes:
        path: member path, ``/``-separated, relative to the sdist's top directory.
        kind: ``added``, ``removed`` or ``changed``.
        binary: True when either side is not UTF-8 text, holds a NUL byte, is over
            ``max_text_bytes`` or is a special entry: then ``diff`` is empty.
        diff: unified diff (``a/path``, ``b/path``, 3 lines of context), lines joined by ``\\n``,
            at most ``max_diff_lines`` lines then ``... (N more lines)``; raw text from the sdist,
            to be escaped before printing (:meth:`SdistDiff.render` does).
        old_sha256: hex sha256 of the old regular file (None: absent or special).
        new_sha256: hex sha256 of the new regular file (None: absent or special).
        build_time: the change runs or decides things at build time.
        old_special: old special entry, e.g. ``symlink -> ../x`` (None: absent or a regular file).
        new_special: the same for the new side.
    """

    path: str
    kind: Literal["added", "removed", "changed"]
    binary: bool
    diff: str
    old_sha256: str | None
    new_sha256: str | None
    build_time: bool
    old_special: str | None = None
    new_special: str | None = None


@dataclass(frozen=True)
class SdistDiff:
    """The differences between two sdists of one package.

    Attributes:
        old: old archive's file name.
        new: new archive's file name.
        changes: changed paths, sorted by path.
        unchanged: number of paths identical on both sides.
        backend_change: (old, new) ``build-backend`` (None: not declared), None when equal.
        requires_change: (old, new) ``[build-system] requires``, None when equal.
    """

    old: str
    new: str
    changes: tuple[FileChange, ...]
    unchanged: int
    backend_change: tuple[str | None, str | None] | None = None
    requires_change: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    @property
    def added(self) -> list[FileChange]:
        """Paths only in the new sdist."""
        return [c for c in self.changes if c.kind == "added"]

    @property
    def removed(self) -> list[FileChange]:
        """Paths only in the old sdist."""
        return [c for c in self.changes if c.kind == "removed"]

    @property
    def changed(self) -> list[FileChange]:
        """Paths in both sdists whose content, type or link target differ."""
        return [c for c in self.changes if c.kind == "changed"]

    @property
    def build_time(self) -> list[FileChange]:
        """Changes that run or decide things at build time."""
        return [c for c in self.changes if c.build_time]

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict: ``old``, ``new``, ``unchanged``, ``backend_change`` ([old, new] or null),
        ``requires_change`` ([[...], [...]] or null) and ``changes`` (one dict per :class:`FileChange`)."""
        requires = self.requires_change
        return {
            "old": self.old,
            "new": self.new,
            "unchanged": self.unchanged,
            "backend_change": list(self.backend_change) if self.backend_change else None,
            "requires_change": [list(requires[0]), list(requires[1])] if requires else None,
            "changes": [asdict(change) for change in self.changes],
        }

    def render(self, max_lines: int | None = None) -> str:
        """Human text, every line escaped (:func:`debwheels.safetext.escape`): a summary line, the
        build-system changes, build-time changes first, then the others.

        Args:
            max_lines: keep at most this many lines, then ``... (N more lines)``; None: all.

        Returns:
            str: lines joined by ``\\n``, no trailing newline.
        """
        lines = [
            f"{escape(self.old)} -> {escape(self.new)}: {len(self.added)} added, {len(self.removed)} removed, "
            f"{len(self.changed)} changed ({len(self.build_time)} run at build time)"
        ]
        if self.backend_change:
            old, new = self.backend_change
            lines.append(f"build backend: {escape(str(old))} -> {escape(str(new))}")
        if self.requires_change:
            old_req, new_req = (escape(repr(list(r))) for r in self.requires_change)
            lines.append(f"build requirements: {old_req} -> {new_req}")
        if self.changes:  # every path first, so that a truncated review still names them all
            listed = [c for c in self.changes if c.build_time] + [c for c in self.changes if not c.build_time]
            shown = listed[:FILES_LISTED]
            lines.append(
                "files: "
                + ", ".join(f"{'*' if c.build_time else ''}{c.kind[0].upper()} {escape(c.path)}" for c in shown)
                + (f" and {len(listed) - len(shown)} more" if len(listed) > len(shown) else "")
                + " (A added, R removed, C changed; * runs at build time)"
            )
        for heading, build_time in (("runs at build time:", True), ("other changes:", False)):
            group = [c for c in self.changes if c.build_time is build_time]
            if group:
                lines.append(heading)
                for change in group:
                    lines.extend(_render_change(change))
        if max_lines is not None and len(lines) > max_lines:
            lines = [*lines[:max_lines], f"... ({len(lines) - max_lines} more lines)"]
        return "\n".join(lines)


def _short(sha256: str | None) -> str:
    return sha256[:12] if sha256 else "-"


def _render_change(change: FileChange) -> list[str]:
    path = escape(change.path)
    if change.old_special or change.new_special:
        old = change.old_special or (f"file {_short(change.old_sha256)}" if change.old_sha256 else "-")
        new = change.new_special or (f"file {_short(change.new_sha256)}" if change.new_sha256 else "-")
        return [f"special: {path} ({escape(old)} -> {escape(new)})"]
    if change.binary:
        return [f"binary: {path} ({_short(change.old_sha256)} -> {_short(change.new_sha256)})"]
    if not change.diff:
        what = "empty file" if change.kind != "changed" else "differs only in the final newline"
        return [f"{change.kind}: {path} ({what})"]
    return [clip(line) for line in change.diff.split("\n")]


@dataclass(frozen=True)
class _Member:
    sha256: str | None  # regular files
    text: str | None  # regular files that are UTF-8 text, no NUL, within max_text_bytes
    special: str | None  # everything else but directories


def runs_at_build_time(path: str, backend_paths: tuple[str, ...] = ()) -> bool:
    """Whether a change to *path* runs or decides things at build time.

    Args:
        path: member path relative to the sdist's top directory.
        backend_paths: PEP 517 ``backend-path`` entries (relative directories).

    Returns:
        bool: True for :data:`BUILD_NAMES`, :data:`BUILD_SUFFIXES` and paths under a backend path.
    """
    name = posixpath.basename(path)
    if name in BUILD_NAMES or name.endswith(BUILD_SUFFIXES):
        return True
    for entry in backend_paths:
        root = posixpath.normpath(entry)
        if root == "." or path == root or path.startswith(root + "/"):
            return True
    return False


def _read(stream: IO[bytes], budget: list[int], archive: Path, max_text_bytes: int) -> _Member:
    """Hash *stream* in chunks, keeping at most max_text_bytes + 1 bytes (text if UTF-8 without NUL), charging *budget*."""
    digest, kept = hashlib.sha256(), bytearray()
    while chunk := stream.read(_CHUNK):
        budget[0] += len(chunk)
        if budget[0] > MAX_ARCHIVE_BYTES:
            raise UnsafeArchiveError(f"{archive.name} holds over {MAX_ARCHIVE_BYTES} bytes: refusing to compare it")
        digest.update(chunk)
        if len(kept) <= max_text_bytes:
            kept += chunk[: max_text_bytes + 1 - len(kept)]
    if len(kept) > max_text_bytes or b"\0" in kept:
        return _Member(digest.hexdigest(), None, None)
    try:
        return _Member(digest.hexdigest(), kept.decode("utf-8"), None)
    except UnicodeDecodeError:
        return _Member(digest.hexdigest(), None, None)


def _tar_members(path: Path, max_text_bytes: int) -> Iterator[tuple[str, _Member | None]]:
    """(name, member or None for a directory) for each tar member, in order."""
    budget = [0]
    with tarfile.open(path, mode="r:*") as archive:
        for info in archive:
            if info.offset_data + info.size > MAX_ARCHIVE_BYTES:
                raise UnsafeArchiveError(f"{path.name} holds over {MAX_ARCHIVE_BYTES} bytes: refusing to compare it")
            if info.isdir():
                yield info.name, None
            elif info.isreg():
                stream = archive.extractfile(info)
                assert stream is not None  # a regular member always has a stream
                yield info.name, _read(stream, budget, path, max_text_bytes)
            elif info.issym():
                yield info.name, _Member(None, None, f"symlink -> {info.linkname}")
            elif info.islnk():
                yield info.name, _Member(None, None, _HARDLINK + info.linkname)
            elif info.ischr() or info.isblk():
                kind = "character device" if info.ischr() else "block device"
                yield info.name, _Member(None, None, f"{kind} {info.devmajor},{info.devminor}")
            else:
                kind = "fifo" if info.isfifo() else f"tar member of type {info.type!r}"
                yield info.name, _Member(None, None, kind)


def _zip_members(path: Path, max_text_bytes: int) -> Iterator[tuple[str, _Member | None]]:
    """(name, member or None for a directory) for each zip member, in order."""
    budget = [0]
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if sum(info.file_size for info in infos) > MAX_ARCHIVE_BYTES:
            raise UnsafeArchiveError(f"{path.name} holds over {MAX_ARCHIVE_BYTES} bytes: refusing to compare it")
        for info in infos:
            file_type = (info.external_attr >> 16) & 0o170000
            if info.is_dir() or file_type == 0o040000:
                yield info.filename, None
            elif file_type in (0, 0o100000):
                with archive.open(info) as stream:
                    yield info.filename, _read(stream, budget, path, max_text_bytes)
            elif file_type == 0o120000:
                with archive.open(info) as stream:
                    target = stream.read(_MAX_LINK_BYTES).decode("utf-8", "replace")
                yield info.filename, _Member(None, None, f"symlink -> {target}")
            else:
                yield info.filename, _Member(None, None, f"zip member of mode {file_type:o}")


def _load(path: Path, max_text_bytes: int) -> dict[str, _Member]:
    """The archive's non-directory members by path, the single top directory stripped."""
    reader = _zip_members if path.name.endswith(".zip") else _tar_members
    try:
        entries = [(posixpath.normpath(name), member) for name, member in reader(path, max_text_bytes)]
    except (*_ARCHIVE_ERRORS, *_ARCHIVE_ERRORS_ZIP) as exc:
        message = escape(str(exc))
        raise UnsafeArchiveError(f"{path.name} is not a readable archive ({message}): cannot compare it") from None
    entries = [(name, member) for name, member in entries if name != "." or member]  # "./": the root itself
    tops = {name.split("/", 1)[0] for name, _ in entries}
    top = tops.pop() if len(tops) == 1 else None
    if top is not None and any(member and "/" not in name for name, member in entries):
        top = None  # a file at the top level: not a single top directory, keep the paths

    def strip(name: str) -> str:
        return name[len(top) + 1 :] if top is not None and name.startswith(top + "/") else name

    members: dict[str, _Member] = {}
    for name, member in entries:
        if member and member.special and member.special.startswith(_HARDLINK):  # target: a member path
            member = _Member(None, None, _HARDLINK + strip(posixpath.normpath(member.special[len(_HARDLINK) :])))
        if member:
            members[strip(name)] = member
    return members


def _build_system(member: _Member | None) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """(build-backend, requires, backend-path) of a pyproject.toml member, PEP 517's defaults filled in
    (:func:`debwheels.build.sources.parse_build_system`); no file, or not TOML: (None, (), ())."""
    if member is None or member.text is None:
        return None, (), ()
    try:
        table = parse_build_system(member.text, "pyproject.toml")
    except UnsafeArchiveError:
        return None, (), ()
    return table.backend, table.requires, table.backend_path


def _text_diff(path: str, old: str | None, new: str | None, max_diff_lines: int) -> str:
    def lines(text: str | None) -> list[str]:
        split = (text or "").split("\n")
        return split[:-1] if split[-1] == "" else split

    out = list(difflib.unified_diff(lines(old), lines(new), f"a/{path}", f"b/{path}", n=3, lineterm=""))
    if len(out) > max_diff_lines:
        out = [*out[:max_diff_lines], f"... ({len(out) - max_diff_lines} more lines)"]
    return "\n".join(out)


def diff_sdists(old: Path, new: Path, *, max_text_bytes: int = 1 << 20, max_diff_lines: int = 2000) -> SdistDiff:
    """Compare two sdists member by member, without extracting them.

    Args:
        old: the old sdist (``.zip`` by its name, else any tar tarfile reads: ``.tar.gz``).
        new: the new sdist.
        max_text_bytes: a member over this many bytes is compared by sha256 only (binary).
        max_diff_lines: most lines of each file's unified diff kept, then ``... (N more lines)``.

    Returns:
        SdistDiff: the changed paths (build time flagged), the unchanged count, and the
        ``[build-system]`` backend and requirement changes.

    Raises:
        UnsafeArchiveError: an archive is not readable, or holds over :data:`MAX_ARCHIVE_BYTES`.
    """
    before, after = _load(old, max_text_bytes), _load(new, max_text_bytes)
    old_backend, old_requires, old_paths = _build_system(before.get("pyproject.toml"))
    new_backend, new_requires, new_paths = _build_system(after.get("pyproject.toml"))
    backend_paths = old_paths + new_paths
    changes: list[FileChange] = []
    unchanged = 0
    for path in sorted(before.keys() | after.keys()):
        a, b = before.get(path), after.get(path)
        if a == b or (a and b and a.sha256 is not None and a.sha256 == b.sha256):
            unchanged += 1
            continue
        kind: Literal["added", "removed", "changed"] = "added" if a is None else "removed" if b is None else "changed"
        binary = any(m is not None and m.text is None for m in (a, b))
        diff = "" if binary else _text_diff(path, a.text if a else None, b.text if b else None, max_diff_lines)
        changes.append(
            FileChange(
                path=path,
                kind=kind,
                binary=binary,
                diff=diff,
                old_sha256=a.sha256 if a else None,
                new_sha256=b.sha256 if b else None,
                build_time=runs_at_build_time(path, backend_paths),
                old_special=a.special if a else None,
                new_special=b.special if b else None,
            )
        )
    return SdistDiff(
        old=old.name,
        new=new.name,
        changes=tuple(changes),
        unchanged=unchanged,
        backend_change=(old_backend, new_backend) if old_backend != new_backend else None,
        requires_change=(old_requires, new_requires) if old_requires != new_requires else None,
    )
