"""The one writer of a staged mirror: every file is hashed as it is written, then ``sha256sums.txt``.

A mirror is staged in a private directory next to its target (``<target>.tmp``), filled
through :meth:`Stage.write` (which returns the sha256 of the bytes it wrote, as pypa/installer's
``write_file`` returns a RECORD entry) or :meth:`Stage.add_file` (a wheel whose sha256 was
computed when it was built), and swapped into place whole by :meth:`Stage.finalize`, which
writes ``sha256sums.txt`` (:mod:`debwheels.mirror.sums`) over exactly the files recorded. A file
nobody recorded is not listed, so it fails verification: nothing reaches the list unhashed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from debwheels.fsutil import atomic_write_text, fresh_dir, link_or_copy, replace_dir
from debwheels.mirror.sums import SUMS_NAME, render_sums


class Stage:
    """A mirror directory being written; ``hashes`` maps each written file to its sha256.

    Args:
        root: the directory written into (it must exist).
        target: where :meth:`finalize` moves it (default: it stays at *root*).
    """

    def __init__(self, root: Path, target: Path | None = None) -> None:
        self.root = root
        self.target = target
        self.hashes: dict[str, str] = {}

    @classmethod
    def fresh(cls, target: Path) -> Stage:
        """An empty stage beside *target* (``<target>.tmp``, emptied first), swapped into *target* by :meth:`finalize`."""
        return cls(fresh_dir(target.with_name(f"{target.name}.tmp")), target)

    def _path(self, relative: str) -> Path:
        parts = PurePosixPath(relative).parts
        if not parts or relative.startswith("/") or any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"{relative!r} is not a relative path inside the mirror")
        return self.root.joinpath(*parts)

    def write(self, relative: str, data: bytes) -> str:
        """Write *data* to *relative* (a POSIX path; parent directories are made) and record it.

        Returns:
            str: the sha256 (hex) of *data*, as recorded for ``sha256sums.txt``.

        Raises:
            ValueError: *relative* is absolute or leaves the stage.
            OSError: the file cannot be written.
        """
        path = self._path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)  # a plain write: the stage is private and swapped in whole
        digest = hashlib.sha256(data).hexdigest()
        self.hashes[relative] = digest
        return digest

    def write_text(self, relative: str, text: str) -> str:
        """:meth:`write` of *text* encoded as UTF-8; returns its sha256 (hex)."""
        return self.write(relative, text.encode("utf-8"))

    def add_file(self, relative: str, source: Path, sha256: str) -> None:
        """Link (or copy) *source* to *relative*, world-readable, recording the *sha256* it was hashed to when made.

        Raises:
            ValueError: *relative* is absolute or leaves the stage.
            OSError: the file cannot be linked or copied.
        """
        path = self._path(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        link_or_copy(source, path)
        path.chmod(0o644)  # build backends write wheels 0600; a mirror is world-readable
        self.hashes[relative] = sha256

    def finalize(self) -> Path:
        """Write ``sha256sums.txt`` over every recorded file, then move the stage to its target.

        Returns:
            Path: where the mirror now is (the target, or the root when there is none).

        Raises:
            OSError: the list cannot be written or the directory not swapped in.
        """
        atomic_write_text(self.root / SUMS_NAME, render_sums(self.hashes))
        if self.target is None:
            return self.root
        replace_dir(self.root, self.target)
        return self.target
