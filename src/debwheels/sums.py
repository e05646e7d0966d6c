"""``sha256sums.txt``: the list of every file in the mirror with its sha256.

Format: the output of coreutils ``sha256sum`` in text mode (``sha256sum(1)``): one
``<64 lowercase hex>  <file name>`` line per file, sorted by file name (C locale), LF line
ends, a final newline. File names are plain names inside the mirror directory. The parser is
strict: CR, a BOM, a path with ``/``, a leading ``.`` or ``-``, duplicates, bad hex, unsorted
lines and the sums file naming itself are errors.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from debwheels.errors import VerificationError
from debwheels.fsutil import sha256_file

SUMS_NAME = "sha256sums.txt"
SIGNATURES_DIR = "signatures"  # one detached signature of the list per signer, see debwheels.mirror
UNLISTED = frozenset({SUMS_NAME, SIGNATURES_DIR})
_LINE = re.compile(r"^([0-9a-f]{64})  ([A-Za-z0-9_+][A-Za-z0-9._+-]*)$")


@dataclass(frozen=True)
class MirrorDiff:
    """Difference between a directory and a signed list; all tuples sorted by file name."""

    missing: tuple[str, ...]
    extra: tuple[str, ...]
    changed: tuple[str, ...]

    @property
    def clean(self) -> bool:
        """True when the directory equals the list exactly."""
        return not (self.missing or self.extra or self.changed)

    def summary(self) -> str:
        """One line naming what differs."""
        parts = []
        for label, names in (("changed", self.changed), ("missing", self.missing), ("extra", self.extra)):
            if names:
                parts.append(f"{label}: {', '.join(names)}")
        return "; ".join(parts)


def render_sums(entries: dict[str, str]) -> str:
    """Render ``{file name: sha256}`` as sha256sums.txt text, sorted by name."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items()))


def parse_sums(data: bytes, source: str) -> dict[str, str]:
    """Parse sha256sums.txt bytes strictly.

    Args:
        data: file content.
        source: path for messages.

    Returns:
        dict[str, str]: file name -> sha256 hex.

    Raises:
        VerificationError: on any deviation from the format above.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        raise VerificationError(f"{source} starts with a byte-order mark: regenerate it with debwheels build")
    if b"\r" in data:
        raise VerificationError(f"{source} has CR line ends: regenerate it with debwheels build")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise VerificationError(f"{source} is not ASCII: regenerate it with debwheels build") from None
    if text and not text.endswith("\n"):
        raise VerificationError(f"{source} does not end with a newline: regenerate it with debwheels build")
    entries: dict[str, str] = {}
    previous = ""
    for number, line in enumerate(text.splitlines(), start=1):
        match = _LINE.match(line)
        if not match:
            raise VerificationError(f"{source}:{number}: not '<sha256>  <file name>': {line[:80]!r}")
        digest, name = match.groups()
        if name in UNLISTED:
            raise VerificationError(f"{source}:{number}: lists {name}, which cannot be in its own list")
        if name in entries:
            raise VerificationError(f"{source}:{number}: {name} is listed twice")
        if name < previous:
            raise VerificationError(f"{source}:{number}: lines are not sorted by file name")
        previous = name
        entries[name] = digest
    if not entries:
        raise VerificationError(f"{source} lists no files")
    return entries


def hash_directory(directory: Path) -> dict[str, str]:
    """Hash every regular file of *directory* except the sums file and the signatures.

    Returns:
        dict[str, str]: file name -> sha256 hex.

    Raises:
        VerificationError: the directory holds a subdirectory, link or special file.
    """
    entries: dict[str, str] = {}
    for path in sorted(directory.iterdir()):
        if path.name in UNLISTED:
            continue
        if path.is_symlink() or not path.is_file():
            raise VerificationError(f"{path} is not a regular file; a mirror holds only regular files: remove it")
        entries[path.name] = sha256_file(path)
    return entries


def compare(directory: Path, listed: dict[str, str]) -> MirrorDiff:
    """Compare the files of *directory* with *listed* (file name -> sha256)."""
    present = {p.name for p in directory.iterdir() if p.name not in UNLISTED}
    missing = sorted(set(listed) - present)
    extra = sorted(present - set(listed))
    changed = []
    for name in sorted(set(listed) & present):
        path = directory / name
        if path.is_symlink() or not path.is_file() or sha256_file(path) != listed[name]:
            changed.append(name)
    return MirrorDiff(tuple(missing), tuple(extra), tuple(changed))
