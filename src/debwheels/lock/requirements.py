"""Hash-pinned requirement files: reading and writing.

Format (pip's requirements file format, restricted; https://pip.pypa.io/en/stable/reference/requirements-file-format/)::

    name==version --hash=sha256:<64 hex> [--hash=sha256:<64 hex> ...] [; marker]

with ``\\`` line continuations and ``#`` comments. Anything that could pull code from an
unpinned place is refused: option lines (``--index-url``, ``--extra-index-url``, ``-e``,
``--find-links``, ``-r`` ...), URL requirements, ranges instead of ``==``, missing hashes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from debwheels.errors import RequirementsError

_HASH = re.compile(r"--hash[= ]sha256:([0-9a-f]{64})(?=\s|$)")
_ANY_HASH = re.compile(r"--hash[= ]\S*")


@dataclass(frozen=True)
class Pin:
    """One pinned requirement.

    Attributes:
        name: canonical project name (PEP 503 normalised).
        version: the exact version after ``==``.
        hashes: allowed sha256 digests (hex), at least one.
        marker: environment marker text, or None.
    """

    name: str
    version: str
    hashes: tuple[str, ...]
    marker: str | None = None

    def applies(self, environment: dict[str, str]) -> bool:
        """True when the pin has no marker or its marker holds in *environment* (PEP 508)."""
        return self.marker is None or Marker(self.marker).evaluate(environment)

    def line(self) -> str:
        """Render as one requirements-file line, hashes sorted."""
        hashes = " ".join(f"--hash=sha256:{h}" for h in sorted(self.hashes))
        marker = f" ; {self.marker}" if self.marker else ""
        return f"{self.name}=={self.version} {hashes}{marker}"


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join ``\\`` continuations, drop comments and blanks; return (first line number, text)."""
    lines: list[tuple[int, str]] = []
    buffer = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not buffer:
            start = number
        stripped = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if stripped.endswith("\\"):
            buffer += stripped[:-1] + " "
            continue
        buffer += stripped
        if buffer.strip():
            lines.append((start, buffer.strip()))
        buffer = ""
    if buffer.strip():
        lines.append((start, buffer.strip()))
    return lines


def parse_pins(text: str, source: str, allow_versions: bool = False) -> list[Pin]:
    """Parse a hash-pinned requirements text.

    Args:
        text: file content.
        source: file name used in error messages.
        allow_versions: allow one name at several versions (a build lock may hold several
            versions of one build tool); the same name and version twice is still an error.

    Returns:
        list[Pin]: in file order.

    Raises:
        RequirementsError: a line is an option, a URL or editable requirement, is not pinned
            with ``==``, has no sha256 hash, or names a project twice.
    """
    if text.startswith("\ufeff"):
        raise RequirementsError(f"{source}: starts with a byte-order mark: save it as plain UTF-8")
    pins: list[Pin] = []
    seen: dict[str, int] = {}
    for number, line in logical_lines(text):
        where = f"{source}:{number}"
        if line.startswith("-"):
            option = line.split()[0].split("=")[0]
            raise RequirementsError(
                f"{where}: option {option} is not allowed; list only name==version --hash=sha256:... lines"
            )
        hashes = tuple(_HASH.findall(line))
        spec = _ANY_HASH.sub("", line).strip()
        try:
            req = Requirement(spec)
        except InvalidRequirement as exc:
            raise RequirementsError(
                f"{where}: cannot parse {spec!r} ({str(exc).splitlines()[0]}): write name==version --hash=sha256:..."
            ) from None
        if req.url:
            raise RequirementsError(
                f"{where}: URL requirement {req.name} @ {req.url} is not allowed; pin name==version with a hash"
            )
        specifiers = list(req.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            raise RequirementsError(
                f"{where}: {spec!r} is not pinned; write {req.name}==<version> --hash=sha256:<sdist sha256>"
            )
        if not hashes or len(hashes) != len(_ANY_HASH.findall(line)):
            raise RequirementsError(f"{where}: {req.name} needs --hash=sha256:<64 lowercase hex> (of its sdist)")
        name = canonicalize_name(req.name)
        seen_key = f"{name}=={specifiers[0].version}" if allow_versions else name
        if seen_key in seen:
            raise RequirementsError(f"{where}: {seen_key} is pinned twice (also line {seen[seen_key]}): keep one")
        seen[seen_key] = number
        pins.append(Pin(name, specifiers[0].version, hashes, str(req.marker) if req.marker else None))
    return pins


def read_pins(path: Path, allow_versions: bool = False) -> list[Pin]:
    """Read and parse the pinned requirements file at *path* (see :func:`parse_pins`).

    Raises:
        RequirementsError: the file is missing or invalid.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RequirementsError(f"{path} does not exist: create it (name==version --hash=sha256:... lines)") from None
    except UnicodeDecodeError:
        raise RequirementsError(f"{path} is not UTF-8 text: fix the file") from None
    return parse_pins(text, str(path), allow_versions)


def render_pins(pins: list[Pin], header: str) -> str:
    """Render *pins* sorted by name under a ``#`` comment *header*; stable, no timestamps."""
    body = "\n".join(pin.line() for pin in sorted(pins, key=lambda p: (p.name, p.version)))
    comment = "\n".join(f"# {line}" if line else "#" for line in header.splitlines())
    return f"{comment}\n{body}\n"


def exact_pin(text: str) -> tuple[str, Version] | None:
    """``NAME==VERSION`` as (canonical name, version): one exact PEP 440 version, nothing else.

    Returns:
        The pair, or None for anything else (another operator, a wildcard, several specifiers,
        extras, a marker, a URL, or not a PEP 508 requirement at all).
    """
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    specs = list(req.specifier)
    if len(specs) != 1 or specs[0].operator != "==" or specs[0].version.endswith("*"):
        return None
    if req.extras or req.marker is not None or req.url:
        return None
    try:
        return str(canonicalize_name(req.name)), Version(specs[0].version)
    except InvalidVersion:
        return None
