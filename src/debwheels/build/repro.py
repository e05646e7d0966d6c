"""``debwheels repro``: rebuild under varied conditions, compare, and explain differences.

Each locked wheel (or the named ones) is built twice from its pinned sdist: once with the
normal fixed settings, once with the variations of :mod:`debwheels.build.vary`. Both are compared
by sha256 with each other and with the committed mirror; on a difference diffoscope writes
a text and an HTML report, and the package is rebuilt with one variation at a time to name
the ones that break it, after a control rebuild with none: when that one differs already,
broken-by is ``["no-variation"]`` (the build is not deterministic, or depends on the host,
such as the directory order of the unpacked sdist) and the single variations are not tried. With ``--deb`` the .deb is built twice the same way.

Every target is checked in its own builder (its wheels, and its .deb with ``--deb``); each row
names its target. Report (``<report dir>/report.json``, format 2)::

    {"format": 2, "complete": <bool: false while the run goes on>, "variations": [...], "reproducible": <bool>, "packages": [
        {"target": "<suite>", "name", "version", "kind": "wheel"|"deb", "build-backend", "c-extension": bool,
         "reproducible": bool | null, "first-sha256", "second-sha256", "mirror-sha256",
         "matches-mirror": bool | null, "broken-by": [variation...], "diffoscope": "<path>" | null,
         "error": "<why it did not build>" | null, "log": "<path>" | null, "build-seconds": <float> | null}]}

and ``index.html`` beside it: the same as a table, like reproduciblewheels.com.
"""

from __future__ import annotations

import html
import json
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from debwheels import strictjson
from debwheels.build.builder import Builder
from debwheels.build.clockshim import compile_clock_shim
from debwheels.build.keys import BuildCache
from debwheels.build.results import BuiltWheel, RunResult, SourceItem
from debwheels.build.reuse import Reuse
from debwheels.build.vary import ALL, Variation, suspects
from debwheels.context import Context
from debwheels.debian.deb import build_deb
from debwheels.errors import BuildError
from debwheels.fsutil import atomic_write_text, fresh_file, sha256_file
from debwheels.lock.graph import LockGraph, subgraph
from debwheels.mirror.sums import SUMS_NAME, parse_sums
from debwheels.progress import duration
from debwheels.tools import diffoscope


@dataclass
class Outcome:
    """One row of the report (see the module docstring)."""

    name: str
    version: str
    kind: str
    build_backend: str = ""
    target: str = ""
    c_extension: bool = False
    reproducible: bool | None = None
    first_sha256: str | None = None
    second_sha256: str | None = None
    mirror_sha256: str | None = None
    matches_mirror: bool | None = None
    broken_by: list[str] = field(default_factory=list)
    diffoscope: str | None = None
    error: str | None = None
    log: str | None = None
    build_seconds: float | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Outcome:
        """The outcome :meth:`to_json` rendered."""
        return cls(**{k.replace("-", "_"): v for k, v in data.items()})

    def to_json(self) -> dict[str, object]:
        """JSON object with dashed keys."""
        return {k.replace("_", "-"): v for k, v in asdict(self).items()}


#: Packages are checked this many times ``jobs`` at a time, each batch's outcomes stored at once.
CHUNK = 4


#: How much of a diffoscope text report is searched for the signs of variations (characters).
MAX_DIFF_CHARS = 20_000_000
#: broken-by of a package whose rebuild with no variation differs already (see :meth:`Repro._isolate`).
NO_VARIATION = "no-variation"


class StoredOutcomes:
    """Outcomes of earlier runs, one JSON file per package (``<dir>/<key>.json``), by build key and variations.

    An outcome counts for a later run only when the package's normal build key (every input of
    the build, :mod:`debwheels.build.keys`) and the variations are the same, and the reports it
    links to are still in the report directory. A varied build that failed is tried again: a
    failure may come from the variation's machinery (as the clock shim's two causes did), which
    a later debwheels fixes without changing any build key.
    """

    def __init__(self, directory: Path, variation: Variation, report_dir: Path) -> None:
        self.directory = directory
        self.variations = sorted(variation.enabled)
        self.report_dir = report_dir

    def get(self, key: str, build_key: str) -> Outcome | None:
        """The stored outcome of *key* for *build_key*, or None."""
        path = self.directory / f"{key}.json"
        try:  # not fsutil.read_record: strict JSON refuses the build time, a float of seconds
            data = json.loads(path.read_text(encoding="utf-8"))
            if data["build-key"] != build_key or data["variations"] != self.variations:
                return None
            outcome = Outcome.from_json(data["outcome"])
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if outcome.error is not None:
            return None
        links = [link for link in (outcome.diffoscope, outcome.log) if link]
        return outcome if all((self.report_dir / link).is_file() for link in links) else None

    def put(self, key: str, build_key: str, outcome: Outcome) -> None:
        """Store *outcome* (written whole, then renamed)."""
        data = {"build-key": build_key, "variations": self.variations, "outcome": outcome.to_json()}
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.directory / f"{key}.json", strictjson.render(data))


def _sdist_size(item: SourceItem) -> int:
    """The sdist's size in bytes (0 for the project's own tree): the order of a repro run."""
    return item.sdist.path.stat().st_size if item.sdist is not None else 0


def has_c_extension(wheel: Path) -> bool:
    """True when the wheel holds compiled code (``.so``) or a platform tag."""
    with zipfile.ZipFile(wheel) as archive:
        return any(n.endswith((".so", ".pyd")) for n in archive.namelist()) or not wheel.name.endswith("-none-any.whl")


class Repro:
    """Runs the comparisons and writes the report.

    Args:
        cfg: configuration.
        runtime: container runtime adapter.
        images: image tags.
        variation: the variations of the second build.
        report_dir: where report.json, index.html and diffoscope reports go (emptied).
        say: progress sink.
    """

    def __init__(
        self, ctx: Context, variation: Variation, report_dir: Path, jobs: int = 1, resume: bool = False
    ) -> None:
        self.ctx = ctx
        self.batch_done: Callable[[list[Outcome]], object] | None = None  # told the outcomes so far after each batch
        self.jobs = max(1, jobs)
        self.resume = resume
        self.results = StoredOutcomes(ctx.cfg.state_dir / "repro" / "results" / ctx.target, variation, report_dir)
        cfg = self.cfg = ctx.cfg
        self.runtime, self.images = ctx.images()
        if variation.has("time") and variation.clock_shim is None:
            shim_dir = cfg.state_dir / "repro" / ctx.target / "clock-shim"
            shim = compile_clock_shim(
                self.runtime, self.images.builder, shim_dir, cfg.logs_dir / "repro" / ctx.target / "clock-shim.log"
            )
            variation = replace(variation, clock_shim=shim)
        self.variation = variation
        self.report_dir = report_dir
        self.say = ctx.say
        mirror_sums = cfg.mirror_dir / SUMS_NAME
        self.mirror = parse_sums(mirror_sums.read_bytes(), str(mirror_sums)) if mirror_sums.is_file() else {}

    def _builder(self, name: str, variation: Variation | None = None) -> Builder:
        work = self.cfg.state_dir / "repro" / self.ctx.target / name
        logs = self.cfg.logs_dir / "repro" / self.ctx.target / name
        return Builder(self.ctx, work, variation, keep_going=True, logs=logs, jobs=self.jobs)

    def _diff(self, first: Path, second: Path, label: str) -> str:
        """diffoscope's report on *first* and *second*, as a path in the report directory."""
        return diffoscope.report(first, second, self.report_dir, label)

    def wheels(self, names: set[str] | None = None, reuse_first: bool = False) -> list[Outcome]:
        """Build every locked package (or *names*) twice and compare; returns one outcome each.

        The packages go a few at a time (:data:`CHUNK` times ``jobs``), smallest sdist first so
        that a long run reports most packages early. Each batch is built normally (up to ``jobs``
        at once; the build cache gets the wheels by build key), then under the variations, each
        package with its build environment taken from the cache, so a difference belongs to the
        package itself; its outcomes are stored at once (:class:`StoredOutcomes`). With
        ``resume`` a run started again after a kill takes the stored outcome of every package
        whose build key and variations are unchanged, and its normal builds from the cache. With
        *names*, only their packages are checked; with *reuse_first* too, the normal build of
        each is the cached one when there is one (only the varied build runs).
        """
        graph = LockGraph.read(self.cfg.lock_file, self.ctx.target)
        first_builder = self._builder("first")
        second_builder = self._builder("second", self.variation)
        second_builder.reset()
        only = {p.key for p in graph.packages.values() if p.name in names} if names else None
        items = first_builder.prepare(graph, only | set(graph.frontend) if only is not None else None)
        checked = sorted(only if only is not None else items)
        sizes = {key: _sdist_size(items[key]) for key in checked}
        ordered = sorted(checked, key=lambda k: (sizes[k], k))
        reuse = Reuse(BuildCache(self.cfg.build_cache_dir))
        frontend = first_builder.frontend(graph, items)  # prepared with the items
        outcomes: dict[str, Outcome] = {}
        started, size, stored = time.monotonic(), CHUNK * self.jobs, 0
        built_bytes = 0  # sdist bytes built in this run (not taken from an earlier one): what the ETA scales
        self.say(
            f"{self.ctx.target}: {len(checked)} packages, each built normally and varying {self.variation.describe()}"
        )
        for start in range(0, len(ordered), size):
            chunk = ordered[start : start + size]
            fresh = frozenset() if reuse_first or self.resume else frozenset(chunk)
            first = first_builder.run(subgraph(graph, chunk), {k: items[k] for k in chunk}, reuse=reuse, fresh=fresh)
            todo = []
            for key in chunk:
                entry = first.entries.get(key)
                known = self.results.get(key, entry.build_key) if entry is not None and self.resume else None
                if known is not None:
                    outcomes[key], stored = known, stored + 1
                elif entry is None:  # the normal build failed: nothing to compare
                    outcomes[key] = self._compare_wheel(graph, items[key], None, None, first, first, frontend)
                else:
                    todo.append(key)
            if todo and self.batch_done is not None:  # the report so far has this batch's earlier outcomes too
                self.batch_done([outcomes[key] for key in checked if key in outcomes])
            if todo:
                early: dict[str, Outcome] = {}  # stored as soon as known: a run killed in a long build keeps them
                second = second_builder.run(
                    subgraph(graph, todo),
                    {k: items[k] for k in todo},
                    reuse=reuse,
                    fresh=frozenset(todo),
                    on_built=partial(self._store_if_identical, graph, items, frontend, first, early),
                )
                outcomes.update(early)
                for key in todo:
                    if key in early:
                        continue
                    outcome = self._compare_wheel(
                        graph, items[key], first.built.get(key), second.built.get(key), first, second, frontend
                    )
                    outcome.build_seconds = second.seconds.get(key)
                    outcomes[key] = outcome
                    self.results.put(key, first.entries[key].build_key, outcome)
            if self.batch_done is not None:
                self.batch_done([outcomes[key] for key in checked if key in outcomes])
            done = start + len(chunk)
            elapsed = time.monotonic() - started
            built_bytes += sum(sizes[key] for key in todo)
            left = sum(sizes[key] for key in ordered[done:])
            eta = duration(elapsed / built_bytes * left) if built_bytes else "unknown"  # bigger sdists build longer
            self.say(
                f"{self.ctx.target}: [{done}/{len(ordered)}] compared ({stored} from an earlier run), "
                f"elapsed {duration(elapsed)}, ETA {eta}"
            )
        return [outcomes[key] for key in checked]

    def _store_if_identical(
        self,
        graph: LockGraph,
        items: dict[str, SourceItem],
        frontend: Path,
        first: RunResult,
        early: dict[str, Outcome],
        key: str,
        two: BuiltWheel,
        seconds: float,
    ) -> None:
        """Store *key*'s outcome into *early* and the results at once when its varied wheel *two* is identical."""
        one, entry = first.built.get(key), first.entries.get(key)
        if one is not None and entry is not None and one.sha256 == two.sha256:
            outcome = self._compare_wheel(graph, items[key], one, two, first, first, frontend)
            outcome.build_seconds = seconds
            early[key] = outcome
            self.results.put(key, entry.build_key, outcome)

    def _compare_wheel(
        self,
        graph: LockGraph,
        item: SourceItem,
        one: BuiltWheel | None,
        two: BuiltWheel | None,
        first: RunResult,
        second: RunResult,
        frontend: Path,
    ) -> Outcome:
        key = item.package.key
        outcome = Outcome(item.package.name, item.package.version, "wheel", item.build_system.backend, self.ctx.target)
        if one is None or two is None:
            which = "first" if one is None else "second"
            outcome.error = first.failed.get(key) or second.failed.get(key) or "not built"
            log = self.cfg.logs_dir / "repro" / self.ctx.target / which / f"{item.stem}.log"
            if log.is_file():
                kept = self.report_dir / "logs" / self.ctx.target / f"{item.stem}.log"
                kept.parent.mkdir(parents=True, exist_ok=True)
                kept.write_bytes(log.read_bytes())
                outcome.log = str(kept.relative_to(self.report_dir))
            return outcome
        outcome.c_extension = has_c_extension(one.path)
        outcome.first_sha256, outcome.second_sha256 = one.sha256, two.sha256
        # the target's own copy when its bytes differ between targets, else the shared file
        outcome.mirror_sha256 = self.mirror.get(f"{self.ctx.target}/{one.path.name}") or self.mirror.get(one.path.name)
        outcome.matches_mirror = None if outcome.mirror_sha256 is None else outcome.mirror_sha256 == one.sha256
        outcome.reproducible = one.sha256 == two.sha256
        if not outcome.reproducible:
            self.say(f"{one.path.name} differs: running diffoscope and isolating the variation")
            outcome.diffoscope = self._diff(one.path, two.path, f"{self.ctx.target}-{item.stem}")
            text = self.report_dir / Path(outcome.diffoscope).with_suffix(".txt")
            diff = text.read_text(encoding="utf-8", errors="replace")[:MAX_DIFF_CHARS] if text.is_file() else ""
            outcome.broken_by = self._isolate(graph, item, one, first.built, frontend, diff)
        return outcome

    def _isolate(
        self,
        graph: LockGraph,
        item: SourceItem,
        reference: BuiltWheel,
        built: dict[str, BuiltWheel],
        frontend: Path,
        diff: str = "",
    ) -> list[str]:
        """The enabled variations that change *item*'s wheel alone, found with as few rebuilds as possible.

        1. A control rebuild with no variation: when it differs from *reference* too, returns
           ``[NO_VARIATION]`` (each single variation would differ as well).
        2. When the diffoscope text *diff* shows the sign of some variations
           (:func:`debwheels.build.vary.suspects`), one rebuild with all the others: when it
           equals *reference*, only the suspects are rebuilt one by one (numpy: three rebuilds
           instead of twelve, each as long as its build).
        3. Otherwise every enabled variation alone, ``jobs`` at once.

        Returns:
            list[str]: variation names in :data:`debwheels.build.vary.ALL` order; the candidates
            together when none changes the wheel alone.
        """
        env_wheels = [built[dep] for dep in sorted(item.package.build_env) if dep in built]

        def breaks(names: tuple[str, ...]) -> bool:
            label = "-".join(names) if len(names) < 3 else f"all-but-{len(ALL) - len(names)}"
            label = label or NO_VARIATION
            builder = self._builder(f"isolate-{label}", self.variation.only(*names))
            builder.reset()
            for wheel in env_wheels:
                target = builder.wheels_dir / wheel.path.name
                target.write_bytes(wheel.path.read_bytes())
            log = fresh_file(self.cfg.logs_dir / "repro" / self.ctx.target / f"{item.stem}-{label}.log")
            try:
                result = builder.run_container(item, env_wheels, frontend, False, log)
            except BuildError:
                return True
            return sha256_file(Path(str(result["wheel"]))) != reference.sha256

        if breaks(()):
            return [NO_VARIATION]
        enabled = [name for name in ALL if self.variation.has(name)]
        candidates = enabled
        found = suspects(diff, self.variation.enabled)
        if found and len(found) < len(enabled):
            rest = tuple(name for name in enabled if name not in found)
            if not breaks(rest):
                candidates = found
                self.say(f"{item.stem}: the difference shows {', '.join(found)}; the others leave the wheel unchanged")
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            alone = [
                n for n, broken in zip(candidates, pool.map(breaks, [(n,) for n in candidates]), strict=True) if broken
            ]
        return alone or candidates

    def deb(self) -> Outcome:
        """Build the .deb normally and varied; compare with each other."""
        from debwheels.debian.deb import source_identity

        name, version = source_identity(self.cfg.root)
        outcome = Outcome(name, version, "deb", "dh-virtualenv", self.ctx.target)
        base = self.cfg.state_dir / "repro" / self.ctx.target
        try:
            one = build_deb(self.ctx, dist=base / "deb-first", work=base / "deb-work-first")
            self.say(f"first .deb: {one.sha256}")
            two = build_deb(self.ctx, self.variation, base / "deb-second", base / "deb-work-second")
            self.say(f"second .deb (varying {self.variation.describe()}): {two.sha256}")
        except BuildError as exc:
            outcome.error = str(exc)
            return outcome
        outcome.first_sha256, outcome.second_sha256 = one.sha256, two.sha256
        outcome.c_extension = False
        outcome.reproducible = one.sha256 == two.sha256
        published = self.cfg.dist_dir / one.deb.name  # the name carries the target's version suffix
        if published.is_file():
            outcome.mirror_sha256 = sha256_file(published)
            outcome.matches_mirror = outcome.mirror_sha256 == one.sha256
        if not outcome.reproducible:
            outcome.diffoscope = self._diff(one.deb, two.deb, one.deb.stem)
        return outcome


def write_report(
    report_dir: Path, variation: Variation, outcomes: list[Outcome], partial: bool = False
) -> tuple[Path, bool]:
    """Write report.json and index.html into *report_dir*; return (report.json, all reproducible).

    Args:
        partial: the run is still going: ``"complete": false`` (packages still to check are absent).
    """
    ok = all(o.reproducible for o in outcomes)
    data = {
        "format": 2,
        "complete": not partial,
        "variations": sorted(variation.enabled),
        "reproducible": ok,
        "packages": [o.to_json() for o in outcomes],
    }
    report = report_dir / "report.json"
    atomic_write_text(report, strictjson.render(data))
    atomic_write_text(report_dir / "index.html", render_html(outcomes, variation))
    return report, ok


def render_html(outcomes: list[Outcome], variation: Variation) -> str:
    """A static HTML page: one table row per package."""
    built = [o for o in outcomes if o.reproducible is not None]
    good = sum(1 for o in built if o.reproducible)
    rows = []
    for o in outcomes:
        state = "reproducible" if o.reproducible else "error" if o.reproducible is None else "NOT reproducible"
        link = f'<a href="{html.escape(o.diffoscope)}">diffoscope</a>' if o.diffoscope else ""
        link += f'<a href="{html.escape(o.log)}">build log</a>' if o.log else ""
        cause = [line.strip() for line in (o.error or "").splitlines() if line.strip()]
        why = html.escape(", ".join(o.broken_by) or (cause[-1][:200] if cause else ""))
        rows.append(
            f"<tr class={state.split()[-1].lower()!r}><td>{html.escape(o.target)}</td>"
            f"<td>{html.escape(o.name)}</td><td>{html.escape(o.version)}</td>"
            f"<td>{o.kind}</td><td>{html.escape(o.build_backend)}</td><td>{'yes' if o.c_extension else 'no'}</td>"
            f"<td>{state}</td><td>{why}</td><td>{link}</td></tr>"
        )
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>debwheels repro</title>"
        "<style>body{font-family:sans-serif}td,th{padding:2px 8px;border-bottom:1px solid #ddd}"
        ".reproducible td:nth-child(7){color:#070}.error td:nth-child(7){color:#a60}"
        "tr:not(.reproducible):not(.error) td:nth-child(7){color:#b00;font-weight:bold}</style></head><body>"
        f"<h1>debwheels repro</h1><p>{good} of {len(built)} built packages reproducible"
        f" ({len(outcomes) - len(built)} did not build); varied: {html.escape(variation.describe())}.</p>"
        "<table><tr><th>target</th><th>package</th><th>version</th><th>kind</th><th>build backend</th><th>C extension</th>"
        "<th>reproducible</th><th>broken by / cause</th><th>report</th></tr>\n"
        + "\n".join(rows)
        + "\n</table></body></html>\n"
    )
