"""``debwheels lock``: pin the whole source closure, build requirements included, recursively.

1. The runtime closure of ``requirements.in`` is resolved by pip inside the builder (for the
   builder's python3, see :mod:`debwheels.resolver`), each version pinned to the sha256 of its
   sdist as the index lists it (a version without an sdist is an error naming it).
2. Every package to build (the runtime closure, the project itself, and recursively every
   build requirement) has its declared ``[build-system] requires`` (after its per-package
   settings) resolved on its own, so two packages may get two versions of one build tool.
3. The dynamic build requirements (``get_requires_for_build_wheel``, PEP 517) are asked of
   each backend inside the builder with no network: build tools are built (from the sdists
   just pinned), the other packages only probed; whatever a backend asks for that its
   environment lacks is resolved into that environment, and the pass repeats until nothing
   is missing.

With ``--from FILE`` (a pip-compile/uv requirements.txt with hashes, poetry.lock, uv.lock or
PEP 751 pylock.toml), that file's pins are pip constraints that are never dropped, and every
sdist it pins must have one of its sha256 (:mod:`debwheels.importers`).

Existing pins are kept (passed to pip as constraints) unless ``--upgrade`` or
``--upgrade-package NAME``; when they conflict with a new requirement the affected set is
resolved afresh. Outputs are sorted and carry no timestamps.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from debwheels.build import FRONTEND, Builder, effective_requires
from debwheels.builder import Images, marker_environment
from debwheels.config import Config, cache_dir
from debwheels.container import ContainerRuntime
from debwheels.errors import RequirementsError
from debwheels.fsutil import atomic_write_text
from debwheels.importers import ImportedLock, check_sdist, constraints, pin_applies
from debwheels.lockgraph import LockedPackage, LockGraph, key_of
from debwheels.requirements import Pin, render_pins
from debwheels.resolver import Resolved, Resolver
from debwheels.sources import fetch, find_sdist, read_build_system, unpack

MAX_ROUNDS = 6


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
        imported: a lock file of another tool (:mod:`debwheels.importers`) whose pins are kept
            (pip constraints, never resolved afresh) and whose hashes must match the sdists.
    """

    def __init__(
        self,
        cfg: Config,
        runtime: ContainerRuntime,
        images: Images,
        say: Callable[[str], None] = print,
        upgrade: bool = False,
        upgrade_packages: Iterable[str] = (),
        imported: ImportedLock | None = None,
    ) -> None:
        self.cfg = cfg
        self.imported = imported
        self.runtime = runtime
        self.images = images
        self.say = say
        self.resolver = Resolver(cfg, runtime, images)
        self.environment = marker_environment(cfg)
        self.upgrade = upgrade
        self.upgrade_names = {str(canonicalize_name(n)) for n in upgrade_packages}
        self.previous = self._previous()
        self.sdists: dict[str, tuple[str, str]] = {}
        self.envs: dict[tuple[str, ...], list[Resolved]] = {}

    def _previous(self) -> LockGraph | None:
        """The existing lock graph, whose pins are kept; None with --upgrade, or when it is absent or unreadable."""
        if self.upgrade or not self.cfg.lock_file.exists():
            return None
        try:
            return LockGraph.read(self.cfg.lock_file)
        except RequirementsError as exc:
            self.say(f"ignoring the existing lock ({exc})")
            return None

    def _kept(self, packages: Iterable[LockedPackage]) -> list[str]:
        return [p.key for p in packages if p.name not in self.upgrade_names]

    def _resolve(self, requirements: list[str], preferred: list[str], what: str) -> list[Resolved]:
        """Resolve, preferring *preferred* pins; resolve afresh when they conflict."""
        if preferred:
            try:
                return self.resolver.resolve(requirements, preferred, what)
            except RequirementsError:
                self.say(f"existing pins conflict for {what}: resolving it afresh")
        return self.resolver.resolve(requirements, (), what)

    def _node(self, graph: LockGraph, resolved: Resolved, runtime: bool) -> LockedPackage:
        key = key_of(resolved.name, resolved.version)
        node = graph.packages.get(key)
        if node is None:
            if key not in self.sdists:
                self.sdists[key] = find_sdist(resolved.name, resolved.version, self.cfg.index_url)
            filename, digest = self.sdists[key]
            node = LockedPackage(resolved.name, resolved.version, filename, digest)
            graph.packages[key] = node
        node.runtime = node.runtime or runtime
        return node

    def _edges(self, graph: LockGraph, resolved: list[Resolved]) -> None:
        by_name = {r.name: key_of(r.name, r.version) for r in resolved}
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
                self._kept(self.previous.packages[k] for k in previous.build_env) if previous and self.previous else []
            )
            self.envs[cache_key] = self._resolve(list(requires), preferred, f"the build requirements of {node.key}")
        return [self._node(graph, r, runtime=False).key for r in self.envs[cache_key]]

    def _describe(self, graph: LockGraph, key: str) -> None:
        """Read the node's build system and resolve its static build environment."""
        node = graph.packages[key]
        if key == graph.project:
            build_system = read_build_system(self.cfg.root)
        else:
            assert node.sdist is not None and node.sha256 is not None
            sdist = fetch(Pin(node.name, node.version, (node.sha256,)), self.cfg.index_url, cache_dir())
            tree = unpack(sdist.path, self.cfg.state_dir / "lock-src" / key.replace("==", "-"))
            build_system = read_build_system(tree)
        node.build_backend = build_system.backend
        node.build_requires = effective_requires(build_system, self.cfg.settings(node.name))
        node.build_env = self._build_env(graph, node, node.build_requires + node.dynamic_requires)

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
        """Resolve *infile* into a complete lock graph and write the lock files.

        Returns:
            LockGraph: what was written.

        Raises:
            RequirementsError: bad input, no sdist, no resolution, or dynamic requirements that never settle.
            BuildError: a build-time cycle, or a build tool failed to build.
        """
        roots = self._roots(infile)
        project = str(canonicalize_name(self.cfg.project_name))
        graph = LockGraph(self.environment["python_full_version"], roots, key_of(project, self.cfg.project_version))
        preferred = self._kept(p for p in self.previous.packages.values() if p.runtime) if self.previous else []
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
        previous_hooks = self._kept(self.previous.by_name(FRONTEND)) if self.previous else []
        for item in self._resolve([FRONTEND], previous_hooks, "the PEP 517 frontend"):
            graph.frontend.append(self._node(graph, item, runtime=False).key)
        self.say(f"resolved {len(resolved)} runtime packages for python {graph.python}")
        self._close(graph, sorted(graph.packages))
        self._discover_dynamic(graph)
        self.write(graph)
        return graph

    def _roots(self, infile: Path) -> list[str]:
        """requirements.in; with an imported lock and no requirements.in, the imported names."""
        if self.imported is not None and not infile.exists():
            imported = self.imported
            return sorted(n for n, pin in imported.pins.items() if pin_applies(imported, pin, self.environment))
        return read_requirements_in(infile)

    def _resolve_imported(self, imported: ImportedLock, roots: list[str], preferred: list[str]) -> list[Resolved]:
        """Resolve *roots* with the imported pins as constraints; they are never dropped."""
        forced = constraints(imported, self.environment)
        names = {str(canonicalize_name(Requirement(c).name)) for c in forced}
        kept = [p for p in preferred if str(canonicalize_name(p.split("==")[0])) not in names]
        what = f"{imported.path.name} ({imported.format})"
        try:
            return self.resolver.resolve(roots, forced + kept, what)
        except RequirementsError:
            if not kept:
                raise
        return self.resolver.resolve(roots, forced, what)

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

    def _discover_dynamic(self, graph: LockGraph) -> None:
        """Ask every backend for its dynamic build requirements (offline, in the builder)."""
        for round_number in range(1, MAX_ROUNDS + 1):
            self.say(f"dynamic build requirements, pass {round_number}")
            builder = Builder(self.cfg, self.runtime, self.images, self.say, work=self.cfg.state_dir / "lock-work")
            items = builder.prepare(graph)
            needed = {dep for p in graph.packages.values() for dep in p.build_env}
            result = builder.run(graph, items, probe=set(graph.packages) - needed)
            for key, dynamic in result.dynamic.items():
                graph.packages[key].dynamic_requires = sorted(set(graph.packages[key].dynamic_requires) | set(dynamic))
            if not result.missing:
                return
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

    def write(self, graph: LockGraph) -> None:
        """Write requirements.txt, build-requirements.txt and the lock graph (each atomically)."""
        nodes = [p for p in graph.packages.values() if p.key != graph.project]
        source = f"'debwheels lock'; edit {self.cfg.requirements.with_suffix('.in').name}, not this file"
        runtime = [Pin(p.name, p.version, (p.sha256 or "",)) for p in nodes if p.runtime]
        build = [Pin(p.name, p.version, (p.sha256 or "",)) for p in nodes if not p.runtime]
        atomic_write_text(
            self.cfg.requirements,
            render_pins(runtime, f"Runtime closure, pinned to sdist sha256. Written by {source}."),
        )
        atomic_write_text(
            self.cfg.build_requirements,
            render_pins(
                build,
                f"Build closure (may hold several versions of a tool), pinned to sdist sha256. Written by {source}.",
            ),
        )
        graph.write(self.cfg.lock_file)
