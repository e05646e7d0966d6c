"""sdists: download from a PEP 691 index, check sha256 before anything reads them, unpack safely.

The cache keeps each sdist under ``<cache>/sdists/<sha256>/<file name>``; a cached file is
hashed again before every use. Unpacking refuses absolute paths, ``..``, links that leave the
tree, device and FIFO members and oversized members. The rules are those of PEP 706's ``data``
filter, checked by hand for every tar and zip member (Debian bookworm's Python 3.11.2 has no
``tarfile.data_filter``; where it exists it is applied as well).
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import tarfile
import tempfile
import tomllib
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from debwheels.errors import FetchError, HashMismatchError, UnsafeArchiveError
from debwheels.fsutil import fresh_dir, sha256_file
from debwheels.lock import simpleindex
from debwheels.lock.requirements import Pin
from debwheels.lock.simpleindex import IndexFile

MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024


@dataclass(frozen=True)
class Sdist:
    """A downloaded, hash-checked sdist.

    Attributes:
        pin: the requirement it satisfies.
        path: the cached file.
        sha256: its verified digest.
    """

    pin: Pin
    path: Path
    sha256: str


@dataclass(frozen=True)
class BuildSystem:
    """The ``[build-system]`` table of a source tree (PEP 517/518), defaults filled in.

    Attributes:
        requires: requirement strings (PEP 508).
        backend: ``module:object`` of the build backend.
        backend_path: in-tree directories added to sys.path (self-hosting backends).
    """

    requires: tuple[str, ...]
    backend: str
    backend_path: tuple[str, ...] = field(default=())


def _check_digest(path: Path, expected: tuple[str, ...], label: str) -> str:
    actual = sha256_file(path)
    if actual not in expected:
        raise HashMismatchError(
            f"sha256 mismatch for {label} ({path.name}): expected {' or '.join(expected)}, got {actual}; "
            "the file was altered or the pin is wrong: delete the file and check the pin"
        )
    return actual


def _sdist_entry(pin: Pin, index_url: str, cache: Path) -> IndexFile:
    """The index's sdist of *pin*: one whose sha256 is pinned, else the first (whose download then fails the check).

    Raises:
        FetchError: the index cannot be read or lists no sdist of that version.
    """
    page = simpleindex.client(index_url, cache).project(pin.name)
    candidates = [f for f in page.files if f.kind == "sdist" and str(f.version) == pin.version]
    if not candidates:
        raise FetchError(
            f"{pin.name} {pin.version} has no sdist on the index: debwheels builds only from sdists; pick a version that has one"
        )
    for entry in candidates:
        if entry.sha256 in pin.hashes:
            return entry
    return candidates[0]


def find_sdist(name: str, version: str, index_url: str, cache: Path) -> tuple[str, str]:
    """Look up the sdist of *name* *version* on a PEP 691 index.

    Returns:
        (file name, sha256 hex) as the index lists them.

    Raises:
        FetchError: the index cannot be read, or lists no sdist (or no sha256) for that version.
    """
    entry = _sdist_entry(Pin(str(canonicalize_name(name)), version, ()), index_url, cache)
    if entry.sha256 is None:
        raise FetchError(
            f"the index lists no sha256 for {entry.filename}: use an index that publishes sha256 (PEP 503/691)"
        )
    return entry.filename, entry.sha256


def fetch(pin: Pin, index_url: str, cache: Path) -> Sdist:
    """Return the sdist of *pin*, from the cache or downloaded, after checking its sha256.

    Args:
        pin: a pinned requirement whose hashes are sdist sha256 digests.
        index_url: PEP 691 JSON simple index root (``https://pypi.org/simple``).
        cache: cache root; sdists go to ``cache/sdists/<sha256>/``.

    Returns:
        Sdist: the verified file.

    Raises:
        HashMismatchError: the downloaded or cached file has another sha256; nothing is kept.
        FetchError: the index has no sdist for the pin or cannot be reached.
    """
    return cached_sdist(pin, cache) or download(pin, _sdist_entry(pin, index_url, cache), cache)


def cached_sdist(pin: Pin, cache: Path) -> Sdist | None:
    """The cached sdist of *pin*, hash-checked, or None.

    Raises:
        HashMismatchError: the cached file has another sha256 than its folder says (it was altered).
    """
    for digest in pin.hashes:
        folder = cache / "sdists" / digest
        if folder.is_dir():
            for path in folder.iterdir():
                if not path.name.startswith("."):
                    return Sdist(pin, path, _check_digest(path, (digest,), f"{pin.name} {pin.version} (cached)"))
    return None


def download(pin: Pin, entry: IndexFile, cache: Path) -> Sdist:
    """Download the index file *entry* of *pin* into the cache, checking its sha256 as it arrives (or take the cached copy).

    Raises:
        HashMismatchError: the file's sha256 is none of the pin's; nothing is kept.
        FetchError: a bad file name, or the download failed.
    """
    found = cached_sdist(pin, cache)
    if found is not None:
        return found
    filename = entry.filename
    if "/" in filename or filename.startswith("."):
        raise FetchError(f"index returned a bad file name {filename!r} for {pin.name}")
    staging = cache / "sdists" / ".partial"
    staging.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f"{filename}.", dir=staging)  # unique: threads download at once
    tmp = Path(name)
    hasher = hashlib.sha256()
    try:
        with (
            urllib.request.urlopen(entry.url, timeout=300, context=simpleindex.tls_context()) as response,
            os.fdopen(handle, "wb") as out,
        ):
            while chunk := response.read(1 << 20):
                hasher.update(chunk)
                out.write(chunk)
        actual = hasher.hexdigest()
        if actual not in pin.hashes:
            raise HashMismatchError(
                f"sha256 mismatch for {pin.name} {pin.version} ({filename}): expected {' or '.join(pin.hashes)}, "
                f"got {actual}; nothing was kept: check the pin in the requirements file"
            )
        folder = cache / "sdists" / actual
        folder.mkdir(parents=True, exist_ok=True)
        tmp.chmod(0o644)
        os.replace(tmp, folder / filename)
        return Sdist(pin, folder / filename, actual)
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"cannot download {filename} ({exc}): check the network and index-url") from None
    finally:
        tmp.unlink(missing_ok=True)


def _safe_name(name: str, archive: Path) -> str:
    clean = posixpath.normpath(name)
    if name.startswith("/") or clean.startswith("../") or clean == ".." or "\\" in name:
        raise UnsafeArchiveError(f"{archive.name}: member {name!r} leaves the source tree: refusing to unpack it")
    return clean


def _check_tar(tar: tarfile.TarFile, archive: Path) -> None:
    total = 0
    for member in tar.getmembers():
        name = _safe_name(member.name, archive)
        if member.issym() or member.islnk():
            base = posixpath.dirname(name) if member.issym() else ""
            target = posixpath.normpath(posixpath.join(base, member.linkname))
            if member.linkname.startswith("/") or target.startswith("../") or target == "..":
                raise UnsafeArchiveError(
                    f"{archive.name}: link {name!r} points outside the tree ({member.linkname}): refusing"
                )
        elif not (member.isfile() or member.isdir()):
            raise UnsafeArchiveError(f"{archive.name}: member {name!r} is a device or FIFO: refusing to unpack it")
        if member.size > MAX_MEMBER_BYTES:
            raise UnsafeArchiveError(
                f"{archive.name}: member {name!r} is {member.size} bytes, over {MAX_MEMBER_BYTES}: refusing"
            )
        total += member.size
    if total > MAX_TOTAL_BYTES:
        raise UnsafeArchiveError(f"{archive.name}: unpacks to {total} bytes, over {MAX_TOTAL_BYTES}: refusing")


def unpack(sdist: Path, destination: Path) -> Path:
    """Unpack a verified sdist under *destination* and return its single top directory.

    Args:
        sdist: a ``.tar.gz`` or ``.zip`` whose hash was checked.
        destination: emptied and recreated.

    Returns:
        Path: ``destination/<name>-<version>``.

    Raises:
        UnsafeArchiveError: a member is unsafe, or the archive is not one top directory.
    """
    fresh_dir(destination)
    try:
        if sdist.name.endswith(".zip"):
            with zipfile.ZipFile(sdist) as archive:
                total = 0
                for info in archive.infolist():
                    _safe_name(info.filename, sdist)
                    if (info.external_attr >> 16) & 0o170000 not in (0, 0o100000, 0o040000):
                        raise UnsafeArchiveError(
                            f"{sdist.name}: member {info.filename!r} is not a file or directory: refusing"
                        )
                    if info.file_size > MAX_MEMBER_BYTES:
                        raise UnsafeArchiveError(
                            f"{sdist.name}: member {info.filename!r} is {info.file_size} bytes, over {MAX_MEMBER_BYTES}: refusing"
                        )
                    total += info.file_size
                if total > MAX_TOTAL_BYTES:
                    raise UnsafeArchiveError(
                        f"{sdist.name}: unpacks to {total} bytes, over {MAX_TOTAL_BYTES}: refusing"
                    )
                archive.extractall(destination)
        else:
            with tarfile.open(sdist) as archive:
                _check_tar(archive, sdist)
                for member in archive.getmembers():
                    member.mode = (member.mode | 0o644) & 0o755 if member.isfile() else 0o755
                    member.uid = member.gid = 0
                    member.uname = member.gname = ""
                if hasattr(tarfile, "data_filter"):  # PEP 706; Debian bookworm's 3.11.2 predates it
                    archive.extractall(destination, filter="data")
                else:
                    archive.extractall(destination)
    except (tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise UnsafeArchiveError(
            f"{sdist.name} is not a readable archive ({exc}): delete it from the cache and fetch again"
        ) from None
    tops = list(destination.iterdir())
    if len(tops) != 1 or not tops[0].is_dir():
        raise UnsafeArchiveError(f"{sdist.name} does not hold exactly one top directory: not an sdist")
    return tops[0]


def parse_build_system(text: str | None, where: str) -> BuildSystem:
    """The ``[build-system]`` table of a pyproject.toml text (None: no such file), with PEP 517's defaults.

    Without the file or the table: ``setuptools.build_meta:__legacy__`` requiring
    ``setuptools>=40.8.0`` (PEP 517 "source trees without pyproject.toml").

    Raises:
        UnsafeArchiveError: the text is not valid TOML.
    """
    table: dict[str, Any] = {}
    if text is not None:
        try:
            table = tomllib.loads(text).get("build-system", {})
        except tomllib.TOMLDecodeError as exc:
            raise UnsafeArchiveError(f"{where} is not valid TOML ({exc})") from None
    if "build-backend" not in table:
        requires = table.get("requires", ["setuptools>=40.8.0"])
        return BuildSystem(tuple(str(r) for r in requires), "setuptools.build_meta:__legacy__")
    return BuildSystem(
        tuple(str(r) for r in table.get("requires", [])),
        str(table["build-backend"]),
        tuple(str(p) for p in table.get("backend-path", [])),
    )


def read_build_system(tree: Path) -> BuildSystem:
    """Read ``[build-system]`` from *tree*/pyproject.toml (see :func:`parse_build_system`).

    Raises:
        UnsafeArchiveError: pyproject.toml is not valid UTF-8 TOML.
    """
    path = tree / "pyproject.toml"
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else None
    except UnicodeDecodeError as exc:
        raise UnsafeArchiveError(f"{path} is not valid TOML ({exc})") from None
    return parse_build_system(text, str(path))


#: Build requirements and backends that compile Rust: their crates come from crates.io at build
#: time (or rustup itself, puccinialin), which an offline build cannot reach.
RUST_TOOLS = frozenset({"maturin", "setuptools-rust", "puccinialin", "uv-build"})  # uv_build: a Rust binary


def needs_rust(build_system: BuildSystem) -> str | None:
    """Why a build needs Rust (its backend or a build requirement), or None.

    Returns:
        str | None: e.g. "its build backend is maturin (Rust)".
    """
    if build_system.backend.split(":")[0].split(".")[0] == "maturin":
        return "its build backend is maturin (Rust)"
    for text in build_system.requires:
        try:
            name = canonicalize_name(Requirement(text).name)
        except InvalidRequirement:
            continue
        if name in RUST_TOOLS:
            return f"its build requires {name} (Rust)"
    return None
