"""The lock stage's command as a library function: ``debwheels lock`` returns the lock graph it wrote.

The CLI (:mod:`debwheels.cli.lock`) parses options, calls :func:`lock` with a
:class:`debwheels.context.Context` and renders the result; nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from debwheels.config import Config
from debwheels.context import Context
from debwheels.errors import RequirementsError
from debwheels.lock.graph import LockGraph
from debwheels.lock.importers import read_lock
from debwheels.lock.inputs import LockInputs, lock_inputs
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
        written: False when the lock was proven current (its recorded inputs unchanged) and
            nothing was resolved or written.
        why: why it was resolved again (changed inputs, in words), or () when it was not.
    """

    graph: LockGraph
    runtime_count: int
    build_count: int
    written: bool = True
    why: tuple[str, ...] = ()

    @classmethod
    def of(cls, graph: LockGraph, written: bool = True, why: tuple[str, ...] = ()) -> Locked:
        """The counts of *graph*."""
        runtime_count = sum(1 for p in graph.packages.values() if p.runtime and p.key != graph.project)
        build_count = sum(1 for p in graph.packages.values() if not p.runtime)
        return cls(graph, runtime_count, build_count, written, why)

    def to_json(self) -> dict[str, Any]:
        """``{"project", "python", "runtime", "build", "written", "why"}``: the locked project, its interpreter, the counts."""
        return {
            "project": self.graph.project,
            "python": self.graph.python,
            "runtime": self.runtime_count,
            "build": self.build_count,
            "written": self.written,
            "why": list(self.why),
        }


def current_lock(cfg: Config, inputs: LockInputs) -> tuple[LockGraph | None, list[str]]:
    """The lock on disk when it is current for *inputs*, else None and why not.

    Current means: ``lock.json`` records exactly these inputs (:mod:`debwheels.lock.inputs`),
    and ``requirements.txt`` and ``build-requirements.txt`` are what that graph renders (an
    edited or missing file is not current). Reads three files; resolves and runs nothing.

    Returns:
        (the graph, []) when current; (None, [reasons in words]) otherwise.
    """
    if not cfg.lock_file.is_file():
        return None, [f"{cfg.lock_file.name} does not exist"]
    try:
        graph = LockGraph.read(cfg.lock_file)
    except RequirementsError as exc:
        return None, [str(exc)]
    changed = inputs.changed_since(graph.inputs)
    if changed:
        return None, changed
    expected = Locker.render(cfg, graph)
    for path, text in expected.items():
        try:
            if path.read_text(encoding="utf-8") != text:
                return None, [f"{path.name} differs from what {cfg.lock_file.name} pins"]
        except (OSError, UnicodeDecodeError):
            return None, [f"{path.name} is missing or unreadable"]
    return graph, []


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
    inputs = lock_inputs(cfg, infile, cutoff, request.import_from.resolve() if request.import_from else None)
    with ctx.exclusive("debwheels lock"):
        why: list[str] = []
        if request.upgrade or request.upgrade_packages:
            why = ["--upgrade" if request.upgrade else f"--upgrade-package {' '.join(request.upgrade_packages)}"]
        else:
            current, why = current_lock(cfg, inputs)
            if current is not None:
                return Locked.of(current, written=False)
        ctx.say(f"locking: {'; '.join(why)}")
        locker = Locker(
            ctx,
            request.upgrade,
            request.upgrade_packages,
            imported,
            cutoff=cutoff,
            jobs=request.jobs,
            inputs=inputs,
        )
        graph = locker.lock(infile)
    return Locked.of(graph, why=tuple(why))
