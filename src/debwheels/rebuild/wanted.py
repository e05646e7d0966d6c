"""The wheels ``debwheels rebuild-check`` checks, read from its arguments.

Each argument is one of:

- a wheel file (``*.whl``, PEP 427): its file name and sha256 (computed here); its bytes are at hand.
- a sums file: ``sha256sum(1)`` text-mode output, one ``<64 lowercase hex>  <path>`` line per file
  (the format :func:`debwheels.mirror.sums.parse_sums` reads; here the lines may come in any
  order). Every ``.whl`` line is a wheel, named by its path's last segment; only names and
  hashes are needed, not the wheels' bytes.
- ``NAME==VERSION``: the release's pure-Python wheel on the index (``py3-none-any`` or
  ``py2.py3-none-any``), downloaded and checked against the index's sha256.

A wheel's file name must parse (PEP 427 file name convention, :func:`packaging.utils.parse_wheel_filename`).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename
from packaging.version import Version

from debwheels.build.sources import download
from debwheels.errors import ConfigError, FetchError, RequirementsError, VerificationError
from debwheels.fsutil import sha256_file
from debwheels.lock.requirements import Pin, exact_pin
from debwheels.lock.simpleindex import IndexFile, ProjectPage
from debwheels.mirror.sums import MAX_SUMS_BYTES, parse_sums
from debwheels.safetext import clip

#: The tags of a pure-Python wheel, as the end of its file name.
PURE_TAGS = ("-py3-none-any.whl", "-py2.py3-none-any.whl")
_WHAT = "pass wheel files, a sha256sum(1) list of wheels, or NAME==VERSION"
#: Gives a project's index page by name (``simpleindex.client(index_url, cache).project``).
ProjectPageReader = Callable[[str], ProjectPage]


@dataclass(frozen=True)
class Wanted:
    """One wheel to rebuild and compare.

    Attributes:
        filename: the wheel's file name.
        sha256: the sha256 (hex) its bytes have.
        name: canonical project name (from the file name).
        version: its version (from the file name).
        argument: the command-line argument it came from.
        path: the wheel's bytes (a file given, or downloaded), or None (from a sums file).
        uploaded: its upload time on the index (PEP 700) when it came from there, else None.
    """

    filename: str
    sha256: str
    name: str
    version: str
    argument: str
    path: Path | None = None
    uploaded: datetime | None = None


@dataclass(frozen=True)
class ReleaseArgument:
    """A ``NAME==VERSION`` argument: the release's pure wheel on the index (see :func:`release_wheel`)."""

    name: str
    version: str
    argument: str


def wheel_identity(filename: str, argument: str) -> tuple[str, str]:
    """The canonical name and version of wheel *filename* (named by *argument* in messages).

    Raises:
        ConfigError: not a wheel file name (PEP 427).
    """
    try:
        name, version, _, _ = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise ConfigError(
            f"{clip(argument, 120)}: {clip(filename, 120)} is not a wheel file name ({clip(str(exc), 120)}): "
            "wheels are named NAME-VERSION(-BUILD)-PYTHON-ABI-PLATFORM.whl (PEP 427)"
        ) from None
    return str(name), str(version)


def read_sums_file(path: Path, argument: str) -> list[Wanted]:
    """Every ``.whl`` line of the sums file at *path* (``sha256sum(1)`` text mode; lines in any order).

    Raises:
        ConfigError: not such a list, no wheel in it, or a wheel name that does not parse.
    """
    with path.open("rb") as handle:
        data = handle.read(MAX_SUMS_BYTES + 1)
    # sha256sum over a shell glob sorts by the locale: put the lines in the order parse_sums checks.
    lines = data.removesuffix(b"\n").split(b"\n") if data else []
    ordered = b"".join(line + b"\n" for line in sorted(lines, key=lambda line: line[66:]))
    try:
        entries = parse_sums(ordered, argument)
    except VerificationError as exc:
        raise ConfigError(f"{clip(argument, 120)} is neither a wheel (.whl) nor a sums file ({exc}): {_WHAT}") from None
    found = []
    for listed, digest in sorted(entries.items()):
        if listed.endswith(".whl"):
            filename = listed.rsplit("/", 1)[-1]
            name, version = wheel_identity(filename, argument)
            found.append(Wanted(filename, digest, name, version, argument))
    if not found:
        raise ConfigError(f"{clip(argument, 120)} lists no wheels (.whl lines): {_WHAT}")
    return found


def read_wheel_file(path: Path, argument: str) -> Wanted:
    """The wheel file at *path*: its name, version and sha256.

    Raises:
        ConfigError: its name does not parse, or it is not a zip archive.
    """
    name, version = wheel_identity(path.name, argument)
    if not zipfile.is_zipfile(path):
        raise ConfigError(f"{clip(argument, 120)} is not a zip archive, so not a wheel (PEP 427): {_WHAT}")
    return Wanted(path.name, sha256_file(path), name, version, argument, path.resolve())


def read_release(text: str) -> ReleaseArgument:
    """A ``NAME==VERSION`` argument (exactly one PEP 440 version; no extras, marker, URL or wildcard).

    Raises:
        ConfigError: anything else.
    """
    pin = exact_pin(text)
    if pin is None:
        raise ConfigError(f"{clip(text, 120)} is no file and not NAME==VERSION (one exact version): {_WHAT}")
    return ReleaseArgument(pin[0], str(pin[1]), text)


def read_argument(text: str) -> list[Wanted] | ReleaseArgument:
    """One argument: a wheel file, a sums file, or ``NAME==VERSION`` (see the module docstring).

    Raises:
        ConfigError: a directory, a missing file, a file that is neither, or a wheel name that does not parse.
    """
    path = Path(text)
    if path.is_dir():
        raise ConfigError(f"{clip(text, 120)} is a directory: {_WHAT}")
    if path.is_file():
        try:
            return [read_wheel_file(path, text)] if path.name.endswith(".whl") else read_sums_file(path, text)
        except OSError as exc:
            raise ConfigError(f"cannot read {clip(text, 120)} ({exc.strerror}): {_WHAT}") from None
    if "==" in text:
        return read_release(text)
    raise ConfigError(f"{clip(text, 120)}: no such file, and not NAME==VERSION: {_WHAT}")


def read_arguments(texts: Iterable[str]) -> list[Wanted | ReleaseArgument]:
    """Every argument read (:func:`read_argument`), in order; a wheel named twice with the same sha256 once.

    Raises:
        ConfigError: a bad argument (the first one).
    """
    found: list[Wanted | ReleaseArgument] = []
    seen: set[tuple[str, str]] = set()
    for text in texts:
        read = read_argument(text)
        for item in read if isinstance(read, list) else [read]:
            key = (item.filename, item.sha256) if isinstance(item, Wanted) else (item.name, item.version)
            if key not in seen:
                seen.add(key)
                found.append(item)
    return found


def release_wheel(page: ProjectPage, release: ReleaseArgument) -> IndexFile:
    """The pure-Python wheel (:data:`PURE_TAGS`) of *release* on its index page.

    Raises:
        RequirementsError: the release has none with a sha256 (a platform wheel, an sdist only, or no such version).
    """
    files = [f for f in page.files if f.version == Version(release.version)]
    pure = sorted(
        (f for f in files if f.kind == "wheel" and f.sha256 and f.filename.endswith(PURE_TAGS)),
        key=lambda f: f.filename,
    )
    if not pure:
        have = ", ".join(sorted(f.filename for f in files)[:4]) or "no files of that version"
        raise RequirementsError(
            f"{clip(release.argument, 120)}: the index has no pure-Python wheel of it (py3-none-any; it has "
            f"{clip(have, 200)}): pass the wheel file or a sums file instead"
        )
    return pure[0]


def fetch_wheel(entry: IndexFile, cache: Path) -> Path:
    """Download the index's wheel *entry* into the cache (content-addressed, as sdists are), checking its sha256.

    Raises:
        FetchError: the index gives no sha256, or the download failed. HashMismatchError: other bytes arrived.
    """
    if not entry.sha256:
        raise FetchError(f"the index lists no sha256 for {clip(entry.filename, 120)}: its bytes cannot be checked")
    return download(Pin(entry.name, str(entry.version), (entry.sha256,)), entry, cache).path


def resolve_releases(items: Sequence[Wanted | ReleaseArgument], page: ProjectPageReader, cache: Path) -> list[Wanted]:
    """*items* with each ``NAME==VERSION`` replaced by its pure wheel, downloaded (hash-checked).

    Args:
        items: what :func:`read_arguments` read.
        page: gives a project's index page (``simpleindex.client(...).project``).
        cache: the cache root the wheels are downloaded into.

    Raises:
        RequirementsError: a release without a pure wheel. FetchError, HashMismatchError: see :func:`fetch_wheel`.
    """
    found: list[Wanted] = []
    for item in items:
        if isinstance(item, Wanted):
            found.append(item)
            continue
        entry = release_wheel(page(item.name), item)
        assert entry.sha256 is not None  # release_wheel takes only wheels with one
        path = fetch_wheel(entry, cache)
        found.append(
            Wanted(entry.filename, entry.sha256, item.name, item.version, item.argument, path, entry.upload_time)
        )
    return found
