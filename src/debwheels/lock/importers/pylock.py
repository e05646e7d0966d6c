"""Read PEP 751 pylock.toml files with packaging.pylock."""

from __future__ import annotations

from typing import Any

from debwheels.errors import RequirementsError
from debwheels.lock.importers.common import REGENERATE, ImportedPin, hex_digest, malformed, refuse_source


def read_pylock(data: dict[str, Any], source: str) -> tuple[list[ImportedPin], frozenset[str]]:
    """The pins and ``default-groups`` of a parsed pylock.toml.

    Raises RequirementsError for a VCS or archive package, or when packaging is older than 25.
    """
    try:
        from packaging import pylock
    except ImportError:
        import packaging

        raise RequirementsError(
            f"{source}: reading pylock.toml needs packaging >= 25 (this interpreter has {packaging.__version__}): run debwheels with a newer packaging, or import a requirements.txt or uv.lock"
        ) from None
    try:
        lock = pylock.Pylock.from_dict(data)
    except (pylock.PylockValidationError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RequirementsError(
            f"{source}: not a valid PEP 751 lock file ({reason}): regenerate it with {REGENERATE['pylock']}"
        ) from None
    pins: list[ImportedPin] = []
    for package in lock.packages:
        where = f"{source} [[packages]] {package.name}"
        if package.directory is not None:
            continue
        if package.vcs is not None:
            raise refuse_source(where, f"{package.vcs.type} repository", package.vcs.url or package.vcs.path, "pylock")
        if package.archive is not None:
            raise refuse_source(where, "archive", package.archive.url or package.archive.path, "pylock")
        if package.version is None:
            raise malformed(where, "has no version", "pylock")
        sdist: set[str] = set()
        if package.sdist is not None and "sha256" in package.sdist.hashes:
            sdist.add(hex_digest(package.sdist.hashes["sha256"], where, "pylock"))
        every = set(sdist)
        for wheel in package.wheels or ():
            if "sha256" in wheel.hashes:
                every.add(hex_digest(wheel.hashes["sha256"], where, "pylock"))
        marker = str(package.marker) if package.marker is not None else None
        pins.append(
            ImportedPin(package.name, str(package.version), frozenset(sdist), frozenset(every), marker, where, True)
        )
    return pins, frozenset(lock.default_groups or ())
