"""The build environment a wheel records: which backend version wrote it, and whether SOURCE_DATE_EPOCH was set.

Read from the wheel (PEP 427: a zip archive with one top-level ``*.dist-info/``):

- ``*.dist-info/WHEEL``, field ``Generator``: the tool that wrote the wheel and its version.
  Seen on PyPI: ``hatchling 1.27.0``, ``flit 3.12.0`` (flit_core 3.12.0), ``poetry-core 1.9.0``,
  ``setuptools (80.9.0)`` (setuptools 70.1 and later write their own wheels), ``bdist_wheel
  (0.37.1)`` (the ``wheel`` package's bdist_wheel: setuptools before 70.1, with that ``wheel``
  installed). Each becomes a build requirement pin (:data:`GENERATORS`); ``bdist_wheel`` also pins
  setuptools to the newest release before 70.1 uploaded before the wheel was (the newest before
  70.1 when the wheel's upload time is unknown; the notes say which).
- The entries' timestamps. Zip stores a local time without a zone; it is read as UTC here.
  One timestamp on every entry is what backends write with SOURCE_DATE_EPOCH set (hatchling
  also without it: its fixed 2020-02-02), so the rebuild sets SOURCE_DATE_EPOCH to that time.
  Several mean the backend stored file mtimes: flit_core without SOURCE_DATE_EPOCH (sources
  with their mtimes, dist-info files at its fixed 2016-01-01), poetry-core (fixed 1980-01-01 and
  2016-01-01), setuptools (sources with their mtimes, dist-info files at the build machine's
  clock, which no rebuild can recreate); the rebuild then runs with SOURCE_DATE_EPOCH unset, the
  sources keeping the sdist's mtimes.
"""

from __future__ import annotations

import calendar
import re
import zipfile
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from debwheels.build.wheelmeta import parse_headers
from debwheels.errors import ConfigError
from debwheels.safetext import clip

#: ``Generator`` tool name -> the build requirement whose version it records.
GENERATORS: dict[str, str] = {
    "hatchling": "hatchling",
    "flit": "flit_core",
    "poetry-core": "poetry-core",
    "setuptools": "setuptools",
    "bdist_wheel": "wheel",
    "pdm-backend": "pdm-backend",
}
#: The first setuptools that writes its own wheels (``Generator: setuptools (X)``); before it, ``wheel`` did.
SETUPTOOLS_OWN_WHEELS = Version("70.1")
#: hatchling's zip time when SOURCE_DATE_EPOCH is unset: 2020-02-02T00:00:00Z.
HATCHLING_DEFAULT_EPOCH = 1580601600
_GENERATOR = re.compile(r"\A([A-Za-z0-9][A-Za-z0-9._-]*) \(?([^\s()]+)\)?\Z")
_WHEEL = ".dist-info/WHEEL"
MAX_WHEEL_FILE = 1 << 20  # bytes; a larger WHEEL file is refused

#: A zip entry's time as zipfile gives it: (year, month, day, hour, minute, second).
ZipTime = tuple[int, int, int, int, int, int]


@dataclass(frozen=True)
class WheelFacts:
    """What a wheel says about its build.

    Attributes:
        generator: the ``Generator`` field of its WHEEL file, or None.
        timestamps: the distinct entry times, sorted (zip local time, no zone).
    """

    generator: str | None
    timestamps: tuple[ZipTime, ...]


@dataclass
class RecordedEnvironment:
    """The build environment a wheel records, as a rebuild recreates it.

    Attributes:
        generator: the WHEEL file's ``Generator`` text, or None (none, or no wheel bytes at hand).
        pins: build requirement pins (PEP 508 ``name==version``) replacing the sdist's declared ones
            on the same projects (:func:`pinned_requires`).
        source_date_epoch: SOURCE_DATE_EPOCH of the rebuild (seconds), or None: unset.
        notes: how each was found, and what is known to make a rebuild differ.
        tz: the POSIX TZ of the rebuild when not UTC (the maker's zone, :func:`zone_offset`).
    """

    generator: str | None
    pins: list[str] = field(default_factory=list)
    source_date_epoch: int | None = None
    notes: list[str] = field(default_factory=list)
    tz: str | None = None

    def describe(self) -> str:
        """One line: ``setuptools==80.9.0, SOURCE_DATE_EPOCH unset``."""
        parts = list(self.pins) or ["the declared build requirements"]
        sde = self.source_date_epoch
        parts.append("SOURCE_DATE_EPOCH unset" if sde is None else f"SOURCE_DATE_EPOCH={sde}")
        if self.tz is not None:
            parts.append(f"TZ={self.tz}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, object]:
        """``{"generator", "pins", "source-date-epoch", "tz", "notes"}``."""
        return {
            "generator": self.generator,
            "pins": list(self.pins),
            "source-date-epoch": self.source_date_epoch,
            "tz": self.tz,
            "notes": list(self.notes),
        }


def read_wheel(path: Path) -> WheelFacts:
    """Read the ``Generator`` and the entry timestamps of the wheel at *path* (PEP 427).

    Raises:
        ConfigError: not a zip archive, or not exactly one top-level ``*.dist-info/WHEEL``, or one over 1 MiB.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            members = [
                info
                for info in infos
                if info.filename.count("/") == 1 and info.filename.endswith(_WHEEL) and len(info.filename) > len(_WHEEL)
            ]
            if len(members) != 1 or members[0].file_size > MAX_WHEEL_FILE:
                raise ConfigError(
                    f"{clip(path.name, 120)} holds {len(members)} top-level *.dist-info/WHEEL files (or one over "
                    f"{MAX_WHEEL_FILE} bytes), not one: it is not a wheel (PEP 427)"
                )
            data = archive.read(members[0])
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        raise ConfigError(
            f"{clip(path.name, 120)} is not a readable wheel ({clip(str(exc), 120)}): pass a wheel file (PEP 427)"
        ) from None
    value = parse_headers(data).get("Generator")
    generator = str(value).strip() if value is not None else None
    return WheelFacts(generator or None, tuple(sorted({info.date_time for info in infos})))


def utc_epoch(stamp: ZipTime) -> int:
    """A zip entry time read as UTC, in seconds since the epoch."""
    return calendar.timegm((*stamp, 0, 0, 0))


def rfc3339(seconds: float) -> str:
    """``2025-10-06T09:22:26Z``."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def newest_setuptools(
    releases: Sequence[tuple[Version, datetime | None]], uploaded: datetime | None
) -> tuple[Version | None, str]:
    """The setuptools a ``bdist_wheel`` wheel was most likely built with: the newest final release before 70.1.

    Args:
        releases: setuptools versions on the index with the upload time of their sdist (None: unknown).
        uploaded: the wheel's upload time; releases uploaded later are not taken. None: unknown.

    Returns:
        (the version or None when none fits, a note saying how it was chosen).
    """
    candidates = [
        version
        for version, when in releases
        if version < SETUPTOOLS_OWN_WHEELS
        and not (version.is_prerelease or version.is_devrelease)
        and (uploaded is None or (when is not None and when <= uploaded))
    ]
    when = f" uploaded before the wheel ({uploaded:%Y-%m-%d %H:%M} UTC)" if uploaded is not None else ""
    if not candidates:
        return None, (
            f"no setuptools release before {SETUPTOOLS_OWN_WHEELS}{when} has an sdist on the index: setuptools is not pinned"
        )
    picked = max(candidates)
    if uploaded is None:
        return picked, (
            f"setuptools {picked}: the newest release before {SETUPTOOLS_OWN_WHEELS} (bdist_wheel wrote the wheel; "
            "its upload time is unknown, so not the newest before it)"
        )
    return (
        picked,
        f"setuptools {picked}: the newest release before {SETUPTOOLS_OWN_WHEELS}{when} (bdist_wheel wrote it)",
    )


def recorded_environment(
    facts: WheelFacts,
    uploaded: datetime | None = None,
    setuptools_releases: Callable[[], Sequence[tuple[Version, datetime | None]]] = lambda: (),
) -> RecordedEnvironment:
    """The build environment *facts* record (see the module docstring).

    Args:
        facts: what the wheel says (:func:`read_wheel`).
        uploaded: the wheel's upload time on the index (PEP 700), or None when unknown.
        setuptools_releases: called only for a ``bdist_wheel`` wheel: setuptools versions with
            their sdist's upload time (:func:`newest_setuptools`).

    Returns:
        RecordedEnvironment: an unknown ``Generator`` pins nothing (the sdist's declared build
        requirements are used) and says so in the notes.
    """
    env = RecordedEnvironment(facts.generator)
    tool = None
    if facts.generator is None:
        env.notes.append("its WHEEL file names no Generator: the sdist's declared build requirements are used")
    else:
        match = _GENERATOR.fullmatch(facts.generator)
        version: Version | None = None
        if match is not None:
            try:
                version = Version(match.group(2))
            except InvalidVersion:
                version = None
        requirement = GENERATORS.get(match.group(1)) if match is not None else None
        if match is None or requirement is None or version is None:
            env.notes.append(
                f"Generator {clip(facts.generator, 80)!r} is none debwheels knows ({', '.join(GENERATORS)}): "
                "the sdist's declared build requirements are used"
            )
        else:
            tool = match.group(1)
            env.pins.append(f"{requirement}=={version}")
            if tool == "bdist_wheel":
                picked, note = newest_setuptools(setuptools_releases(), uploaded)
                if picked is not None:
                    env.pins.append(f"setuptools=={picked}")
                env.notes.append(note)
    if len(facts.timestamps) == 1:
        sde = utc_epoch(facts.timestamps[0])
        env.source_date_epoch = sde
        env.notes.append(
            f"every entry has the time {rfc3339(sde)} (zip stores local time without a zone; read as UTC): "
            f"SOURCE_DATE_EPOCH={sde}"
        )
        if tool == "hatchling" and sde == HATCHLING_DEFAULT_EPOCH:
            env.notes.append("that is hatchling's fixed time when SOURCE_DATE_EPOCH is unset")
    else:
        env.notes.append(
            f"{len(facts.timestamps)} different entry times: built without SOURCE_DATE_EPOCH (file mtimes), so it is "
            "unset here; the sources keep the sdist's mtimes (zip stores local time: a build machine not on UTC "
            "shifts them)"
        )
        if tool in ("setuptools", "bdist_wheel"):
            env.notes.append(
                "setuptools stamps the .dist-info files with the build machine's clock, which no rebuild recreates: "
                "expect those timestamps to differ"
            )
    return env


def default_environment(source_date_epoch: int, why: str) -> RecordedEnvironment:
    """debwheels' own settings, for a wheel whose bytes are not at hand (*why* says so).

    Returns:
        RecordedEnvironment: no pins (the sdist's declared build requirements), SOURCE_DATE_EPOCH *source_date_epoch*.
    """
    return RecordedEnvironment(
        None, [], source_date_epoch, [f"{why}: built with debwheels' defaults (declared build requirements)"]
    )


def pinned_requires(declared: Sequence[str], pins: Sequence[str]) -> list[str]:
    """*declared* build requirements with each one on a pinned project replaced by its pin; other pins are added.

    Args:
        declared: the sdist's ``[build-system] requires`` (PEP 508).
        pins: ``name==version`` pins (:attr:`RecordedEnvironment.pins`).

    Returns:
        list[str]: in the declared order, a pin in place of the first requirement on its project
        (names compared canonicalised, PEP 503), further ones on it dropped; pins on projects not
        declared at the end.
    """
    by_name = {canonicalize_name(Requirement(pin).name): pin for pin in pins}
    result: list[str] = []
    used: set[str] = set()
    for text in declared:
        try:
            name = canonicalize_name(Requirement(text).name)
        except InvalidRequirement:
            result.append(text)
            continue
        if name not in by_name:
            result.append(text)
        elif name not in used:
            result.append(by_name[name])
            used.add(name)
    return result + [pin for name, pin in by_name.items() if name not in used]


def zone_offset(wanted: Path, rebuilt: Path) -> str | None:
    """The TZ that turns *rebuilt*'s zip times into *wanted*'s: the zone of the machine that built *wanted*.

    Zip entries store local time (APPNOTE.TXT 4.4.6, MS-DOS date and time), so a wheel built from
    the same sdist on a machine whose clock is set to another zone carries every source file's
    time in that zone. Only entries outside ``.dist-info`` (the sources, whose times come from the
    sdist) are compared. One fixed offset (a multiple of 15 minutes, at most 14 hours) gives a
    POSIX TZ such as ``UTC-1``; otherwise each zone of the host's tz database (IANA, via
    :mod:`zoneinfo`) is tried, in name order, and the first whose local times match every entry
    gives the POSIX TZ string its TZif file ends with (RFC 8536 section 3.3: e.g.
    ``GMT0BST,M3.5.0/1,M10.5.0`` for Europe/London), which needs no tz database in the builder.

    Args:
        wanted: the wheel to reproduce.
        rebuilt: a rebuild of it made with ``TZ=UTC``.

    Returns:
        str | None: a POSIX TZ value, or None when no zone explains the difference (or there is none).
    """
    with zipfile.ZipFile(wanted) as one, zipfile.ZipFile(rebuilt) as two:
        theirs = {i.filename: i.date_time for i in one.infolist() if ".dist-info/" not in i.filename}
        ours = {i.filename: i.date_time for i in two.infolist() if ".dist-info/" not in i.filename}
    pairs = [(datetime(*theirs[n]), datetime(*ours[n], tzinfo=UTC)) for n in sorted(theirs.keys() & ours.keys())]
    deltas = {int((there - here.replace(tzinfo=None)).total_seconds()) for there, here in pairs}
    if not pairs or deltas == {0}:
        return None
    if len(deltas) == 1:
        delta = deltas.pop()
        if delta % 900 or abs(delta) > 14 * 3600:
            return None
        hours, minutes = divmod(abs(delta) // 60, 60)
        return f"UTC{'-' if delta > 0 else '+'}{hours}" + (f":{minutes:02d}" if minutes else "")
    for name in sorted(zoneinfo.available_timezones()):
        zone = zoneinfo.ZoneInfo(name)
        if all(here.astimezone(zone).replace(tzinfo=None) == there for there, here in pairs):
            return _posix_tz(name)
    return None


def _posix_tz(name: str) -> str | None:
    """The POSIX TZ string at the end of zone *name*'s TZif file (RFC 8536 3.3), or None."""
    for root in zoneinfo.TZPATH:
        path = Path(root) / name
        if path.is_file():
            footer = path.read_bytes().rstrip(b"\n").rsplit(b"\n", 1)[-1].decode("ascii", "replace")
            return footer or None
    return None


def time_only_difference(wanted: Path, rebuilt: Path) -> str | None:
    """A note when two wheels hold the same files with the same bytes and differ only in zip times.

    Returns:
        str | None: which entries' times differ (the ``.dist-info`` ones a backend writes at build
        time, from the build machine's clock, which no rebuild recreates), or None when names,
        contents (CRC-32 and size) or attributes differ too.
    """
    with zipfile.ZipFile(wanted) as one, zipfile.ZipFile(rebuilt) as two:
        theirs, ours = one.infolist(), two.infolist()
    if [i.filename for i in theirs] != [i.filename for i in ours]:
        return None
    timed = []
    for a, b in zip(theirs, ours, strict=True):
        if (a.CRC, a.file_size, a.external_attr, a.compress_type) != (
            b.CRC,
            b.file_size,
            b.external_attr,
            b.compress_type,
        ):
            return None
        if a.date_time != b.date_time:
            timed.append(a.filename)
    if not timed:
        return None
    where = "its .dist-info files" if all(".dist-info/" in n for n in timed) else f"{len(timed)} entries"
    return (
        f"same files and bytes; only the zip times of {where} differ ({', '.join(n.rsplit('/', 1)[-1] for n in timed[:4])}"
        f"{', ...' if len(timed) > 4 else ''}): written at build time from the build machine's clock, which a rebuild "
        "cannot recreate"
    )
