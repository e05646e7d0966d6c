"""Build the locked closure into wheels inside the builder container, in dependency order.

The lock graph (:mod:`debwheels.lockgraph`) says exactly which wheels each package's build
environment holds (``build-env``); a package is built once all of them are built, in the
order of a topological sorter (:mod:`graphlib`). Self-hosting backends (flit_core,
setuptools: empty ``requires`` with an in-tree ``backend-path``) come first with nothing
installed. Several versions of one build tool may be in the lock; each environment gets the
one the lock chose for it.

Each build runs in a fresh container: no network, user 1000, fixed build path
``/build/<name>-<version>``, umask 022, ``SOURCE_DATE_EPOCH``, ``LC_ALL=C.UTF-8``, ``TZ=UTC``,
``PYTHONHASHSEED=0``, no ``PIP_*`` from the host, plus the package's own settings
(``[tool.debwheels.packages.<name>]``). Its build requirements are installed only from wheels
built earlier in the same run, ``--no-index --require-hashes``. The PEP 517 frontend is
pyproject_hooks from its pinned sdist. The result is staged in ``.debwheels/staged-mirror``
for ``debwheels sign`` to publish.
"""

from __future__ import annotations

import email.parser
import graphlib
import json
import re
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from debwheels.builder import Images, load_lock, marker_environment
from debwheels.config import Config, PackageSettings, cache_dir
from debwheels.container import ContainerRuntime, Mount, failure
from debwheels.disorderfs import shuffled
from debwheels.errors import BuildError, RequirementsError, ToolError
from debwheels.fsutil import atomic_write_text, fresh_dir, fresh_file, link_or_copy, replace_dir, sha256_file
from debwheels.lockgraph import LockedPackage, LockGraph
from debwheels.mirror import MANIFEST_NAME
from debwheels.project import export_tree
from debwheels.requirements import Pin, read_pins
from debwheels.sources import BuildSystem, Sdist, fetch, read_build_system, unpack
from debwheels.sums import SUMS_NAME, render_sums
from debwheels.vary import Variation

FRONTEND = "pyproject-hooks"
DRIVER = Path(__file__).parent / "incontainer" / "build_wheel.py"
VERIFIED_REQUIREMENTS = "verified-requirements.txt"
MANIFEST = MANIFEST_NAME
_NETWORK_SIGNS = re.compile(
    r"Temporary failure in name resolution|Network is unreachable|Name or service not known|"
    r"No address associated with hostname|\[Errno -[23]\]|\[Errno 101\]|Could not resolve host|NewConnectionError"
)


@dataclass(frozen=True)
class BuiltWheel:
    """A wheel built in this run.

    Attributes:
        name: canonical project name.
        version: its version string.
        path: the wheel file.
        sha256: its digest (hex).
        requires_dist: ``Requires-Dist`` values from its METADATA (PEP 508 strings).
    """

    name: str
    version: str
    path: Path
    sha256: str
    requires_dist: tuple[str, ...]


@dataclass(frozen=True)
class SourceItem:
    """One thing to build: an unpacked sdist, or the project's own tree (``sdist`` None)."""

    package: LockedPackage
    tree: Path
    build_system: BuildSystem
    sdist: Sdist | None
    settings: PackageSettings

    @property
    def stem(self) -> str:
        """``name-version``: the fixed build directory's name."""
        return f"{self.package.name}-{self.package.version}"


@dataclass
class RunResult:
    """Outcome of :meth:`Builder.run`: wheels, dynamic requirements and what was missing, by key."""

    built: dict[str, BuiltWheel] = field(default_factory=dict)
    dynamic: dict[str, list[str]] = field(default_factory=dict)
    missing: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


class NotReady(Exception):
    """A build requirement is pinned but not built yet."""

    def __init__(self, waiting_for: str) -> None:
        super().__init__(waiting_for)
        self.waiting_for = waiting_for


def effective_requires(build_system: BuildSystem, settings: PackageSettings) -> list[str]:
    """Static build requirements after the package's settings: replaced, then extended."""
    declared = settings.build_requires if settings.build_requires is not None else build_system.requires
    return [*declared, *settings.extra_build_requires]


def wheel_requires(path: Path) -> tuple[str, ...]:
    """Return the ``Requires-Dist`` values of a wheel's METADATA (core metadata spec)."""
    with zipfile.ZipFile(path) as archive:
        metadata = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1]
        if len(metadata) != 1:
            raise BuildError(f"{path.name} has no single .dist-info/METADATA: the build backend made a broken wheel")
        message = email.parser.BytesParser().parsebytes(archive.read(metadata[0]))
    return tuple(message.get_all("Requires-Dist") or ())


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

    Raises:
        RequirementsError: they disagree (someone edited one file but not the others).
    """
    runtime = {(p.name, p.version, h) for p in read_pins(cfg.requirements) for h in p.hashes}
    build = {(p.name, p.version, h) for p in read_pins(cfg.build_requirements, allow_versions=True) for h in p.hashes}
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


class Builder:
    """Fetches, unpacks and builds the packages of a lock graph.

    Args:
        cfg: project configuration.
        runtime: the container runtime adapter.
        images: ready image tags.
        say: progress sink (one line per call).
        work: working directory (emptied); default ``.debwheels/work``.
        variation: what to vary (debwheels repro); default none.
        keep_going: record a failed build and skip what needs it, instead of stopping.
        logs: directory of the per-package logs; default the project's logs directory.
    """

    def __init__(
        self,
        cfg: Config,
        runtime: ContainerRuntime,
        images: Images,
        say: Callable[[str], None] = print,
        work: Path | None = None,
        variation: Variation | None = None,
        keep_going: bool = False,
        logs: Path | None = None,
    ) -> None:
        self.cfg = cfg
        self.logs = logs or cfg.logs_dir
        self.variation = variation or Variation()
        self.keep_going = keep_going
        self.runtime = runtime
        self.images = images
        self.say = say
        self.environment = marker_environment(cfg)
        self.work = work or cfg.state_dir / "work"
        self.wheels_dir = self.work / "wheels"
        self.started = time.monotonic()

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.0f}s"

    def prepare(self, graph: LockGraph, only: set[str] | None = None) -> dict[str, SourceItem]:
        """Fetch (hash-checked) and unpack every package of *graph* (or the keys *only*), export the project tree.

        Returns:
            dict[key, SourceItem].
        """
        self.reset()
        items: dict[str, SourceItem] = {}
        nodes = sorted((p for p in graph.packages.values() if only is None or p.key in only), key=lambda p: p.key)
        for number, package in enumerate(nodes, start=1):
            settings = self.cfg.settings(package.name)
            stem = f"{package.name}-{package.version}"
            if package.key == graph.project:
                tree = self.work / "src" / stem / stem
                export_tree(self.cfg.root, tree, exclude=(self.cfg.mirror_dir.name,))
                items[package.key] = SourceItem(package, tree, read_build_system(tree), None, settings)
                continue
            if package.sha256 is None:
                raise RequirementsError(
                    f"{package.key} has no sdist sha256 in {self.cfg.lock_file.name}: run 'debwheels lock'"
                )
            sdist = fetch(Pin(package.name, package.version, (package.sha256,)), self.cfg.index_url, cache_dir())
            tree = unpack(sdist.path, self.work / "src" / stem)
            items[package.key] = SourceItem(package, tree, read_build_system(tree), sdist, settings)
            self.say(
                f"[{number}/{len(nodes)}] fetched {sdist.path.name} sha256 {sdist.sha256[:16]}... ok ({self._elapsed()})"
            )
        return items

    def reset(self) -> None:
        """Empty the working directory and the wheel set of this run."""
        fresh_dir(self.work)
        self.wheels_dir.mkdir()

    def build_dir(self, item: SourceItem) -> str:
        """The build path of *item* inside the container."""
        return f"{self.variation.build_root()}/{item.stem}"

    def frontend(self, graph: LockGraph, items: dict[str, SourceItem]) -> Path:
        """The pyproject_hooks source directory (newest locked version).

        Raises:
            RequirementsError: pyproject-hooks is not in the lock.
        """
        hooks = [key for key in graph.frontend if graph.packages[key].name == FRONTEND]
        if len(hooks) != 1:
            raise RequirementsError(f"the lock names no single {FRONTEND} frontend: run 'debwheels lock'")
        return items[hooks[0]].tree / "src"

    def explain(self, item: SourceItem) -> dict[str, object]:
        """The effective settings of one build (what ``debwheels build --explain`` prints)."""
        return {
            "package": item.package.key,
            "sdist": item.sdist.path.name if item.sdist else "(project tree)",
            "sdist-sha256": item.sdist.sha256 if item.sdist else None,
            "build-backend": item.build_system.backend,
            "backend-path": list(item.build_system.backend_path),
            "declared-build-requires": list(item.build_system.requires),
            "settings": {
                "build-requires (replaces declared)": list(item.settings.build_requires)
                if item.settings.build_requires is not None
                else None,
                "extra-build-requires": list(item.settings.extra_build_requires),
                "env": item.settings.env,
                "config-settings": item.settings.config_settings,
                "patches": {p.name: sha256_file(p) for p in item.settings.patch_files()},
            },
            "effective-build-requires": effective_requires(item.build_system, item.settings),
            "dynamic-build-requires (at lock time)": item.package.dynamic_requires,
            "build-env": sorted(item.package.build_env),
            "container": {
                "image": self.images.builder,
                "network": "none",
                "user": "1000:1000",
                "build-path": f"/build/{item.stem}",
                "environment": self._environment(item),
            },
        }

    def _environment(self, item: SourceItem) -> dict[str, str]:
        env = {
            "SOURCE_DATE_EPOCH": str(self.cfg.source_date_epoch),
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "HOME": "/home/builder",
            "PIP_CONFIG_FILE": "/dev/null",
            "CFLAGS": f"-ffile-prefix-map={self.build_dir(item)}=.",
            "CXXFLAGS": f"-ffile-prefix-map={self.build_dir(item)}=.",
        }
        env.update(item.settings.env)
        return self.variation.environment(env)

    def _run_one(
        self, item: SourceItem, env_wheels: list[BuiltWheel], frontend: Path, probe: bool, log: Path
    ) -> dict[str, object]:
        """Run the driver for *item*; returns its result (``wheel`` moved into the wheel set)."""
        key = item.package.name
        inbox = fresh_dir(self.work / "in" / key)
        out = fresh_dir(self.work / "out" / key)
        out.chmod(0o777)
        install = "".join(f"{w.name}=={w.version} --hash=sha256:{w.sha256}\n" for w in env_wheels)
        (inbox / "build-env.txt").write_text(install, encoding="utf-8")
        patches = item.settings.patch_files()
        request: dict[str, object] = {
            "source": "/src",
            "build_dir": self.build_dir(item),
            "env_dir": f"{self.variation.build_root()}/env",
            "touch_mtime": self.cfg.source_date_epoch + 398 * 86400 if self.variation.has("time") else None,
            "backend": item.build_system.backend,
            "backend_path": list(item.build_system.backend_path),
            "install": "/in/build-env.txt" if env_wheels else None,
            "wheels": "/wheels",
            "frontend": "/frontend",
            "out": "/out",
            "config_settings": item.settings.config_settings,
            "patches": [f"/patches/{p.name}" for p in patches],
            "mode": "probe" if probe else "build",
        }
        (inbox / "request.json").write_text(json.dumps(request, indent=2), encoding="utf-8")
        mounts = [
            Mount(item.tree, "/src"),
            Mount(inbox, "/in"),
            Mount(self.wheels_dir, "/wheels"),
            Mount(frontend, "/frontend"),
            Mount(DRIVER, "/debwheels/build_wheel.py"),
            Mount(out, "/out", read_only=False),
        ]
        if patches:
            mounts.append(Mount(patches[0].parent, "/patches"))
        try:
            with ExitStack() as stack:
                if self.variation.has("fileordering"):
                    served = stack.enter_context(shuffled(item.tree, self.work / "disorderfs" / key))
                    mounts[0] = Mount(served, "/src")
                self.runtime.run(
                    self.images.builder,
                    self.variation.wrap(["python3", "-I", "/debwheels/build_wheel.py", "/in/request.json"]),
                    mounts=mounts,
                    env=self._environment(item),
                    user=self.variation.user(),
                    extra=self.variation.container_args(),
                    log=log,
                    what=f"building {item.stem}",
                )
        except ToolError:
            error = out / "error.json"
            if error.is_file() and not error.is_symlink():
                return {"wheel": None, **json.loads(error.read_text(encoding="utf-8"))}
            text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
            sign = _NETWORK_SIGNS.search(text)
            if sign:
                raise BuildError(
                    f"building {item.stem} tried to reach the network ({sign.group(0)}): builds are offline; "
                    f"patch the sdist ([tool.debwheels.packages.{item.package.name}] patches) or build without it (log {log})"
                ) from None
            raise BuildError(failure(f"building {item.stem}", log)) from None
        if (out / "result.json").is_symlink():  # written by the driver; a link was planted by the build
            raise BuildError(f"building {item.stem}: out/result.json is a link, planted by the build: refusing it")
        result: dict[str, object] = json.loads((out / "result.json").read_text(encoding="utf-8"))
        if result["wheel"]:
            # The build backend chose this name: it must be a plain wheel file written inside out/,
            # never a path or a link that would make the host move or hash a file of its own.
            wheel_name = str(result["wheel"])
            built = out / wheel_name
            if "/" in wheel_name or wheel_name.startswith(".") or not wheel_name.endswith(".whl"):
                raise BuildError(
                    f"building {item.stem}: the build backend returned {wheel_name!r}, not a wheel file name: refusing it"
                )
            if built.is_symlink() or not built.is_file():
                raise BuildError(
                    f"building {item.stem}: {wheel_name} is not a regular file in the output directory "
                    "(a link or something else): refusing it"
                )
            name, version, _, _ = parse_wheel_filename(built.name)
            if name != item.package.name or str(version) != item.package.version:
                raise BuildError(
                    f"building {item.stem} produced {built.name}, another name or version: check the sdist"
                )
            # Copied, not moved: the wheel set holds files owned by this user, not by the build's uid.
            shutil.copyfile(built, self.wheels_dir / built.name)
            built.unlink()
            result["wheel"] = str(self.wheels_dir / built.name)
        return result

    def run(self, graph: LockGraph, items: dict[str, SourceItem], probe: Iterable[str] = ()) -> RunResult:
        """Build (or, for keys in *probe*, only ask the backend for its dynamic requirements) in order.

        A package whose backend asks for requirements its environment lacks is recorded in
        ``missing`` when probing is on (keys in *probe* or not), and everything that needs it
        is skipped; without *probe* it is an error.

        Raises:
            BuildError: a build failed, a cycle, or (not probing) missing dynamic requirements.
        """
        probe_keys = set(probe)
        probing = bool(probe_keys)
        skipping = probing or self.keep_going
        sorter = topological_order(graph)
        frontend = self.frontend(graph, items)
        result = RunResult()
        total = len(items)
        done = 0
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            if not ready:
                break
            for key in ready:
                item = items[key]
                unbuilt = [dep for dep in item.package.build_env if dep not in result.built]
                if skipping and unbuilt:
                    done += 1
                    sorter.done(key)
                    if self.keep_going:
                        result.failed[key] = f"not built: its build requirement {unbuilt[0]} failed"
                    continue  # a build requirement failed in this pass
                env_wheels = [result.built[dep] for dep in sorted(item.package.build_env)]
                log = fresh_file(self.logs / f"{item.stem}.log")
                started = time.monotonic()
                action = "probing" if key in probe_keys else "building"
                self.say(f"[{done + 1}/{total}] {action} {item.stem} ({len(env_wheels)} build requirements)")
                try:
                    outcome = self._run_one(item, env_wheels, frontend, key in probe_keys, log)
                except BuildError as exc:
                    if not self.keep_going:
                        raise
                    done += 1
                    result.failed[key] = str(exc)
                    self.say(f"[{done}/{total}] FAILED {item.stem}: log {log}")
                    sorter.done(key)
                    continue
                done += 1
                result.dynamic[key] = list(outcome.get("dynamic_requires") or [])  # type: ignore[call-overload]
                missing = list(outcome.get("missing") or [])  # type: ignore[call-overload]
                if missing and (probing or key in probe_keys):
                    result.missing[key] = missing
                elif missing:
                    raise BuildError(
                        f"{item.stem}: its build backend asks for {', '.join(missing)}, which its build environment lacks: "
                        f"run 'debwheels lock' to add them (log {log})"
                    )
                if outcome.get("wheel"):
                    path = Path(str(outcome["wheel"]))
                    result.built[key] = BuiltWheel(
                        item.package.name, item.package.version, path, sha256_file(path), wheel_requires(path)
                    )
                    self.say(
                        f"[{done}/{total}] built {path.name} in {time.monotonic() - started:.1f}s, "
                        f"sha256 {result.built[key].sha256[:16]}... (elapsed {self._elapsed()})"
                    )
                sorter.done(key)
        return result

    def build_all(self) -> tuple[Path, list[BuiltWheel]]:
        """Build the whole locked closure and the project, then stage the mirror.

        Returns:
            (staged mirror directory, built wheels sorted by file name).

        Raises:
            RequirementsError, HashMismatchError, FetchError, UnsafeArchiveError, BuildError.
        """
        remove_stage(self.cfg)  # a failed run must not leave an older stage for 'sign' to publish
        graph = LockGraph.read(self.cfg.lock_file)
        check_lock_files(self.cfg, graph)
        items = self.prepare(graph)
        result = self.run(graph, items)
        staged = self._stage(graph, items, result.built)
        return staged, sorted(result.built.values(), key=lambda w: w.path.name)

    def _stage(self, graph: LockGraph, items: dict[str, SourceItem], built: dict[str, BuiltWheel]) -> Path:
        runtime = {k: w for k, w in built.items() if graph.packages[k].runtime or k == graph.project}
        by_name = {w.name: w for w in runtime.values()}
        project = graph.packages[graph.project]
        env_closure(
            [project.name],
            by_name,
            set(by_name),
            self.environment,
            f"{project.name} at run time",
            self.cfg.requirements.name,
        )
        target = self.cfg.staged_dir
        staged = fresh_dir(target.with_name(f"{target.name}.tmp"))  # swapped in when complete
        for wheel in built.values():
            link_or_copy(wheel.path, staged / wheel.path.name)
            (staged / wheel.path.name).chmod(0o644)  # backends write wheels 0600; a mirror is world-readable
        lines = "".join(
            f"{w.name}=={w.version} --hash=sha256:{w.sha256}\n" for w in sorted(runtime.values(), key=lambda w: w.name)
        )
        header = "# Written by 'debwheels build': the application and its runtime closure, pinned to wheel sha256.\n"
        atomic_write_text(staged / VERIFIED_REQUIREMENTS, header + lines)
        lock = load_lock(self.cfg.builder_lock)
        manifest = {
            "format": 1,
            "builder-rootfs-sha256": lock["builder"].sha256 if "builder" in lock else None,
            "source-date-epoch": self.cfg.source_date_epoch,
            "wheels": {
                wheel.path.name: {
                    "name": wheel.name,
                    "version": wheel.version,
                    "sha256": wheel.sha256,
                    "sdist": items[key].sdist.path.name if items[key].sdist else None,  # type: ignore[union-attr]
                    "sdist-sha256": items[key].sdist.sha256 if items[key].sdist else None,  # type: ignore[union-attr]
                    "build-requires": effective_requires(items[key].build_system, items[key].settings),
                    "build-env": {dep: built[dep].sha256 for dep in sorted(graph.packages[key].build_env)},
                    "patches": {p.name: sha256_file(p) for p in items[key].settings.patch_files()},
                }
                for key, wheel in sorted(built.items())
            },
        }
        atomic_write_text(staged / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        entries = {w.path.name: w.sha256 for w in built.values()}  # hashed once, when built
        entries.update({name: sha256_file(staged / name) for name in (VERIFIED_REQUIREMENTS, MANIFEST)})
        atomic_write_text(staged / SUMS_NAME, render_sums(entries))
        replace_dir(staged, target)
        return target


def remove_stage(cfg: Config) -> None:
    """Delete the staged mirror, if any."""
    shutil.rmtree(cfg.staged_dir, ignore_errors=True)
