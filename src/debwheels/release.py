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
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debwheels.errors import VerificationError
from debwheels.fsutil import atomic_write_text

RELEASE_NAME = "release.json"
FORMAT = 1
_KEYS = {"builder-rootfs-sha256", "created", "format", "origin", "serial", "source-date-epoch"}
STATE_FILE = "accepted-serials.json"


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
        return json.dumps(data, indent=2, sort_keys=True) + "\n"


def now_utc() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def parse_release(data: bytes, source: str) -> Release:
    """Parse release.json strictly.

    Args:
        data: file content.
        source: path for messages.

    Returns:
        Release: the metadata.

    Raises:
        VerificationError: not JSON, unknown format, missing or extra keys, or a value of the wrong type.
    """
    try:
        raw: Any = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VerificationError(f"{source} is not JSON ({exc}): rebuild and sign the mirror") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise VerificationError(f"{source} is not a format {FORMAT} release file: upgrade debwheels or sign again")
    if set(raw) != _KEYS:
        raise VerificationError(f"{source} must have exactly the keys {', '.join(sorted(_KEYS))}: sign again")
    serial, origin, created = raw["serial"], raw["origin"], raw["created"]
    rootfs, sde = raw["builder-rootfs-sha256"], raw["source-date-epoch"]
    if not (isinstance(serial, int) and not isinstance(serial, bool) and serial >= 1):
        raise VerificationError(f"{source}: serial {serial!r} is not a positive integer")
    if not (isinstance(origin, str) and origin and isinstance(created, str)):
        raise VerificationError(f"{source}: origin and created must be strings")
    if not (rootfs is None or isinstance(rootfs, str)) or not isinstance(sde, int):
        raise VerificationError(f"{source}: builder-rootfs-sha256 or source-date-epoch has the wrong type")
    return Release(origin, serial, created, rootfs, sde)


@dataclass(frozen=True)
class Accepted:
    """What this machine last accepted for one origin: the serial and the sha256 of its list."""

    serial: int
    sums_sha256: str


class SerialState:
    """The file of accepted serials (``accepted-serials.json``), read and updated under a lock."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / STATE_FILE

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise VerificationError(
                f"{self.path} is unreadable ({exc}): it records the mirror serials this machine accepted; "
                "restore it from a backup, or delete it to trust the next mirror's serial afresh"
            ) from None
        return data if isinstance(data, dict) else {}

    def get(self, origin: str) -> Accepted | None:
        """The last accepted serial of *origin*, or None."""
        entry = self._read().get(origin)
        if not isinstance(entry, dict):
            return None
        return Accepted(int(entry.get("serial", 0)), str(entry.get("sha256sums", "")))

    def check(self, release: Release, sums_sha256: str, min_serial: int | None) -> None:
        """Refuse a rollback: a serial below *min_serial* or below the last accepted one, or a different
        list under the last accepted serial.

        Raises:
            VerificationError: with the serials and what to do.
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
                f"({self.path}): someone may be serving an old signed mirror (rollback); fetch the current one"
            )
        if release.serial == last.serial and sums_sha256 != last.sums_sha256:
            raise VerificationError(
                f"mirror serial {release.serial} has another list than the one accepted here under that serial: "
                "two different signed lists share a serial; ask the maintainers which is genuine"
            )

    def record(self, release: Release, sums_sha256: str) -> None:
        """Remember *release* as accepted when its serial is the highest seen (atomic update)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(f".{STATE_FILE}.lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            entry = data.get(release.origin)
            if isinstance(entry, dict) and int(entry.get("serial", 0)) > release.serial:
                return
            data[release.origin] = {"serial": release.serial, "sha256sums": sums_sha256, "accepted": now_utc()}
            atomic_write_text(self.path, json.dumps(data, indent=2, sort_keys=True) + "\n")
