"""Build order and build environments: the topological order, lock checks, and which wheels an environment needs."""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from debwheels.build.results import BuiltWheel
from debwheels.build.sources import BuildSystem
from debwheels.config import Config, PackageSettings
from debwheels.errors import BuildError, RequirementsError
from debwheels.lock.graph import LockGraph
from debwheels.lock.requirements import read_pins


class NotReady(Exception):
    """A build requirement is pinned but not built yet."""

    def __init__(self, waiting_for: str) -> None:
        super().__init__(waiting_for)
        self.waiting_for = waiting_for


def effective_requires(build_system: BuildSystem, settings: PackageSettings) -> list[str]:
    """Static build requirements after the package's settings: replaced, then extended."""
    declared = settings.build_requires if settings.build_requires is not None else build_system.requires
    return [*declared, *settings.extra_build_requires]


def dropped_requirements(
    build_system: BuildSystem, settings: PackageSettings, environment: Mapping[str, str] | None = None
) -> list[str]:
    """The declared build requirements that the settings' ``build-requires`` replacement drops.

    Args:
        build_system: the sdist's (or project's) build system, its declared ``requires``.
        settings: the package's merged settings.
        environment: PEP 508 marker environment of the builder; when given, a declared
            requirement whose marker is false there is not counted.

    Returns:
        list[str]: sorted canonical names declared but named neither by ``build-requires`` nor by
        ``extra-build-requires``; empty when ``build-requires`` is not set.
    """
    if settings.build_requires is None:
        return []
    kept = set()
    for text in effective_requires(build_system, settings):
        try:
            kept.add(canonicalize_name(Requirement(text).name))
        except InvalidRequirement:
            continue
    dropped: set[str] = set()
    for text in build_system.requires:
        try:
            req = Requirement(text)
        except InvalidRequirement:
            continue
        if environment is not None and req.marker is not None and not req.marker.evaluate({**environment, "extra": ""}):
            continue
        if canonicalize_name(req.name) not in kept:
            dropped.add(str(canonicalize_name(req.name)))
    return sorted(dropped)


def dropped_note(
    build_system: BuildSystem, settings: PackageSettings, environment: Mapping[str, str] | None = None
) -> str:
    """The sentence a failed build or probe adds when its ``build-requires`` setting dropped declared requirements.

    Args:
        build_system, settings, environment: as for :func:`dropped_requirements`.

    Returns:
        str: e.g. ``its build-requires setting in [tool.debwheels.packages."x==1.0"] replaces the
        declared requirements and drops cython: add it back if the build needs it``; "" when
        nothing is dropped.
    """
    dropped = dropped_requirements(build_system, settings, environment)
    if not dropped:
        return ""
    where = settings.build_requires_from or f"[tool.debwheels.packages.{settings.name}]"
    them = "it" if len(dropped) == 1 else "them"
    return (
        f"its build-requires setting in {where} replaces the declared requirements and drops "
        f"{', '.join(dropped)}: add {them} back if the build needs {them}"
    )


def env_closure(
    requires: Iterable[str],
    built: dict[str, BuiltWheel],
    pinned: set[str],
    environment: dict[str, str],
    who: str,
    lock_file: str = "requirements/build-requirements.txt",
) -> list[BuiltWheel]:
    """Resolve *requires* and their run-time dependencies against built wheels (one per name).

    Args:
        requires: PEP 508 requirement strings.
        built: wheels by canonical name.
        pinned: every name in the lock (built or not).
        environment: PEP 508 marker environment of the builder python.
        who: what needs them (for messages).
        lock_file: the file a missing pin belongs in (for messages).

    Returns:
        list[BuiltWheel]: the closure, sorted by name.

    Raises:
        NotReady: a needed name is pinned but not built yet.
        BuildError: a needed name is not pinned, or its pinned version does not match.
    """
    chosen: dict[str, BuiltWheel] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    stack = [(Requirement(text), frozenset[str]()) for text in requires]
    while stack:
        req, parent_extras = stack.pop()
        if req.marker is not None and not any(
            req.marker.evaluate({**environment, "extra": extra}) for extra in (parent_extras or {""})
        ):
            continue
        name = canonicalize_name(req.name)
        key = (name, frozenset(req.extras))
        if key in seen:
            continue
        seen.add(key)
        if name not in built:
            if name in pinned:
                raise NotReady(name)
            raise BuildError(
                f"{who} needs {req}, which is not pinned: add {name}==<version> --hash=sha256:<sdist sha256> to {lock_file}"
            )
        wheel = built[name]
        if not req.specifier.contains(wheel.version, prereleases=True):
            raise BuildError(
                f"{who} needs {req}, but the lock pins {name} {wheel.version}: pin a version that satisfies it in {lock_file}"
            )
        chosen[name] = wheel
        stack.extend((Requirement(text), frozenset(req.extras)) for text in wheel.requires_dist)
    return sorted(chosen.values(), key=lambda w: w.name)


def check_lock_files(cfg: Config, graph: LockGraph) -> None:
    """Require requirements.txt and build-requirements.txt to list exactly the graph's packages.

    *graph* is the graph of target ``cfg.debian_suite``; the pins compared are those whose
    markers hold for its interpreter (``python_full_version``).

    Raises:
        RequirementsError: they disagree (someone edited one file but not the others).
    """
    from debwheels.debian.images import marker_environment

    environment = marker_environment(cfg)
    runtime = {
        (p.name, p.version, h)
        for p in read_pins(cfg.requirements, allow_versions=True)
        if p.applies(environment)
        for h in p.hashes
    }
    build = {
        (p.name, p.version, h)
        for p in read_pins(cfg.build_requirements, allow_versions=True)
        if p.applies(environment)
        for h in p.hashes
    }
    nodes = [p for p in graph.packages.values() if p.key != graph.project]
    want_runtime = {(p.name, p.version, p.sha256) for p in nodes if p.runtime}
    want_build = {(p.name, p.version, p.sha256) for p in nodes if not p.runtime}
    for label, have, want, path in (
        ("runtime", runtime, want_runtime, cfg.requirements),
        ("build", build, want_build, cfg.build_requirements),
    ):
        if have != want:
            differ = sorted({f"{n}=={v}" for n, v, _ in have ^ want})
            raise RequirementsError(
                f"{path.name} and {cfg.lock_file.name} disagree on the {label} closure ({', '.join(differ)}): "
                "run 'debwheels lock' to regenerate them together"
            )


def topological_order(graph: LockGraph) -> graphlib.TopologicalSorter[str]:
    """A prepared sorter over build-time edges (package -> its build environment).

    Raises:
        BuildError: a build-time cycle, naming its members and the setting that breaks it.
    """
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for key, package in graph.packages.items():
        sorter.add(key, *package.build_env)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(exc.args[1])
        first = graph.packages[cycle[0]].name if cycle[0] in graph.packages else cycle[0]
        raise BuildError(
            f"build-time dependency cycle: {' -> '.join(cycle)}; break it with "
            f'[tool.debwheels.packages.{first}] build-requires = ["..."] (its build requirements without '
            f"{cycle[1] if len(cycle) > 1 else cycle[0]}), then run 'debwheels lock'"
        ) from None
    return sorter
