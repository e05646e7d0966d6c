"""Build keys: what a wheel build depends on, and the cache of wheels by key.

A wheel is a function of its inputs: the sdist (sha256) or, for the project itself, its
tree (:func:`tree_sha256`; only the ``[tool.debwheels] project-inputs`` when set, and then the
build sees only those files too, so a file outside them cannot change the wheel unseen); the wheels of its build environment (sha256 each); the builder
(rootfs sha256 from ``builder-lock.json`` and the Dockerfile's sha256); the package's
settings as merged for its version and locked build backend (:meth:`debwheels.config.Config.settings`:
environment, config_settings, build requirements, patches by sha256);
SOURCE_DATE_EPOCH; the in-container driver, the default build environment
(:data:`debwheels.build.environment.TEMPLATE`) and the pinned PEP 517 frontend. Their sha256 over
a canonical JSON rendering (sorted keys, no spaces) is the *build key*. A build whose key
equals the key of an earlier build is not run again: its wheel is reused, from the published
mirror (signed, verified first) or from the build cache. Because the wheels are
reproducible, a package rebuilt with an unchanged result gives its dependents unchanged keys.

The cache (``<cache>/build-cache/<key>/``, :func:`debwheels.config.build_cache_dir`, shared by the
user's projects and by ``debwheels lock``: a key names every input, so a wheel built for one
project is the right wheel for another) holds ``entry.json`` (the manifest entry of the
wheel, :class:`debwheels.mirror.manifest.WheelEntry`, and its file name) and the wheel; an entry is written in a temporary
directory and renamed into place, and its wheel's sha256 is checked when reused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debwheels import strictjson
from debwheels.build.environment import TEMPLATE
from debwheels.build.project import project_files
from debwheels.config import SETTING_KEYS, Config, PackageSettings, SettingsTable, merge_settings
from debwheels.debian.images import load_lock
from debwheels.errors import VerificationError
from debwheels.fsutil import fresh_dir, link_or_copy, sha256_file
from debwheels.lock.graph import LockedPackage, LockGraph
from debwheels.mirror.manifest import MAX_MANIFEST_BYTES, WheelEntry

KEY_FORMAT = "debwheels-build-key/1"
_ENTRY = "entry.json"  # a cache entry: the wheel's manifest entry, and its file name under _FILE
_FILE = "file"


def canonical_json(value: object) -> bytes:
    """JSON with sorted keys and no spaces (the bytes that are hashed)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def tree_sha256(root: Path, exclude: tuple[str, ...] = (), include: tuple[str, ...] | None = None) -> str:
    """sha256 over the project's files (:func:`debwheels.build.project.project_files`): path, executable bit, content.

    Args:
        root: project root.
        exclude: top-level names left out (the mirror).
        include: only these files and directories (``project-inputs``), or None for all.

    Returns:
        str: 64 hex digits; mtimes and owners do not count.
    """
    digest = hashlib.sha256()
    for name in project_files(root, exclude, include):
        path = root / name
        if path.is_symlink():
            kind, content = "link", os.readlink(path)
        else:
            kind, content = ("exec" if os.access(path, os.X_OK) else "file"), sha256_file(path)
        digest.update(f"{kind}\0{name}\0{content}\n".encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class KeyInputs:
    """Everything one wheel build depends on.

    Attributes:
        name: canonical project name.
        version: version string.
        source_sha256: the sdist's sha256, or ``tree:<sha256>`` of the project's tree.
        build_env: dependency key (``name==version``) -> wheel sha256 of its build environment.
        builder: rootfs sha256 and Dockerfile sha256 of the builder image.
        settings: the package's settings (see :func:`settings_record`).
        source_date_epoch: SOURCE_DATE_EPOCH (seconds).
        procedure: sha256 of the in-container driver, of the default environment and of the frontend's sdist.
    """

    name: str
    version: str
    source_sha256: str
    build_env: dict[str, str]
    builder: dict[str, str | None]
    settings: dict[str, Any]
    source_date_epoch: int
    procedure: dict[str, str | None]

    def record(self) -> dict[str, Any]:
        """The inputs as JSON data (what the manifest stores next to the key)."""
        return {
            "format": KEY_FORMAT,
            "name": self.name,
            "version": self.version,
            "source": self.source_sha256,
            "build-env": dict(sorted(self.build_env.items())),
            "builder": self.builder,
            "settings": self.settings,
            "source-date-epoch": self.source_date_epoch,
            "procedure": self.procedure,
        }

    @property
    def key(self) -> str:
        """The build key: sha256 (hex) of :meth:`record` as canonical JSON."""
        return hashlib.sha256(canonical_json(self.record())).hexdigest()


def settings_record(settings: PackageSettings) -> dict[str, Any]:
    """The settings of one package as JSON data, patches by sha256 (they change the wheel)."""
    return {
        "env": dict(sorted(settings.env.items())),
        "config-settings": settings.config_settings,
        "build-requires": list(settings.build_requires) if settings.build_requires is not None else None,
        "extra-build-requires": list(settings.extra_build_requires),
        "patches": {p.name: sha256_file(p) for p in settings.patch_files()},
    }


def table_record(table: SettingsTable) -> dict[str, Any]:
    """One settings table as JSON data (what a lock's inputs record of it).

    Args:
        table: a packages or build-backends table of ``[tool.debwheels]``.

    Returns:
        dict: :func:`settings_record` of the table alone (a key it does not set at its default),
        plus ``"cleared"`` when the table sets env, config-settings or extra-build-requires empty
        (that overrides a lower table's value, yet reads like not setting it).
    """
    record = settings_record(merge_settings("", [table]))
    cleared = [
        key
        for key in ("env", "config-settings", "extra-build-requires")
        if key in table.keys and not getattr(table, SETTING_KEYS[key])
    ]
    return {**record, "cleared": cleared} if cleared else record


class KeyMaker:
    """Build inputs of the packages of one lock graph (the parts shared by every package computed once).

    Args:
        cfg: configuration (builder lock, Dockerfile, settings, SOURCE_DATE_EPOCH, project root).
        graph: the lock graph.
        driver: the in-container build driver (its sha256 is part of the procedure).
    """

    def __init__(self, cfg: Config, graph: LockGraph, driver: Path) -> None:
        self.cfg = cfg
        self.graph = graph
        lock = load_lock(cfg.builder_lock, cfg.debian_suite)
        self.builder: dict[str, str | None] = {
            "rootfs-sha256": lock["builder"].sha256 if "builder" in lock else None,
            "dockerfile-sha256": sha256_file(cfg.dockerfile) if cfg.dockerfile.is_file() else None,
        }
        self.procedure: dict[str, str | None] = {
            "driver-sha256": sha256_file(driver),
            "environment-sha256": hashlib.sha256(canonical_json(TEMPLATE)).hexdigest(),
            "frontend": ",".join(sorted(f"{k}:{graph.packages[k].sha256}" for k in graph.frontend)),
        }
        self._tree: str | None = None

    def inputs(self, package: LockedPackage, build_env: dict[str, str]) -> KeyInputs:
        """The build inputs of *package*, given its build environment (dependency key -> wheel sha256)."""
        if package.key == self.graph.project:
            if self._tree is None:
                self._tree = tree_sha256(self.cfg.root, (self.cfg.mirror_dir.name,), self.cfg.project_inputs)
            source = f"tree:{self._tree}"
        else:
            source = package.sha256 or ""
        return KeyInputs(
            package.name,
            package.version,
            source,
            dict(sorted(build_env.items())),
            self.builder,
            settings_record(self.cfg.settings(package.name, package.version, package.build_backend or None)),
            self.cfg.source_date_epoch,
            self.procedure,
        )


@dataclass(frozen=True)
class CachedWheel:
    """A wheel available for reuse.

    Attributes:
        path: the wheel file.
        entry: its manifest entry.
        source: where it comes from (``mirror`` or ``cache``), for messages.
    """

    path: Path
    entry: WheelEntry
    source: str


class BuildCache:
    """Wheels by build key (``<cache>/build-cache``).

    Args:
        directory: the cache directory (created on first store).
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def get(self, key: str) -> CachedWheel | None:
        """The cached wheel of *key*, or None (missing, unreadable, or its sha256 no longer matches)."""
        folder = self.directory / key
        where = str(folder / _ENTRY)
        try:
            raw = strictjson.loads((folder / _ENTRY).read_bytes(), where, MAX_MANIFEST_BYTES)
            file = raw.pop(_FILE, None) if isinstance(raw, dict) else None
            entry = WheelEntry.from_json(raw, where)
            if not isinstance(file, str) or "/" in file or file.startswith("."):
                return None
            path = folder / file
            if path.is_symlink() or sha256_file(path) != entry.sha256:
                return None
        except (OSError, VerificationError):
            return None
        return CachedWheel(path, entry, "cache")

    def put(self, key: str, wheel: Path, entry: WheelEntry) -> None:
        """Store *wheel* with its manifest *entry* under *key* (a directory renamed into place whole).

        A usable entry under *key* is kept; one :meth:`get` cannot use is replaced.
        """
        target = self.directory / key
        if target.is_dir():
            if self.get(key) is not None:
                return
            shutil.rmtree(target, ignore_errors=True)  # unusable (damaged, or an older format): replaced
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = fresh_dir(self.directory / f".{key}.tmp-{os.getpid()}")
        try:
            link_or_copy(wheel, tmp / wheel.name)
            (tmp / _ENTRY).write_text(json.dumps({**entry.to_json(), _FILE: wheel.name}, indent=2, sort_keys=True))
            os.rename(tmp, target)
        except OSError:  # another run stored it first, or the cache cannot be written: nothing is left half-made
            shutil.rmtree(tmp, ignore_errors=True)
