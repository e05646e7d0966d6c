"""Build the locked closure into wheels inside the builder container, in dependency order.

The lock graph (:mod:`debwheels.lock.graph`) says exactly which wheels each package's build
environment holds (``build-env``); a package is built once all of them are built, in the
order of a topological sorter (:mod:`graphlib`). Self-hosting backends (flit_core,
setuptools: empty ``requires`` with an in-tree ``backend-path``) come first with nothing
installed. Several versions of one build tool may be in the lock; each environment gets the
one the lock chose for it.

Each build runs in a fresh container: no network, user 1000, fixed build path
``/build/<name>-<version>``, umask 022, the environment of :mod:`debwheels.build.environment`
(``SOURCE_DATE_EPOCH``, ``LC_ALL=C.UTF-8``, ``TZ=UTC``, ``PYTHONHASHSEED=0``, the build path mapped
out of compiled code, no ``PIP_*`` from the host), plus the package's own settings
(:meth:`debwheels.config.Config.settings`: the tables of its build backend, name and version,
merged). When its ``build-requires`` setting drops a declared requirement and the build fails,
the message says so. Its build requirements are installed only from wheels
built earlier in the same run, ``--no-index --require-hashes``. The PEP 517 frontend is
pyproject_hooks from its pinned sdist. The result is staged in ``.debwheels/staged-mirror``
for ``debwheels sign`` to publish.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

from packaging.utils import parse_wheel_filename

from debwheels.build.closure import dropped_note, effective_requires, topological_order
from debwheels.build.driver import BuildDriver, Finished
from debwheels.build.environment import build_environment
from debwheels.build.incontainer import DRIVER
from debwheels.build.keys import CachedWheel, KeyInputs, KeyMaker
from debwheels.build.probes import ProbeCache, ProbeRecord
from debwheels.build.project import export_tree
from debwheels.build.results import BuiltWheel, RunResult, SourceItem
from debwheels.build.reuse import Reuse
from debwheels.build.schedule import Scheduler
from debwheels.build.sources import fetch, read_build_system, unpack
from debwheels.build.vary import CPUS, Variation
from debwheels.build.wheelmeta import read_metadata, requires_dist
from debwheels.context import Context
from debwheels.debian.images import marker_environment
from debwheels.debian.syslibs import advice_for_log
from debwheels.errors import BuildError, RequirementsError, ToolError
from debwheels.fsutil import fresh_dir, sha256_file
from debwheels.lock.graph import LockedPackage, LockGraph
from debwheels.mirror.manifest import WheelEntry
from debwheels.mirror.snapshot import copy_verified
from debwheels.progress import Progress
from debwheels.tools.container import Mount, failure
from debwheels.tools.disorderfs import shuffled

FRONTEND = "pyproject-hooks"
# The build path and /tmp live in memory: a build writes thousands of small files (the source
# copy, the venv, the backend's temporary tree), and the container's overlay made that a second
# or more per package.
TMPFS = ("--tmpfs", "/build:rw,exec,mode=1777", "--tmpfs", "/tmp:rw,exec,mode=1777")
_NETWORK_SIGNS = re.compile(
    r"Temporary failure in name resolution|Network is unreachable|Name or service not known|"
    r"No address associated with hostname|\[Errno -[23]\]|\[Errno 101\]|Could not resolve host|NewConnectionError"
)


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
        jobs: how many builds run at once, each in its own container (default 1).
    """

    def __init__(
        self,
        ctx: Context,
        work: Path | None = None,
        variation: Variation | None = None,
        keep_going: bool = False,
        logs: Path | None = None,
        jobs: int = 1,
    ) -> None:
        cfg = self.cfg = ctx.cfg
        self.jobs = max(1, jobs)
        self._keys: KeyMaker | None = None
        self.logs = logs or cfg.logs_dir
        self.variation = variation or Variation()
        self.keep_going = keep_going
        self.runtime, self.images = ctx.images()
        self.say = ctx.say
        self.environment = marker_environment(cfg)
        self.work = work or cfg.state_dir / "work"
        self.wheels_dir = self.work / "wheels"
        self.started = time.monotonic()
        self._in_set: dict[str, str] = {}  # file name -> sha256 of each wheel this builder put in its wheel set

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
            items[package.key] = self.prepare_one(graph, package)
            sdist = items[package.key].sdist
            if sdist is not None:
                self.say(
                    f"[{number}/{len(nodes)}] fetched {sdist.path.name} sha256 {sdist.sha256[:16]}... ok ({self._elapsed()})"
                )
        return items

    def prepare_one(self, graph: LockGraph, package: LockedPackage) -> SourceItem:
        """Fetch (hash-checked) and unpack one package, or export the project's tree.

        Raises:
            RequirementsError: no sdist sha256 in the lock.
            FetchError, HashMismatchError, UnsafeArchiveError: see :mod:`debwheels.build.sources`.
        """
        stem = f"{package.name}-{package.version}"
        if package.key == graph.project:
            tree = self.work / "src" / stem / stem
            export_tree(self.cfg.root, tree, (self.cfg.mirror_dir.name,), self.cfg.project_inputs)
            build_system = read_build_system(tree)
            settings = self.cfg.settings(package.name, package.version, build_system.backend)
            return SourceItem(package, tree, build_system, None, settings)
        if package.sha256 is None:
            raise RequirementsError(
                f"{package.key} has no sdist sha256 in {self.cfg.lock_file.name}: run 'debwheels lock'"
            )
        sdist = fetch(package.pin(), self.cfg.index_url, self.cfg.cache_dir)
        tree = unpack(sdist.path, self.work / "src" / stem)
        build_system = read_build_system(tree)
        settings = self.cfg.settings(package.name, package.version, build_system.backend)
        return SourceItem(package, tree, build_system, sdist, settings)

    def reset(self) -> None:
        """Empty the working directory and the wheel set of this run."""
        fresh_dir(self.work)
        self.wheels_dir.mkdir()
        self._in_set.clear()

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
        root = self.variation.build_root()
        env = build_environment(root, self.build_dir(item), self.cfg.source_date_epoch, item.settings.env)
        return self.variation.environment(env)

    def _dropped(self, item: SourceItem) -> str:
        """The sentence a failure of *item* adds when its build-requires setting dropped declared requirements, or ""."""
        return dropped_note(item.build_system, item.settings, self.environment)

    def run_container(
        self, item: SourceItem, env_wheels: list[BuiltWheel], frontend: Path, probe: bool, log: Path
    ) -> dict[str, object]:
        """Run the driver for *item*; returns its result (``wheel`` moved into the wheel set)."""
        key = item.stem  # name-version: several versions of one build tool may build at once
        inbox = fresh_dir(self.work / "in" / key)
        out = fresh_dir(self.work / "out" / key)
        out.chmod(0o777)
        patches = item.settings.patch_files()
        request: dict[str, object] = {
            "source": "/src",
            "build_dir": self.build_dir(item),
            "env_dir": f"{self.variation.build_root()}/env",
            "touch_mtime": self.cfg.source_date_epoch + 398 * 86400 if self.variation.has("time") else None,
            "backend": item.build_system.backend,
            "backend_path": list(item.build_system.backend_path),
            "install": [{"file": w.path.name, "sha256": w.sha256} for w in env_wheels] or None,
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
                cpu = stack.enter_context(CPUS.one())
                self.runtime.run(
                    self.images.builder,
                    self.variation.wrap(["python3", "-I", "/debwheels/build_wheel.py", "/in/request.json"]),
                    mounts=mounts,
                    env=self._environment(item),
                    user=self.variation.user(),
                    extra=[*TMPFS, *self.variation.container_args(cpu)],
                    log=log,
                    what=f"building {item.stem}",
                )
        except ToolError:
            error = out / "error.json"
            if error.is_file() and not error.is_symlink():
                return {"wheel": None, **json.loads(error.read_text(encoding="utf-8"))}
            text = log.read_text(encoding="utf-8", errors="replace") if log.is_file() else ""
            note = self._dropped(item)
            sign = _NETWORK_SIGNS.search(text)
            if sign:
                raise BuildError(
                    f"building {item.stem} tried to reach the network ({sign.group(0)}): builds are offline; "
                    f"patch the sdist ([tool.debwheels.packages.{item.package.name}] patches) or build without it"
                    f"{f' ({note})' if note else ''} (log {log})"
                ) from None
            advice = advice_for_log(text, self.cfg.debian_suite)  # a missing Debian package, if the log says so
            advice = "; ".join(part for part in (advice, note) if part)
            raise BuildError(failure(f"building {item.stem}", log, advice=advice)) from None
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
            if probe and (name != item.package.name or str(version) != item.package.version):
                # The project probed before its backend named it (a dynamic version: 'init' asks with a
                # placeholder). The answer is the metadata; the wheel is no build of this key.
                built.unlink()
                result["wheel"] = None
                return result
            if name != item.package.name or str(version) != item.package.version:
                raise BuildError(
                    f"building {item.stem} produced {built.name}, another name or version: check the sdist"
                )
            # Copied, not moved: the wheel set holds files owned by this user, not by the build's uid;
            # renamed into the set complete, as other builds read it at the same time.
            partial = self.wheels_dir / f".{built.name}.partial"
            shutil.copyfile(built, partial)
            partial.rename(self.wheels_dir / built.name)
            built.unlink()
            result["wheel"] = str(self.wheels_dir / built.name)
        return result

    def key_inputs(self, graph: LockGraph, package: LockedPackage, build_env: dict[str, str]) -> KeyInputs:
        """The build inputs of *package* given its build environment's wheel hashes (see :mod:`debwheels.build.keys`)."""
        if self._keys is None or self._keys.graph is not graph:
            self._keys = KeyMaker(self.cfg, graph, DRIVER)
        return self._keys.inputs(package, build_env)

    def _entry(self, item: SourceItem, wheel: BuiltWheel, inputs: KeyInputs) -> WheelEntry:
        """The manifest entry of a wheel built in this run."""
        return WheelEntry(
            name=wheel.name,
            version=wheel.version,
            sha256=wheel.sha256,
            sdist=item.sdist.path.name if item.sdist else None,
            sdist_sha256=item.sdist.sha256 if item.sdist else None,
            build_requires=tuple(effective_requires(item.build_system, item.settings)),
            build_env=dict(sorted(inputs.build_env.items())),
            patches={p.name: sha256_file(p) for p in item.settings.patch_files()},
            build_key=inputs.key,
            build_inputs=inputs.record(),
        )

    def adopt(self, hit: CachedWheel) -> BuiltWheel:
        """Put a reused wheel into this run's wheel set (for the builds that need it)."""
        target = self.wheels_dir / hit.path.name
        entry = hit.entry
        if self._in_set.get(target.name) != entry.sha256:
            # A private copy whose bytes are checked against the verified manifest as they are copied;
            # staged, then renamed over any other build of the same file (debwheels repro's varied
            # build of a build tool), which the builds that need this one must not find.
            staged = self.wheels_dir / f".{target.name}.adopted"
            staged.unlink(missing_ok=True)
            copy_verified(hit.path, staged, entry.sha256, f"{hit.source} wheel {hit.path.name}")
            staged.replace(target)
            self._in_set[target.name] = entry.sha256
        return BuiltWheel(entry.name, entry.version, target, entry.sha256, requires_dist(target))

    def run(
        self,
        graph: LockGraph,
        items: dict[str, SourceItem] | None = None,
        probe: Iterable[str] = (),
        reuse: Reuse | None = None,
        probes: ProbeCache | None = None,
        fresh: Iterable[str] = (),
        on_built: Callable[[str, BuiltWheel, float], object] | None = None,
    ) -> RunResult:
        """Build the graph's packages, up to ``jobs`` at once, each as soon as its build environment exists.

        The order is :class:`debwheels.build.schedule.Scheduler`'s (no rounds; what most packages
        wait on starts first); this driver decides each package. A package whose build key
        *reuse* knows is not built: its wheel is taken (and said so). Packages missing from
        *items* (prepared sources) are fetched and unpacked ahead, while other builds run. Keys
        in *probe* only ask their backend for dynamic requirements; a package whose backend
        asks for requirements its environment lacks is recorded in ``missing`` when probing,
        and what needs it is skipped; without probing it is an error. On an error the running
        builds finish, nothing new starts, and the first error is raised (with ``keep_going``
        it is recorded and its dependents are skipped).

        Args:
            graph: the lock graph.
            items: prepared sources by key (default: none, prepared on demand).
            probe: keys to probe rather than build.
            reuse: wheels available by build key, and the cache to fill (default: build all, cache nothing).
            probes: backends' answers by build key (:mod:`debwheels.build.probes`): a probed package
                whose key is there is not run again, and complete new answers are stored (default: none).
            fresh: keys built even when *reuse* knows their build key (the packages a partial
                ``debwheels repro`` checks; what they need is still reused).
            on_built: told each wheel built (key, wheel, seconds) as soon as it is taken in
                (main thread), before the run ends (``debwheels repro`` stores outcomes with it).

        Returns:
            RunResult: built (or reused) wheels, their manifest entries, dynamic and missing requirements, failures.

        Raises:
            BuildError: a build failed, a cycle, or (not probing) missing dynamic requirements.
            FetchError, HashMismatchError, UnsafeArchiveError: preparing a source failed.
        """
        topological_order(graph)  # a cycle is refused here, with the setting that breaks it
        scheduler: Scheduler[BuiltWheel, Finished] = Scheduler(
            {key: package.build_env for key, package in graph.packages.items()}, self.jobs, self.keep_going
        )
        with (
            Progress(len(graph.packages)) as progress,
            ThreadPoolExecutor(max_workers=1) as preparer,  # sources fetched and unpacked while builds run
        ):
            driver = BuildDriver(
                self, graph, dict(items or {}), set(probe), reuse, preparer, probes, frozenset(fresh), on_built
            )
            outcome = scheduler.run(driver, progress)
        result = driver.result
        if self.keep_going:
            result.failed.update(outcome.failures())
        return result

    def take_in(
        self,
        key: str,
        inputs: KeyInputs,
        done: Finished,
        result: RunResult,
        probing: bool,
        reuse: Reuse | None,
        probes: ProbeCache | None = None,
    ) -> None:
        """Take in one finished build or probe (main thread); a complete probe answer goes to *probes*."""
        outcome = done.outcome
        result.seconds[key] = done.seconds
        result.dynamic[key] = list(outcome.get("dynamic_requires") or [])
        if isinstance(outcome.get("metadata"), str):
            result.metadata[key] = str(outcome["metadata"]).encode()
        if isinstance(outcome.get("entry_points"), str):
            result.entry_points[key] = str(outcome["entry_points"])
        missing = list(outcome.get("missing") or [])
        if missing and probing:
            result.missing[key] = missing
        elif probing and probes is not None and isinstance(outcome.get("metadata"), str) and not self.variation.enabled:
            # a probe's complete answer (a probe builds the wheel too: it is cached below, by build key)
            metadata, entry_points = outcome.get("metadata"), outcome.get("entry_points")
            probes.put(
                ProbeRecord(
                    inputs.key,
                    tuple(result.dynamic[key]),
                    metadata if isinstance(metadata, str) else None,
                    entry_points if isinstance(entry_points, str) else None,
                )
            )
        elif missing:
            note = self._dropped(done.item)
            raise BuildError(
                f"{done.item.stem}: its build backend asks for {', '.join(missing)}, which its build environment lacks"
                f"{f' ({note})' if note else ''}: run 'debwheels lock' to add them (log {done.log})"
            )
        if outcome.get("wheel"):
            path = Path(str(outcome["wheel"]))
            wheel = BuiltWheel(
                done.item.package.name, done.item.package.version, path, sha256_file(path), requires_dist(path)
            )
            result.built[key] = wheel
            self._in_set[path.name] = wheel.sha256
            result.metadata[key] = read_metadata(path)
            entry = self._entry(done.item, wheel, inputs)
            result.entries[key] = entry
            if reuse is not None and not self.variation.enabled:
                reuse.cache.put(inputs.key, path, entry)
