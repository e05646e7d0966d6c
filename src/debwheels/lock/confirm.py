"""Check a lock graph against what each package's build backend reports (step 4 of ``debwheels lock``)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from debwheels.build.results import RunResult
from debwheels.errors import RequirementsError
from debwheels.lock.graph import LockGraph
from debwheels.lock.metadata import CoreMetadata, MetadataProvider, same_requirements


def confirm(graph: LockGraph, result: RunResult, metadata: MetadataProvider) -> tuple[list[str], CoreMetadata]:
    """Compare each package's Requires-Dist with its backend's (step 4); record the backend's.

    Args:
        graph: the lock graph.
        result: the last dynamic pass, with every package's metadata.
        metadata: the resolution's metadata provider, told each backend's Requires-Dist.

    Returns:
        (keys whose backend reports other requirements than resolution used, the project's metadata).

    Raises:
        RequirementsError: a package's backend reports another name or version than its
            sdist's (a broken release), or gave no metadata.
    """
    differing = []
    project: CoreMetadata | None = None
    for key, node in sorted(graph.packages.items()):
        data = result.metadata.get(key)
        if data is None:
            raise RequirementsError(f"the build backend of {key} gave no metadata: see .debwheels/logs")
        reported = CoreMetadata.parse(data, f"the build backend of {key}")
        if key == graph.project:
            project = reported
            continue
        if reported.name != node.name or not _same_version(reported.version, node.version):
            raise RequirementsError(
                f"{node.sdist} builds {reported.name} {reported.version}, not {node.name} {node.version}: "
                f"the release is broken; exclude it in requirements.in ({node.name}!={node.version})"
            )
        assert node.sha256 is not None
        metadata.confirm(node.sha256, reported)
        if node.requires_dist is None or not same_requirements(reported.requires_dist, node.requires_dist):
            differing.append(key)
        node.requires_dist = sorted(reported.requires_dist)
    assert project is not None  # the project is in every graph
    return differing, project


def check_project(
    graph: LockGraph,
    reported: CoreMetadata,
    environment: Mapping[str, str],
    requirements_in: str,
    say: Callable[[str], None],
    left_out: Collection[str] = (),
) -> None:
    """Take the project's name and version from its backend; its requirements must be in the runtime closure.

    Args:
        graph: the lock graph; its project node is renamed and given its Requires-Dist.
        reported: the project's metadata as its backend prepared it.
        environment: PEP 508 marker variables of the target interpreter.
        requirements_in: the name of requirements.in, for messages.
        say: progress sink.
        left_out: names ``lock --keep-going`` left out because they cannot be built (not required).

    Raises:
        RequirementsError: a requirement of the project is not in the runtime closure, or
            its locked version does not satisfy it.
    """
    project = graph.packages[graph.project]
    if (reported.name, reported.version) != (project.name, project.version):
        say(f"the project's build backend reports {reported.name} {reported.version}")
        graph.rename_project(reported.name, reported.version)
    graph.packages[graph.project].requires_dist = sorted(reported.requires_dist)
    runtime = {p.name: p.version for p in graph.packages.values() if p.runtime}
    for text in reported.requires_dist:
        req = Requirement(text)
        if req.marker is not None and not req.marker.evaluate({**environment, "extra": ""}):
            continue
        name = str(canonicalize_name(req.name))
        if name in left_out:
            continue
        if name not in runtime:
            raise RequirementsError(
                f"{reported.name} requires {text} (its metadata), which the runtime closure lacks: "
                f"add {req.name} to {requirements_in}"
            )
        if not req.specifier.contains(runtime[name], prereleases=True):
            raise RequirementsError(
                f"{reported.name} requires {text} (its metadata), but {name} {runtime[name]} was locked: "
                f"align {requirements_in} with the project's dependencies"
            )


def _same_version(first: str, second: str) -> bool:
    try:
        return Version(first) == Version(second)
    except InvalidVersion:
        return first == second
