"""``debwheels rebuild-check``: rebuild wheels someone else published from their sdists, and compare byte for byte.

For each wheel (:mod:`debwheels.rebuild.wanted`): the same release's sdist on the index (found by
the name and version of the wheel's file name, pinned by the index's sha256); the build
environment the wheel records (:mod:`debwheels.rebuild.recorded`: its backend's version, and
SOURCE_DATE_EPOCH or none), read from its bytes when they are at hand (a wheel file, a
``NAME==VERSION`` download, or for a sums file the index's file of that name when its sha256 is the
listed one; otherwise debwheels' defaults); a throw-away project saying so
(:mod:`debwheels.rebuild.project`), locked as of the wheel's upload and built offline in the
builder of the calling project's first target. The rebuilt wheel's sha256 and file name are
compared with the wanted ones: ``identical``, ``differs`` (with a diffoscope report when the wanted
wheel's bytes are at hand), or ``cannot-build`` (the first line of the cause, and the build log).
A failure of one wheel (any :class:`debwheels.errors.DebwheelsError`) does not stop the others.

Report (``<report dir>/report.json``, written whole after each wheel; JSON, dashed keys)::

    {"format": 1, "wheels": [
        {"file": "<wanted wheel file name>", "argument": "<the argument it came from>",
         "wanted-sha256": "<hex>", "rebuilt-sha256": "<hex>" | null, "rebuilt-file": "<name>" | null,
         "verdict": "identical" | "differs" | "cannot-build",
         "environment": {"generator": "<WHEEL Generator>" | null, "pins": ["hatchling==1.27.0", ...],
                         "source-date-epoch": <seconds> | null (unset), "tz": "<POSIX TZ>" | null (UTC),
                         "notes": ["...", ...],
                         "build-requires": ["<PEP 508>", ...], "exclude-newer": "<RFC 3339>" | null,
                         "target": "<Debian suite>", "sdist": "<file name>" | null, "sdist-sha256": "<hex>" | null},
         "diffoscope": "<path in the report dir>" | null, "cause": "<one line>" | null,
         "log": "<path in the report dir>" | null, "project": "<the throw-away project>" | null,
         "seconds": <int>}]}

beside it: ``diffoscope/<wheel>.txt`` and ``.html``, ``rebuilt/<wheel>`` (each rebuilt wheel that
differs) and ``logs/<wheel>.log`` (the build log of each wheel that could not be built).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import canonicalize_name
from packaging.version import Version

from debwheels import strictjson
from debwheels.build.builder import Builder
from debwheels.build.keys import BuildCache
from debwheels.build.results import BuiltWheel
from debwheels.build.reuse import Reuse
from debwheels.config import load_config
from debwheels.context import Context
from debwheels.errors import BuildError, DebwheelsError, FetchError
from debwheels.fsutil import atomic_write_text, fresh_dir, fresh_file
from debwheels.lock import simpleindex
from debwheels.lock.graph import LockGraph, subgraph
from debwheels.lock.metadata import pinned_build_system
from debwheels.lock.requirements import Pin, exact_pin
from debwheels.lock.simpleindex import IndexFile, SimpleIndex
from debwheels.progress import duration
from debwheels.rebuild.project import ProjectSpec, timestamp, write_project
from debwheels.rebuild.recorded import (
    RecordedEnvironment,
    default_environment,
    pinned_requires,
    read_wheel,
    recorded_environment,
    time_only_difference,
    zone_offset,
)
from debwheels.rebuild.wanted import Wanted, fetch_wheel, read_arguments, resolve_releases
from debwheels.safetext import clip
from debwheels.tools import diffoscope

if TYPE_CHECKING:
    from debwheels.lock.commands import LockRequest

FORMAT = 1
IDENTICAL, DIFFERS, CANNOT_BUILD = "identical", "differs", "cannot-build"


@dataclass
class Checked:
    """One wheel's row of the report (see the module docstring)."""

    file: str
    argument: str
    wanted_sha256: str
    verdict: str = CANNOT_BUILD
    rebuilt_sha256: str | None = None
    rebuilt_file: str | None = None
    environment: RecordedEnvironment = field(default_factory=lambda: RecordedEnvironment(None))
    build_requires: list[str] = field(default_factory=list)
    exclude_newer: str | None = None
    target: str = ""
    sdist: str | None = None
    sdist_sha256: str | None = None
    diffoscope: str | None = None
    cause: str | None = None
    log: str | None = None
    project: str | None = None
    seconds: int = 0

    def to_json(self) -> dict[str, object]:
        """The report row: dashed keys, the environment with what the build used."""
        environment = {
            **self.environment.to_json(),
            "build-requires": list(self.build_requires),
            "exclude-newer": self.exclude_newer,
            "target": self.target,
            "sdist": self.sdist,
            "sdist-sha256": self.sdist_sha256,
        }
        return {
            "file": self.file,
            "argument": self.argument,
            "wanted-sha256": self.wanted_sha256,
            "rebuilt-sha256": self.rebuilt_sha256,
            "rebuilt-file": self.rebuilt_file,
            "verdict": self.verdict,
            "environment": environment,
            "diffoscope": self.diffoscope,
            "cause": self.cause,
            "log": self.log,
            "project": self.project,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class RebuildChecked:
    """What :func:`rebuild_check` found.

    Attributes:
        wheels: one row per wheel, in argument order.
        report: the report.json written.
    """

    wheels: tuple[Checked, ...]
    report: Path

    def count(self, verdict: str) -> int:
        """How many wheels have *verdict*."""
        return sum(1 for row in self.wheels if row.verdict == verdict)

    @property
    def ok(self) -> bool:
        """True when every wheel was rebuilt identical."""
        return self.count(IDENTICAL) == len(self.wheels)

    def summary(self) -> str:
        """``N of M identical byte for byte, D differ, C cannot be built; report <path>``."""
        return (
            f"{self.count(IDENTICAL)} of {len(self.wheels)} identical byte for byte, {self.count(DIFFERS)} differ, "
            f"{self.count(CANNOT_BUILD)} cannot be built; report {self.report}"
        )


def first_line(error: BaseException | str) -> str:
    """The first non-empty line of *error*'s text, escaped and clipped."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return clip(lines[0] if lines else type(error).__name__, 400)


def release_sdist(files: Iterable[IndexFile]) -> IndexFile:
    """The sdist among one release's index *files* debwheels locks: with a sha256, not yanked first, ``.tar.gz`` first.

    Raises:
        FetchError: the release has no sdist with a sha256.
    """
    sdists = sorted(
        (f for f in files if f.kind == "sdist" and f.sha256),
        key=lambda f: (f.yanked is not None, not f.filename.endswith(".tar.gz"), f.filename),
    )
    if not sdists:
        raise FetchError("the release has no sdist (with a sha256) on the index: debwheels builds only from sdists")
    return sdists[0]


def setuptools_releases(index: SimpleIndex) -> list[tuple[Version, datetime | None]]:
    """Every setuptools version with a usable sdist on the index, with that sdist's upload time."""
    page = index.project("setuptools")
    return [(f.version, f.upload_time) for f in page.files if f.kind == "sdist" and f.sha256 and f.yanked is None]


class RebuildCheck:
    """Rebuilds wanted wheels one after the other and writes the report.

    Args:
        ctx: the calling project's context (its configuration may be the defaults: ``-C`` an empty directory).
        report_dir: where report.json, diffoscope reports, differing wheels and logs go (emptied).
        jobs: builds at once, each in its own container.
    """

    def __init__(self, ctx: Context, report_dir: Path, jobs: int = 1) -> None:
        self.ctx = ctx
        self.cfg = ctx.cfg
        self.report_dir = report_dir
        self.jobs = max(1, jobs)
        self.index = simpleindex.client(self.cfg.index_url, self.cfg.cache_dir)
        self.rows: list[Checked] = []

    def check(self, wanted: Sequence[Wanted]) -> list[Checked]:
        """Rebuild and compare each of *wanted*; the report is written after each.

        Returns:
            list[Checked]: one row per wheel, in order.
        """
        directories = self._directories(wanted)
        for number, item in enumerate(wanted, start=1):
            row = Checked(item.filename, item.argument, item.sha256, target=self.cfg.targets[0])
            self.rows.append(row)
            started = time.monotonic()
            label = f"[{number}/{len(wanted)}] {item.name} {item.version}"
            try:
                self._one(item, row, directories[number - 1], self._prefixed(label))
            except DebwheelsError as exc:
                row.verdict, row.cause = CANNOT_BUILD, first_line(exc)
                self._keep_log(item, row, directories[number - 1])
            row.seconds = round(time.monotonic() - started)
            self.ctx.say(f"{label}: {row.verdict} ({duration(row.seconds)})")
            self.write()
        return self.rows

    def _prefixed(self, label: str) -> Callable[[str], None]:
        """The context's reporter, each line starting with *label*."""
        return lambda line: self.ctx.say(f"{label}: {line}")

    def _directories(self, wanted: Sequence[Wanted]) -> list[Path]:
        """The throw-away project directory of each wheel: ``<name>-<version>``, numbered when a release repeats."""
        base = self.cfg.state_dir / "rebuild-check"
        taken: set[str] = set()
        found = []
        for item in wanted:
            stem, number = f"{item.name}-{item.version}", 1
            while stem in taken:
                number += 1
                stem = f"{item.name}-{item.version}-{number}"
            taken.add(stem)
            found.append(base / stem)
        return found

    def _environment(
        self, item: Wanted, files: list[IndexFile]
    ) -> tuple[RecordedEnvironment, datetime | None, Path | None]:
        """The environment *item* records, its upload time (None: unknown) and its bytes (None: not at hand).

        Raises:
            FetchError, HashMismatchError: the index's copy could not be downloaded. ConfigError: it is no wheel.
        """
        listed = next((f for f in files if f.filename == item.filename), None)
        path, uploaded, notes = item.path, item.uploaded, []
        if listed is not None and listed.sha256 == item.sha256:
            uploaded = uploaded or listed.upload_time
            if path is None:
                path = fetch_wheel(listed, self.cfg.cache_dir)
                notes.append(f"read from the index's {item.filename} (the same sha256)")
        elif listed is not None:
            notes.append(
                f"the index's {item.filename} has another sha256 ({listed.sha256 or 'none'}): another build; "
                "its upload time is not this wheel's"
            )
        else:
            notes.append(f"the index has no {item.filename}: the wheel's upload time is unknown")
        if path is None:
            env = default_environment(self.cfg.source_date_epoch, "the wheel's bytes are not at hand")
        else:
            env = recorded_environment(read_wheel(path), uploaded, lambda: setuptools_releases(self.index))
        env.notes[:0] = notes
        return env, uploaded, path

    def _one(self, item: Wanted, row: Checked, root: Path, say: Callable[[str], None]) -> None:
        """Fill *row*: find the sdist and environment, write and lock the project in *root*, build, compare.

        Raises:
            DebwheelsError: anything that keeps the wheel from being rebuilt (the row says cannot-build).
        """
        from debwheels.lock.commands import lock

        version = Version(item.version)
        files = [f for f in self.index.project(item.name).files if f.version == version]
        env, uploaded, wanted_path = self._environment(item, files)
        row.environment = env
        sdist = release_sdist(files)
        assert sdist.sha256 is not None  # release_sdist takes only sdists with one
        row.sdist, row.sdist_sha256 = sdist.filename, sdist.sha256
        build_system = pinned_build_system(
            Pin(item.name, item.version, (sdist.sha256,)), self.cfg.index_url, self.cfg.cache_dir
        )
        own = [pin for pin in env.pins if (exact_pin(pin) or ("",))[0] == canonicalize_name(item.name)]
        if own:  # a backend rebuilding itself (setuptools, flit_core, hatchling): its tree is the backend
            env.notes.append(f"{item.name} builds with its own tree (backend-path), not with {own[0]}")
        row.build_requires = pinned_requires(build_system.requires, [pin for pin in env.pins if pin not in own])
        cutoff = max(t for t in (uploaded, sdist.upload_time) if t is not None) if uploaded is not None else None
        if cutoff is None:
            env.notes.append(
                "the wheel's upload time is unknown: build tools are resolved without its cut-off "
                "(as of now, or DEBWHEELS_EXCLUDE_NEWER)"
            )
        row.exclude_newer = timestamp(cutoff) if cutoff is not None else None
        say(f"trying {env.describe()}")
        extra: tuple[tuple[str, str], ...] = ()
        if own and build_system.backend_path:
            # PEP 517 puts backend-path on sys.path; pyproject_hooks finds the backend there without
            # it, so an old setuptools building itself cannot see its own entry points (its
            # setuptools.egg-info): KeyError: 'entry_points'. PYTHONPATH puts the tree on sys.path.
            extra = (("PYTHONPATH", os.pathsep.join(build_system.backend_path)),)
            env.notes.append(f"its own tree is on PYTHONPATH ({extra[0][1]}), as PEP 517 puts backend-path on sys.path")
        spec = ProjectSpec(
            item.name, item.version, item.filename, tuple(row.build_requires), env.source_date_epoch, cutoff, extra
        )
        row.project = str(write_project(root, self.cfg, spec))
        sub = Context(load_config(root, self.cfg.container_runtime), say)
        try:
            lock(sub, self._lock_request(row.exclude_newer))
        except BuildError as exc:
            if cutoff is None or "cycle" not in str(exc):
                raise
            # Old build tools that need each other to build (tomli 1.x and the flit_core that
            # needed tomli): the closure is resolved as of now, the recorded pins stay exact.
            env.notes.append(
                f"the build tools as of {row.exclude_newer} need each other to build "
                f"({clip(str(exc).splitlines()[0], 120)}): resolved without that cut-off, the recorded pins kept"
            )
            row.exclude_newer = None
            spec = replace(spec, exclude_newer=None)
            write_project(root, self.cfg, spec)
            sub = Context(load_config(root, self.cfg.container_runtime), say)
            lock(sub, self._lock_request(None))
        built = self._build(sub, item, root)
        if built.sha256 != item.sha256 and wanted_path is not None:
            zone = zone_offset(wanted_path, built.path)
            if zone is not None:  # the maintainer's clock was in another zone: zip stores local time
                env.tz = zone
                env.notes.append(f"its file times are those of the sdist in another zone: built again with TZ={zone}")
                spec = replace(spec, env=(*spec.env, ("TZ", zone)))
                write_project(root, self.cfg, spec)
                sub = Context(load_config(root, self.cfg.container_runtime), say)
                lock(sub, self._lock_request(row.exclude_newer))
                built = self._build(sub, item, root)
        row.rebuilt_sha256, row.rebuilt_file = built.sha256, built.path.name
        if built.sha256 == item.sha256 and built.path.name == item.filename:
            row.verdict = IDENTICAL
            return
        row.verdict = DIFFERS
        kept = fresh_file(self.report_dir / "rebuilt" / built.path.name)
        shutil.copyfile(built.path, kept)
        if wanted_path is None:
            row.environment.notes.append("the wanted wheel's bytes are not at hand: no diffoscope report")
            return
        only_times = time_only_difference(wanted_path, kept)
        if only_times is not None:
            row.environment.notes.append(only_times)
        say(f"{item.filename} differs: running diffoscope")
        row.diffoscope = self._diff(wanted_path, kept, item.filename.removesuffix(".whl"))

    def _build(self, sub: Context, item: Wanted, root: Path) -> BuiltWheel:
        """Build *item* from the locked throw-away project *sub* (its closure from the build cache when there).

        Raises:
            BuildError: the lock lacks the release, or its build (or its closure's) failed.
        """
        graph = LockGraph.read(sub.cfg.lock_file, sub.target)
        wanted = (str(canonicalize_name(item.name)), Version(item.version))
        key = next(
            (p.key for p in graph.packages.values() if (p.name, Version(p.version)) == wanted and p.sha256), None
        )
        if key is None:
            raise BuildError(f"the lock of {root} holds no {item.name} {item.version}: see its requirements/lock.json")
        builder = Builder(sub, keep_going=True, jobs=self.jobs)
        part = subgraph(graph, [key])
        result = builder.run(
            part, builder.prepare(part), reuse=Reuse(BuildCache(sub.cfg.build_cache_dir)), fresh=frozenset({key})
        )
        built = result.built.get(key)
        if built is None:
            raise BuildError(result.failed.get(key) or f"{key} was not built")
        return built

    def _lock_request(self, exclude_newer: str | None) -> LockRequest:
        """The lock of a throw-away project: as of *exclude_newer* (then no release age applies), or the defaults."""
        from debwheels.lock.commands import LockRequest

        return LockRequest(
            exclude_newer=exclude_newer,
            min_release_age="0 days" if exclude_newer is not None else None,  # the cut-off is in the past already
            jobs=self.jobs,
        )

    def _diff(self, first: Path, second: Path, label: str) -> str:
        """diffoscope's report on *first* and *second*, as a path in the report directory."""
        return diffoscope.report(first, second, self.report_dir, label)

    def _keep_log(self, item: Wanted, row: Checked, root: Path) -> None:
        """Copy the wheel's build log (when there is one) into the report directory."""
        log = root / ".debwheels" / "logs" / f"{item.name}-{item.version}.log"
        if not log.is_file():
            return
        kept = fresh_file(self.report_dir / "logs" / f"{item.filename.removesuffix('.whl')}.log")
        shutil.copyfile(log, kept)
        row.log = str(kept.relative_to(self.report_dir))

    def write(self) -> Path:
        """Write report.json (whole, then renamed) with the rows so far; return its path."""
        report = self.report_dir / "report.json"
        atomic_write_text(report, strictjson.render({"format": FORMAT, "wheels": [r.to_json() for r in self.rows]}))
        return report


def rebuild_check(
    ctx: Context, arguments: Sequence[str], report_dir: Path | None = None, jobs: int = 1
) -> RebuildChecked:
    """Rebuild the wheels *arguments* name from their sdists and compare them byte for byte (``debwheels rebuild-check``).

    Args:
        ctx: the calling project's context (its builder, index, first target and state directory).
        arguments: wheel files, sums files (``sha256sum(1)``) and ``NAME==VERSION`` (:mod:`debwheels.rebuild.wanted`).
        report_dir: where the report goes (default ``<state dir>/rebuild-check-report``; emptied).
        jobs: builds at once, each in its own container.

    Returns:
        RebuildChecked: one row per wheel and the report's path.

    Raises:
        ConfigError: an argument that is no wheel file, sums file or ``NAME==VERSION``; a sums file
            without wheels; a wheel file name that does not parse.
        RequirementsError: ``NAME==VERSION`` without a pure-Python wheel on the index.
        FetchError, HashMismatchError: such a wheel could not be downloaded.
    """
    wanted = resolve_releases(
        read_arguments(arguments), simpleindex.client(ctx.cfg.index_url, ctx.cfg.cache_dir).project, ctx.cfg.cache_dir
    )
    directory = fresh_dir((report_dir or ctx.cfg.state_dir / "rebuild-check-report").resolve())
    runner = RebuildCheck(ctx, directory, jobs)
    rows = runner.check(wanted)
    return RebuildChecked(tuple(rows), runner.write())
