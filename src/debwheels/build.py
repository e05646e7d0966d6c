"""Build every pinned sdist into a wheel inside the builder container, in dependency order.

A package is built once every requirement of its build environment has been built: the
static ``[build-system] requires`` (PEP 518) and, transitively, the ``Requires-Dist`` of
those wheels. Self-hosting backends (flit_core, setuptools: empty ``requires`` with an
in-tree ``backend-path``) come first with nothing installed. Each build runs in a fresh
container: no network, user 1000, fixed build path ``/build/<name>-<version>``, umask 022,
``SOURCE_DATE_EPOCH``, ``LC_ALL=C.UTF-8``, ``TZ=UTC``, ``PYTHONHASHSEED=0``, no ``PIP_*`` from
the host; its build requirements are installed only from wheels built earlier in the run,
``--no-index --require-hashes``. The PEP 517 frontend is pyproject_hooks from its pinned sdist.
The result is staged in ``.debwheels/staged-mirror`` for ``debwheels sign`` to publish.
"""

from __future__ import annotations

import email.parser
import json
import os
import shutil
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

from debwheels.builder import Images, load_lock, marker_environment
from debwheels.config import Config, cache_dir
from debwheels.container import ContainerRuntime, Mount, failure
from debwheels.errors import BuildError, RequirementsError, ToolError
from debwheels.fsutil import atomic_write_text, fresh_dir, fresh_file, link_or_copy, sha256_file
from debwheels.project import export_tree
from debwheels.requirements import Pin, read_pins
from debwheels.sources import BuildSystem, Sdist, fetch, read_build_system, unpack
from debwheels.sums import SUMS_NAME, render_sums

FRONTEND = "pyproject-hooks"
DRIVER = Path(__file__).parent / "incontainer" / "build_wheel.py"
VERIFIED_REQUIREMENTS = "verified-requirements.txt"
MANIFEST = "build-manifest.json"


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

    name: str
    version: str
    tree: Path
    build_system: BuildSystem
    sdist: Sdist | None


class NotReady(Exception):
    """A build requirement is pinned but not built yet."""

    def __init__(self, waiting_for: str) -> None:
        super().__init__(waiting_for)
        self.waiting_for = waiting_for


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
    """Resolve *requires* and their run-time dependencies against the built wheels.

    Args:
        requires: PEP 508 requirement strings.
        built: wheels built so far by canonical name.
        pinned: every name in the lock (built or not).
        environment: PEP 508 marker environment of the builder python.
        who: the package whose environment this is (for messages).
        lock_file: the file a missing pin belongs in (for messages).

    Returns:
        list[BuiltWheel]: the closure, sorted by name.

    Raises:
        NotReady: a needed name is pinned but not built yet.
        BuildError: a needed name is not in the lock, or its pinned version does not match.
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
                f"{who} needs {req}, which is not pinned: "
                f"add {name}==<version> --hash=sha256:<sdist sha256> to {lock_file}"
            )
        wheel = built[name]
        if not req.specifier.contains(wheel.version, prereleases=True):
            raise BuildError(
                f"{who} needs {req}, but the lock pins {name} {wheel.version}: pin a version that satisfies it in {lock_file}"
            )
        chosen[name] = wheel
        stack.extend((Requirement(text), frozenset(req.extras)) for text in wheel.requires_dist)
    return sorted(chosen.values(), key=lambda w: w.name)


def load_pins(cfg: Config, environment: dict[str, str]) -> tuple[list[Pin], list[Pin]]:
    """Read the runtime and build locks; drop pins whose marker is false for the builder.

    Returns:
        (runtime pins, all pins): all pins merged by name.

    Raises:
        RequirementsError: a name is pinned at two versions, or the frontend is not pinned.
    """
    runtime = [p for p in read_pins(cfg.requirements) if p.applies(environment)]
    merged: dict[str, Pin] = {p.name: p for p in runtime}
    for pin in read_pins(cfg.build_requirements):
        if not pin.applies(environment):
            continue
        other = merged.get(pin.name)
        if other is not None and (other.version, set(other.hashes)) != (pin.version, set(pin.hashes)):
            raise RequirementsError(
                f"{pin.name} is pinned as {other.version} in {cfg.requirements.name} and as {pin.version} "
                f"in {cfg.build_requirements.name}: pin one version with the same hashes in both"
            )
        merged[pin.name] = pin
    if FRONTEND not in merged:
        raise RequirementsError(
            f"{FRONTEND} is not in {cfg.build_requirements}: it is the PEP 517 frontend of every build; pin it"
        )
    return runtime, sorted(merged.values(), key=lambda p: p.name)


class Builder:
    """Runs one build session: fetch, unpack, build in order, stage the mirror.

    Args:
        cfg: project configuration.
        runtime: the container runtime adapter.
        images: ready image tags.
        say: progress sink (one line per call).
    """

    def __init__(
        self, cfg: Config, runtime: ContainerRuntime, images: Images, say: Callable[[str], None] = print
    ) -> None:
        self.cfg = cfg
        self.runtime = runtime
        self.images = images
        self.say = say
        self.environment = marker_environment(cfg)
        self.work = cfg.state_dir / "work"
        self.wheels_dir = self.work / "wheels"
        self.started = time.monotonic()

    def _elapsed(self) -> str:
        return f"{time.monotonic() - self.started:.0f}s"

    def fetch_all(self, pins: list[Pin]) -> list[Sdist]:
        """Fetch every pin's sdist with hash checks; returns them in pin order."""
        sdists = []
        for number, pin in enumerate(pins, start=1):
            sdist = fetch(pin, self.cfg.index_url, cache_dir())
            self.say(
                f"[{number}/{len(pins)}] fetched {sdist.path.name} sha256 {sdist.sha256[:16]}... ok ({self._elapsed()})"
            )
            sdists.append(sdist)
        return sdists

    def _sources(self, sdists: list[Sdist]) -> list[SourceItem]:
        items = []
        for sdist in sdists:
            tree = unpack(sdist.path, self.work / "src" / sdist.pin.name)
            items.append(SourceItem(sdist.pin.name, sdist.pin.version, tree, read_build_system(tree), sdist))
        name = canonicalize_name(self.cfg.project_name)
        tree = self.work / "src" / name / f"{name}-{self.cfg.project_version}"
        export_tree(self.cfg.root, tree, exclude=(self.cfg.mirror_dir.name,))
        items.append(SourceItem(name, self.cfg.project_version, tree, read_build_system(tree), None))
        return items

    def _build_one(self, item: SourceItem, env_wheels: list[BuiltWheel], frontend: Path, log: Path) -> BuiltWheel:
        stem = f"{item.name}-{item.version}"
        inbox = fresh_dir(self.work / "in" / item.name)
        out = fresh_dir(self.work / "out" / item.name)
        out.chmod(0o777)
        install = "".join(f"{w.name}=={w.version} --hash=sha256:{w.sha256}\n" for w in env_wheels)
        (inbox / "build-env.txt").write_text(install, encoding="utf-8")
        request: dict[str, object] = {
            "source": "/src",
            "build_dir": f"/build/{stem}",
            "env_dir": "/build/env",
            "backend": item.build_system.backend,
            "backend_path": list(item.build_system.backend_path),
            "install": "/in/build-env.txt" if env_wheels else None,
            "wheels": "/wheels",
            "frontend": "/frontend",
            "out": "/out",
            "config_settings": {},
        }
        (inbox / "request.json").write_text(json.dumps(request, indent=2), encoding="utf-8")
        env = {
            "SOURCE_DATE_EPOCH": str(self.cfg.source_date_epoch),
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "LC_ALL": "C.UTF-8",
            "TZ": "UTC",
            "HOME": "/home/builder",
            "PIP_CONFIG_FILE": "/dev/null",
            "CFLAGS": f"-ffile-prefix-map=/build/{stem}=.",
            "CXXFLAGS": f"-ffile-prefix-map=/build/{stem}=.",
        }
        mounts = [
            Mount(item.tree, "/src"),
            Mount(inbox, "/in"),
            Mount(self.wheels_dir, "/wheels"),
            Mount(frontend, "/frontend"),
            Mount(DRIVER, "/debwheels/build_wheel.py"),
            Mount(out, "/out", read_only=False),
        ]
        try:
            self.runtime.run(
                self.images.builder,
                ["python3", "-I", "/debwheels/build_wheel.py", "/in/request.json"],
                mounts=mounts,
                env=env,
                log=log,
                what=f"building {stem}",
            )
        except ToolError:
            error = out / "error.json"
            if error.is_file():
                missing = json.loads(error.read_text(encoding="utf-8"))["missing"]
                raise BuildError(
                    f"{stem}: its build backend asks for {', '.join(missing)}, which its build environment lacks: "
                    f"add them to requirements/build-requirements.txt (log: {log})"
                ) from None
            raise BuildError(failure(f"building {stem}", log)) from None
        result = json.loads((out / "result.json").read_text(encoding="utf-8"))
        built = out / result["wheel"]
        name, version, _, _ = parse_wheel_filename(built.name)
        if name != item.name or str(version) != item.version:
            raise BuildError(f"building {stem} produced {built.name}, another name or version: check the sdist")
        target = self.wheels_dir / built.name
        os.replace(built, target)
        return BuiltWheel(item.name, item.version, target, sha256_file(target), wheel_requires(target))

    def build_all(self) -> tuple[Path, list[BuiltWheel]]:
        """Fetch, build the whole closure and the project, and stage the mirror.

        Returns:
            (staged mirror directory, built wheels sorted by name).

        Raises:
            RequirementsError, HashMismatchError, FetchError, UnsafeArchiveError, BuildError.
        """
        remove_stage(self.cfg)  # a failed run must not leave an older stage for 'sign' to publish
        runtime_pins, pins = load_pins(self.cfg, self.environment)
        sdists = self.fetch_all(pins)
        fresh_dir(self.work)
        self.wheels_dir.mkdir()
        items = {item.name: item for item in self._sources(sdists)}
        frontend = items[FRONTEND].tree / "src"
        pinned = set(items)
        built: dict[str, BuiltWheel] = {}
        while len(built) < len(items):
            waiting: dict[str, str] = {}
            for name in sorted(set(items) - set(built)):
                item = items[name]
                try:
                    env_wheels = env_closure(
                        item.build_system.requires, built, pinned, self.environment, f"building {name}"
                    )
                except NotReady as exc:
                    waiting[name] = exc.waiting_for
                    continue
                log = fresh_file(self.cfg.logs_dir / f"{name}-{item.version}.log")
                started = time.monotonic()
                self.say(
                    f"[{len(built) + 1}/{len(items)}] building {name} {item.version} ({len(env_wheels)} build requirements)"
                )
                built[name] = self._build_one(item, env_wheels, frontend, log)
                self.say(
                    f"[{len(built)}/{len(items)}] built {built[name].path.name} in {time.monotonic() - started:.1f}s, sha256 {built[name].sha256[:16]}... (elapsed {self._elapsed()})"
                )
                break
            else:
                cycle = ", ".join(f"{n} waits for {w}" for n, w in sorted(waiting.items()))
                raise BuildError(
                    f"build-time dependency cycle: {cycle}; build one of them from a self-hosting backend or pin a version without the cycle"
                )
        return self._stage(runtime_pins, items, built), sorted(built.values(), key=lambda w: w.name)

    def _stage(self, runtime_pins: list[Pin], items: dict[str, SourceItem], built: dict[str, BuiltWheel]) -> Path:
        project = canonicalize_name(self.cfg.project_name)
        runtime_names = {p.name for p in runtime_pins}
        needed = env_closure(
            [project], built, set(built), self.environment, f"{project} at run time", self.cfg.requirements.name
        )
        for wheel in needed:
            if wheel.name != project and wheel.name not in runtime_names:
                raise RequirementsError(
                    f"{project} needs {wheel.name} at run time but it is not in {self.cfg.requirements.name}: add it"
                )
        staged = fresh_dir(self.cfg.state_dir / "staged-mirror")
        for wheel in built.values():
            link_or_copy(wheel.path, staged / wheel.path.name)
        verified = sorted(runtime_names | {project})
        lines = "".join(f"{built[n].name}=={built[n].version} --hash=sha256:{built[n].sha256}\n" for n in verified)
        header = "# Written by 'debwheels build': the application and its runtime closure, pinned to wheel sha256.\n"
        atomic_write_text(staged / VERIFIED_REQUIREMENTS, header + lines)
        lock = load_lock(self.cfg.builder_lock)
        manifest = {
            "format": 1,
            "builder-rootfs-sha256": lock["builder"].sha256 if "builder" in lock else None,
            "source-date-epoch": self.cfg.source_date_epoch,
            "wheels": {
                w.path.name: {
                    "name": w.name,
                    "version": w.version,
                    "sha256": w.sha256,
                    "sdist": items[w.name].sdist.path.name if items[w.name].sdist else None,  # type: ignore[union-attr]
                    "sdist-sha256": items[w.name].sdist.sha256 if items[w.name].sdist else None,  # type: ignore[union-attr]
                    "build-requires": list(items[w.name].build_system.requires),
                }
                for w in sorted(built.values(), key=lambda w: w.name)
            },
        }
        atomic_write_text(staged / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        entries = {p.name: sha256_file(p) for p in sorted(staged.iterdir())}
        atomic_write_text(staged / SUMS_NAME, render_sums(entries))
        return staged


def remove_stage(cfg: Config) -> None:
    """Delete the staged mirror, if any."""
    shutil.rmtree(cfg.state_dir / "staged-mirror", ignore_errors=True)
