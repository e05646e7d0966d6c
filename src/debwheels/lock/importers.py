"""Lock files made by other tools, read so that ``debwheels lock`` can keep their pins.

``debwheels lock`` can start from an existing lock: each version it pins is passed to our
resolver as a constraint, and each sdist sha256 we download is checked against the hashes
that lock records. Four formats are read:

* ``requirements``: pip's requirements file format
  (https://pip.pypa.io/en/stable/reference/requirements-file-format/) as written by
  ``pip-compile --generate-hashes`` or ``uv pip compile --generate-hashes``.
* ``poetry``: ``poetry.lock``, a tool-specific format of Poetry
  (https://python-poetry.org/docs/basic-usage/#installing-with-poetrylock); both the
  ``files`` list of each ``[[package]]`` (Poetry >= 1.5, lock-version 2.x) and the older
  ``[metadata.files]`` table (lock-version 1.x).
* ``uv``: ``uv.lock``, a tool-specific format of uv
  (https://docs.astral.sh/uv/concepts/projects/layout/#the-lockfile).
* ``pylock``: ``pylock.toml`` / ``pylock.<name>.toml``, the standard lock file format of
  PEP 751 (https://peps.python.org/pep-0751/), read with :mod:`packaging.pylock`
  (packaging >= 25).

Only packages from an index are imported. The project itself (editable, virtual or directory
sources) is skipped; packages from git, a URL or a local archive are refused, because every
package debwheels builds comes from its configured index as an sdist.
"""

from __future__ import annotations

import contextlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from debwheels.errors import HashMismatchError, RequirementsError, UsageError
from debwheels.lock.requirements import logical_lines, parse_pins

#: The formats :func:`read_lock` understands.
FORMATS = ("requirements", "poetry", "uv", "pylock")

_PYLOCK_NAME = re.compile(r"pylock\.([^.]+\.)?toml")  # with fullmatch
_SHA256 = re.compile(r"[0-9a-f]{64}")  # with fullmatch
_SDIST_SUFFIXES = (".tar.gz", ".zip", ".tar.bz2")
# Option lines pip-compile may write at the top; the index comes from our own configuration.
_IGNORED_OPTIONS = frozenset(
    {
        "-i",
        "--index-url",
        "--extra-index-url",
        "-f",
        "--find-links",
        "--trusted-host",
        "--no-binary",
        "--only-binary",
        "--prefer-binary",
    }
)
_REFUSED_OPTIONS = {
    "-e": "an editable requirement",
    "--editable": "an editable requirement",
    "-r": "an include of another requirements file",
    "--requirement": "an include of another requirements file",
    "-c": "an include of a constraints file",
    "--constraint": "an include of a constraints file",
}
_PATH_OR_URL = re.compile(r"^(\.{1,2}/|/|~|[A-Za-z][A-Za-z0-9+.-]*:)")
_REGENERATE = {
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


def detect_format(path: Path) -> str:
    """Tell the format of the lock file at *path* from its name.

    Args:
        path: the lock file; only its name is looked at.

    Returns:
        str: ``"poetry"`` for ``poetry.lock``, ``"uv"`` for ``uv.lock``, ``"pylock"`` for
        ``pylock.toml`` and ``pylock.<name>.toml`` (PEP 751), ``"requirements"`` for any
        ``*.txt`` (pip's requirements file format).

    Raises:
        RequirementsError: the name matches none of these.
    """
    name = path.name
    if name == "poetry.lock":
        return "poetry"
    if name == "uv.lock":
        return "uv"
    if _PYLOCK_NAME.fullmatch(name):
        return "pylock"
    if name.endswith(".txt"):
        return "requirements"
    raise RequirementsError(
        f"{path}: cannot tell the lock format from the file name; name it *.txt (pip-compile), poetry.lock, uv.lock or pylock[.NAME].toml, or give the format ({', '.join(FORMATS)})"
    )


def read_lock(path: Path, environment: dict[str, str] | None = None, format: str | None = None) -> ImportedLock:
    """Read a lock file made by pip-compile, uv, poetry or a PEP 751 tool.

    Formats (see the module docstring for their specifications): pip's requirements file
    format (https://pip.pypa.io/en/stable/reference/requirements-file-format/), ``poetry.lock``
    (https://python-poetry.org/docs/basic-usage/#installing-with-poetrylock), ``uv.lock``
    (https://docs.astral.sh/uv/concepts/projects/layout/#the-lockfile) and PEP 751
    ``pylock.toml`` (https://peps.python.org/pep-0751/; needs packaging >= 25).

    In requirements files, ``--index-url``, ``--extra-index-url``, ``--find-links``,
    ``--trusted-host``, ``--no-binary``, ``--only-binary`` and ``--prefer-binary`` lines are
    ignored (the index comes from the debwheels configuration). The project itself (uv
    editable/virtual/directory sources, pylock and poetry directory packages) is skipped.

    A name locked at several versions (uv and poetry forks, ``uv pip compile --universal``):
    with *environment*, the versions whose marker does not hold there are dropped; exactly
    one must remain (none: the package is not needed there and is left out). Without
    *environment* that is an error.

    Args:
        path: the lock file.
        environment: PEP 508 marker variables of the target interpreter (e.g.
            ``{"python_full_version": "3.11.2", "sys_platform": "linux", ...}``; missing
            keys default to this interpreter's), used only to pick one version among several.
        format: one of :data:`FORMATS`; None detects it with :func:`detect_format`.

    Returns:
        ImportedLock: with ``pins`` keyed by canonical name, sorted.

    Raises:
        UsageError: *format* is not one of :data:`FORMATS`.
        RequirementsError: the file is missing, unreadable, not UTF-8, not valid TOML or
            not of the format; it holds an editable, include, URL, git, or local archive
            requirement; a requirement has no hash; a name has several versions that
            *environment* does not reduce to one; a pylock file needs packaging >= 25.
    """
    lock_format = format if format is not None else detect_format(path)
    if lock_format not in FORMATS:
        raise UsageError(f"unknown lock format {lock_format!r}: use one of {', '.join(FORMATS)}")
    text = _read_text(path)
    source = str(path)
    default_groups: frozenset[str] = frozenset()
    if lock_format == "requirements":
        candidates = _read_requirements(text, source)
    elif lock_format == "poetry":
        candidates = _read_poetry(_load_toml(text, source, lock_format), source)
    elif lock_format == "uv":
        candidates = _read_uv(_load_toml(text, source, lock_format), source)
    else:
        candidates, default_groups = _read_pylock(_load_toml(text, source, lock_format), source)
    pins = _one_version_each(candidates, lock_format, environment, default_groups, source)
    return ImportedLock(path, lock_format, pins, default_groups)


def pin_applies(lock: ImportedLock, pin: ImportedPin, environment: dict[str, str]) -> bool:
    """True when *pin* has no marker or its marker holds in *environment*.

    Args:
        lock: the lock *pin* comes from (its format decides how markers are evaluated:
            pylock markers in PEP 751's lock-file context, with no extras and the lock's
            default groups).
        pin: one of ``lock.pins``.
        environment: PEP 508 marker variables; missing keys default to this interpreter's.

    Raises:
        RequirementsError: the marker cannot be parsed or evaluated.
    """
    return pin.marker is None or _marker_holds(pin.marker, environment, lock.format, lock.default_groups, pin.where)


def constraints(lock: ImportedLock, environment: dict[str, str]) -> list[str]:
    """The pins of *lock* that apply in *environment*, as resolver constraints.

    Args:
        lock: from :func:`read_lock`.
        environment: PEP 508 marker variables of the target interpreter.

    Returns:
        list[str]: ``["name==version", ...]`` sorted by name, for every pin with no marker
        or whose marker holds in *environment*.

    Raises:
        RequirementsError: a marker cannot be parsed or evaluated.
    """
    return sorted(f"{pin.name}=={pin.version}" for pin in lock.pins.values() if pin_applies(lock, pin, environment))


def check_sdist(pin: ImportedPin, sdist_filename: str, sdist_sha256: str) -> None:
    """Check the sha256 of the sdist downloaded for *pin* against the imported lock.

    If the lock names the sdist's hashes, *sdist_sha256* must be one of them. If it lists
    hashes without saying which file is the sdist (requirements.txt), it must be one of all
    of them.

    Args:
        pin: the imported pin of the package.
        sdist_filename: the sdist's file name on the index, for messages.
        sdist_sha256: the sdist's sha256, hex.

    Raises:
        HashMismatchError: the sha256 is not among the hashes the lock records.
        RequirementsError: the lock records no hash for this version, or records only
            wheels in a format that names the sdist.
    """
    digest = sdist_sha256.lower()
    pinned = f"{pin.name}=={pin.version}"
    if pin.sdist_hashes:
        if digest not in pin.sdist_hashes:
            raise HashMismatchError(
                f"{pin.where}: pins {pinned} with sdist sha256 {_listing(pin.sdist_hashes)} but its sdist {sdist_filename} from the index has sha256 {digest}: the lock or the index changed; regenerate the lock or investigate"
            )
        return
    if pin.hashes and not pin.sdist_known:
        if digest not in pin.hashes:
            raise HashMismatchError(
                f"{pin.where}: pins {pinned} with sha256 {_listing(pin.hashes)} but its sdist {sdist_filename} from the index has sha256 {digest}, which is none of them: the lock or the index changed; regenerate the lock with hashes of every file or investigate"
            )
        return
    if pin.hashes:
        raise RequirementsError(
            f"{pin.where}: lists only wheels for {pinned}, no sdist: debwheels builds from sdists; regenerate the lock so that it records the sdist"
        )
    raise RequirementsError(
        f"{pin.where}: the imported lock pins no sha256 hash for {pinned}: regenerate it with hashes"
    )


def _listing(hashes: frozenset[str]) -> str:
    return ", ".join(sorted(hashes))


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RequirementsError(f"{path} does not exist: give the path of an existing lock file") from None
    except UnicodeDecodeError:
        raise RequirementsError(f"{path} is not UTF-8 text: give a lock file written by its tool") from None
    except OSError as exc:
        raise RequirementsError(f"{path} cannot be read ({exc.strerror}): give a readable lock file") from None


def _load_toml(text: str, source: str, lock_format: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise RequirementsError(
            f"{source} is not valid TOML ({reason}): regenerate it with {_REGENERATE[lock_format]}"
        ) from None


def _malformed(where: str, what: str, lock_format: str) -> RequirementsError:
    return RequirementsError(f"{where}: {what}: regenerate the file with {_REGENERATE[lock_format]}")


def _text(table: Mapping[str, Any], key: str, where: str, lock_format: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value:
        raise _malformed(where, f"{key!r} is missing or not a string", lock_format)
    return value


def _tables(value: object, what: str, where: str, lock_format: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise _malformed(where, f"{what} is not a list of tables", lock_format)
    return list(value)


def _sha256(value: object, where: str, lock_format: str) -> str | None:
    """Hex digest of a ``"sha256:<hex>"`` value; None for another algorithm."""
    if not isinstance(value, str) or ":" not in value:
        raise _malformed(where, f"hash {value!r} is not ALGORITHM:HEX", lock_format)
    algorithm, _, digest = value.partition(":")
    if algorithm.lower() != "sha256":
        return None
    return _hex(digest, where, lock_format)


def _hex(digest: str, where: str, lock_format: str) -> str:
    digest = digest.lower()
    if not _SHA256.fullmatch(digest):
        raise _malformed(where, f"sha256 {digest!r} is not 64 hex digits", lock_format)
    return digest


def _refuse_source(where: str, kind: str, location: object, lock_format: str) -> RequirementsError:
    return RequirementsError(
        f"{where}: comes from {kind} {location}, not from an index: debwheels builds every package from its index's sdist; depend on a released version and regenerate the lock with {_REGENERATE[lock_format]}"
    )


# --- requirements.txt (pip-compile, uv pip compile) -------------------------------------


def _option(line: str) -> str:
    token = line.split()[0].split("=")[0]
    return token if token.startswith("--") else token[:2]


def _read_requirements(text: str, source: str) -> list[ImportedPin]:
    if text.startswith("\ufeff"):
        raise RequirementsError(f"{source}: starts with a byte-order mark: save it as plain UTF-8")
    kept: list[tuple[int, str]] = []
    for number, line in logical_lines(text):
        where = f"{source}:{number}"
        if line.startswith("-"):
            option = _option(line)
            if option in _IGNORED_OPTIONS:
                continue
            if option in _REFUSED_OPTIONS:
                raise RequirementsError(
                    f"{where}: {line.split()[0]} is {_REFUSED_OPTIONS[option]}, which cannot be imported: list only name==version --hash=sha256:... lines (regenerate with pip-compile --generate-hashes; the project itself is not a dependency)"
                )
        else:
            spec = line.split(" --hash")[0].strip()
            url = None
            if _PATH_OR_URL.match(spec):
                url = spec.split()[0]
            else:
                with contextlib.suppress(InvalidRequirement):  # parse_pins reports it
                    url = Requirement(spec).url
            if url:
                raise RequirementsError(
                    f"{where}: URL or path requirement {spec.split(';')[0].strip()!r} cannot be imported: debwheels takes every package from its index; pin name==version with --hash instead"
                )
            if "--hash" not in line:
                raise RequirementsError(
                    f"{where}: {spec!r} has no --hash: regenerate the file with pip-compile --generate-hashes (or uv pip compile --generate-hashes)"
                )
        kept.append((number, line))
    # Keep line numbers: kept logical lines at their first physical line, the rest blank.
    physical = [""] * max([number for number, _ in kept], default=0)
    for number, line in kept:
        physical[number - 1] = line
    pins = parse_pins("\n".join(physical) + "\n", source, allow_versions=True)
    return [
        ImportedPin(pin.name, pin.version, frozenset(), frozenset(pin.hashes), pin.marker, f"{source}:{number}")
        for pin, (number, _) in zip(pins, kept, strict=True)
    ]


# --- poetry.lock ------------------------------------------------------------------------


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
    raise _malformed(where, "'markers' is neither a string nor a table of strings", "poetry")


def _read_poetry(data: dict[str, Any], source: str) -> list[ImportedPin]:
    packages = _tables(data.get("package", []), "[[package]]", source, "poetry")
    metadata = data.get("metadata", {})
    if not isinstance(metadata, Mapping):
        raise _malformed(source, "[metadata] is not a table", "poetry")
    legacy_files: dict[str, object] = {}
    if "files" in metadata:
        if not isinstance(metadata["files"], Mapping):
            raise _malformed(source, "[metadata.files] is not a table", "poetry")
        legacy_files = {canonicalize_name(key): value for key, value in metadata["files"].items()}
    pins: list[ImportedPin] = []
    for package in packages:
        name = _text(package, "name", f"{source} [[package]]", "poetry")
        where = f"{source} [[package]] {name}"
        version = _text(package, "version", where, "poetry")
        origin = package.get("source")
        origin = origin if isinstance(origin, Mapping) else {}
        kind = origin.get("type")
        if kind == "directory":
            continue
        if kind in ("git", "url", "file"):
            raise _refuse_source(where, kind, origin.get("url"), "poetry")
        if kind not in (None, "legacy"):
            raise _malformed(where, f"unknown source type {kind!r}", "poetry")
        if "files" in package:
            files = _tables(package["files"], "files", where, "poetry")
        else:
            listed = legacy_files.get(canonicalize_name(name), [])
            files = [
                entry
                for entry in _tables(listed, "[metadata.files]", where, "poetry")
                if _file_is_version(_text(entry, "file", where, "poetry"), version)
            ]
        sdist: set[str] = set()
        every: set[str] = set()
        for entry in files:
            filename = _text(entry, "file", where, "poetry")
            digest = _sha256(entry.get("hash"), where, "poetry")
            if digest is None:
                continue
            every.add(digest)
            if filename.endswith(_SDIST_SUFFIXES):
                sdist.add(digest)
        marker = _poetry_marker(package, where)
        pins.append(
            ImportedPin(canonicalize_name(name), version, frozenset(sdist), frozenset(every), marker, where, True)
        )
    return pins


# --- uv.lock ----------------------------------------------------------------------------


def _read_uv(data: dict[str, Any], source: str) -> list[ImportedPin]:
    pins: list[ImportedPin] = []
    for package in _tables(data.get("package", []), "[[package]]", source, "uv"):
        name = _text(package, "name", f"{source} [[package]]", "uv")
        where = f"{source} [[package]] {name}"
        origin = package.get("source")
        if not isinstance(origin, Mapping):
            raise _malformed(where, "'source' is missing or not a table", "uv")
        if any(key in origin for key in ("editable", "virtual", "directory")):
            continue
        for kind in ("git", "url", "path"):
            if kind in origin:
                raise _refuse_source(where, kind, origin[kind], "uv")
        if "registry" not in origin:
            raise _malformed(where, f"unknown source {dict(origin)!r}", "uv")
        version = _text(package, "version", where, "uv")
        sdist: set[str] = set()
        if "sdist" in package:
            table = package["sdist"]
            if not isinstance(table, Mapping):
                raise _malformed(where, "'sdist' is not a table", "uv")
            digest = _sha256(table.get("hash"), where, "uv") if "hash" in table else None
            if digest:
                sdist.add(digest)
        every = set(sdist)
        for wheel in _tables(package.get("wheels", []), "wheels", where, "uv"):
            digest = _sha256(wheel.get("hash"), where, "uv") if "hash" in wheel else None
            if digest:
                every.add(digest)
        forks = package.get("resolution-markers", [])
        if not isinstance(forks, list) or not all(isinstance(marker, str) for marker in forks):
            raise _malformed(where, "'resolution-markers' is not a list of strings", "uv")
        marker = " or ".join(f"({fork})" for fork in forks) if forks else None
        pins.append(
            ImportedPin(canonicalize_name(name), version, frozenset(sdist), frozenset(every), marker, where, True)
        )
    return pins


# --- pylock.toml (PEP 751) --------------------------------------------------------------


def _read_pylock(data: dict[str, Any], source: str) -> tuple[list[ImportedPin], frozenset[str]]:
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
            f"{source}: not a valid PEP 751 lock file ({reason}): regenerate it with {_REGENERATE['pylock']}"
        ) from None
    pins: list[ImportedPin] = []
    for package in lock.packages:
        where = f"{source} [[packages]] {package.name}"
        if package.directory is not None:
            continue
        if package.vcs is not None:
            raise _refuse_source(where, f"{package.vcs.type} repository", package.vcs.url or package.vcs.path, "pylock")
        if package.archive is not None:
            raise _refuse_source(where, "archive", package.archive.url or package.archive.path, "pylock")
        if package.version is None:
            raise _malformed(where, "has no version", "pylock")
        sdist: set[str] = set()
        if package.sdist is not None and "sha256" in package.sdist.hashes:
            sdist.add(_hex(package.sdist.hashes["sha256"], where, "pylock"))
        every = set(sdist)
        for wheel in package.wheels or ():
            if "sha256" in wheel.hashes:
                every.add(_hex(wheel.hashes["sha256"], where, "pylock"))
        marker = str(package.marker) if package.marker is not None else None
        pins.append(
            ImportedPin(package.name, str(package.version), frozenset(sdist), frozenset(every), marker, where, True)
        )
    return pins, frozenset(lock.default_groups or ())


# --- one version per name ---------------------------------------------------------------


def _marker_holds(
    marker: str, environment: Mapping[str, str], lock_format: str, default_groups: frozenset[str], where: str
) -> bool:
    try:
        parsed = Marker(marker)
        if lock_format == "pylock":
            lock_environment: dict[str, str | frozenset[str]] = {
                **environment,
                "extras": frozenset(),
                "dependency_groups": default_groups,
            }
            return parsed.evaluate(lock_environment, context="lock_file")
        return parsed.evaluate(dict(environment))
    except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RequirementsError(
            f"{where}: cannot evaluate marker {marker!r} ({reason}): regenerate the lock with {_REGENERATE[lock_format]}"
        ) from None


def _merge(same_version: list[ImportedPin]) -> ImportedPin:
    """One pin for several entries of one name and version (e.g. two sources)."""
    first = same_version[0]
    markers = [pin.marker for pin in same_version]
    marker = None if None in markers else " or ".join(f"({m})" for m in markers)
    return ImportedPin(
        first.name,
        first.version,
        frozenset().union(*(pin.sdist_hashes for pin in same_version)),
        frozenset().union(*(pin.hashes for pin in same_version)),
        marker,
        first.where,
        all(pin.sdist_known for pin in same_version),
    )


def _one_version_each(
    candidates: list[ImportedPin],
    lock_format: str,
    environment: dict[str, str] | None,
    default_groups: frozenset[str],
    source: str,
) -> dict[str, ImportedPin]:
    by_name: dict[str, list[ImportedPin]] = {}
    for pin in candidates:
        by_name.setdefault(pin.name, []).append(pin)
    pins: dict[str, ImportedPin] = {}
    for name, group in sorted(by_name.items()):
        if len({pin.version for pin in group}) > 1:
            listing = ", ".join(
                f"{pin.version} at {pin.where}" + (f" when {pin.marker}" if pin.marker else "") for pin in group
            )
            if environment is None:
                raise RequirementsError(
                    f"{source} pins {name} at several versions ({listing}): debwheels needs one version per package; give the target environment so the markers pick one, or regenerate the lock for one platform"
                )
            group = [
                pin
                for pin in group
                if pin.marker is None or _marker_holds(pin.marker, environment, lock_format, default_groups, pin.where)
            ]
            if len({pin.version for pin in group}) > 1:
                raise RequirementsError(
                    f"{source} pins {name} at several versions that all apply to the target environment ({listing}): debwheels needs one version per package; regenerate the lock for one platform"
                )
            if not group:
                continue  # no version applies there: the package is not installed there
        pins[name] = group[0] if len(group) == 1 else _merge(group)
    return pins
