"""How a build run drives the scheduler: reuse or build each package, then take in its wheel (a :class:`debwheels.build.schedule.Driver`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from debwheels.build.keys import KeyInputs
from debwheels.build.probes import ProbeCache
from debwheels.build.results import BuiltWheel, RunResult, SourceItem
from debwheels.build.reuse import Reuse
from debwheels.build.schedule import Ready, Task
from debwheels.build.wheelmeta import read_metadata
from debwheels.fsutil import fresh_file
from debwheels.lock.graph import LockGraph

if TYPE_CHECKING:
    from debwheels.build.builder import Builder


@dataclass(frozen=True)
class Finished:
    """A finished build: its source, the driver's result, its log and wall time (seconds)."""

    item: SourceItem
    outcome: dict[str, Any]
    log: Path
    seconds: float


class BuildDriver:
    """How :meth:`Builder.run` plans, starts and takes in each package (a :class:`debwheels.build.schedule.Driver`)."""

    def __init__(
        self,
        builder: Builder,
        graph: LockGraph,
        sources: dict[str, SourceItem],
        probe: set[str],
        reuse: Reuse | None,
        preparer: ThreadPoolExecutor,
        probes: ProbeCache | None = None,
        fresh: frozenset[str] = frozenset(),
        on_built: Callable[[str, BuiltWheel, float], object] | None = None,
    ) -> None:
        self.builder = builder
        self.graph = graph
        self.sources = sources
        self.probe = probe
        self.reuse = reuse
        self.probes = probes
        self.fresh = fresh  # keys built whatever reuse knows (debwheels repro NAME)
        self.on_built = on_built
        self.preparer = preparer
        self.result = RunResult()
        self.ahead: dict[str, Future[SourceItem]] = {}  # sources being fetched and unpacked
        self.inputs: dict[str, KeyInputs] = {}
        self.frontend: Path | None = None

    def plan(self, key: str, needs: Mapping[str, BuiltWheel]) -> Ready[BuiltWheel] | Task[Finished]:
        """Reuse *key*'s wheel (or, probing, its backend's answer) when its build key is known, else a task."""
        package = self.graph.packages[key]
        env_wheels = [needs[dep] for dep in sorted(package.build_env)]
        inputs = self.builder.key_inputs(self.graph, package, {dep: needs[dep].sha256 for dep in package.build_env})
        answer = self.probes.get(inputs.key) if self.probes is not None and key in self.probe else None
        if answer is not None:
            self.result.dynamic[key] = list(answer.dynamic_requires)
            if answer.metadata is not None:
                self.result.metadata[key] = answer.metadata.encode()
            if answer.entry_points is not None:
                self.result.entry_points[key] = answer.entry_points
            return Ready(None, f"probed {key}: its backend's answer is known (build key {inputs.key[:12]})")
        reuse = self.reuse if key not in self.probe and key not in self.fresh else None
        hit = reuse.lookup(inputs.key) if reuse is not None else None
        if hit is not None:
            wheel = self.builder.adopt(hit)
            self.result.built[key] = wheel
            self.result.metadata[key] = read_metadata(wheel.path)
            self.result.entries[key] = hit.entry
            self.result.reused[key] = hit.source
            return Ready(wheel, f"reused {wheel.path.name} from the {hit.source} (build key {inputs.key[:12]})")
        if reuse is not None:
            self.result.reasons[key] = reuse.why(key, inputs.record(), self.builder.cfg.debian_suite)
        self.inputs[key] = inputs
        if key not in self.sources:
            self.ahead[key] = self.preparer.submit(self.builder.prepare_one, self.graph, package)
        action = "probing" if key in self.probe else "building"
        why = f": {self.result.reasons[key]}" if self.result.reasons.get(key) else ""
        return Task(
            lambda: self._build(key, env_wheels),
            f"{action} {key} ({len(env_wheels)} build requirements){why}",
        )

    def starting(self, key: str) -> None:
        """Before the first build: the frontend's source (it may itself be a package to build)."""
        if self.frontend is None:
            for hooks in self.graph.frontend:
                self._source(hooks)
            self.frontend = self.builder.frontend(self.graph, self.sources)

    def _source(self, key: str) -> SourceItem:
        """*key*'s prepared source, waiting for it when it is being prepared ahead."""
        if key in self.ahead:
            self.sources[key] = self.ahead.pop(key).result()
        elif key not in self.sources:
            self.sources[key] = self.builder.prepare_one(self.graph, self.graph.packages[key])
        return self.sources[key]

    def _build(self, key: str, env_wheels: list[BuiltWheel]) -> Finished:
        """One build, in a worker thread: wait for its source, then run the container."""
        future = self.ahead.get(key)
        item = future.result() if future is not None else self.sources[key]
        assert self.frontend is not None  # set by starting(), before any task is submitted
        log = fresh_file(self.builder.logs / f"{item.stem}.log")
        started = time.monotonic()
        outcome = self.builder.run_container(item, env_wheels, self.frontend, key in self.probe, log)
        return Finished(item, outcome, log, time.monotonic() - started)

    def record(self, key: str, done: Finished) -> tuple[BuiltWheel | None, str]:
        """Take in a finished build or probe: its wheel (None when probed) and the line to print."""
        probing = bool(self.probe)
        self.builder.take_in(key, self.inputs[key], done, self.result, probing, self.reuse, self.probes)
        made = self.result.built.get(key)
        if made is None:
            return None, f"probed {key} in {done.seconds:.1f}s"
        if self.on_built is not None:
            self.on_built(key, made, done.seconds)
        return made, f"built {made.path.name} in {done.seconds:.1f}s, sha256 {made.sha256[:16]}..."
