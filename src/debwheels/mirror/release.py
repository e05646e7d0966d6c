"""``release.json``: the signed metadata of a mirror, and the per-machine record of accepted serials.

``release.json`` is a companion file listed in ``sha256sums.txt`` like every other file, so the
detached signatures over the list cover it and ``sha256sum -c`` checks it without knowing what
it is. It is JSON (RFC 8259), sorted keys, two-space indent, final newline::

    {
      "builder-rootfs-sha256": "<64 hex>",   # the builder rootfs the wheels were built in
      "created": "2026-11-22T10:00:00Z",     # when 'debwheels sign' made this release (UTC)
      "format": 1,
      "origin": "debwheels",                 # the project the mirror belongs to
      "serial": 7,                           # +1 for every new list; never goes back
      "source-date-epoch": 1309379017        # SOURCE_DATE_EPOCH of the wheel builds
    }

Rollback protection (like apt's Release files, without the expiry): ``debwheels verify`` keeps
the highest serial it accepted per origin, with the sha256 of that list, in
``<state home>/accepted-serials.json`` (see :func:`debwheels.config.state_home`), and refuses
a lower serial, or another list under the same serial.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from debwheels import strictjson
from debwheels.errors import VerificationError
from debwheels.fsutil import atomic_write_text
from debwheels.mirror.snapshot import read_regular
from debwheels.safetext import bounded, clip, escape

RELEASE_NAME = "release.json"
FORMAT = 1
_KEYS = {"builder-rootfs-sha256", "created", "format", "origin", "serial", "source-date-epoch"}
STATE_FILE = "accepted-serials.json"
#: Largest release.json accepted (bytes); a real one is about 250.
MAX_RELEASE_BYTES = 64 << 10
#: Largest accepted-serials.json accepted (bytes): thousands of origins.
MAX_STATE_BYTES = 1 << 20
#: Longest origin (project name) accepted, in characters.
MAX_ORIGIN_CHARS = 200
_ORIGIN = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")  # PEP 508 names, with re.fullmatch
_CREATED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", re.ASCII)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_STATE_KEYS = {"accepted", "serial", "sha256sums"}
_SHOWN = 80  # characters of a refused value shown in a message
_SIGN_AGAIN = "fetch the mirror again, or sign it again with debwheels sign"
_STATE_FIX = (
    "it records the mirror serials this machine accepted; restore it from a backup, "
    "or delete it to trust the next mirror's serial afresh"
)


@dataclass(frozen=True)
class Release:
    """The signed metadata of one mirror list.

    Attributes:
        origin: project name.
        serial: release number, 1 or more; each new list has a higher one.
        created: ISO 8601 UTC time the release was made.
        builder_rootfs_sha256: sha256 of the builder rootfs tarball, or None when unknown.
        source_date_epoch: SOURCE_DATE_EPOCH of the builds (seconds).
    """

    origin: str
    serial: int
    created: str
    builder_rootfs_sha256: str | None
    source_date_epoch: int

    def render(self) -> str:
        """The file's text (sorted keys, final newline)."""
        data = {
            "builder-rootfs-sha256": self.builder_rootfs_sha256,
            "created": self.created,
            "format": FORMAT,
            "origin": self.origin,
            "serial": self.serial,
            "source-date-epoch": self.source_date_epoch,
        }
        return strictjson.render(data)


def now_utc() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _show(value: Any) -> str:
    """A refused value for a message (:func:`debwheels.strictjson.show`)."""
    return strictjson.show(value, _SHOWN)


def _is_int(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def parse_release(data: bytes, source: str) -> Release:
    """Parse release.json strictly (fail closed).

    The bytes are strict JSON (:func:`debwheels.strictjson.loads`: UTF-8, no duplicate keys,
    integers only, within 2^63-1) holding one object with exactly the keys of the module
    docstring: ``format`` the integer 1; ``serial`` an integer 1..2^63-1; ``source-date-epoch``
    an integer 0..2^63-1; ``origin`` a PEP 508 project name; ``created``
    ``YYYY-MM-DDTHH:MM:SSZ`` naming a real UTC time; ``builder-rootfs-sha256`` null or 64
    lowercase hex digits. ``true`` is not an integer here.

    Args:
        data: file content (any bytes).
        source: path for messages (escaped).

    Returns:
        Release: the metadata.

    Raises:
        VerificationError: one line, for any deviation; nothing else is raised, whatever the bytes.
    """
    where = escape(source)
    raw: Any = strictjson.loads(data, source, MAX_RELEASE_BYTES, fix=_SIGN_AGAIN)
    if not isinstance(raw, dict):
        raise VerificationError(f"{where} is not a JSON object: {_SIGN_AGAIN}")
    version = raw.get("format")
    if version != FORMAT or isinstance(version, bool):
        if _is_int(version, FORMAT + 1, strictjson.MAX_INT):
            raise VerificationError(
                f"{where} is a format {version} release file, newer than this debwheels reads (format {FORMAT}): "
                "upgrade debwheels"
            )
        raise VerificationError(
            f"{where} is not a format {FORMAT} release file (format {_show(version)}): "
            f"upgrade debwheels, or {_SIGN_AGAIN}"
        )
    if set(raw) != _KEYS:
        missing = sorted(_KEYS - set(raw))
        unknown = sorted(set(raw) - _KEYS)
        problems = ([f"missing {', '.join(missing)}"] if missing else []) + (
            [f"unknown {bounded(unknown)}"] if unknown else []
        )
        raise VerificationError(
            f"{where} must have exactly the keys {', '.join(sorted(_KEYS))} ({'; '.join(problems)}): {_SIGN_AGAIN}"
        )
    serial, origin, created = raw["serial"], raw["origin"], raw["created"]
    rootfs, sde = raw["builder-rootfs-sha256"], raw["source-date-epoch"]
    if not _is_int(serial, 1, strictjson.MAX_INT):
        raise VerificationError(f"{where}: serial {_show(serial)} is not an integer from 1 to 2^63-1: {_SIGN_AGAIN}")
    if not _is_int(sde, 0, strictjson.MAX_INT):
        raise VerificationError(
            f"{where}: source-date-epoch {_show(sde)} is not an integer from 0 to 2^63-1: {_SIGN_AGAIN}"
        )
    if not (isinstance(origin, str) and len(origin) <= MAX_ORIGIN_CHARS and _ORIGIN.fullmatch(origin)):
        raise VerificationError(f"{where}: origin {_show(origin)} is not a project name (PEP 508): {_SIGN_AGAIN}")
    if not (isinstance(created, str) and _CREATED.fullmatch(created) and _real_time(created)):
        raise VerificationError(
            f"{where}: created {_show(created)} is not a UTC time YYYY-MM-DDTHH:MM:SSZ: {_SIGN_AGAIN}"
        )
    if not (rootfs is None or (isinstance(rootfs, str) and _SHA256.fullmatch(rootfs))):
        raise VerificationError(
            f"{where}: builder-rootfs-sha256 {_show(rootfs)} is neither null nor 64 lower-case hex digits: "
            f"{_SIGN_AGAIN}"
        )
    return Release(origin, serial, created, rootfs, sde)


def _real_time(text: str) -> bool:
    try:
        datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class Accepted:
    """What this machine last accepted for one origin: the serial and the sha256 of its list."""

    serial: int
    sums_sha256: str
    accepted: str = ""


class SerialState:
    """The file of accepted serials (``accepted-serials.json``), read and updated under a lock.

    The file is strict JSON (:func:`debwheels.strictjson.loads`) holding one object: origin ->
    ``{"accepted": "<time>", "serial": <1..2^63-1>, "sha256sums": "<64 lower-case hex>"}``. A
    missing file is an empty record; anything else that is not such a regular file (a link, a
    FIFO, valid JSON of another shape) is a :class:`~debwheels.errors.VerificationError`, never
    an empty record, and is never overwritten.
    """

    def __init__(self, directory: Path) -> None:
        self.path = directory / STATE_FILE

    def _refuse(self, problem: str) -> NoReturn:
        raise VerificationError(f"{escape(str(self.path))} {problem}: {_STATE_FIX}")

    def _read(self) -> dict[str, Accepted]:
        try:
            info = os.lstat(self.path)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            self._refuse(f"cannot be read ({escape(exc.strerror or str(exc))})")
        if not stat.S_ISREG(info.st_mode):
            self._refuse("is not a regular file")
        try:
            data = read_regular(self.path, MAX_STATE_BYTES, str(self.path))
        except VerificationError as exc:
            raise VerificationError(f"{exc} ({_STATE_FIX})") from None
        raw: Any = strictjson.loads(data, str(self.path), MAX_STATE_BYTES, fix=_STATE_FIX)
        if not isinstance(raw, dict):
            self._refuse(f"holds {_show(raw)}, not an object of accepted serials per origin")
        return {origin: self._entry(origin, entry) for origin, entry in raw.items()}

    def _entry(self, origin: str, entry: Any) -> Accepted:
        name = clip(origin, _SHOWN)
        keys = ", ".join(sorted(_STATE_KEYS))
        if not isinstance(entry, dict):
            self._refuse(f"holds {_show(entry)} for '{name}', not an object with the keys {keys}")
        if set(entry) != _STATE_KEYS:
            self._refuse(f"holds an entry for '{name}' with the keys {bounded(sorted(entry))}, not exactly {keys}")
        serial, digest, accepted = entry["serial"], entry["sha256sums"], entry["accepted"]
        if not _is_int(serial, 1, strictjson.MAX_INT):
            self._refuse(f"holds serial {_show(serial)} for '{name}', not an integer from 1 to 2^63-1")
        if not (isinstance(digest, str) and _SHA256.fullmatch(digest)):
            self._refuse(f"holds sha256sums {_show(digest)} for '{name}', not 64 lower-case hex digits")
        if not isinstance(accepted, str):
            self._refuse(f"holds accepted {_show(accepted)} for '{name}', not a time string")
        return Accepted(serial, digest, accepted)

    def get(self, origin: str) -> Accepted | None:
        """The last accepted serial of *origin*, or None when none was recorded.

        Raises:
            VerificationError: the state file exists but is not a well-formed record.
        """
        return self._read().get(origin)

    def check(self, release: Release, sums_sha256: str, min_serial: int | None) -> None:
        """Refuse a rollback: a serial below *min_serial* or below the last accepted one, or a different
        list under the last accepted serial.

        Raises:
            VerificationError: with the serials and what to do, or a malformed state file.
        """
        if min_serial is not None and release.serial < min_serial:
            raise VerificationError(
                f"mirror serial {release.serial} is below --min-serial {min_serial}: "
                "this is an older signed list (rollback?); fetch the current mirror"
            )
        last = self.get(release.origin)
        if last is None:
            return
        if release.serial < last.serial:
            raise VerificationError(
                f"mirror serial {release.serial} is older than serial {last.serial} accepted on this machine "
                f"({escape(str(self.path))}): someone may be serving an old signed mirror (rollback); fetch the current one"
            )
        if release.serial == last.serial and sums_sha256 != last.sums_sha256:
            raise VerificationError(
                f"mirror serial {release.serial} has another list than the one accepted here under that serial: "
                "two different signed lists share a serial; ask the maintainers which is genuine"
            )

    def record(self, release: Release, sums_sha256: str) -> None:
        """Remember *release* as accepted when its serial is the highest seen (atomic update, under a lock).

        Raises:
            VerificationError: the state file is malformed; it is left as it is.
            OSError: the file or its lock cannot be written.
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{STATE_FILE}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            entry = data.get(release.origin)
            if entry is not None and entry.serial > release.serial:
                return
            data[release.origin] = Accepted(release.serial, sums_sha256, now_utc())
            text = {
                origin: {"accepted": a.accepted, "serial": a.serial, "sha256sums": a.sums_sha256}
                for origin, a in data.items()
            }
            atomic_write_text(self.path, strictjson.render(text))
