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

import re
import tomllib
from pathlib import Path
from typing import Any

from debwheels.errors import HashMismatchError, RequirementsError, UsageError
from debwheels.lock.importers.common import REGENERATE, ImportedLock, ImportedPin
from debwheels.lock.importers.poetry import read_poetry
from debwheels.lock.importers.pylock import read_pylock
from debwheels.lock.importers.requirements import read_requirements
from debwheels.lock.importers.uv import read_uv
from debwheels.lock.importers.versions import marker_holds, one_version_each

#: The formats :func:`read_lock` understands.
FORMATS = ("requirements", "poetry", "uv", "pylock")

_PYLOCK_NAME = re.compile(r"pylock\.([^.]+\.)?toml")  # with fullmatch


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
        candidates = read_requirements(text, source)
    elif lock_format == "poetry":
        candidates = read_poetry(_load_toml(text, source, lock_format), source)
    elif lock_format == "uv":
        candidates = read_uv(_load_toml(text, source, lock_format), source)
    else:
        candidates, default_groups = read_pylock(_load_toml(text, source, lock_format), source)
    pins = one_version_each(candidates, lock_format, environment, default_groups, source)
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
    return pin.marker is None or marker_holds(pin.marker, environment, lock.format, lock.default_groups, pin.where)


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
            f"{source} is not valid TOML ({reason}): regenerate it with {REGENERATE[lock_format]}"
        ) from None
