"""Which releases of a project debwheels may lock: those with an sdist, within the time cut-offs.

debwheels builds every wheel from its sdist, so a release is a candidate only when its index
page lists a non-yanked sdist with a sha256 (PEP 503/691, PEP 592), uploaded (PEP 700
``upload-time``) no later than ``exclude-newer`` and at least ``min-release-age`` ago, and
whose ``requires-python`` admits the target interpreter. Every other release is *skipped*
with its reason, so the lock can say why a newer version was not taken. Wheels are kept only
as a source of metadata (PEP 658), under the same cut-offs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from debwheels.errors import ConfigError
from debwheels.lock.simpleindex import IndexFile, ProjectPage

_DURATION = re.compile(r"^\s*(\d+)\s*(minute|hour|day|week)s?\s*$")
_UNITS = {"minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400}


def parse_timestamp(text: str, where: str) -> datetime:
    """Parse an ``exclude-newer`` value: an RFC 3339 timestamp (``2026-11-01T00:00:00Z``) or a date (UTC midnight).

    Raises:
        ConfigError: neither form.
    """
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(
            f'{where} = {text!r} is not a timestamp: use RFC 3339, e.g. "2026-11-01T00:00:00Z", or a date "2026-11-01"'
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_duration(text: str, where: str) -> timedelta:
    """Parse a ``min-release-age`` value such as ``"7 days"``, ``"36 hours"``, ``"2 weeks"``, ``"0 days"``.

    Raises:
        ConfigError: not ``<number> <minutes|hours|days|weeks>``.
    """
    found = _DURATION.match(text)
    if not found:
        raise ConfigError(f'{where} = {text!r} is not a duration: use e.g. "7 days", "36 hours" or "2 weeks"')
    return timedelta(seconds=int(found.group(1)) * _UNITS[found.group(2)])


def format_duration(value: timedelta) -> str:
    """*value* in the largest whole unit of :func:`parse_duration` ("7 days", "36 hours")."""
    seconds = int(value.total_seconds())
    for unit in ("week", "day", "hour", "minute"):
        size = _UNITS[unit]
        if seconds % size == 0 and seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"


@dataclass(frozen=True)
class Cutoff:
    """The time limits on files (``exclude-newer``, ``min-release-age``), evaluated at *now*."""

    exclude_newer: datetime | None = None
    min_release_age: timedelta | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    @property
    def active(self) -> bool:
        """True when some limit applies (upload times are then required)."""
        return self.exclude_newer is not None or bool(self.min_release_age)

    def refuses(self, uploaded: datetime | None) -> str | None:
        """Why a file uploaded at *uploaded* is out of bounds, or None when it may be used."""
        if not self.active:
            return None
        if uploaded is None:
            return "the index gives no upload time (PEP 700), which exclude-newer/min-release-age need"
        day = uploaded.strftime("%Y-%m-%d %H:%M")
        if self.exclude_newer is not None and uploaded > self.exclude_newer:
            return f"uploaded {day}, after exclude-newer {self.exclude_newer:%Y-%m-%d %H:%M}"
        if self.min_release_age and uploaded > self.now - self.min_release_age:
            return f"uploaded {day}, within min-release-age ({format_duration(self.min_release_age)})"
        return None

    def describe(self) -> str:
        """The limits in words (for messages), '' when none."""
        parts = []
        if self.exclude_newer is not None:
            parts.append(f"exclude-newer {self.exclude_newer:%Y-%m-%dT%H:%M:%SZ}")
        if self.min_release_age:
            parts.append(f"min-release-age {format_duration(self.min_release_age)}")
        return ", ".join(parts)


@dataclass(frozen=True)
class Release:
    """A version debwheels may lock: its sdist, and the wheels usable as a metadata source."""

    name: NormalizedName
    version: Version
    sdist: IndexFile
    wheels: tuple[IndexFile, ...]


@dataclass(frozen=True)
class Skipped:
    """A version that is not a candidate, and why."""

    version: Version
    reason: str


_SDIST_PREFERENCE = (".tar.gz", ".zip")


def _sdist_rank(file: IndexFile) -> int:
    for rank, suffix in enumerate(_SDIST_PREFERENCE):
        if file.filename.endswith(suffix):
            return rank
    return len(_SDIST_PREFERENCE)


def _python_refuses(requires_python: str | None, python: str) -> str | None:
    if not requires_python:
        return None
    try:
        if SpecifierSet(requires_python).contains(python, prereleases=True):
            return None
    except InvalidSpecifier:
        return f"its requires-python {requires_python!r} is not valid"
    return f"needs Python {requires_python}, the target is {python}"


def available(page: ProjectPage, cutoff: Cutoff, python: str) -> tuple[list[Release], list[Skipped]]:
    """Split a project's versions into candidates and skipped ones.

    Args:
        page: the project's index page.
        cutoff: the time limits.
        python: the target interpreter's full version (``python_full_version``, e.g. "3.11.2").

    Returns:
        (releases, skipped): both sorted newest first. A release's sdist is its ``.tar.gz``
        when there is one; its wheels are the non-yanked ones inside the cut-offs.
    """
    by_version: dict[Version, list[IndexFile]] = {}
    for file in page.files:
        by_version.setdefault(file.version, []).append(file)
    releases: list[Release] = []
    skipped: list[Skipped] = []
    for version in sorted(by_version, reverse=True):
        files = by_version[version]
        sdists = sorted((f for f in files if f.kind == "sdist"), key=lambda f: (_sdist_rank(f), f.filename))
        reason = None
        if not sdists:
            reason = "no sdist (a wheel-only release)"
        else:
            usable = [f for f in sdists if f.yanked is None and f.sha256 is not None]
            if not usable:
                yanked = next((f for f in sdists if f.yanked is not None), None)
                reason = (
                    f"its sdist is yanked{': ' + yanked.yanked if yanked and yanked.yanked else ''}"
                    if yanked is not None
                    else "the index lists no sha256 for its sdist"
                )
            else:
                sdist = usable[0]
                reason = cutoff.refuses(sdist.upload_time) or _python_refuses(sdist.requires_python, python)
        if reason is not None:
            skipped.append(Skipped(version, reason))
            continue
        wheels = tuple(
            f for f in files if f.kind == "wheel" and f.yanked is None and cutoff.refuses(f.upload_time) is None
        )
        releases.append(Release(page.name, version, usable[0], wheels))
    return releases, skipped
