"""The lock's inputs: what a lock is a function of, hashed, so that an unchanged lock is proven current.

A lock (:mod:`debwheels.lock.graph`) follows from: ``requirements.in``; the project's own
build files (``pyproject.toml``, ``setup.cfg``, ``setup.py``: its dependencies and build
system); the resolution settings (index URL, ``exclude-newer``, ``min-release-age``); every
build settings table, per package, per package version and per build backend
(:func:`settings_tables`: build requirements, environment, config settings, patches by sha256); the targets (for each, in order, the
builder's rootfs by sha256 and its PEP 508 marker environment; the Dockerfile by sha256);
the imported lock (``--from``) by
sha256; and the lock procedure (:data:`PROCEDURE` and the in-container driver's sha256).
``lock.json`` records them as ``inputs`` (each part, and the sha256 of their canonical JSON).
When a new ``debwheels lock`` (no ``--upgrade``) computes the same digest, the lock on disk is
what resolving again would keep (existing pins are preferred), so nothing is resolved,
probed or written. Upload-time limits relative to *now* (``min-release-age``) count as their
setting, not their moving bound: with pins kept, time alone never changes a lock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from debwheels.build.incontainer import DRIVER
from debwheels.build.keys import canonical_json, table_record
from debwheels.config import Config
from debwheels.debian.images import load_lock, marker_environment
from debwheels.fsutil import sha256_file
from debwheels.lock.releases import Cutoff

PROCEDURE = "debwheels-lock/4"  # change when the lock algorithm changes what it writes
PROJECT_FILES = ("pyproject.toml", "setup.cfg", "setup.py")

_LABELS = {
    "procedure": "debwheels' lock procedure changed",
    "requirements-in": "requirements.in changed",
    "project": "the project's pyproject.toml, setup.cfg or setup.py changed",
    "resolution": "the index URL or the time cut-offs changed",
    "settings": "[tool.debwheels.packages] settings changed (or [tool.debwheels.build-backends])",
    "targets": "the targets or their builders (rootfs, Dockerfile or interpreter) changed",
    "imported": "the imported lock (--from) changed",
}


def _file_sha256(path: Path) -> str | None:
    return sha256_file(path) if path.is_file() else None


@dataclass(frozen=True)
class LockInputs:
    """The inputs of one lock (see the module docstring).

    Attributes:
        parts: part name -> JSON data (``procedure``, ``requirements-in``, ``project``,
            ``resolution``, ``settings``, ``targets``, ``imported``).
    """

    parts: dict[str, Any]

    @property
    def sha256(self) -> str:
        """sha256 (hex) of the parts as canonical JSON (sorted keys, no spaces)."""
        return hashlib.sha256(canonical_json(self.parts)).hexdigest()

    def to_json(self) -> dict[str, Any]:
        """``{"sha256": <digest>, "parts": {...}}``: what ``lock.json`` records."""
        return {"sha256": self.sha256, "parts": self.parts}

    def changed_since(self, recorded: object) -> list[str]:
        """What changed since the inputs *recorded* in a lock (its ``inputs`` value), in words.

        Returns:
            list[str]: one phrase per changed part; ``["the lock records no inputs"]`` when
            *recorded* is not an inputs record; empty when nothing changed.
        """
        if not isinstance(recorded, dict) or not isinstance(recorded.get("parts"), dict):
            return ["the lock records no inputs (written by an older debwheels)"]
        old = recorded["parts"]
        changed = [label for name, label in _LABELS.items() if old.get(name) != self.parts.get(name)]
        if not changed and recorded.get("sha256") != self.sha256:
            changed.append("its inputs record does not match its own digest")
        return changed


def settings_tables(cfg: Config) -> dict[str, Any]:
    """Every build settings table of *cfg* as JSON data (:func:`debwheels.build.keys.table_record`), by key.

    Keys: ``<name>`` (canonical) for ``[tool.debwheels.packages.<name>]``, ``<name>==<version>``
    (canonical name, normalised version) for a version table, ``build-backend <backend>`` for
    ``[tool.debwheels.build-backends."<backend>"]``; none of them can be another's.

    Returns:
        dict: sorted by key.
    """
    records = {name: table_record(table) for name, table in cfg.packages.items()}
    records |= {f"{name}=={version}": table_record(table) for (name, version), table in cfg.package_versions.items()}
    records |= {f"build-backend {backend}": table_record(table) for backend, table in cfg.build_backends.items()}
    return dict(sorted(records.items()))


def lock_inputs(cfg: Config, requirements_in: Path, cutoff: Cutoff, imported: Path | None) -> LockInputs:
    """The inputs of locking *requirements_in* with *cfg*.

    Args:
        cfg: the project configuration.
        requirements_in: the top-level requirements file (absent: hashed as None).
        cutoff: the effective upload-time limits (command-line overrides applied).
        imported: the ``--from`` lock file, or None.

    Returns:
        LockInputs: every part, files by sha256 (hex).

    Raises:
        ConfigError: an unreadable builder lock (:func:`debwheels.debian.images.load_lock`).
    """
    targets = {}
    for suite in cfg.targets:
        builder = load_lock(cfg.builder_lock, suite)
        targets[suite] = {
            "rootfs-sha256": builder["builder"].sha256 if "builder" in builder else None,
            "environment": marker_environment(cfg.for_target(suite)) if "builder" in builder else None,
        }
    return LockInputs(
        {
            "procedure": {"lock": PROCEDURE, "driver-sha256": sha256_file(DRIVER)},
            "requirements-in": _file_sha256(requirements_in),
            "project": {name: _file_sha256(cfg.root / name) for name in PROJECT_FILES},
            "resolution": {
                "index-url": cfg.index_url,
                "exclude-newer": cutoff.exclude_newer.isoformat() if cutoff.exclude_newer else None,
                "min-release-age-seconds": int(cutoff.min_release_age.total_seconds())
                if cutoff.min_release_age
                else None,
            },
            "settings": settings_tables(cfg),
            "targets": {"order": list(cfg.targets), "dockerfile-sha256": _file_sha256(cfg.dockerfile), **targets},
            "imported": _file_sha256(imported) if imported is not None else None,
        }
    )
