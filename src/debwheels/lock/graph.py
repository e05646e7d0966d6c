"""The lock graph (``requirements/lock.json``): every package, its sdist, who needs whom.

One lock holds the graph of every target (a Debian suite with its own python3): each
target is resolved for its own interpreter, and each package carries the targets it applies
to. Format 4 (JSON, sorted keys, no timestamps, so that diffs are reviewable)::

    {
      "format": 4,
      "requirements-in": ["click", ...],    # the roots, as written in requirements.in
      "project": "debwheels==0.1.0",        # the application itself (built from its tree)
      "targets": {
        "bookworm": {
          "python": "3.11.2",               # the target builder's interpreter it was resolved for
          "frontend": ["pyproject-hooks==1.3.3"]  # the PEP 517 frontend every build runs
        }, ...
      },
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
          "build-env": ["<key>", ...],      # exactly what its build environment holds
          "targets": ["bookworm", ...],     # the targets whose closure holds it
          "per-target": {"<suite>": {...}}  # the fields above that differ for a target
                                            # (markers: python_version < "3.12" ...), omitted when none
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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from debwheels import strictjson
from debwheels.errors import RequirementsError
from debwheels.fsutil import atomic_write_text
from debwheels.lock.requirements import Pin

FORMAT = 4
# format 1 lacks requires-dist, formats 1 and 2 lack inputs; formats 1 to 3 hold one target (read
# as the graph of whichever target is asked for: the pins a relock prefers)
READABLE_FORMATS = (1, 2, 3, 4)


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
    target: str = ""  # the Debian suite it was resolved for ("" in a lock of format 3 or older)
    #: requirements.in names left out because they (or a build requirement) failed ('lock --keep-going'), with why
    left_out: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, target: str | None = None) -> LockGraph:
        """The graph of *target* in the lock at *path* (default: its first target).

        A lock of format 3 or older (one target) gives its one graph whatever *target* is.

        Raises:
            RequirementsError: missing, unreadable, of another format, or without *target*.
        """
        return target_graph(read_graphs(path), target, path)

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


_PER_TARGET = ("runtime", "requires", "build-requires", "dynamic-requires", "build-env", "requires-dist")


def render_graphs(graphs: dict[str, LockGraph]) -> str:
    """The lock file's text (format 4) of one graph per target, in target order.

    Every graph must have the same roots and project; *inputs* are the first graph's;
    ``left-out`` (requirements left out by ``lock --keep-going``) is present only when not empty.
    A package's fields are those of the first target that holds it; ``per-target`` holds the
    fields another target sees differently.
    """
    first = next(iter(graphs.values()))
    packages: dict[str, dict[str, Any]] = {}
    for suite, graph in graphs.items():
        for key, node in graph.packages.items():
            data = node.to_json()
            entry = packages.get(key)
            if entry is None:
                packages[key] = {**data, "targets": [suite]}
                continue
            entry["targets"].append(suite)
            differing = {f: data[f] for f in _PER_TARGET if data[f] != entry[f]}
            if differing:
                entry.setdefault("per-target", {})[suite] = differing
    data = {
        "format": FORMAT,
        "requirements-in": first.roots,
        "project": first.project,
        "targets": {
            suite: {"python": graph.python, "frontend": sorted(graph.frontend)} for suite, graph in graphs.items()
        },
        "packages": {k: packages[k] for k in sorted(packages)},
        "inputs": first.inputs,
    }
    left_out = {name: why for graph in graphs.values() for name, why in graph.left_out.items()}
    if left_out:  # only in a lock made with --keep-going and runtime-dependencies = false
        data["left-out"] = {name: left_out[name] for name in sorted(left_out)}
    return strictjson.render(data)


def write_graphs(path: Path, graphs: dict[str, LockGraph]) -> None:
    """Write :func:`render_graphs` of *graphs* to *path* atomically."""
    atomic_write_text(path, render_graphs(graphs))


def read_graphs(path: Path) -> dict[str, LockGraph]:
    """Every target's graph in the lock at *path*, in the file's target order.

    A lock of format 3 or older holds one graph, returned under the target ``""``.

    Raises:
        RequirementsError: missing, unreadable, of another format, or incomplete.
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
    inputs = data.get("inputs") if isinstance(data.get("inputs"), dict) else None
    left_out = {str(k): str(v) for k, v in data["left-out"].items()} if isinstance(data.get("left-out"), dict) else {}
    try:
        if data["format"] < 4:
            return {
                "": LockGraph(
                    python=data["python"],
                    roots=list(data["requirements-in"]),
                    project=data["project"],
                    frontend=list(data["frontend"]),
                    packages={k: LockedPackage.from_json(v) for k, v in data["packages"].items()},
                    inputs=inputs,
                )
            }
        graphs: dict[str, LockGraph] = {}
        for suite, info in data["targets"].items():
            packages = {}
            for key, raw in data["packages"].items():
                if suite in raw["targets"]:
                    packages[key] = LockedPackage.from_json({**raw, **raw.get("per-target", {}).get(suite, {})})
            graphs[suite] = LockGraph(
                python=info["python"],
                roots=list(data["requirements-in"]),
                project=data["project"],
                frontend=list(info["frontend"]),
                packages=packages,
                inputs=inputs,
                target=suite,
                left_out=dict(left_out),
            )
        if not graphs:
            raise KeyError("targets")
        return graphs
    except (KeyError, TypeError, AttributeError) as exc:
        raise RequirementsError(
            f"{path} is not a complete lock graph (missing {exc}): run 'debwheels lock' again"
        ) from None


def target_graph(graphs: dict[str, LockGraph], target: str | None, path: Path) -> LockGraph:
    """The graph of *target* among *graphs* (:func:`read_graphs` of *path*); see :meth:`LockGraph.read`.

    Raises:
        RequirementsError: the lock has no graph for *target*.
    """
    if target is None or "" in graphs:
        return next(iter(graphs.values()))
    if target not in graphs:
        raise RequirementsError(
            f"{path.name} has no graph for target {target} (it holds {', '.join(graphs)}): run 'debwheels lock'"
        )
    return graphs[target]


def subgraph(graph: LockGraph, keys: list[str]) -> LockGraph:
    """*graph* cut down to *keys* and the frontend, with their build environments (transitively).

    What :meth:`debwheels.build.builder.Builder.run` needs to build just *keys* (the rest of
    their closure is reused or built on the way); the packages are the same objects.

    Raises:
        KeyError: a key (or a build environment entry) is not in *graph*.
    """
    wanted: set[str] = set()
    stack = [*keys, *graph.frontend]
    while stack:
        key = stack.pop()
        if key not in wanted:
            wanted.add(key)
            stack.extend(graph.packages[key].build_env)
    return replace(graph, packages={k: p for k, p in graph.packages.items() if k in wanted})
