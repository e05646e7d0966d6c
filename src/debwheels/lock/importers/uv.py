"""Read uv's uv.lock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from packaging.utils import canonicalize_name

from debwheels.lock.importers.common import ImportedPin, malformed, refuse_source, sha256_hash, string_field, tables


def read_uv(data: dict[str, Any], source: str) -> list[ImportedPin]:
    """The pins of a parsed uv.lock; RequirementsError for a git, URL or path source or a malformed entry."""
    pins: list[ImportedPin] = []
    for package in tables(data.get("package", []), "[[package]]", source, "uv"):
        name = string_field(package, "name", f"{source} [[package]]", "uv")
        where = f"{source} [[package]] {name}"
        origin = package.get("source")
        if not isinstance(origin, Mapping):
            raise malformed(where, "'source' is missing or not a table", "uv")
        if any(key in origin for key in ("editable", "virtual", "directory")):
            continue
        for kind in ("git", "url", "path"):
            if kind in origin:
                raise refuse_source(where, kind, origin[kind], "uv")
        if "registry" not in origin:
            raise malformed(where, f"unknown source {dict(origin)!r}", "uv")
        version = string_field(package, "version", where, "uv")
        sdist: set[str] = set()
        if "sdist" in package:
            table = package["sdist"]
            if not isinstance(table, Mapping):
                raise malformed(where, "'sdist' is not a table", "uv")
            digest = sha256_hash(table.get("hash"), where, "uv") if "hash" in table else None
            if digest:
                sdist.add(digest)
        every = set(sdist)
        for wheel in tables(package.get("wheels", []), "wheels", where, "uv"):
            digest = sha256_hash(wheel.get("hash"), where, "uv") if "hash" in wheel else None
            if digest:
                every.add(digest)
        forks = package.get("resolution-markers", [])
        if not isinstance(forks, list) or not all(isinstance(marker, str) for marker in forks):
            raise malformed(where, "'resolution-markers' is not a list of strings", "uv")
        marker = " or ".join(f"({fork})" for fork in forks) if forks else None
        pins.append(
            ImportedPin(canonicalize_name(name), version, frozenset(sdist), frozenset(every), marker, where, True)
        )
    return pins
