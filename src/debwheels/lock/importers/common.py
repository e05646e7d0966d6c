"""What an imported lock holds, and the checks of its entries that every format's reader shares."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debwheels.errors import RequirementsError

_SHA256 = re.compile(r"[0-9a-f]{64}")  # with fullmatch
SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2")
REGENERATE = {
    "requirements": "pip-compile --generate-hashes",
    "poetry": "poetry lock",
    "uv": "uv lock",
    "pylock": "uv export --format pylock.toml or pip lock",
}


@dataclass(frozen=True)
class ImportedPin:
    """One package version pinned by an imported lock.

    Attributes:
        name: canonical project name (:func:`packaging.utils.canonicalize_name`).
        version: the pinned version, as the lock writes it.
        sdist_hashes: sha256 hex digests of the sdist, when the format says which file is
            the sdist (poetry: file names ending .tar.gz/.zip/.tar.bz2; uv and pylock: the
            ``sdist`` entry); empty otherwise.
        hashes: every sha256 hex digest the lock lists for this version (sdist and wheels);
            for requirements.txt all ``--hash`` values.
        marker: PEP 508 marker when the format has one per package (requirements.txt
            markers, pylock ``marker``, poetry ``markers``, uv ``resolution-markers`` joined
            with ``or``); None when the package applies everywhere.
        where: ``"FILE:LINE"`` or ``"FILE [[package]] NAME"``, for messages.
        sdist_known: True when the format tells which file is the sdist (poetry, uv,
            pylock); a lock of such a format that lists only wheels cannot vouch for an sdist.
    """

    name: str
    version: str
    sdist_hashes: frozenset[str]
    hashes: frozenset[str]
    marker: str | None
    where: str
    sdist_known: bool = False


@dataclass(frozen=True)
class ImportedLock:
    """An imported lock file.

    Attributes:
        path: the file read.
        format: ``"requirements"``, ``"poetry"``, ``"uv"`` or ``"pylock"``.
        pins: by canonical name, sorted by name; one version per name.
        default_groups: pylock ``default-groups`` (used as ``dependency_groups`` when
            evaluating its markers); empty for the other formats.
    """

    path: Path
    format: str
    pins: dict[str, ImportedPin]
    default_groups: frozenset[str] = frozenset()


def malformed(where: str, what: str, lock_format: str) -> RequirementsError:
    """The error for an entry *what* is wrong with, at *where*, telling how to regenerate the file."""
    return RequirementsError(f"{where}: {what}: regenerate the file with {REGENERATE[lock_format]}")


def string_field(table: Mapping[str, Any], key: str, where: str, lock_format: str) -> str:
    """The non-empty string ``table[key]``; RequirementsError when it is missing or not a string."""
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise malformed(where, f"{key!r} is missing or not a string", lock_format)
    return value


def tables(value: object, what: str, where: str, lock_format: str) -> list[Mapping[str, Any]]:
    """*value* as a list of tables; RequirementsError when it is not one."""
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise malformed(where, f"{what} is not a list of tables", lock_format)
    return list(value)


def sha256_hash(value: object, where: str, lock_format: str) -> str | None:
    """Hex digest of a ``"sha256:<hex>"`` value; None for another algorithm."""
    if not isinstance(value, str) or ":" not in value:
        raise malformed(where, f"hash {value!r} is not ALGORITHM:HEX", lock_format)
    algorithm, _, digest = value.partition(":")
    if algorithm.lower() != "sha256":
        return None
    return hex_digest(digest, where, lock_format)


def hex_digest(digest: str, where: str, lock_format: str) -> str:
    """*digest* lowercased; RequirementsError when it is not 64 hex digits."""
    digest = digest.lower()
    if not _SHA256.fullmatch(digest):
        raise malformed(where, f"sha256 {digest!r} is not 64 hex digits", lock_format)
    return digest


def refuse_source(where: str, kind: str, location: object, lock_format: str) -> RequirementsError:
    """The error for a package from *kind* at *location* instead of an index."""
    return RequirementsError(
        f"{where}: comes from {kind} {location}, not from an index: debwheels builds every package from its index's sdist; depend on a released version and regenerate the lock with {REGENERATE[lock_format]}"
    )
