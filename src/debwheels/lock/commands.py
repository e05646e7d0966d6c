"""The lock stage's command as a library function: ``debwheels lock`` returns the lock graph it wrote.

The CLI (:mod:`debwheels.cli.lock`) parses options, calls :func:`lock` with a
:class:`debwheels.context.Context` and renders the result; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from debwheels.context import Context
from debwheels.lock.graph import LockGraph
from debwheels.lock.importers import read_lock
from debwheels.lock.locker import Locker
from debwheels.lock.releases import parse_duration, parse_timestamp


@dataclass(frozen=True)
class LockRequest:
    """What to lock and how (the options of ``debwheels lock``).

    Attributes:
        requirements_in: the top-level requirements (default: ``requirements.in`` beside the
            configured requirements file).
        upgrade: ignore every existing pin.
        upgrade_packages: names whose pins are ignored.
        import_from: another tool's lock file whose versions are kept (its hashes checked).
        from_format: that file's format (default: from its name).
        exclude_newer: an RFC 3339 time or a date overriding ``exclude-newer``.
        min_release_age: a duration (``"7 days"``) overriding ``min-release-age``.
        jobs: probes and builds at once.
    """

    requirements_in: Path | None = None
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    import_from: Path | None = None
    from_format: str | None = None
    exclude_newer: str | None = None
    min_release_age: str | None = None
    jobs: int = 1


@dataclass(frozen=True)
class Locked:
    """The lock ``debwheels lock`` wrote.

    Attributes:
        graph: the lock graph (also written to ``lock.json``).
        runtime_count: runtime packages, the project excluded.
        build_count: build-only packages.
    """

    graph: LockGraph
    runtime_count: int
    build_count: int

    def to_json(self) -> dict[str, Any]:
        """``{"project", "python", "runtime", "build"}``: the locked project, its interpreter and the counts."""
        return {
            "project": self.graph.project,
            "python": self.graph.python,
            "runtime": self.runtime_count,
            "build": self.build_count,
        }


def lock(ctx: Context, request: LockRequest) -> Locked:
    """Resolve and pin the whole source closure, build requirements included, and write the lock files.

    Args:
        ctx: the command's context (the lock is written under its run lock).
        request: what to lock and how.

    Returns:
        Locked: the graph and its counts.

    Raises:
        ConfigError: a bad --exclude-newer or --min-release-age. RequirementsError,
        ResolutionError, FetchError, HashMismatchError, BuildError, BusyError: see
        :class:`debwheels.lock.locker.Locker`.
    """
    from debwheels.debian.images import marker_environment

    cfg = ctx.cfg
    cutoff = cfg.cutoff
    if request.exclude_newer is not None:
        cutoff = replace(cutoff, exclude_newer=parse_timestamp(request.exclude_newer, "--exclude-newer"))
    if request.min_release_age is not None:
        cutoff = replace(cutoff, min_release_age=parse_duration(request.min_release_age, "--min-release-age"))
    imported = (
        read_lock(request.import_from.resolve(), marker_environment(cfg), request.from_format)
        if request.import_from
        else None
    )
    infile = request.requirements_in.resolve() if request.requirements_in else cfg.requirements.with_suffix(".in")
    with ctx.exclusive("debwheels lock"):
        locker = Locker(
            ctx,
            request.upgrade,
            request.upgrade_packages,
            imported,
            cutoff=cutoff,
            jobs=request.jobs,
        )
        graph = locker.lock(infile)
    runtime_count = sum(1 for p in graph.packages.values() if p.runtime and p.key != graph.project)
    build_count = sum(1 for p in graph.packages.values() if not p.runtime)
    return Locked(graph, runtime_count, build_count)
