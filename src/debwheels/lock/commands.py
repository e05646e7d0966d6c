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
from debwheels.errors import DebwheelsError, RequirementsError
from debwheels.lock.graph import LockGraph, read_graphs
from debwheels.lock.importers import read_lock
from debwheels.lock.inputs import LockInputs, lock_inputs
from debwheels.lock.locker import Locker, render_files, write_files
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
        keep_going: a failed build or probe does not stop the others (see :class:`debwheels.lock.locker.Locker`).
    """

    requirements_in: Path | None = None
    upgrade: bool = False
    upgrade_packages: tuple[str, ...] = ()
    import_from: Path | None = None
    from_format: str | None = None
    exclude_newer: str | None = None
    min_release_age: str | None = None
    jobs: int = 1
    keep_going: bool = False


@dataclass(frozen=True)
class Locked:
    """The lock ``debwheels lock`` wrote.

    Attributes:
        graphs: the lock graph of every target, by suite, in target order (all written to ``lock.json``).
        runtime_count: runtime packages of all targets (``name==version`` once), the project excluded.
        build_count: build-only packages of all targets.
        written: False when the lock was proven current (its recorded inputs unchanged) and
            nothing was resolved or written.
        why: why it was resolved again (changed inputs, in words), or () when it was not.
    """

    graphs: dict[str, LockGraph]
    runtime_count: int
    build_count: int
    written: bool = True
    why: tuple[str, ...] = ()

    @property
    def graph(self) -> LockGraph:
        """The first target's graph."""
        return next(iter(self.graphs.values()))

    @classmethod
    def of(cls, graphs: dict[str, LockGraph], written: bool = True, why: tuple[str, ...] = ()) -> Locked:
        """The counts of *graphs*."""
        nodes = {(p.key, p.runtime) for g in graphs.values() for p in g.packages.values() if p.key != g.project}
        runtime_count = len({key for key, runtime in nodes if runtime})
        build_count = len({key for key, runtime in nodes if not runtime})
        return cls(graphs, runtime_count, build_count, written, why)

    def to_json(self) -> dict[str, Any]:
        """``{"project", "python", "targets", "runtime", "build", "written", "why"}``: the project, each target's interpreter, the counts."""
        return {
            "project": self.graph.project,
            "python": self.graph.python,
            "targets": {suite: {"python": g.python} for suite, g in self.graphs.items()},
            "runtime": self.runtime_count,
            "build": self.build_count,
            "written": self.written,
            "why": list(self.why),
        }


def current_lock(cfg: Config, inputs: LockInputs) -> tuple[dict[str, LockGraph] | None, list[str]]:
    """The lock on disk when it is current for *inputs*, else None and why not.

    Current means: ``lock.json`` holds a graph for each target and records exactly these
    inputs (:mod:`debwheels.lock.inputs`), and ``requirements.txt`` and
    ``build-requirements.txt`` are what those graphs render (an edited or missing file is not
    current). Reads three files; resolves and runs nothing.

    Returns:
        (the graphs by target, []) when current; (None, [reasons in words]) otherwise.
    """
    if not cfg.lock_file.is_file():
        return None, [f"{cfg.lock_file.name} does not exist"]
    try:
        graphs = read_graphs(cfg.lock_file)
    except RequirementsError as exc:
        return None, [str(exc)]
    if list(graphs) != list(cfg.targets):
        return None, [f"the targets changed ({', '.join(graphs) or 'one unnamed'} -> {', '.join(cfg.targets)})"]
    changed = inputs.changed_since(next(iter(graphs.values())).inputs)
    if changed:
        return None, changed
    for path, text in render_files(cfg, graphs).items():
        try:
            if path.read_text(encoding="utf-8") != text:
                return None, [f"{path.name} differs from what {cfg.lock_file.name} pins"]
        except (OSError, UnicodeDecodeError):
            return None, [f"{path.name} is missing or unreadable"]
    return graphs, []


def lock(ctx: Context, request: LockRequest) -> Locked:
    """Resolve and pin the whole source closure of every target, build requirements included, and write the lock files.

    Each target is resolved for its own interpreter (read from its builder rootfs) and its
    dynamic build requirements are asked in its own builder; a target without a builder yet is
    bootstrapped first (:meth:`debwheels.context.Context.images`). Nothing is written unless
    every target locked.

    Args:
        ctx: the command's context (the lock is written under its run lock).
        request: what to lock and how.

    Returns:
        Locked: the graphs and their counts.

    Raises:
        ConfigError: a bad --exclude-newer or --min-release-age, or a target that cannot be bootstrapped.
        RequirementsError, ResolutionError, FetchError, HashMismatchError, BuildError, BusyError: see
        :class:`debwheels.lock.locker.Locker`; the message names the target.
    """
    from debwheels.debian.images import load_lock, marker_environment

    cfg = ctx.cfg
    cutoff = cfg.cutoff
    if request.exclude_newer is not None:
        cutoff = replace(cutoff, exclude_newer=parse_timestamp(request.exclude_newer, "--exclude-newer"))
    if request.min_release_age is not None:
        cutoff = replace(cutoff, min_release_age=parse_duration(request.min_release_age, "--min-release-age"))
    for target in ctx.each_target():
        if "builder" not in load_lock(cfg.builder_lock, target.target):
            target.images()  # bootstraps the target's builder and records it in builder-lock.json
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
        graphs: dict[str, LockGraph] = {}
        for target in ctx.each_target():
            environment = marker_environment(target.cfg)
            if cfg.multi_target:
                ctx.say(f"target {target.target}: python {environment['python_full_version']}")
            try:
                imported = (
                    read_lock(request.import_from.resolve(), environment, request.from_format)
                    if request.import_from
                    else None
                )
                locker = Locker(
                    target,
                    request.upgrade,
                    request.upgrade_packages,
                    imported,
                    cutoff=cutoff,
                    jobs=request.jobs,
                    inputs=inputs,
                    keep_going=request.keep_going,
                )
                graphs[target.target] = locker.lock(infile)
            except DebwheelsError as exc:
                if not cfg.multi_target:
                    raise
                raise type(exc)(
                    f"target {target.target} (python {environment['python_full_version']}): {exc}"
                ) from None
        write_files(cfg, graphs, inputs)
    return Locked.of(graphs, why=tuple(why))
