"""Read Poetry's poetry.lock (lock-version 1.x and 2.x)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from debwheels.lock.importers.common import (
    SDIST_SUFFIXES,
    ImportedPin,
    malformed,
    refuse_source,
    sha256_hash,
    string_field,
    tables,
)


def _file_is_version(filename: str, version: str) -> bool:
    """False only when *filename* clearly belongs to another version (``[metadata.files]``)."""
    try:
        is_wheel = filename.endswith(".whl")
        parsed = parse_wheel_filename(filename)[1] if is_wheel else parse_sdist_filename(filename)[1]
        return parsed == Version(version)
    except (InvalidSdistFilename, InvalidWheelFilename, InvalidVersion):
        return True


def _poetry_marker(package: Mapping[str, Any], where: str) -> str | None:
    markers = package.get("markers")
    if markers is None:
        return None
    if isinstance(markers, str):
        return markers or None
    if isinstance(markers, Mapping) and all(isinstance(value, str) for value in markers.values()):
        # Per dependency group; a group without an entry has the package unconditionally.
        groups = package.get("groups")
        if not isinstance(groups, list) or not markers or any(group not in markers for group in groups):
            return None
        return " or ".join(f"({markers[key]})" for key in sorted(markers))
    raise malformed(where, "'markers' is neither a string nor a table of strings", "poetry")


def read_poetry(data: dict[str, Any], source: str) -> list[ImportedPin]:
    """The pins of a parsed poetry.lock; RequirementsError for a git, URL or file source or a malformed entry."""
    packages = tables(data.get("package", []), "[[package]]", source, "poetry")
    metadata = data.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise malformed(source, "[metadata] is not a table", "poetry")
    legacy_files: dict[str, object] = {}
    if "files" in metadata:
        if not isinstance(metadata["files"], Mapping):
            raise malformed(source, "[metadata.files] is not a table", "poetry")
        legacy_files = {canonicalize_name(key): value for key, value in metadata["files"].items()}
    pins: list[ImportedPin] = []
    for package in packages:
        name = string_field(package, "name", f"{source} [[package]]", "poetry")
        where = f"{source} [[package]] {name}"
        version = string_field(package, "version", where, "poetry")
        origin = package.get("source")
        origin = origin if isinstance(origin, Mapping) else {}
        kind = origin.get("type")
        if kind == "directory":
            continue
        if kind in ("git", "url", "file"):
            raise refuse_source(where, kind, origin.get("url"), "poetry")
        if kind not in (None, "legacy"):
            raise malformed(where, f"unknown source type {kind!r}", "poetry")
        if "files" in package:
            files = tables(package["files"], "files", where, "poetry")
        else:
            listed = legacy_files.get(canonicalize_name(name), [])
            files = [
                entry
                for entry in tables(listed, "[metadata.files]", where, "poetry")
                if _file_is_version(string_field(entry, "file", where, "poetry"), version)
            ]
        sdist: set[str] = set()
        every: set[str] = set()
        for entry in files:
            filename = string_field(entry, "file", where, "poetry")
            digest = sha256_hash(entry.get("hash"), where, "poetry")
            if digest is None:
                continue
            every.add(digest)
            if filename.endswith(SDIST_SUFFIXES):
                sdist.add(digest)
        marker = _poetry_marker(package, where)
        pins.append(
            ImportedPin(canonicalize_name(name), version, frozenset(sdist), frozenset(every), marker, where, True)
        )
    return pins
