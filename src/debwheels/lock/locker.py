"""``debwheels lock``: pin the whole source closure, build requirements included, recursively.

1. The runtime closure of ``requirements.in`` is resolved for the target interpreter (the
   builder's python3) among releases that have an sdist, inside the time cut-offs
   (``exclude-newer``, ``min-release-age``), by :mod:`debwheels.lock.resolve`; each version is
   pinned to the sha256 of its sdist as the index lists it. Newer versions that were skipped
   are reported with the reason (a wheel-only release, yanked, too new).
2. Every package to build (the runtime closure, the project itself, and recursively every
   build requirement) has its declared ``[build-system] requires`` (after its per-package
   settings) resolved on its own, so two packages may get two versions of one build tool.
3. In the builder, with no network, each backend is asked for its dynamic build requirements
   (``get_requires_for_build_wheel``, PEP 517) and its metadata, that of the wheel it builds
   (``build_wheel``; the wheel goes to the build cache, so the next build takes it): build
   tools are built first (from the sdists just pinned, or taken from the build cache by build
   key), then the other packages are probed; whatever a
   backend asks for that its environment lacks is resolved into that environment, and the pass
   repeats until nothing is missing.
4. Every package's ``Requires-Dist`` as its own backend reports it (the prepared metadata, or
   the built wheel's) is compared with what resolution used (the index's metadata); on any
   difference the lock resolves again with the backend's answer, so the lock never rests on
   metadata that the sdists do not produce. The project's own name and version come from its
   backend too (dynamic versions, setup.cfg, setup.py). See :mod:`debwheels.lock.confirm`.

With ``--from FILE`` (a pip-compile/uv requirements.txt with hashes, poetry.lock, uv.lock or
PEP 751 pylock.toml), that file's pins are constraints that are never dropped, and every
sdist it pins must have one of its sha256 (:mod:`debwheels.lock.importers`).

Existing pins are preferred (kept unless they conflict) unless ``--upgrade`` or
``--upgrade-package NAME``. Outputs are sorted and carry no timestamps.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from debwheels.build.builder import FRONTEND, Builder
from debwheels.build.closure import effective_requires
from debwheels.build.keys import BuildCache
from debwheels.build.probes import ProbeCache
from debwheels.build.results import RunResult
from debwheels.build.reuse import Reuse
from debwheels.build.sources import needs_rust, read_build_system
from debwheels.config import Config
from debwheels.context import Context
from debwheels.debian.images import marker_environment
from debwheels.debian.syslibs import known_requirements
from debwheels.errors import BuildError, RequirementsError
from debwheels.fsutil import atomic_write_text, memory_fs, private_tempdir
from debwheels.lock import simpleindex
from debwheels.lock.confirm import check_project, confirm
from debwheels.lock.graph import LockedPackage, LockGraph, key_of, write_graphs
from debwheels.lock.importers import check_sdist, constraints, pin_applies
from debwheels.lock.importers.common import ImportedLock
from debwheels.lock.inputs import LockInputs
from debwheels.lock.metadata import CoreMetadata, MetadataProvider, pinned_build_system
from debwheels.lock.releases import Cutoff, Skipped
from debwheels.lock.requirements import Pin, render_pins
from debwheels.lock.resolve import Catalog, Resolved, resolve

MAX_ROUNDS = 6  # passes of dynamic build requirement discovery
MAX_RESOLUTIONS = 4  # resolutions before the backends' metadata must agree with the one used
#: The frontend the build driver runs (BuildBackendHookCaller with python_executable, pyproject_hooks 1.1+).
FRONTEND_REQUIREMENT = f"{FRONTEND}>=1.1"
#: Resolution of the frontend is never cut off earlier than this (pyproject_hooks 1.2.0 was current then).
FRONTEND_FLOOR = datetime(2024, 10, 1, tzinfo=UTC)


def read_requirements_in(path: Path) -> list[str]:
    """Read a requirements.in: PEP 508 requirements, ``#`` comments; no options, URLs or editables.

    Raises:
        RequirementsError: missing file or a line that is not a plain requirement.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RequirementsError(
            f"{path} does not exist: list the application's dependencies in it, one per line"
        ) from None
    roots = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #")[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        where = f"{path}:{number}"
        if line.startswith("-"):
            raise RequirementsError(
                f"{where}: option {line.split()[0]} is not allowed; the index is index-url in [tool.debwheels]"
            )
        try:
            req = Requirement(line)
        except InvalidRequirement as exc:
            raise RequirementsError(f"{where}: {line!r} is not a PEP 508 requirement ({exc})") from None
        if req.url:
            raise RequirementsError(
                f"{where}: URL requirement {req.name} @ {req.url} is not allowed; name a release on the index"
            )
        roots.append(line)
    return roots


class Locker:
    """Computes a :class:`LockGraph` and writes the three lock files.

    Args:
        cfg: configuration.
        runtime: container runtime adapter.
        images: image tags.
        say: progress sink.
        upgrade: ignore every existing pin.
        upgrade_packages: ignore the existing pins of these names.
        imported: a lock file of another tool (:mod:`debwheels.lock.importers`) whose pins are kept
            (constraints, never resolved afresh) and whose hashes must match the sdists.
        cutoff: upload-time limits (default: the configuration's ``exclude-newer`` and ``min-release-age``).
        jobs: builds and probes at once in the dynamic passes, each in its own container.
        inputs: what this lock follows from (:mod:`debwheels.lock.inputs`), recorded in lock.json.
        keep_going: a build or probe that fails does not stop the others. With
            ``runtime-dependencies = false`` (every requirement on its own, as in a corpus), a
            requirement whose package or build requirement failed is left out of the lock
            (``left-out`` in lock.json, with the cause); otherwise every failure is reported at once.
    """

    def __init__(
        self,
        ctx: Context,
        upgrade: bool = False,
        upgrade_packages: Iterable[str] = (),
        imported: ImportedLock | None = None,
        cutoff: Cutoff | None = None,
        jobs: int = 1,
        inputs: LockInputs | None = None,
        keep_going: bool = False,
    ) -> None:
        self.ctx = ctx
        self.keep_going = keep_going
        self.left_out: dict[str, str] = {}  # requirement name -> why (keep_going)
        self.inputs = inputs
        cfg = self.cfg = ctx.cfg
        self.imported = imported
        self.say = ctx.say
        self.jobs = jobs
        self.environment = marker_environment(cfg)
        self.upgrade = upgrade
        self.upgrade_names = {str(canonicalize_name(n)) for n in upgrade_packages}
        self.previous = self._previous()
        self.cutoff = cutoff if cutoff is not None else cfg.cutoff
        index = simpleindex.client(cfg.index_url, cfg.cache_dir)
        python = self.environment["python_full_version"]
        self.catalog = Catalog(index, self.cutoff, python)
        # The PEP 517 frontend is debwheels' tool, not part of what is rebuilt: never older than
        # FRONTEND_FLOOR, whatever the cut-off (a rebuild as of 2021 still needs today's hooks API).
        floor = self.cutoff.exclude_newer is not None and self.cutoff.exclude_newer < FRONTEND_FLOOR
        self.frontend_catalog = (
            Catalog(index, Cutoff(FRONTEND_FLOOR, now=self.cutoff.now), python) if floor else self.catalog
        )
        self.metadata = MetadataProvider(
            index, cfg.cache_dir, "cp" + "".join(python.split(".")[:2]), self._previously_confirmed()
        )
        self.forced: dict[str, SpecifierSet] = {}
        if imported is not None:
            for text in constraints(imported, self.environment):
                req = Requirement(text)
                self.forced[str(canonicalize_name(req.name))] = req.specifier
        self.envs: dict[tuple[str, ...], list[Resolved]] = {}
        self.skipped: dict[str, tuple[Skipped, ...]] = {}

    def _previous(self) -> LockGraph | None:
        """The existing lock graph, whose pins are kept; None with --upgrade, or when it is absent or unreadable."""
        if self.upgrade or not self.cfg.lock_file.exists():
            return None
        try:
            return LockGraph.read(self.cfg.lock_file, self.cfg.debian_suite)
        except RequirementsError as exc:
            self.say(f"ignoring the existing lock ({exc})")
            return None

    def _previously_confirmed(self) -> dict[str, CoreMetadata]:
        """Requires-Dist the previous lock confirmed with each backend, by sdist sha256."""
        found: dict[str, CoreMetadata] = {}
        for node in self.previous.packages.values() if self.previous else ():
            if node.sha256 and node.requires_dist is not None:
                found[node.sha256] = CoreMetadata(
                    canonicalize_name(node.name), node.version, tuple(node.requires_dist), None, "confirmed"
                )
        return found

    def _kept(self, packages: Iterable[LockedPackage]) -> dict[str, str]:
        """name -> version of *packages*, except those being upgraded (the preferred versions)."""
        return {p.name: p.version for p in packages if p.name not in self.upgrade_names}

    def _resolve(
        self,
        requirements: list[str],
        preferred: Mapping[str, str],
        what: str,
        forced: bool = False,
        build: bool = False,
        frontend: bool = False,
    ) -> list[Resolved]:
        found = resolve(
            requirements,
            catalog=self.frontend_catalog if frontend else self.catalog,
            metadata=self.metadata,
            environment=self.environment,
            preferred=preferred,
            constraints=self.forced if forced else None,
            what=what,
            buildable_only=build,
            follow_dependencies=build or self.cfg.runtime_dependencies,
            overridden=self.cfg.overridden(),
        )
        for item in found:
            if item.skipped:
                self.skipped[item.name] = item.skipped
        return found

    def _node(self, graph: LockGraph, resolved: Resolved, runtime: bool) -> LockedPackage:
        key = key_of(resolved.name, resolved.version)
        node = graph.packages.get(key)
        if node is None:
            node = LockedPackage(
                resolved.name,
                resolved.version,
                resolved.sdist,
                resolved.sha256,
                requires_dist=list(resolved.requires_dist),
            )
            graph.packages[key] = node
        node.runtime = node.runtime or runtime
        return node

    def _edges(self, graph: LockGraph, resolved: list[Resolved]) -> None:
        by_name: dict[str, str] = {str(r.name): key_of(r.name, r.version) for r in resolved}
        for item in resolved:
            node = graph.packages[key_of(item.name, item.version)]
            for text in item.requires_dist:
                req = Requirement(text)
                child = by_name.get(str(canonicalize_name(req.name)))
                if child is None:
                    continue
                if (
                    req.marker is None
                    or req.marker.evaluate({**self.environment, "extra": ""})
                    or "extra" in str(req.marker)
                ) and child not in node.requires:
                    node.requires.append(child)

    def _build_env(self, graph: LockGraph, node: LockedPackage, requires: list[str]) -> list[str]:
        """Resolve *requires* as *node*'s build environment; add new packages to the graph."""
        if not requires:
            return []
        cache_key = tuple(sorted(requires))
        if cache_key not in self.envs:
            previous = self.previous.packages.get(node.key) if self.previous else None
            preferred = (
                self._kept(self.previous.packages[k] for k in previous.build_env if k in self.previous.packages)
                if previous and self.previous
                else {}
            )
            self.envs[cache_key] = self._resolve(
                list(requires), preferred, f"the build requirements of {node.key}", build=True
            )
        return [self._node(graph, r, runtime=False).key for r in self.envs[cache_key]]

    def _describe(self, graph: LockGraph, key: str) -> None:
        """Read the node's build system and resolve its static build environment."""
        node = graph.packages[key]
        if key == graph.project:
            build_system = read_build_system(self.cfg.root)
        else:
            assert node.sdist is not None and node.sha256 is not None
            build_system = pinned_build_system(node.pin(), self.cfg.index_url, self.cfg.cache_dir)
        settings = self.cfg.settings(node.name, node.version, build_system.backend)
        rust = needs_rust(build_system) if settings.build_requires is None else None
        if rust is not None and key != graph.project:
            raise RequirementsError(
                f"{key} cannot be built here: {rust}, whose crates come from crates.io at build time, which "
                f"debwheels' offline builds cannot reach; require a version without Rust in requirements.in, "
                f"or replace its build requirements ([tool.debwheels.packages.{node.name}] build-requires)"
            )
        node.build_backend = build_system.backend
        node.build_requires = effective_requires(build_system, settings)
        node.dynamic_requires = sorted(set(node.dynamic_requires) | set(self._known_dynamic(node)))
        node.build_env = self._build_env(graph, node, node.build_requires + node.dynamic_requires)

    def _known_dynamic(self, node: LockedPackage) -> list[str]:
        """The dynamic build requirements the previous lock recorded for this very sdist and these settings.

        A hint, not a result: the pass probes (or finds in the probe cache) the backend's answer
        for the environment it gives, and a requirement it no longer asks for is dropped there.
        Starting from it, a relock builds each build tool once, in its final environment.
        """
        previous = self.previous.packages.get(node.key) if self.previous else None
        if previous is None or previous.sha256 != node.sha256 or previous.build_requires != node.build_requires:
            return []
        return list(previous.dynamic_requires)

    def _close(self, graph: LockGraph, queue: list[str]) -> None:
        described: set[str] = set()
        while queue:
            key = queue.pop(0)
            if key in described:
                continue
            described.add(key)
            before = set(graph.packages)
            self._describe(graph, key)
            queue.extend(sorted(set(graph.packages) - before))
            self.say(
                f"locked {key}: build env of {len(graph.packages[key].build_env)} ({len(graph.packages)} packages so far)"
            )

    def lock(self, infile: Path) -> LockGraph:
        """Resolve *infile* into the target's complete lock graph, confirmed by every backend (nothing is written).

        Returns:
            LockGraph: the target's graph (:func:`write_files` writes the graphs of all targets).

        Raises:
            RequirementsError: bad input, no release with an sdist, no resolution, dynamic
                requirements that never settle, or metadata that keeps changing.
            BuildError: a build-time cycle, or a build tool failed to build.
        """
        roots = self._roots(infile)
        self._prefetch(roots)
        if self.cutoff.active:
            self.say(f"resolving with {self.cutoff.describe()}")
        for attempt in range(1, MAX_RESOLUTIONS + 1):
            self.envs = {}
            graph = self._graph(roots, infile)
            self._warn_system_packages(graph)
            result = self._discover_dynamic(graph)
            differing, project = confirm(graph, result, self.metadata)
            if not self.cfg.runtime_dependencies:  # only build environments follow Requires-Dist
                in_envs = {dep for p in graph.packages.values() for dep in p.build_env}
                differing = [key for key in differing if key in in_envs]
            if not differing:
                check_project(
                    graph,
                    project,
                    self.environment,
                    self.cfg.requirements.with_suffix(".in").name,
                    self.say,
                    left_out=self.left_out,
                )
                self._report_skipped(graph)
                graph.target = self.cfg.debian_suite
                graph.left_out = dict(self.left_out)
                return graph
            self.say(
                f"the build backends of {', '.join(differing)} report other dependencies than the index metadata "
                f"(resolution {attempt}): resolving again with theirs"
            )
        raise RequirementsError(
            f"the dependencies did not settle after {MAX_RESOLUTIONS} resolutions (metadata differs between the index "
            "and the build backends): see .debwheels/logs"
        )

    def _prefetch(self, roots: list[str]) -> None:
        """Start reading the index pages of the roots and of every package of the previous lock, in the background.

        Resolution asks for pages one dependency at a time; the ones it will need are then
        already being read (:meth:`debwheels.lock.resolve.Catalog.prefetch`, several at once).
        A page that cannot be had is reported only if resolution needs it.
        """
        names = {str(canonicalize_name(Requirement(r).name)) for r in roots}
        names |= {p.name for p in self.previous.packages.values() if p.sha256} if self.previous else set()
        for name in sorted(names):
            self.catalog.prefetch(name)

    def project_metadata(self) -> tuple[bytes, str]:
        """The project's core metadata and ``entry_points.txt`` as its own build backend prepares them.

        Locks and builds (or takes from the build cache) the project's build requirements and
        asks its backend in the builder, offline (the probe: the METADATA of the wheel it builds).
        No lock file is written.

        Returns:
            (METADATA bytes, entry_points.txt text or "").

        Raises:
            RequirementsError, BuildError: the build requirements cannot be locked or built, or
                the backend failed (its cause in the first line).
        """
        graph = self._graph([], self.cfg.requirements.with_suffix(".in"))
        result = self._discover_dynamic(graph)
        data = result.metadata.get(graph.project)
        if data is None:
            raise RequirementsError("the project's build backend gave no metadata: see .debwheels/logs")
        return data, result.entry_points.get(graph.project, "")

    def _graph(self, roots: list[str], infile: Path) -> LockGraph:
        """Resolve the runtime closure and every static build environment (steps 1 and 2)."""
        project = str(canonicalize_name(self.cfg.project_name))
        graph = LockGraph(self.environment["python_full_version"], roots, key_of(project, self.cfg.project_version))
        roots = [r for r in roots if str(canonicalize_name(Requirement(r).name)) not in self.left_out]
        preferred = self._kept(p for p in self.previous.packages.values() if p.runtime) if self.previous else {}
        if self.imported is not None:
            resolved = self._resolve_imported(self.imported, roots, preferred)
        else:
            resolved = self._resolve(roots, preferred, infile.name) if roots else []
        for item in resolved:
            self._node(graph, item, runtime=True)
        if self.imported is not None:
            self._check_imported(self.imported, graph, resolved)
        self._edges(graph, resolved)
        graph.packages[graph.project] = LockedPackage(project, self.cfg.project_version, None, None, runtime=True)
        root_names = {str(canonicalize_name(Requirement(r).name)) for r in roots}
        graph.packages[graph.project].requires = sorted(
            key_of(r.name, r.version) for r in resolved if r.name in root_names
        )
        previous_hooks = self._kept(self.previous.by_name(FRONTEND)) if self.previous else {}
        for item in self._resolve([FRONTEND_REQUIREMENT], previous_hooks, "the PEP 517 frontend", frontend=True):
            graph.frontend.append(self._node(graph, item, runtime=False).key)
        self.say(f"resolved {len(resolved)} runtime packages for python {graph.python}")
        self._close(graph, sorted(graph.packages))
        return graph

    def _roots(self, infile: Path) -> list[str]:
        """requirements.in; with an imported lock and no requirements.in, the imported names."""
        if self.imported is not None and not infile.exists():
            imported = self.imported
            return sorted(n for n, pin in imported.pins.items() if pin_applies(imported, pin, self.environment))
        return read_requirements_in(infile)

    def _resolve_imported(
        self, imported: ImportedLock, roots: list[str], preferred: Mapping[str, str]
    ) -> list[Resolved]:
        """Resolve *roots* with the imported pins as constraints; they are never dropped."""
        kept = {name: version for name, version in preferred.items() if name not in self.forced}
        return self._resolve(roots, kept, f"{imported.path.name} ({imported.format})", forced=True)

    def _check_imported(self, imported: ImportedLock, graph: LockGraph, resolved: list[Resolved]) -> None:
        """Every resolved package the imported lock pins has its version, and its sdist one of its hashes."""
        checked = 0
        for item in resolved:
            pin = imported.pins.get(item.name)
            if pin is None or not pin_applies(imported, pin, self.environment):
                continue
            if pin.version != item.version:
                raise RequirementsError(
                    f"{pin.where} pins {item.name}=={pin.version} but the resolution chose {item.version}: "
                    "requirements.in and the imported lock disagree; fix one of them"
                )
            node = graph.packages[key_of(item.name, item.version)]
            assert node.sdist is not None and node.sha256 is not None
            check_sdist(pin, node.sdist, node.sha256)
            checked += 1
        self.say(f"kept {checked} pins of {imported.path.name} ({imported.format}); their sdist sha256 match it")

    def _warn_system_packages(self, graph: LockGraph) -> None:
        """Say, before anything is built, which locked packages need Debian build packages the builder lacks."""
        have = set(self.cfg.builder_packages)
        for node in sorted(graph.packages.values(), key=lambda p: p.key):
            missing = sorted(set(known_requirements(node.name, self.cfg.debian_suite)[0]) - have)
            if missing:
                listed = ", ".join(f'"{m}"' for m in missing)
                self.say(
                    f"warning: {node.key} needs the Debian build packages {', '.join(missing)}, which the builder "
                    f"lacks: add {listed} to extra-builder-packages in [tool.debwheels], then run 'debwheels builder'"
                )

    def _discover_dynamic(self, graph: LockGraph) -> RunResult:
        """Ask every backend for its dynamic build requirements and its metadata (offline, in the builder).

        Returns:
            RunResult: the last pass, in which nothing was missing: every package probed or built.
        """
        with private_tempdir("debwheels-lock-", parent=memory_fs()) as work:
            return self._passes(graph, work)

    def _passes(self, graph: LockGraph, work: Path) -> RunResult:
        """The passes of :meth:`_discover_dynamic`, with sources unpacked under *work* (scratch, in memory when possible)."""
        reuse = Reuse(BuildCache(self.cfg.build_cache_dir))
        probes = ProbeCache(self.cfg.build_cache_dir / "probes")
        for round_number in range(1, MAX_ROUNDS + 1):
            self.say(f"dynamic build requirements and metadata, pass {round_number}")
            builder = Builder(self.ctx, work=work / "work", jobs=self.jobs, keep_going=self.keep_going)
            builder.reset()
            needed = {dep for p in graph.packages.values() for dep in p.build_env}
            result = builder.run(graph, probe=set(graph.packages) - needed, reuse=reuse, probes=probes)
            if result.failed:
                self._leave_out(graph, result)
            for key, dynamic in result.dynamic.items():
                # The backend's answer for this environment; a seeded hint it no longer asks for goes.
                graph.packages[key].dynamic_requires = sorted(set(dynamic))
            if not result.missing:
                return result
            queue = []
            for key in sorted(result.missing):
                node = graph.packages[key]
                before = set(graph.packages)
                node.build_env = self._build_env(graph, node, node.build_requires + node.dynamic_requires)
                queue.extend(sorted(set(graph.packages) - before))
            self._close(graph, queue)
        raise RequirementsError(
            f"dynamic build requirements did not settle after {MAX_ROUNDS} passes: see .debwheels/logs"
        )

    def _leave_out(self, graph: LockGraph, result: RunResult) -> None:
        """Drop the requirements whose package or build requirement failed, with what only they need (keep_going).

        Raises:
            BuildError: every failure, when the runtime closure must be complete
                (``runtime-dependencies``), or when the project's own build or the frontend failed.
        """
        failed = result.failed
        if self.cfg.runtime_dependencies:
            raise BuildError(
                f"{len(failed)} packages could not be built or probed (the runtime closure must be complete): "
                + "; ".join(f"{key}: {failure_cause(failed[key])}" for key in sorted(failed))
            )
        for name, key in leave_out(graph, failed).items():
            self.left_out[name] = failure_cause(failed[key])
            self.say(f"left out {name}: {failed[key].splitlines()[0]}")
        reachable = set(graph.packages)
        for answers in (result.missing, result.dynamic, result.metadata, result.entry_points):
            for key in [key for key in answers if key not in reachable]:
                del answers[key]

    def _report_skipped(self, graph: LockGraph) -> None:
        """Say which newer versions of locked packages were skipped, and why (one line per package)."""
        for name, skipped in sorted(self.skipped.items()):
            chosen = sorted(p.version for p in graph.by_name(name))
            if not chosen:
                continue
            newest = max(Version(v) for v in chosen)
            groups: dict[str, list[str]] = {}
            for item in skipped:
                if item.version > newest:
                    reason = item.reason.split(", ", 1)[-1] if item.reason.startswith("uploaded ") else item.reason
                    groups.setdefault(reason, []).append(str(item.version))
            parts = [
                f"{', '.join(versions[:4])}{f' and {len(versions) - 4} more' if len(versions) > 4 else ''} ({reason})"
                for reason, versions in groups.items()
            ]
            if parts:
                self.say(f"skipped newer {name} than {', '.join(chosen)}: {'; '.join(parts)}")


def failure_cause(text: str) -> str:
    """The first line of a build failure without its log path (which names this machine): the cause, for lock.json."""
    line = text.splitlines()[0] if text else ""
    return re.sub(r"(; log \S+.*| \(log \S+\))$", "", line).strip()


def leave_out(graph: LockGraph, failed: Mapping[str, str]) -> dict[str, str]:
    """Drop the project's requirements that *failed* from *graph*, with every package only they needed.

    Args:
        graph: the lock graph, changed in place.
        failed: failure text by key of the packages that failed or were skipped (``RunResult.failed``).

    Returns:
        dict[str, str]: the key of each requirement left out, by name.

    Raises:
        BuildError: a failed package is still needed (by the project's build or the frontend).
    """
    project = graph.packages[graph.project]
    dropped = {graph.packages[key].name: key for key in project.requires if key in failed}
    project.requires = [key for key in project.requires if key not in failed]
    needed = needed_keys(graph)
    fatal = sorted(key for key in failed if key in needed)
    if fatal:
        raise BuildError(f"{fatal[0]}, which the project itself needs, failed: {failed[fatal[0]]}")
    for key in [key for key in graph.packages if key not in needed]:
        del graph.packages[key]
    for package in graph.packages.values():  # a kept requirement's runtime edge to a left-out one
        package.requires = [key for key in package.requires if key in graph.packages]
    return dropped


def needed_keys(graph: LockGraph) -> set[str]:
    """Keys a lock without runtime dependencies keeps: the project's requirements, and every build environment.

    The build environments of the project, of the frontend and of each kept package, each
    a complete closure. Runtime requirements between the project's requirements are
    recorded (``requires``) but not followed: each requirement stands alone.
    """
    project = graph.packages[graph.project]
    seen = {graph.project}
    stack = [*project.requires, *project.build_env, *graph.frontend]
    while stack:
        key = stack.pop()
        if key not in seen and key in graph.packages:
            seen.add(key)
            stack.extend(graph.packages[key].build_env)
    return seen


def _target_marker(graphs: dict[str, LockGraph], suites: list[str]) -> str | None:
    """The PEP 508 marker that holds on exactly the interpreters of *suites* (None: on every target)."""
    if len(suites) == len(graphs):
        return None
    return " or ".join(f'python_full_version == "{graphs[s].python}"' for s in suites)


def render_files(cfg: Config, graphs: dict[str, LockGraph]) -> dict[Path, str]:
    """The text of requirements.txt and build-requirements.txt for the graphs of every target, by path.

    pip's hash-checking format (:mod:`debwheels.lock.requirements`). A pin that one target's
    closure holds and another's does not carries the marker of the targets holding it
    (``python_full_version == "3.11.2"``), so that each target's interpreter sees exactly its
    own closure.
    """
    holders: dict[tuple[bool, str], list[str]] = {}
    nodes: dict[str, LockedPackage] = {}
    for suite, graph in graphs.items():
        for node in graph.packages.values():
            if node.key != graph.project:
                holders.setdefault((node.runtime, node.key), []).append(suite)
                nodes.setdefault(node.key, node)
    pins: dict[bool, list[Pin]] = {True: [], False: []}
    for (runtime, key), suites in holders.items():
        pins[runtime].append(replace(nodes[key].pin(), marker=_target_marker(graphs, suites)))
    source = f"'debwheels lock'; edit {cfg.requirements.with_suffix('.in').name}, not this file"
    return {
        cfg.requirements: render_pins(pins[True], f"Runtime closure, pinned to sdist sha256. Written by {source}."),
        cfg.build_requirements: render_pins(
            pins[False],
            f"Build closure (may hold several versions of a tool), pinned to sdist sha256. Written by {source}.",
        ),
    }


def write_files(cfg: Config, graphs: dict[str, LockGraph], inputs: LockInputs | None) -> None:
    """Write requirements.txt, build-requirements.txt and lock.json (each atomically) for every target's graph, with *inputs*."""
    if inputs is not None:
        for graph in graphs.values():
            graph.inputs = inputs.to_json()
    for path, text in render_files(cfg, graphs).items():
        atomic_write_text(path, text)
    write_graphs(cfg.lock_file, graphs)
