"""The lock graph (``requirements/lock.json``): every package, its sdist, who needs whom.

Format (JSON, sorted keys, no timestamps, so that diffs are reviewable)::

    {
      "format": 3,
      "python": "3.11.2",                   # the builder interpreter it was resolved for
      "requirements-in": ["click", ...],    # the roots, as written in requirements.in
      "project": "debwheels==0.1.0",        # the application itself (built from its tree)
      "frontend": ["pyproject-hooks==1.3.3"],  # the PEP 517 frontend every build runs
      "packages": {
        "<name>==<version>": {
          "name": ..., "version": ...,
          "sdist": "<file name>" | null, "sha256": "<sdist sha256>" | null,
          "runtime": true,                  # part of the runtime closure
          "requires": ["<key>", ...],       # runtime dependencies (edges)
          "requires-dist": ["<PEP 508>", ...],    # its Requires-Dist, as its build backend
                                            # reported it in the builder (confirmed)
          "build-backend": "...",
          "build-requires": ["<PEP 508>", ...],   # declared (or overridden) + extra
          "dynamic-requires": ["<PEP 508>", ...], # from get_requires_for_build_wheel
          "build-env": ["<key>", ...]       # exactly what its build environment holds
        }
      },
      "inputs": {"sha256": "<hex>", "parts": {...}}  # what the lock follows from
                                            # (debwheels.lock.inputs): an unchanged digest
                                            # proves the lock current
    }
"""

from __future__ import annotations

import itertools
import json
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from debwheels import strictjson
from debwheels.errors import RequirementsError
from debwheels.fsutil import atomic_write_text
from debwheels.lock.requirements import Pin

FORMAT = 3
READABLE_FORMATS = (1, 2, 3)  # format 1 lacks requires-dist, formats 1 and 2 lack inputs


def key_of(name: str, version: str) -> str:
    """The graph key of a package: ``name==version``."""
    return f"{name}=={version}"


@dataclass
class LockedPackage:
    """One node of the lock graph (see the module docstring for the fields)."""

    name: str
    version: str
    sdist: str | None
    sha256: str | None
    runtime: bool = False
    requires: list[str] = field(default_factory=list)
    build_backend: str = ""
    build_requires: list[str] = field(default_factory=list)
    dynamic_requires: list[str] = field(default_factory=list)
    build_env: list[str] = field(default_factory=list)
    requires_dist: list[str] | None = None

    @property
    def key(self) -> str:
        """``name==version``."""
        return key_of(self.name, self.version)

    def pin(self) -> Pin:
        """The hash pin of this node's sdist: ``name==version --hash=sha256:<sha256>``.

        Returns:
            Pin: no marker; its one hash is the sdist sha256, or the empty string (which no
            file matches) when the lock has none.
        """
        return Pin(self.name, self.version, (self.sha256 or "",))

    def to_json(self) -> dict[str, Any]:
        """JSON object of this node."""
        return {
            "name": self.name,
            "version": self.version,
            "sdist": self.sdist,
            "sha256": self.sha256,
            "runtime": self.runtime,
            "requires": sorted(self.requires),
            "build-backend": self.build_backend,
            "build-requires": list(self.build_requires),
            "dynamic-requires": list(self.dynamic_requires),
            "build-env": sorted(self.build_env),
            "requires-dist": sorted(self.requires_dist) if self.requires_dist is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockedPackage:
        """Inverse of :meth:`to_json`."""
        return cls(
            name=data["name"],
            version=data["version"],
            sdist=data["sdist"],
            sha256=data["sha256"],
            runtime=bool(data["runtime"]),
            requires=list(data["requires"]),
            build_backend=data["build-backend"],
            build_requires=list(data["build-requires"]),
            dynamic_requires=list(data["dynamic-requires"]),
            build_env=list(data["build-env"]),
            requires_dist=list(data["requires-dist"]) if data.get("requires-dist") is not None else None,
        )


@dataclass
class LockGraph:
    """The whole lock: roots, the project, and every package by key."""

    python: str
    roots: list[str]
    project: str
    packages: dict[str, LockedPackage] = field(default_factory=dict)
    frontend: list[str] = field(default_factory=list)
    inputs: dict[str, Any] | None = None  # debwheels.lock.inputs.LockInputs.to_json(), None when unknown

    def to_text(self) -> str:
        """Stable JSON text."""
        data = {
            "format": FORMAT,
            "python": self.python,
            "requirements-in": self.roots,
            "project": self.project,
            "frontend": sorted(self.frontend),
            "packages": {k: self.packages[k].to_json() for k in sorted(self.packages)},
            "inputs": self.inputs,
        }
        return strictjson.render(data)

    def write(self, path: Path) -> None:
        """Write atomically."""
        atomic_write_text(path, self.to_text())

    @classmethod
    def read(cls, path: Path) -> LockGraph:
        """Read *path*.

        Raises:
            RequirementsError: missing, unreadable or of another format.
        """
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RequirementsError(f"{path} does not exist: run 'debwheels lock' to resolve requirements.in") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise RequirementsError(f"{path} is not valid JSON ({exc}): run 'debwheels lock' again") from None
        if not isinstance(data, dict) or data.get("format") not in READABLE_FORMATS:
            found = data.get("format") if isinstance(data, dict) else None
            raise RequirementsError(f"{path} has format {found!r}, expected {FORMAT}: run 'debwheels lock' again")
        try:
            return cls(
                python=data["python"],
                roots=list(data["requirements-in"]),
                project=data["project"],
                frontend=list(data["frontend"]),
                packages={k: LockedPackage.from_json(v) for k, v in data["packages"].items()},
                inputs=data.get("inputs") if isinstance(data.get("inputs"), dict) else None,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise RequirementsError(
                f"{path} is not a complete lock graph (missing {exc}): run 'debwheels lock' again"
            ) from None

    def rename_project(self, name: str, version: str) -> None:
        """Give the project node the name and version its build backend reported (keys change with them)."""
        node = self.packages.pop(self.project)
        node.name, node.version = str(canonicalize_name(name)), version
        self.project = node.key
        self.packages[node.key] = node

    def by_name(self, name: str) -> list[LockedPackage]:
        """Every locked version of *name* (canonicalised), sorted by key."""
        wanted = canonicalize_name(name)
        return sorted((p for p in self.packages.values() if p.name == wanted), key=lambda p: p.key)

    def why(self, name: str) -> list[str]:
        """Explain why *name* is in the closure: one line per path from a root, shortest first.

        Returns:
            list[str]: lines like ``click==8.5.1 <- runtime requirement of debwheels==0.1.0 (requirements.in)``.

        Raises:
            RequirementsError: *name* is not in the lock.
        """
        targets = self.by_name(name)
        if not targets:
            raise RequirementsError(f"{name} is not in the lock: nothing needs it (see 'debwheels graph')")
        parents: dict[str, list[tuple[str, str]]] = {}
        for package in self.packages.values():
            for child in package.requires:
                parents.setdefault(child, []).append((package.key, "run time"))
            for child in package.build_env:
                parents.setdefault(child, []).append((package.key, "build time"))
        lines = []
        for target in targets:
            seen = {target.key}
            queue = deque([[target.key]])
            found = False
            while queue:
                path = queue.popleft()
                head = path[-1]
                if head == self.project or head in self.frontend:
                    suffix = "" if head == self.project else " (the PEP 517 frontend of every build)"
                    lines.append(self._render(path, parents) + suffix)
                    found = True
                    continue
                for parent, _ in parents.get(head, []):
                    if parent not in seen:
                        seen.add(parent)
                        queue.append([*path, parent])
            if not found:
                lines.append(f"{target.key} is in the lock but nothing reaches it: run 'debwheels lock' again")
        return lines

    @staticmethod
    def _render(path: list[str], parents: dict[str, list[tuple[str, str]]]) -> str:
        parts = [path[0]]
        for child, parent in itertools.pairwise(path):
            kind = next(k for p, k in parents[child] if p == parent)
            parts.append(f"needed at {kind} by {parent}")
        return " <- ".join(parts)
