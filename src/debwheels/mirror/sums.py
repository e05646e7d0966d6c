"""``sha256sums.txt``: the list of every file in the mirror with its sha256.

Format: the output of coreutils ``sha256sum`` in text mode (``sha256sum(1)``): one
``<64 lowercase hex>  <path>`` line per file, sorted by path (C locale), LF line ends, a
final newline. Paths are relative to the mirror directory, ``/``-separated (the index lives in
``simple/``); each segment starts with a letter, digit, ``_`` or ``+``. The parser is strict:
CR, a BOM, an absolute path, a segment starting with ``.`` or ``-`` (so no ``..``), an empty
segment, duplicates, bad hex, unsorted lines and listing the sums file or the signatures are
errors. Verify hashes the listed files on all cores (:func:`debwheels.mirror.snapshot.read_listed`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from debwheels.errors import VerificationError
from debwheels.safetext import bounded, clip, escape

SUMS_NAME = "sha256sums.txt"
SIGNATURES_DIR = "signatures"  # one detached signature of the list per signer, see debwheels.mirror.publish
#: Largest sha256sums.txt accepted (bytes).
MAX_SUMS_BYTES = 64 * 1024 * 1024
UNLISTED = frozenset({SUMS_NAME, SIGNATURES_DIR})
_SEGMENT = r"[A-Za-z0-9_+][A-Za-z0-9._+-]*"
_LINE = re.compile(rf"([0-9a-f]{{64}})  ({_SEGMENT}(?:/{_SEGMENT})*)")  # with re.fullmatch
_SHOWN = 80  # characters of a refused line shown in a message


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
        """One line naming what differs: per category the first ten names, escaped, then "and N more"."""
        parts = []
        for label, names in (("changed", self.changed), ("missing", self.missing), ("extra", self.extra)):
            if names:
                parts.append(f"{label}: {bounded(names)}")
        return "; ".join(parts)


def render_sums(entries: dict[str, str]) -> str:
    """Render ``{file name: sha256}`` as sha256sums.txt text, sorted by name."""
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items()))


def parse_sums(data: bytes, source: str) -> dict[str, str]:
    """Parse sha256sums.txt bytes strictly.

    Args:
        data: file content (any bytes).
        source: path for messages (escaped).

    Returns:
        dict[str, str]: file name -> sha256 hex.

    Raises:
        VerificationError: one line, on any deviation from the format above or more than
            :data:`MAX_SUMS_BYTES`; nothing else is raised, whatever the bytes.
    """
    where = escape(source)
    if len(data) > MAX_SUMS_BYTES:
        raise VerificationError(
            f"{where} is {len(data)} bytes, more than the {MAX_SUMS_BYTES} allowed: regenerate it with debwheels build"
        )
    if data.startswith(b"\xef\xbb\xbf"):
        raise VerificationError(f"{where} starts with a byte-order mark: regenerate it with debwheels build")
    if b"\r" in data:
        raise VerificationError(f"{where} has CR line ends: regenerate it with debwheels build")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise VerificationError(f"{where} is not ASCII: regenerate it with debwheels build") from None
    if text and not text.endswith("\n"):
        raise VerificationError(f"{where} does not end with a newline: regenerate it with debwheels build")
    entries: dict[str, str] = {}
    previous = ""
    # split("\n"), not splitlines(): a form feed or other separator inside a line is not a line end.
    for number, line in enumerate(text[:-1].split("\n") if text else [], start=1):
        match = _LINE.fullmatch(line)
        if not match:
            raise VerificationError(f"{where}:{number}: not '<sha256>  <file name>': '{clip(line, _SHOWN)}'")
        digest, name = match.groups()
        if name.split("/")[0] in UNLISTED:
            raise VerificationError(f"{where}:{number}: lists {escape(name)}, which cannot be in its own list")
        if name in entries:
            raise VerificationError(f"{where}:{number}: {escape(name)} is listed twice")
        if name < previous:
            raise VerificationError(f"{where}:{number}: lines are not sorted by file name")
        previous = name
        entries[name] = digest
    if not entries:
        raise VerificationError(f"{where} lists no files")
    return entries
