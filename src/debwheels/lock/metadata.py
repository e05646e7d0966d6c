"""The core metadata resolution reads (Requires-Dist, Requires-Python), and where it comes from.

Resolution needs each candidate's dependencies before anything is built. In order of trust:

1. **confirmed**: ``Requires-Dist`` that the package's own build backend reported for this
   very sdist (by sha256), in the builder with no network: the METADATA of the wheel it built
   (PEP 517 ``build_wheel``, probed or built). ``debwheels lock`` confirms
   every package it locks this way and records it (:mod:`debwheels.lock.graph`); confirmations
   are also kept in ``<cache>/metadata/confirmed/<sdist sha256>.json`` for later locks;
2. **wheel**: the PEP 658 metadata sidecar of a wheel of the same release, inside the time
   cut-offs (a pure wheel first, then one for the target interpreter, then any);
3. **sdist**: the ``PKG-INFO`` of the hash-checked sdist (core metadata, read from the
   archive without unpacking or running anything).

Only the first is taken as final: what 2 and 3 say is checked by the lock against the
backend's answer, and a difference makes the lock resolve again (:mod:`debwheels.lock.locker`).
Formats: PyPA core metadata specification (email header fields), PEP 643 for ``Dynamic``.
"""

from __future__ import annotations

import tarfile
import threading
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from debwheels.build.sources import BuildSystem, Sdist, download, fetch, parse_build_system
from debwheels.build.wheelmeta import MAX_METADATA, parse_headers
from debwheels.errors import FetchError, RequirementsError, UnsafeArchiveError
from debwheels.fsutil import read_record, write_record
from debwheels.lock.releases import Release
from debwheels.lock.requirements import Pin
from debwheels.lock.simpleindex import IndexFile, SimpleIndex


@dataclass(frozen=True)
class CoreMetadata:
    """The fields of core metadata that resolution uses.

    Attributes:
        name: canonical project name.
        version: version string as the metadata gives it.
        requires_dist: ``Requires-Dist`` values (PEP 508 strings).
        requires_python: ``Requires-Python``, or None.
        source: where they were read: ``confirmed``, ``wheel <file name>`` or ``sdist <file name>``.
    """

    name: NormalizedName
    version: str
    requires_dist: tuple[str, ...]
    requires_python: str | None
    source: str

    @classmethod
    def parse(cls, data: bytes, source: str) -> CoreMetadata:
        """Read core metadata bytes (METADATA or PKG-INFO).

        Raises:
            RequirementsError: no Name or Version field.
        """
        headers = parse_headers(data)
        name, version = headers.get("Name"), headers.get("Version")
        if not name or not version:
            raise RequirementsError(f"the core metadata from {source} has no Name or Version: the file is broken")
        return cls(
            canonicalize_name(str(name).strip()),
            str(version).strip(),
            tuple(str(r) for r in headers.get_all("Requires-Dist") or ()),
            str(headers["Requires-Python"]).strip() if headers.get("Requires-Python") else None,
            source,
        )

    @property
    def confirmed(self) -> bool:
        """True when the package's own build backend gave these fields."""
        return self.source == "confirmed"


def same_requirements(first: Iterable[str], second: Iterable[str]) -> bool:
    """True when two lists of PEP 508 strings say the same (spelling, spacing and order aside)."""

    def normal(texts: Iterable[str]) -> set[str]:
        found = set()
        for text in texts:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                found.add(text.strip())
                continue
            req.name = str(canonicalize_name(req.name))
            found.add(str(req))
        return found

    return normal(first) == normal(second)


def sdist_member(path: Path, name: str) -> bytes | None:
    """The ``<top>/<name>`` member of an sdist (tar or zip), read without unpacking anything; None when absent.

    Raises:
        UnsafeArchiveError: not a readable archive, or the member is over 16 MiB.
    """
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    if info.filename.count("/") == 1 and info.filename.endswith(f"/{name}"):
                        if info.file_size > MAX_METADATA:
                            raise UnsafeArchiveError(f"{path.name}: {info.filename} is over {MAX_METADATA} bytes")
                        return archive.read(info)
        else:
            with tarfile.open(path) as archive:
                for member in archive:
                    member_name = member.name.removeprefix("./")
                    if member_name.count("/") == 1 and member_name.endswith(f"/{name}") and member.isfile():
                        if member.size > MAX_METADATA:
                            raise UnsafeArchiveError(f"{path.name}: {member_name} is over {MAX_METADATA} bytes")
                        handle = archive.extractfile(member)
                        return handle.read() if handle is not None else None
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise UnsafeArchiveError(f"{path.name} is not a readable sdist ({exc}): delete it from the cache") from None
    return None


def sdist_pkg_info(path: Path) -> bytes:
    """The ``<top>/PKG-INFO`` of an sdist (core metadata).

    Raises:
        UnsafeArchiveError: not a readable archive, or no PKG-INFO of reasonable size at its top.
    """
    data = sdist_member(path, "PKG-INFO")
    if data is None:
        raise UnsafeArchiveError(f"{path.name} has no PKG-INFO at its top: not an sdist")
    return data


def sdist_build_system(path: Path) -> BuildSystem:
    """The ``[build-system]`` of an sdist's ``<top>/pyproject.toml`` (PEP 517 defaults without it).

    Raises:
        UnsafeArchiveError: not a readable archive, or its pyproject.toml is not valid TOML.
    """
    data = sdist_member(path, "pyproject.toml")
    return parse_build_system(data.decode("utf-8", errors="replace") if data is not None else None, path.name)


def requires_txt(text: str) -> list[str]:
    """PEP 508 strings from setuptools' ``*.egg-info/requires.txt`` (sections ``[extra]``, ``[extra:marker]``, ``[:marker]``).

    Old setuptools wrote an sdist's dependencies there and not into PKG-INFO.
    """
    found: list[str] = []
    extra = marker = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            extra, _, marker = (part.strip() for part in line[1:-1].partition(":"))
            continue
        conditions = [f"({marker})"] if marker else []
        if extra:
            conditions.append(f'extra == "{extra}"')
        found.append(f"{line}; {' and '.join(conditions)}" if conditions else line)
    return found


def _sdist_metadata(path: Path, source: str) -> CoreMetadata:
    """Core metadata from an sdist's PKG-INFO; before Metadata 2.2, with requires.txt when PKG-INFO lists no Requires-Dist."""
    data = sdist_pkg_info(path)
    parsed = CoreMetadata.parse(data, source)
    version = str(parse_headers(data).get("Metadata-Version") or "1.0").strip()
    if parsed.requires_dist or _version_tuple(version) >= (2, 2):
        return parsed
    extra = _egg_info_requires(path)
    return CoreMetadata(parsed.name, parsed.version, tuple(extra), parsed.requires_python, source) if extra else parsed


def _version_tuple(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split("."))
    except ValueError:
        return (1, 0)


def _egg_info_requires(path: Path) -> list[str]:
    """requires.txt of the sdist's top-level (or src/) ``*.egg-info``, or []."""
    if path.name.endswith(".zip"):
        return []
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                parts = member.name.removeprefix("./").split("/")
                if (
                    member.isfile()
                    and parts[-1] == "requires.txt"
                    and parts[-2].endswith(".egg-info")
                    and len(parts) in (3, 4)
                    and member.size < MAX_METADATA
                ):
                    handle = archive.extractfile(member)
                    if handle is not None:
                        return requires_txt(handle.read().decode("utf-8", errors="replace"))
    except (tarfile.TarError, OSError, EOFError):
        return []
    return []


def _wheel_rank(file: IndexFile, python_tag: str) -> int:
    """0 for a pure wheel, 1 for one of the target interpreter on Linux x86_64, 2 for any other."""
    if any(t.abi == "none" and t.platform == "any" for t in file.tags):
        return 0
    if any(t.interpreter == python_tag and "linux" in t.platform and "x86_64" in t.platform for t in file.tags):
        return 1
    return 2


class ConfirmedStore:
    """Requires-Dist confirmed by build backends, by sdist sha256 (``<cache>/metadata/confirmed``)."""

    def __init__(self, cache: Path) -> None:
        self.directory = cache / "metadata" / "confirmed"

    def get(self, sha256: str) -> CoreMetadata | None:
        """The confirmed metadata of the sdist *sha256*, or None."""
        data = read_record(self.directory / f"{sha256}.json")
        try:
            return CoreMetadata(
                canonicalize_name(data["name"]),
                str(data["version"]),
                tuple(str(r) for r in data["requires-dist"]),
                data.get("requires-python"),
                "confirmed",
            )
        except (ValueError, KeyError, TypeError, AttributeError):  # absent (None) or not a record
            return None

    def put(self, sha256: str, metadata: CoreMetadata) -> None:
        """Record what the backend said for the sdist *sha256* (best effort: a full disk loses only speed)."""
        record = {
            "name": metadata.name,
            "version": metadata.version,
            "requires-dist": list(metadata.requires_dist),
            "requires-python": metadata.requires_python,
        }
        write_record(self.directory / f"{sha256}.json", record)


class BuildSystemStore:
    """The ``[build-system]`` tables of sdists, by sdist sha256 (``<cache>/metadata/build-system``).

    Content-addressed: an sdist with that sha256 was hash-checked when its table was read, and
    the table of those bytes never changes. A relock of an unchanged closure reads no archive.
    """

    FORMAT = "debwheels-build-system/1"

    def __init__(self, cache: Path) -> None:
        self.directory = cache / "metadata" / "build-system"

    def get(self, sha256: str) -> BuildSystem | None:
        """The table of the sdist *sha256*, or None (absent, unreadable or of another format)."""
        data = read_record(self.directory / f"{sha256}.json")
        try:
            if data.get("format") != self.FORMAT:
                return None
            return BuildSystem(
                tuple(str(r) for r in data["requires"]),
                str(data["backend"]),
                tuple(str(p) for p in data["backend-path"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError):  # absent (None) or not a record
            return None

    def put(self, sha256: str, build_system: BuildSystem) -> None:
        """Record the table of the sdist *sha256* (best effort: a full disk loses only speed)."""
        record = {
            "format": self.FORMAT,
            "requires": list(build_system.requires),
            "backend": build_system.backend,
            "backend-path": list(build_system.backend_path),
        }
        write_record(self.directory / f"{sha256}.json", record)


def pinned_build_system(pin: Pin, index_url: str, cache: Path) -> BuildSystem:
    """The ``[build-system]`` of the sdist *pin* names: from :class:`BuildSystemStore`, else read from the archive.

    Args:
        pin: the sdist's pin (its one hash is the sdist sha256).
        index_url: the index to fetch it from when it is not cached.
        cache: the cache root.

    Raises:
        FetchError, HashMismatchError, UnsafeArchiveError: the sdist cannot be had or read.
    """
    return cached_build_system(cache, pin.hashes[0], lambda: fetch(pin, index_url, cache).path)


def cached_build_system(cache: Path, sha256: str, sdist: Callable[[], Path]) -> BuildSystem:
    """The ``[build-system]`` of the sdist *sha256*: from :class:`BuildSystemStore`, else read from the archive *sdist()* gives.

    Raises:
        whatever *sdist* raises; UnsafeArchiveError: the archive cannot be read.
    """
    store = BuildSystemStore(cache)
    found = store.get(sha256)
    if found is None:
        found = sdist_build_system(sdist())  # read from the archive, nothing unpacked
        store.put(sha256, found)
    return found


class MetadataProvider:
    """Core metadata of releases, from the most trusted source at hand (see the module docstring).

    Args:
        index: the index client.
        cache: cache root (sdists, confirmed metadata).
        python_tag: the target interpreter's wheel tag (``cp311``), to pick a wheel's sidecar.
        confirmed: Requires-Dist confirmed in this lock or recorded in the previous one, by sdist sha256.
    """

    def __init__(
        self,
        index: SimpleIndex,
        cache: Path,
        python_tag: str,
        confirmed: Mapping[str, CoreMetadata] | None = None,
    ) -> None:
        self.index = index
        self.cache = cache
        self.python_tag = python_tag
        self.store = ConfirmedStore(cache)
        self.confirmed: dict[str, CoreMetadata] = dict(confirmed or {})
        self._memo: dict[str, CoreMetadata] = {}
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._build_systems: dict[str, BuildSystem] = {}

    def confirm(self, sha256: str, metadata: CoreMetadata) -> None:
        """Take *metadata* (from the backend) as the final word on the sdist *sha256*, now and in later locks."""
        final = CoreMetadata(
            metadata.name, metadata.version, metadata.requires_dist, metadata.requires_python, "confirmed"
        )
        with self._guard:
            self.confirmed[sha256] = final
            self._memo.pop(sha256, None)
        self.store.put(sha256, final)

    def get(self, release: Release) -> CoreMetadata:
        """The metadata of *release* (memoised; safe to call from several threads).

        Raises:
            FetchError, HashMismatchError, UnsafeArchiveError: the sdist (last resort) cannot be read.
            RequirementsError: its metadata names another project or version.
        """
        sha256 = release.sdist.sha256 or ""
        with self._guard:
            lock = self._locks.setdefault(sha256, threading.Lock())
        with lock:
            with self._guard:
                found = self.confirmed.get(sha256) or self._memo.get(sha256)
            if found is None:
                found = self.store.get(sha256) or self._read(release)
                with self._guard:
                    self._memo[sha256] = found
        if found.name != release.name:
            raise RequirementsError(
                f"{release.sdist.filename} declares the project {found.name} in its metadata ({found.source}), "
                f"not {release.name}: the release is broken; exclude it (requirements.in: {release.name}!={release.version})"
            )
        return found

    def sdist(self, release: Release) -> Sdist:
        """The hash-checked sdist of *release* (downloaded into the cache once).

        Raises:
            FetchError, HashMismatchError: it cannot be downloaded, or its sha256 is not the index's.
        """
        return download(
            Pin(release.name, str(release.version), (release.sdist.sha256 or "",)), release.sdist, self.cache
        )

    def build_system(self, release: Release) -> BuildSystem:
        """The ``[build-system]`` of *release*'s sdist (memoised).

        Raises:
            FetchError, HashMismatchError, UnsafeArchiveError: the sdist cannot be had or read.
        """
        key = release.sdist.sha256 or release.sdist.filename
        with self._guard:
            found = self._build_systems.get(key)
        if found is None:
            found = cached_build_system(self.cache, key, lambda: self.sdist(release).path)
            with self._guard:
                self._build_systems[key] = found
        return found

    def _read(self, release: Release) -> CoreMetadata:
        for wheel in sorted(
            (w for w in release.wheels if w.metadata_sha256),
            key=lambda w: (_wheel_rank(w, self.python_tag), w.filename),
        ):
            try:
                return CoreMetadata.parse(self.index.metadata(wheel), f"wheel {wheel.filename}")
            except (FetchError, RequirementsError):
                continue
        return _sdist_metadata(self.sdist(release).path, f"sdist {release.sdist.filename}")
